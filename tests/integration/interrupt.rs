//! Ctrl-C: the first stops sending and writes complete reports of the cases done, marked as
//! interrupted, with exit code 130; a second aborts at once; an interrupted
//! `--update-baseline` writes nothing.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::fake::{self, Mode};
use crate::{stderr, stdout};

const INTERRUPTED: i32 = 130;

fn start(url: &str, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .args(["run", "--quiet", "--endpoint", url])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `fake` has seen a request (so the run, and its Ctrl-C handler, are under way),
/// then a little longer.
fn until_sending(fake: &fake::Fake) {
    let start = Instant::now();
    while fake.requests.load(Ordering::SeqCst) == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "no request came");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(400));
}

fn sigint(child: &Child) {
    let ok = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
}

/// Waits for `child`, killing it when it outlives `limit` (so a hang fails instead of blocking).
fn wait(child: Child, limit: Duration) -> Output {
    let pid = child.id().to_string();
    let (done, watch) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if watch.recv_timeout(limit).is_err() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    out
}

#[test]
fn ctrl_c_writes_a_complete_report_of_the_cases_done() {
    let slow = fake::start(Mode::Slow(300));
    let tmp = TempDir::new().unwrap();
    let report = tmp.path().join("report.json");
    let child = start(&slow.url, &["--cases", "200", "--format", "json", "--output", report.to_str().unwrap()]);
    until_sending(&slow);
    sigint(&child);
    let o = wait(child, Duration::from_secs(10));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(INTERRUPTED), "{err}");
    let text = std::fs::read_to_string(&report).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(v["summary"]["interrupted"], true, "{}", v["summary"]);
    let cases = v["summary"]["cases"].as_u64().unwrap();
    assert!(cases > 0 && cases < 200, "{cases} cases");
    assert_eq!(v["cases"].as_array().unwrap().len() as u64, cases);
    let done = cases + v["summary"]["skipped"].as_u64().unwrap();
    let line = format!("interrupted after {done} of 200 cases; not run: {} cases from", 200 - done);
    assert!(err.contains(&line), "{err}");
}

#[test]
fn an_interrupted_junit_report_is_complete_xml() {
    let slow = fake::start(Mode::Slow(300));
    let child = start(&slow.url, &["--cases", "200", "--format", "junit"]);
    until_sending(&slow);
    sigint(&child);
    let o = wait(child, Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(INTERRUPTED), "{}", stderr(&o));
    let xml = stdout(&o);
    assert!(xml.starts_with("<?xml") && xml.ends_with("</testsuites>\n"), "{xml}");
    assert!(xml.contains("<!-- interrupted after "), "{xml}");
}

#[test]
fn ctrl_c_during_the_stateful_checks_reports_the_cases_without_them() {
    let slow = fake::start(Mode::Slow(300));
    let child = start(&slow.url, &["--cases", "2", "--stateful", "50", "--format", "json"]);
    // Two case requests, then the stateful checks' own.
    let begun = Instant::now();
    while slow.requests.load(Ordering::SeqCst) < 4 {
        assert!(begun.elapsed() < Duration::from_secs(20), "the stateful checks did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    sigint(&child);
    let o = wait(child, Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(INTERRUPTED), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["summary"]["cases"], 2);
    assert_eq!(v["summary"]["not_run"], serde_json::json!(["the stateful checks"]));
    assert!(v["summary"]["stateful"].is_null(), "{}", v["summary"]);
}

#[test]
fn a_second_ctrl_c_aborts_at_once() {
    let slow = fake::start(Mode::Slow(5000));
    let child = start(&slow.url, &["--cases", "50", "--format", "json"]);
    until_sending(&slow);
    sigint(&child);
    std::thread::sleep(Duration::from_millis(200));
    let second = Instant::now();
    sigint(&child);
    let o = wait(child, Duration::from_secs(10));
    // The requests in flight would answer 5 s after they went out.
    assert!(second.elapsed() < Duration::from_secs(4), "took {:?}", second.elapsed());
    assert_eq!(o.status.code(), Some(INTERRUPTED), "{}", stderr(&o));
    assert!(stderr(&o).contains("aborting"), "{}", stderr(&o));
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn an_interrupted_update_baseline_leaves_the_baseline_as_it_was() {
    let slow = fake::start(Mode::Slow(300));
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("accepted.toml"), "# nothing accepted yet\n").unwrap();
    let before = listing(dir);
    let d = dir.to_str().unwrap();
    let child = start(&slow.url, &["--cases", "200", "--baseline", d, "--update-baseline", "--format", "json"]);
    until_sending(&slow);
    sigint(&child);
    let o = wait(child, Duration::from_secs(10));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(INTERRUPTED), "{err}");
    assert_eq!(listing(dir), before, "the baseline directory changed");
    assert!(err.contains("was not updated"), "{err}");
}
