//! Minimal reproductions: a planted fault's example is shrunk against the live endpoint to a
//! readable request at the rule's boundary, within the shrink budget, shown as curl and boto3,
//! and `--emit-tests` writes one pytest file per finding not accepted.

use serde_json::Value;

use crate::{run, serve_for_test_with, stdout};

/// A JSON run against a `serve` with `mutant`, aimed at `rule`, with extra flags.
fn json_run(mutant: &str, rule: &str, extra: &[&str]) -> Value {
    let serve = serve_for_test_with(&["--mutant", mutant]);
    let mut args =
        vec!["run", "--quiet", "--endpoint", &serve.url, "--rule", rule, "--cases", "40", "--format", "json"];
    args.extend_from_slice(extra);
    let o = run(&args, "");
    assert_eq!(o.status.code(), Some(1), "{}", crate::stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn only_finding(report: &Value) -> &Value {
    let findings = report["summary"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    &findings[0]
}

#[test]
fn a_long_name_shrinks_to_readable_text_one_past_the_limit() {
    let report = json_run("accepts-long-name", "R07-name", &[]);
    let f = only_finding(&report);
    let name = f["request"]["Name"].as_str().unwrap();
    assert_eq!(name.chars().count(), 129, "{f:#}");
    assert!(name.starts_with("my-ami-copy-my-ami-copy-"), "{name}");
    // Only the members the rule needs are left.
    let keys: Vec<&str> = f["request"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["Name", "SourceImageId", "SourceRegion"], "{f:#}");
    assert!(f["reproduction"].as_str().unwrap().contains(&format!("Name={name}&")), "{f:#}");
    let boto3 = f["boto3"].as_str().unwrap();
    assert!(boto3.contains("ec2.copy_image(Name=(\"my-ami-copy-\" * 11)[:129], "), "{boto3}");
    assert!(boto3.ends_with("# AWS answers: ClientError InvalidAMIName.Malformed (HTTP 400)"), "{boto3}");
    let shrunk = &f["shrunk"];
    assert!(shrunk["kept"].as_u64().unwrap() >= 1, "{shrunk}");
    assert!(shrunk["requests"].as_u64().unwrap() <= 200, "{shrunk}");
}

#[test]
fn the_budget_caps_the_shrink_requests_and_zero_turns_shrinking_off() {
    let off = json_run("accepts-long-name", "R07-name", &["--shrink-budget", "0"]);
    assert!(only_finding(&off).get("shrunk").is_none(), "{off:#}");
    let sent = |r: &Value| r["summary"]["requests"].as_u64().unwrap();
    let capped = json_run("accepts-long-name", "R07-name", &["--shrink-budget", "3"]);
    let shrunk = &only_finding(&capped)["shrunk"];
    assert!((1..=3).contains(&shrunk["requests"].as_u64().unwrap()), "{shrunk}");
    // The shrink requests count among the run's.
    assert_eq!(sent(&capped), sent(&off) + shrunk["requests"].as_u64().unwrap());
}

#[test]
fn the_terminal_report_shows_the_minimal_request_as_curl_and_boto3() {
    let serve = serve_for_test_with(&["--mutant", "accepts-long-description"]);
    let o = run(&["run", "--quiet", "--endpoint", &serve.url, "--rule", "R08-desc", "--cases", "40"], "");
    assert_eq!(o.status.code(), Some(1), "{}", crate::stderr(&o));
    let text = stdout(&o);
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("no {s:?} in {text}"));
    assert!(at("     minimal request: ") < at("     curl -sS -i -X POST "), "{text}");
    assert!(at("     curl -sS -i -X POST ") < at("     ec2.copy_image("), "{text}");
    assert!(at("     ec2.copy_image(") < at("\nrule "), "findings come first: {text}");
    assert!(text.contains("Description=(\"my-ami-copy-\" * 22)[:256]"), "{text}");
}

#[test]
fn emit_tests_writes_one_pytest_file_per_open_finding() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("emitted");
    let report = json_run("accepts-long-name", "R07-name", &["--emit-tests", out.to_str().unwrap()]);
    let f = only_finding(&report);
    let files: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(files, ["test_r07_name_success_instead_of_error.py"]);
    let text = std::fs::read_to_string(out.join(&files[0])).unwrap();
    assert!(text.contains("EXPECTED = [(\"InvalidAMIName.Malformed\", 400)]"), "{text}");
    assert!(text.contains("ENDPOINT = os.environ.get(\"COPYIMAGE_ENDPOINT\", \"http://127.0.0.1:"), "{text}");
    assert!(text.contains("def test_r07_name_success_instead_of_error():"), "{text}");
    // The test sends the minimal request, with the source image it finds or makes.
    let name = f["request"]["Name"].as_str().unwrap();
    assert_eq!(name.chars().count(), 129);
    assert!(text.contains("ec2.copy_image(Name=(\"my-ami-copy-\" * 11)[:129], SourceImageId=image, "), "{text}");
}

#[test]
fn the_markdown_report_shows_the_minimal_request_as_curl_and_boto3() {
    let serve = serve_for_test_with(&["--mutant", "accepts-long-name"]);
    let args =
        ["run", "--quiet", "--endpoint", &serve.url, "--rule", "R07-name", "--cases", "40", "--format", "markdown"];
    let o = run(&args, "");
    assert_eq!(o.status.code(), Some(1), "{}", crate::stderr(&o));
    let text = stdout(&o);
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("no {s:?} in {text}"));
    assert!(at("   minimal request: ") < at("   ```sh\n   curl "), "{text}");
    assert!(at("   ```sh\n   curl ") < at("   ```python\n   import boto3"), "{text}");
}
