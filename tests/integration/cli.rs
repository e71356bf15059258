//! The command line as a user meets it: predictions, generated corpora, the rule table, and
//! one clear error line with exit code 2 for bad input.

use copyimage_conformance::exit;
use serde_json::Value;

use crate::{data, run, stderr, stdout};

fn json(o: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap()
}

#[test]
fn predict_reads_a_case_from_stdin() {
    let o = run(
        &["predict"],
        r#"{"world": {"region": "us-east-1", "images": [{"image_id": "ami-12345678", "region": "us-east-1"}]},
            "params": {"Name": "ab", "SourceImageId": "ami-12345678", "SourceRegion": "us-east-1"}}"#,
    );
    assert_eq!(o.status.code(), Some(exit::OK.into()), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["ok"], false);
    assert_eq!(v["status"], 400);
    assert_eq!(v["codes"], serde_json::json!(["InvalidAMIName.Malformed"]));
    assert_eq!(v["rules"], serde_json::json!(["R07-name"]));
}

#[test]
fn predict_reads_a_case_file_and_defaults_the_world() {
    let o = run(&["predict", "--case", &data("case_dry_run.json")], "");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["status"], 412);
    assert_eq!(v["codes"], serde_json::json!(["DryRunOperation"]));
}

#[test]
fn predict_success_has_no_codes() {
    let o = run(
        &["predict"],
        r#"{"params": {"Name": "copy-1", "SourceImageId": "ami-0a1b2c3d4e5f60718", "SourceRegion": "us-east-1"}}"#,
    );
    let v = json(&o);
    assert_eq!(
        (v["ok"].clone(), v["status"].clone(), v["codes"].clone()),
        (Value::Bool(true), 200.into(), serde_json::json!([]))
    );
}

#[track_caller]
pub(crate) fn assert_setup_error(o: &std::process::Output, needle: &str) {
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()));
    let err = stderr(o);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one clear line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(o).is_empty());
}

#[test]
fn bad_json_on_stdin_is_one_line_and_exit_2() {
    assert_setup_error(&run(&["predict"], "{not json"), "stdin: key must be a string at line 1 column 2");
    assert_setup_error(&run(&["predict"], ""), "stdin: EOF while parsing");
    assert_setup_error(
        &run(&["predict"], r#"{"params": {"Encrypted": true}}"#),
        "stdin: params.Encrypted: expected a string",
    );
    assert_setup_error(&run(&["predict"], r#"{"params": {}, "wrld": {}}"#), "stdin: unknown field `wrld`");
    assert_setup_error(
        &run(&["predict"], r#"{"world": {"region": "r", "images": [{"image_id": "a"}]}, "params": {}}"#),
        "missing field `region`",
    );
}

#[test]
fn missing_case_file_and_bad_world_name_the_file() {
    assert_setup_error(
        &run(&["predict", "--case", "/nonexistent/case.json"], ""),
        "/nonexistent/case.json: cannot read",
    );
    let o = run(&["gen", "--world", &data("world_bad.json")], "");
    assert_setup_error(&o, "world_bad.json: unknown variant `gone`");
    // A sound world with nothing to copy: named by `gen` and by `run`.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"region": "us-east-1", "images": []}"#).unwrap();
    let empty = empty.to_str().unwrap();
    let nothing = "the world has no source image that a minimal CopyImage request copies successfully";
    assert_setup_error(&run(&["gen", "--world", empty], ""), &format!("{empty}: {nothing}"));
    assert_setup_error(&run(&["run", "--quiet", "--world", empty], ""), &format!("{empty}: {nothing}"));
}

#[test]
fn bad_spec_names_the_file_and_key() {
    // Derived from the built-in spec so the fixture cannot drift from it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec_duplicate_rule.toml");
    let text = copyimage_conformance::BUILTIN_SPEC.replace("id = \"R08-desc\"", "id = \"R07-name\"");
    assert_ne!(text, copyimage_conformance::BUILTIN_SPEC);
    std::fs::write(&path, text).unwrap();
    let o = run(&["--spec", path.to_str().unwrap(), "rules"], "");
    assert_setup_error(&o, "rule.R07-name: duplicate rule id");
}

#[test]
fn unknown_flag_and_unknown_rule_exit_2() {
    assert_setup_error(&run(&["gen", "--frobnicate"], ""), "unexpected argument '--frobnicate' found (see --help)");
    assert_setup_error(&run(&["gen", "--count", "many"], ""), "invalid value 'many' for '--count <COUNT>'");
    assert_setup_error(&run(&["gen", "--rule", "R99-nothing"], ""), "--rule: no rule \"R99-nothing\"");
    assert_setup_error(&run(&["gen", "--rule", "nothing"], ""), "--rule nothing: no such target");
    assert_setup_error(&run(&["run", "--rule", "vaild"], ""), "--rule vaild: no such target (did you mean valid?)");
}

#[test]
fn gen_is_byte_identical_for_a_seed() {
    let a = run(&["gen", "--seed", "42", "--count", "300"], "");
    let b = run(&["gen", "--seed", "42", "--count", "300"], "");
    let c = run(&["gen", "--seed", "43", "--count", "300"], "");
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(stdout(&a).lines().count(), 300);
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn gen_only_and_rule_filters() {
    let valid = stdout(&run(&["gen", "--only", "valid", "--count", "50"], ""));
    assert_eq!(valid.lines().count(), 50, "{valid}");
    for line in valid.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["kind"], "valid");
        let p = &v["prediction"];
        assert!(p["ok"] == true || p["codes"] == serde_json::json!(["DryRunOperation"]), "{line}");
    }
    let r07 = stdout(&run(&["gen", "--rule", "R07-name", "--count", "50"], ""));
    assert_eq!(r07.lines().count(), 50, "{r07}");
    for line in r07.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["target"], "R07-name");
        assert!(v["prediction"]["codes"].as_array().unwrap().contains(&"InvalidAMIName.Malformed".into()), "{line}");
    }
}

#[test]
fn rules_table_snapshot() {
    let o = run(&["rules"], "");
    assert_eq!(o.status.code(), Some(0));
    insta::assert_snapshot!("rules_table", stdout(&o));
}

#[test]
fn gen_sample_snapshot() {
    let o = run(&["gen", "--seed", "2026", "--count", "12"], "");
    let lines: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 12);
    insta::assert_json_snapshot!("gen_seed_2026", lines);
}

#[test]
fn readme_rule_table_is_the_spec_s() {
    let table = stdout(&run(&["rules", "--format", "markdown"], ""));
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains(&table), "README.md's rule table is stale: paste `make rules-md` into it");
}

#[test]
fn live_on_an_emulator_is_refused_before_any_request() {
    // The plan refuses it, so even an endpoint that takes no connections is not tried.
    let o = run(&["run", "--quiet", "--live", "--max-creates", "1", "--endpoint", "http://127.0.0.1:9/"], "");
    assert_setup_error(&o, "--live is for real AWS endpoints; http://127.0.0.1:9/ is not one");
    let o = run(&["run", "--quiet", "--live", "--max-creates", "1"], "");
    assert_setup_error(&o, "--live is for real AWS endpoints; the embedded endpoint is not one");
}

#[test]
fn run_plan_errors_are_one_line_and_exit_2() {
    let o = run(&["run", "--quiet", "--region", "mars-north-1"], "");
    assert_setup_error(&o, "Region \"mars-north-1\" is not one the spec knows");
    assert_setup_error(&run(&["run", "--quiet", "--timeout", "0"], ""), "--timeout 0: give seconds between 0 and 3600");
    let o = run(&["run", "--quiet", "--endpoint", "http://user:pw@127.0.0.1:9/"], "");
    assert_setup_error(&o, "--endpoint: credentials in the URL are not supported");
}

#[test]
fn no_arguments_print_the_help_not_an_error_line() {
    let o = run(&[], "");
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()), "clap's convention for a missing command");
    let err = stderr(&o);
    assert!(err.contains("Usage: copyimage-conformance [OPTIONS] <COMMAND>") && err.contains("Commands:"), "{err}");
    assert!(!err.contains("copyimage-conformance: ") && !err.contains("error"), "{err}");
    let o = run(&["targets"], "");
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()));
    assert!(stderr(&o).contains("Usage: copyimage-conformance targets"), "{}", stderr(&o));
}

#[test]
fn a_mistyped_flag_gets_the_similar_one_suggested() {
    let o = run(&["run", "--endpont", "http://127.0.0.1:9/"], "");
    assert_setup_error(&o, "unexpected argument '--endpont' found; tip: a similar argument exists: '--endpoint'");
    assert_setup_error(&run(&["rules", "--formt", "json"], ""), "tip: a similar argument exists: '--format'");
}

#[test]
fn endpoint_url_is_the_aws_cli_s_spelling_of_endpoint() {
    let help = stdout(&run(&["run", "--help"], ""));
    assert!(help.contains("[alias: --endpoint-url]"), "{help}");
    // The alias reaches the plan like the flag: the same refusal names the URL given.
    let o = run(&["run", "--quiet", "--live", "--max-creates", "1", "--endpoint-url", "http://127.0.0.1:9/"], "");
    assert_setup_error(&o, "--live is for real AWS endpoints; http://127.0.0.1:9/ is not one");
}

#[test]
fn setup_without_an_endpoint_says_so_before_any_request() {
    let o = run(&["run", "--quiet", "--setup"], "");
    assert_setup_error(&o, "--setup needs --endpoint (or --endpoint-url)");
    assert!(!stderr(&o).contains("RegisterImage"));
}

#[test]
fn short_and_mistyped_rule_ids() {
    let r07 = stdout(&run(&["gen", "--rule", "R07", "--count", "3"], ""));
    assert_eq!(r07.lines().count(), 3);
    assert!(r07.lines().all(|l| serde_json::from_str::<Value>(l).unwrap()["target"] == "R07-name"), "{r07}");
    assert_setup_error(&run(&["gen", "--rule", "R7-nme"], ""), "--rule: no rule \"R7-nme\" (did you mean R07-name?)");
    assert_setup_error(
        &run(&["run", "--quiet", "--rule", "R02"], ""),
        "--rule: \"R02\" could be any of R02-action, R02-version; give more of the id",
    );
    let card = run(&["rules", "--id", "r07"], "");
    assert_eq!(card.status.code(), Some(0));
    assert!(stdout(&card).starts_with("R07-name: "), "{}", stdout(&card));
    assert_setup_error(&run(&["rules", "--id", "R25-ami-notfuond"], ""), "(did you mean R25-ami-notfound?)");
    let json: Value = serde_json::from_str(&stdout(&run(&["rules", "--id", "R30", "--format", "json"], ""))).unwrap();
    assert_eq!(json["id"], "R30-unsupported-pair");
}

#[test]
fn the_rules_table_fits_100_columns_with_when_and_the_full_text_is_one_flag_away() {
    let table = stdout(&run(&["rules"], ""));
    let widest = table.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 100, "{widest} columns");
    assert!(table.lines().filter(|l| l.starts_with("    when    ")).count() >= 36, "{table}");
    let json: Vec<Value> = serde_json::from_str(&stdout(&run(&["rules", "--format", "json"], ""))).unwrap();
    for rule in &json {
        let id = rule["id"].as_str().unwrap();
        let card = stdout(&run(&["rules", "--id", id], ""));
        let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(words(&card).contains(&words(rule["source"].as_str().unwrap())), "{id}: {card}");
    }
}
