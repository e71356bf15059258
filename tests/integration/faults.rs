//! Fault injection: against a server that resets, stalls, throttles forever, truncates,
//! redirects, nests deeply, echoes secrets or answers garbage, every run ends with exactly one
//! verdict per case, no panic, and the exit code that tells a wrong endpoint (1) from one the
//! run could not judge (3).

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use copyimage_conformance::exit;
use serde_json::Value;

use crate::fault_servers::{self, Fault};
use crate::{fake, run, stderr, stdout};

/// Cases per run; seed 1 sends them all (none is skipped for want of a world).
const CASES: usize = 20;
/// Cases against the deeply nested answers.
const DEEP_CASES: usize = 4;

/// What one run against a hostile server came to.
struct Ran {
    code: i32,
    report: Value,
    stderr: String,
}

/// The run every fault gets: 20 cases, two retries, four requests in flight, and a timeout
/// long enough that a loaded machine (tests share two cores with builds) never hits it by
/// accident; the stall test sets its own short one.
fn run_against(url: &str) -> Ran {
    run_with(url, CASES, "5")
}

/// [`run_against`] with `cases` cases and `timeout` seconds per request.
fn run_with(url: &str, cases: usize, timeout: &str) -> Ran {
    let cases = cases.to_string();
    let flags = [
        ("--endpoint", url),
        ("--cases", &cases),
        ("--seed", "1"),
        ("--format", "json"),
        ("--timeout", timeout),
        ("--retries", "2"),
        ("--concurrency", "4"),
    ];
    let mut args = vec!["run", "--quiet"];
    args.extend(flags.iter().flat_map(|(flag, value)| [*flag, *value]));
    let o = run(&args, "");
    let text = stdout(&o);
    let report = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}\nstderr: {}", stderr(&o)));
    Ran { code: o.status.code().expect("the run exits, not killed by a signal"), report, stderr: stderr(&o) }
}

/// The field only a verdict of this kind has.
fn verdict_field(kind: &str) -> Option<&'static str> {
    match kind {
        "deviation" => Some("findings"),
        "unparseable" => Some("reason"),
        "transport" => Some("error"),
        _ => None,
    }
}

/// Asserts that every case is in the report once with exactly one verdict, that nothing
/// panicked and that the run exited with `code`; returns the cases.
#[track_caller]
fn one_verdict_per_case(ran: &Ran, code: u8) -> Vec<Value> {
    one_verdict_per_case_of(ran, CASES, code)
}

/// [`one_verdict_per_case`] for a run of `n` cases.
#[track_caller]
fn one_verdict_per_case_of(ran: &Ran, n: usize, code: u8) -> Vec<Value> {
    assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
    let cases = ran.report["cases"].as_array().expect("a case list").clone();
    assert_eq!(cases.len(), n, "{}", ran.report["summary"]);
    let ids: BTreeSet<&str> = cases.iter().map(|c| c["id"].as_str().expect("an id")).collect();
    assert_eq!(ids.len(), n, "case ids repeat");
    for c in &cases {
        let kind = c["verdict"].as_str().unwrap_or_else(|| panic!("no verdict: {c}"));
        let own: Vec<&str> = ["findings", "reason", "error"].into_iter().filter(|k| c.get(*k).is_some()).collect();
        let want: Vec<&str> = verdict_field(kind).into_iter().collect();
        assert_eq!(own, want, "case {} ({kind}) has the fields of another verdict: {c}", c["id"]);
    }
    let s = &ran.report["summary"];
    let sum: u64 =
        ["conforms", "deviations", "unparseable", "transport_errors"].iter().map(|k| s[k].as_u64().unwrap()).sum();
    assert_eq!(sum, n as u64, "every case is counted once: {s}");
    assert_eq!(ran.code, i32::from(code), "{s}\n{}", ran.stderr);
    cases
}

fn kinds(cases: &[Value]) -> BTreeSet<&str> {
    cases.iter().map(|c| c["verdict"].as_str().unwrap()).collect()
}

#[test]
fn resets_are_retried_then_the_run_is_inconclusive() {
    let server = fault_servers::start(Fault::Reset);
    let ran = run_against(&server.url);
    let cases = one_verdict_per_case(&ran, exit::INCONCLUSIVE);
    assert_eq!(kinds(&cases), BTreeSet::from(["transport"]));
    assert!(cases.iter().all(|c| c["attempts"] == 3), "two retries each");
}

#[test]
fn stalls_past_the_timeout_are_inconclusive() {
    let server = fault_servers::start(Fault::Stall(Duration::from_secs(3)));
    let ran = run_with(&server.url, CASES, "0.5");
    let cases = one_verdict_per_case(&ran, exit::INCONCLUSIVE);
    assert_eq!(kinds(&cases), BTreeSet::from(["transport"]));
    let errors: BTreeSet<&str> = cases.iter().map(|c| c["error"].as_str().unwrap()).collect();
    // Before the status line and in the middle of the body.
    assert!(errors.contains("timed out after 500ms"), "{errors:?}");
    assert!(errors.contains("timed out after 500ms reading the body"), "{errors:?}");
}

#[test]
fn throttling_forever_is_inconclusive() {
    let server = fault_servers::start(Fault::Throttle);
    let ran = run_against(&server.url);
    let cases = one_verdict_per_case(&ran, exit::INCONCLUSIVE);
    for c in &cases {
        let error = c["error"].as_str().unwrap_or_default();
        assert_eq!(error, "throttled (HTTP 503 RequestLimitExceeded) on all 3 attempts", "{c}");
    }
}

#[test]
fn truncated_bodies_are_retried_then_the_run_is_inconclusive() {
    let server = fault_servers::start(Fault::Truncate);
    let ran = run_against(&server.url);
    let cases = one_verdict_per_case(&ran, exit::INCONCLUSIVE);
    for c in &cases {
        let error = c["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("connection lost while reading the body"), "{c}");
    }
}

#[test]
fn redirects_are_not_followed_and_are_findings() {
    let elsewhere = fake::start(fake::Mode::Success);
    let to = format!("{}elsewhere", elsewhere.url);
    let server = fault_servers::start(Fault::Redirect { to: to.clone() });
    let ran = run_against(&server.url);
    assert_eq!(elsewhere.requests.load(Ordering::SeqCst), 0, "a redirect was followed");
    let cases = one_verdict_per_case(&ran, exit::DEVIATIONS);
    let mut statuses = BTreeSet::new();
    for c in &cases {
        let reason = c["reason"].as_str().unwrap_or_default();
        let status = c["status"].as_u64().unwrap_or_default();
        let named = format!("HTTP {status}: redirect to {to} (not followed)");
        assert!(reason.starts_with(&named), "{c}");
        statuses.insert(status);
    }
    assert_eq!(statuses, BTreeSet::from([302, 307]));
}

#[test]
fn deep_nesting_is_judged_without_a_crash() {
    let server = fault_servers::start(Fault::Deep(100_000));
    // Fewer cases and more time: a debug build takes about a second to read and decode each
    // 700 kB body (less if the decoder stops at a depth bound), four at once on two cores;
    // the fault here is the depth, not the time.
    let ran = run_with(&server.url, DEEP_CASES, "10");
    let cases = one_verdict_per_case_of(&ran, DEEP_CASES, exit::DEVIATIONS);
    assert!(!kinds(&cases).contains("transport"), "{}", ran.report["summary"]);
}

#[test]
fn echoed_headers_are_judged_like_any_error() {
    let server = fault_servers::start(Fault::Echo);
    let ran = run_against(&server.url);
    let cases = one_verdict_per_case(&ran, exit::DEVIATIONS);
    assert_eq!(kinds(&cases), BTreeSet::from(["deviation"]));
}

#[test]
fn an_html_page_is_unparseable() {
    let server = fault_servers::start(Fault::Html200);
    let ran = run_against(&server.url);
    let cases = one_verdict_per_case(&ran, exit::DEVIATIONS);
    assert_eq!(kinds(&cases), BTreeSet::from(["unparseable"]));
}

#[test]
fn garbage_instead_of_http_is_inconclusive() {
    let server = fault_servers::start(Fault::Garbage);
    let ran = run_against(&server.url);
    let cases = one_verdict_per_case(&ran, exit::INCONCLUSIVE);
    assert_eq!(kinds(&cases), BTreeSet::from(["transport"]));
    assert!(server.connections.load(Ordering::SeqCst) >= 3 * CASES as u64, "retried");
}

#[test]
fn the_readme_documents_every_exit_code() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for code in [exit::OK, exit::DEVIATIONS, exit::SETUP_ERROR, exit::INCONCLUSIVE] {
        assert!(readme.contains(&format!("\n- `{code}`: ")), "README's exit codes do not list {code}");
    }
}
