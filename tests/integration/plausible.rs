//! A plausible AWS: `serve --answer any` answers every request with a seeded-random outcome
//! among those the oracle accepts, as an AWS making other undocumented choices might. The
//! harness must raise no deviation against it, for the default run and for runs aimed at the
//! rules whose choices are least known (R25, R30, R36).

use std::process::Command;

use serde_json::Value;

use crate::{serve_for_test_with, stderr};

/// Runs `run` with `extra` arguments against a fresh `serve --answer any --seed SEED` (plus
/// `serve_extra`), and returns the exit code and the JSON report.
fn run_any(seed: u64, serve_extra: &[&str], extra: &[&str]) -> (Option<i32>, Value) {
    let seed = seed.to_string();
    let mut serve_args = vec!["--answer", "any", "--seed", &seed];
    serve_args.extend(serve_extra);
    let serve = serve_for_test_with(&serve_args);
    let mut args = vec!["run", "--endpoint", serve.url.as_str(), "--quiet", "--format", "json", "--seed", &seed];
    args.extend(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance")).args(&args).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: no JSON report ({e}): {}", stderr(&out)));
    (out.status.code(), report)
}

/// Runs against a plausible AWS and asserts that nothing deviates.
fn run_against_any(seed: u64, extra: &[&str]) -> Value {
    let (code, report) = run_any(seed, &[], extra);
    let s = &report["summary"];
    let deviations: Vec<&Value> =
        report["cases"].as_array().into_iter().flatten().filter(|c| c["verdict"] != "conforms").collect();
    assert_eq!(s["deviations"], 0, "{extra:?}: {deviations:#?}");
    assert_eq!(s["unparseable"], 0, "{extra:?}: {deviations:#?}");
    assert_eq!(code, Some(0), "{extra:?}: {s}");
    report
}

#[test]
fn the_default_run_raises_no_deviation_against_any_acceptable_answer() {
    for seed in [1, 2, 3] {
        let r = run_against_any(seed, &[]);
        assert!(r["summary"]["cases"].as_u64().unwrap() >= 100, "{}", r["summary"]);
    }
}

#[test]
fn runs_aimed_at_undocumented_choices_raise_no_deviation() {
    for (seed, rule) in [(4, "R25-ami-notfound"), (5, "R30-unsupported-pair"), (6, "R36-list-index")] {
        let r = run_against_any(seed, &["--rule", rule, "--cases", "120"]);
        assert!(r["summary"]["conforms"].as_u64().unwrap() >= 100, "{rule}: {}", r["summary"]);
    }
}

#[test]
fn a_plausible_aws_with_a_planted_fault_still_deviates() {
    // Drawing among acceptable answers must not hide a real fault: a cross-partition copy that
    // succeeds is no answer AWS could give.
    let (code, report) = run_any(5, &["--mutant", "cross-partition-copy"], &["--rule", "R30-unsupported-pair"]);
    assert_eq!(code, Some(1), "{}", report["summary"]);
    assert!(report["summary"]["deviations"].as_u64().unwrap() > 0, "{}", report["summary"]);
}
