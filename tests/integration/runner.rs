//! The runner end to end: against the embedded endpoint (everything conforms) and against a
//! server that answers wrongly on purpose (exact verdict counts), reports, reproductions, and
//! the errors a user meets.

use copyimage_conformance::exit;
use serde_json::Value;

use crate::fake::{self, Mode};
use crate::{run, stderr, stdout};

/// Runs `run` with the JSON report and returns (exit code, report).
fn run_json(args: &[&str]) -> (i32, Value) {
    let mut all = vec!["run", "--quiet", "--format", "json"];
    all.extend_from_slice(args);
    let o = run(&all, "");
    let code = o.status.code().unwrap();
    let text = stdout(&o);
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}\nstderr: {}", stderr(&o)));
    (code, v)
}

fn summary(v: &Value) -> (u64, u64, u64, u64, u64) {
    let s = &v["summary"];
    let n = |k: &str| s[k].as_u64().unwrap();
    (n("cases"), n("conforms"), n("deviations"), n("unparseable"), n("transport_errors"))
}

#[test]
fn embedded_endpoint_conforms_and_every_case_has_one_verdict() {
    let (code, v) = run_json(&["--cases", "400", "--seed", "9"]);
    let (cases, conforms, ..) = summary(&v);
    let skipped = v["summary"]["skipped"].as_u64().unwrap();
    assert_eq!(code, i32::from(exit::OK), "{}", v["summary"]);
    assert_eq!(cases + skipped, 400, "every requested case is sent or skipped");
    assert!(cases > 0, "no case ran: {}", v["summary"]);
    assert_eq!(conforms, cases);
    let records = v["cases"].as_array().unwrap();
    assert_eq!(records.len() as u64, cases);
    // A set, not `dedup`: a duplicate id need not sit next to its twin in the report.
    let ids: std::collections::BTreeSet<&str> = records.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len() as u64, cases, "no case lost or counted twice");
    assert!(records.iter().all(|c| c["verdict"] == "conforms"));
}

#[test]
fn json_envelope_dialect_conforms_too() {
    let (code, v) = run_json(&["--cases", "150", "--dialect", "json-envelope"]);
    assert_eq!(code, 0, "{}", v["summary"]);
    let (cases, conforms, ..) = summary(&v);
    let skipped = v["summary"]["skipped"].as_u64().unwrap();
    assert_eq!(cases + skipped, 150, "every requested case is sent or skipped");
    assert!(cases > 0, "no case ran: {}", v["summary"]);
    assert_eq!(conforms, cases);
}

/// R09 cases (malformed ids) certainly predict InvalidAMIID.Malformed (400).
const MALFORMED: [&str; 4] = ["--rule", "R09-amiid-malformed", "--cases", "12"];

fn against(mode: Mode, extra: &[&str]) -> (i32, Value, fake::Fake) {
    let f = fake::start(mode);
    let mut args = vec!["--endpoint", f.url.as_str()];
    args.extend_from_slice(&MALFORMED);
    args.extend_from_slice(extra);
    let (code, v) = run_json(&args);
    (code, v, f)
}

fn findings(v: &Value) -> Vec<String> {
    v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["findings"][0]["finding"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn success_where_an_error_is_due() {
    let (code, v, _) = against(Mode::Success, &[]);
    assert_eq!(code, i32::from(exit::DEVIATIONS));
    assert_eq!(summary(&v), (12, 0, 12, 0, 0));
    assert!(findings(&v).iter().all(|f| f == "success_instead_of_error"));
}

#[test]
fn wrong_code() {
    let (code, v, _) = against(Mode::Error("InvalidRegion"), &[]);
    assert_eq!(code, 1);
    assert_eq!(summary(&v), (12, 0, 12, 0, 0));
    assert!(findings(&v).iter().all(|f| f == "wrong_code"));
}

#[test]
fn right_code_wrong_status() {
    let (_, v, _) = against(Mode::ErrorWithStatus(500, "InvalidAMIID.Malformed"), &[]);
    assert_eq!(summary(&v), (12, 0, 12, 0, 0));
    assert!(findings(&v).iter().all(|f| f == "wrong_status"));
}

#[test]
fn right_code_and_status_conform() {
    let (code, v, _) = against(Mode::Error("InvalidAMIID.Malformed"), &[]);
    assert_eq!((code, summary(&v)), (0, (12, 12, 0, 0, 0)));
}

/// What botocore would read differently is a deviation of its own kind, never a silent conform.
#[test]
fn answers_an_sdk_reads_differently_are_findings() {
    let (code, v, _) = against(Mode::PaddedCode("InvalidAMIID.Malformed"), &[]);
    assert_eq!((code, summary(&v)), (1, (12, 0, 12, 0, 0)));
    assert!(findings(&v).iter().all(|f| f == "sdk_unreadable"), "{:?}", findings(&v));
    let why = v["cases"][0]["findings"][0]["why"].as_str().unwrap();
    assert!(why.starts_with("whitespace around the <Code> text"), "{why}");
    let (code, v, _) = against(Mode::BlankBeforeDeclaration("InvalidAMIID.Malformed"), &[]);
    assert_eq!((code, summary(&v)), (1, (12, 0, 12, 0, 0)));
    let why = v["cases"][0]["findings"][0]["why"].as_str().unwrap();
    assert!(why.contains("before an XML declaration") && why.contains("ResponseParserError"), "{why}");
}

#[test]
fn html_500_is_unparseable_not_a_crash() {
    let (code, v, _) = against(Mode::Html500, &[]);
    assert_eq!(code, 1);
    assert_eq!(summary(&v), (12, 0, 0, 12, 0));
    let reason = v["cases"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("HTTP 500: ") && reason.contains("<html>"), "{reason}");
}

#[test]
fn dropped_connections_are_retried_then_transport_errors() {
    let (code, v, f) = against(Mode::Drop, &["--retries", "2"]);
    assert_eq!(code, i32::from(exit::INCONCLUSIVE));
    assert_eq!(summary(&v), (12, 0, 0, 0, 12));
    assert_eq!(v["summary"]["retries"], 24);
    assert_eq!(f.requests.load(std::sync::atomic::Ordering::SeqCst), 36);
    assert!(v["cases"][0]["error"].as_str().unwrap().contains("after 3 attempts"));
}

#[test]
fn slow_answers_time_out_without_retry() {
    let (_, v, f) = against(Mode::Slow(1_500), &["--timeout", "0.3", "--concurrency", "12"]);
    assert_eq!(summary(&v), (12, 0, 0, 0, 12));
    assert_eq!(v["summary"]["retries"], 0);
    assert_eq!(f.requests.load(std::sync::atomic::Ordering::SeqCst), 12);
    assert!(v["cases"][0]["error"].as_str().unwrap().starts_with("timed out"));
}

#[test]
fn throttling_is_retried_and_counted() {
    // Without the shrink stage, whose candidates would be throttled (and counted) too.
    let (_, v, _) = against(Mode::ThrottleOnce, &["--shrink-budget", "0"]);
    // Every request is throttled once, then answered with a success (a deviation for R09).
    assert_eq!(summary(&v), (12, 0, 12, 0, 0));
    assert_eq!(v["summary"]["retries"], 12);
    assert!(v["cases"].as_array().unwrap().iter().all(|c| c["attempts"] == 2));
}

#[test]
fn oversized_bodies_are_unparseable() {
    let (_, v, _) = against(Mode::Huge, &["--max-body", "65536"]);
    assert_eq!(summary(&v), (12, 0, 0, 12, 0));
    assert!(v["cases"][0]["reason"].as_str().unwrap().contains("body larger than 65536 bytes"));
}

#[test]
fn junit_and_markdown_reports() {
    let f = fake::start(Mode::Error("InvalidRegion"));
    let o = run(
        &["run", "--quiet", "--endpoint", &f.url, "--format", "junit", "--rule", "R09-amiid-malformed", "--cases", "5"],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    let xml = stdout(&o);
    // One testcase per distinct finding, named by what is wrong, its class the deciding rule.
    assert!(xml.contains(r#"<testsuite name="findings" tests="1" failures="1""#), "{xml}");
    assert!(
        xml.contains(
            r#"<testcase classname="R09-amiid-malformed" name="InvalidRegion (HTTP 400) where AWS answers InvalidAMIID.Malformed (400)">"#
        ),
        "{xml}"
    );
    assert!(xml.contains("(5 cases)"), "{xml}");
    // The report is well-formed XML.
    let mut reader = quick_xml::Reader::from_str(&xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("junit is not well-formed: {e}"),
        }
    }
    let o = run(&["run", "--quiet", "--format", "markdown", "--cases", "20"], "");
    assert_eq!(o.status.code(), Some(0));
    let md = stdout(&o);
    assert!(md.starts_with("## CopyImage conformance: `http://127.0.0.1:"), "{md}");
    assert!(md.contains("Dialect `ec2-query`."), "{md}");
    assert!(md.contains("| cases | conform | deviations | unparseable | transport errors | skipped | score |"), "{md}");
    assert!(md.contains("| rule | title | cases | conform | score |"), "{md}");
    assert!(md.trim_end().ends_with("**PASS: 0 findings**"), "{md}");
}

#[test]
fn terminal_report_shows_one_finding_per_bug_with_a_reproduction() {
    let f = fake::start(Mode::Success);
    let o = run(&["run", "--quiet", "--endpoint", &f.url, "--rule", "R04-missing", "--cases", "3"], "");
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(text.contains("3 cases: 0 conform (0.0 %), 3 deviations"), "{text}");
    assert!(text.contains("FINDINGS: 1 not accepted, 0 accepted"), "{text}");
    assert!(text.contains("  1. success where AWS answers MissingParameter (400)\n"), "{text}");
    assert!(text.contains("     curl -sS -i -X POST"), "{text}");
    assert!(text.trim_end().ends_with("FAIL: 1 finding not accepted (3 cases)"), "{text}");
}

#[test]
fn curl_reproductions_get_the_same_answer_from_the_embedded_endpoint() {
    let (_, v) = run_json(&["--cases", "60", "--only", "invalid", "--seed", "5"]);
    let records = v["cases"].as_array().unwrap();
    let mut checked = 0;
    for rec in records.iter().filter(|r| r["setup"].is_null()).take(15) {
        let curl = rec["curl"].as_str().unwrap();
        // The run's embedded endpoint is gone: start one and point the command at it.
        let serve = crate::serve_for_test();
        let old = curl.split('\'').nth(1).unwrap();
        let cmd = curl.replace(old, &serve.url).replace(
            &format!("host: {}", old.trim_start_matches("http://").trim_end_matches('/')),
            &format!("host: {}", serve.url.trim_start_matches("http://").trim_end_matches('/')),
        );
        let out = std::process::Command::new("sh").arg("-c").arg(&cmd).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let status = rec["status"].as_u64().unwrap();
        assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{cmd}\n{text}");
        if let Some(code) = rec["reply"]["Error"]["code"].as_str() {
            assert!(text.contains(&format!("<Code>{code}</Code>")), "{cmd}\n{text}");
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} reproductions checked");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let err_line = |o: &std::process::Output| {
        assert_eq!(o.status.code(), Some(i32::from(exit::SETUP_ERROR)), "{}", stderr(o));
        let e = stderr(o);
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        e
    };
    let e = err_line(&run(&["run", "--frobnicate"], ""));
    assert!(e.contains("unexpected argument '--frobnicate'"), "{e}");
    let e = err_line(&run(&["run", "--quiet", "--endpoint", "http://127.0.0.1:9/"], ""));
    assert!(e.contains("cannot reach the endpoint http://127.0.0.1:9/"), "{e}");
    let e = err_line(&run(&["run", "--quiet", "--endpoint", "not a url"], ""));
    assert!(e.contains("--endpoint \"not a url\": not a URL"), "{e}");
    let e = err_line(&run(&["run", "--quiet", "--world", &crate::data("world_bad.json")], ""));
    assert!(e.contains("world_bad.json: unknown variant `gone`"), "{e}");
    let e = err_line(&run(&["run", "--quiet", "--live"], ""));
    assert!(e.contains("the following required arguments were not provided: --max-creates <N>"), "{e}");
}

#[test]
fn discover_builds_the_world_from_describe_images() {
    let (code, v) = run_json(&["--discover", "ami-0a1b2c3d4e5f60718", "ami-760aaa0f", "--cases", "80"]);
    assert_eq!(code, 0, "{}", v["summary"]);
    let records = v["cases"].as_array().unwrap();
    // Only the discovered images are sources now.
    let successes: Vec<&Value> =
        records.iter().filter(|r| r["prediction"]["ok"] == true && r["setup"].is_null()).collect();
    assert!(!successes.is_empty(), "no predicted success to check: {}", v["summary"]);
    for r in successes {
        let src = r["params"]["SourceImageId"].as_str().unwrap_or("");
        assert!(["ami-0a1b2c3d4e5f60718", "ami-760aaa0f"].contains(&src), "{src}");
    }
    let o = run(&["run", "--quiet", "--discover", "ami-0000000000000dead"], "");
    assert_eq!(o.status.code(), Some(2));
    // The embedded endpoint refuses an unknown id as EC2 does; discovery stops on it.
    let e = stderr(&o);
    assert!(e.contains("InvalidAMIID.NotFound") && e.contains("ami-0000000000000dead"), "{e}");
}

#[test]
fn stateful_properties_hold_on_the_embedded_endpoint() {
    let (code, v) = run_json(&["--cases", "10", "--stateful", "12"]);
    assert_eq!(code, 0, "{}", v["summary"]);
    assert_eq!(v["summary"]["stateful"]["sequences_run"], 12);
    assert_eq!(v["summary"]["stateful"]["failures"], serde_json::json!([]));
}

#[test]
fn secrets_never_appear_in_any_output() {
    const SECRET: &str = "wJalrXUtnFEMI-super-secret-value-7d1f";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjE-session-token-9c2e";
    for format in ["terminal", "json", "junit", "markdown"] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
            .args(["run", "--quiet", "--use-env-credentials", "--cases", "40", "--only", "invalid", "--stateful", "3"])
            .args(["--format", format])
            .env("AWS_ACCESS_KEY_ID", "AKIDCONFORMANCETEST")
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_SESSION_TOKEN", TOKEN)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take();
        let o = child.wait_with_output().unwrap();
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(!all.is_empty());
        assert!(!all.contains(SECRET) && !all.contains(TOKEN), "{format} output leaks a secret");
        if format == "json" {
            // Reproductions name the variables instead.
            assert!(all.contains("$AWS_SECRET_ACCESS_KEY") && all.contains("$AWS_SESSION_TOKEN"), "{all}");
        }
    }
}

/// The Names one run's successful copies were sent with, setup requests included.
fn copied_names(report: &Value) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for case in report["cases"].as_array().unwrap() {
        let setup = case["setup"].as_array().cloned().unwrap_or_default();
        for step in setup.iter().chain([case]) {
            if step["reply"].get("Success").is_some()
                && let Some(name) = step["params"]["Name"].as_str()
            {
                out.insert(name.to_owned());
            }
        }
    }
    out
}

/// The distinct Names a run's requests were refused for as duplicates of a Name `earlier`
/// copied with.
fn clashes(report: &Value, earlier: &std::collections::HashSet<String>) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for case in report["cases"].as_array().unwrap() {
        for step in case["setup"].as_array().cloned().unwrap_or_default().iter().chain([case]) {
            let name = step["params"]["Name"].as_str().filter(|n| earlier.contains(*n));
            if let Some(name) = name.filter(|_| step["reply"]["Error"]["code"] == "InvalidAMIName.Duplicate") {
                out.insert(name.to_owned());
            }
        }
    }
    out
}

/// An endpoint that refuses every request as a duplicate Name, its DescribeImages too: the
/// refusals cannot be checked for an earlier run's image, so they stay findings, and the
/// summary says how many and why; the lookups count among the requests the run sent.
#[test]
fn duplicate_name_refusals_that_cannot_be_checked_are_counted_with_the_reason() {
    use std::sync::atomic::Ordering;
    let fake = super::fake::start(super::fake::Mode::Error("InvalidAMIName.Duplicate"));
    let (code, v) = run_json(&["--endpoint", &fake.url, "--cases", "20", "--shrink-budget", "0"]);
    assert_eq!(code, 1, "{}", v["summary"]);
    let s = &v["summary"];
    let unchecked = s["earlier_unchecked"].as_u64().unwrap_or(0);
    assert!(unchecked >= 1, "{s}");
    let why = s["earlier_unchecked_why"].as_str().unwrap_or_default();
    assert!(why.starts_with("DescribeImages: ") && why.contains("InvalidAMIName.Duplicate"), "{s}");
    assert_eq!(s["requests"].as_u64(), Some(fake.requests.load(Ordering::SeqCst)), "every request counted: {s}");
    assert_eq!(s["earlier_names"].as_u64().unwrap_or(0), 0, "{s}");
}

/// A second run with the same seed against the same long-lived endpoint meets the first run's
/// copies and tokens; the per-run nonce keeps them apart, so both runs conform alike, and the
/// records give the generated request back. Two nonces can still map two different
/// 3-character Names onto one (a rotation keeps a Name's length, and there are only 67^3
/// Names of 3 characters): the endpoint's DescribeImages then shows the first run's image, and
/// the second run counts the clash instead of reporting it (`earlier_names`).
/// Without the nonce every copy of the second run clashes.
#[test]
fn reruns_against_one_long_lived_endpoint_give_the_same_verdicts() {
    let served = crate::serve_for_test();
    let verdicts = |v: &Value| -> Vec<String> {
        v["cases"].as_array().unwrap().iter().map(|c| format!("{} {}", c["id"], c["verdict"])).collect()
    };
    let (code1, first) = run_json(&["--endpoint", &served.url, "--seed", "11", "--cases", "120"]);
    let (code2, second) = run_json(&["--endpoint", &served.url, "--seed", "11", "--cases", "120"]);
    assert_eq!(code1, 0, "deviations in the first run: {}", first["summary"]["deviations"]);
    assert_eq!(code2, 0, "deviations in the second run: {}", second["summary"]["deviations"]);
    assert_eq!(verdicts(&first), verdicts(&second));
    let clashed = clashes(&second, &copied_names(&first));
    assert!(clashed.len() <= 2, "a clash is rare, not the rule: {clashed:?}");
    assert_eq!(second["summary"]["earlier_names"].as_u64().unwrap_or(0), clashed.len() as u64, "{clashed:?}");
    // The runs sent their Names and tokens under different nonces.
    let named = |v: &Value| -> Vec<(String, String)> {
        v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["nonce"]["keys"].as_array().is_some_and(|k| k.contains(&Value::from("Name"))))
            .map(|c| (c["params"]["Name"].as_str().unwrap().to_owned(), c["nonce"]["nonce"].to_string()))
            .collect()
    };
    let (a, b) = (named(&first), named(&second));
    assert!(!a.is_empty(), "no rotated Name in the first run");
    assert_ne!(a, b);
}
