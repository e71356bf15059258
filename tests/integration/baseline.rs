//! Snapshot baselines and the CI gate: unchanged responses pass, a changed one fails with a
//! readable diff, and deviations pass only when `accepted.toml` accepts them.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::fake::{self, Mode};
use crate::{run, stderr, stdout};

/// A fresh, empty directory that is removed when the test ends, pass or fail.
fn temp_dir(name: &str) -> TempDir {
    tempfile::Builder::new().prefix(&format!("cic-{name}-")).tempdir().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/embedded")
}

#[test]
fn the_committed_embedded_baseline_passes() {
    let o = run(&["run", "--quiet", "--baseline", committed().to_str().unwrap(), "--format", "json"], "");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["summary"]["baseline"]["changed"], serde_json::json!([]));
    // Every stored case is either sent or skipped (it needs a world no endpoint can be put in).
    let (sent, skipped) = (v["summary"]["cases"].as_u64().unwrap(), v["summary"]["skipped"].as_u64().unwrap());
    assert_eq!(sent + skipped, 400);
    assert!(sent > 0, "no stored case was sent");
    assert_eq!(v["summary"]["conforms"].as_u64().unwrap(), sent);
}

#[test]
fn changing_one_expected_response_fails_with_a_diff() {
    let tmp = temp_dir("changed");
    let dir = tmp.path();
    copy_dir(&committed(), dir);
    let snap = dir.join("R09-amiid-malformed.snap");
    let text = std::fs::read_to_string(&snap).unwrap();
    let edited = text.replacen("response: 400 InvalidAMIID.Malformed", "response: 400 InvalidAMIID.NotFound", 1);
    assert_ne!(text, edited);
    std::fs::write(&snap, edited).unwrap();
    let o = run(&["run", "--quiet", "--baseline", dir.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("R09-amiid-malformed.snap (baseline)"), "{err}");
    assert!(err.contains("-    response: 400 InvalidAMIID.NotFound"), "{err}");
    assert!(err.contains("+    response: 400 InvalidAMIID.Malformed"), "{err}");
    assert!(stdout(&o).contains("baseline: 1 snapshot files changed"), "{}", stdout(&o));
}

#[test]
fn deviations_pass_only_when_accepted_and_changes_always_fail() {
    let tmp = temp_dir("accepted");
    let dir = tmp.path();
    let d = dir.to_str().unwrap();
    let wrong = fake::start(Mode::Success);
    fn args<'a>(url: &'a str, d: &'a str) -> Vec<&'a str> {
        vec!["run", "--quiet", "--endpoint", url, "--baseline", d, "--rule", "R04-missing", "--cases", "6"]
    }
    let mut update = args(&wrong.url, d);
    update.push("--update-baseline");
    // Writing the baseline reports the deviations nobody accepted yet.
    let o = run(&update, "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("deviates and accepted.toml does not accept it"), "{}", stderr(&o));
    assert!(dir.join("corpus.jsonl").exists() && dir.join("R04-missing.snap").exists());
    std::fs::write(
        dir.join("accepted.toml"),
        "[[accept]]\nrule = \"R04-missing\"\nfinding = \"success_instead_of_error\"\nreason = \"the test server accepts anything\"\n",
    )
    .unwrap();
    let o = run(&args(&wrong.url, d), "");
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("baseline: 0 snapshot files changed, 6 deviations accepted, 0 not accepted"),
        "{}",
        stdout(&o)
    );
    // Another wrong answer is a change, accepted rule or not.
    let other = fake::start(Mode::Error("InvalidParameterValue"));
    let o = run(&args(&other.url, d), "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("+    response: 400 InvalidParameterValue: m"), "{}", stderr(&o));
}

#[test]
fn a_broken_accepted_file_is_named() {
    let tmp = temp_dir("broken");
    let dir = tmp.path();
    std::fs::write(dir.join("accepted.toml"), "[[accept]]\nrule = \"R04-missing\"\nwhy = \"no reason field\"\n")
        .unwrap();
    let o = run(&["run", "--quiet", "--baseline", dir.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("accepted.toml:3: unknown field `why`"), "{}", stderr(&o));
    let empty = temp_dir("empty");
    let o = run(&["run", "--quiet", "--baseline", empty.path().to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("corpus.jsonl: no corpus; run once with --update-baseline"), "{}", stderr(&o));
}

#[test]
fn an_unknown_accepted_property_is_named() {
    let tmp = temp_dir("property");
    let dir = tmp.path();
    std::fs::write(
        dir.join("accepted.toml"),
        "[[accept_property]]\nproperty = \"replay-same-id\"\nreason = \"typo\"\n",
    )
    .unwrap();
    let o = run(&["run", "--quiet", "--baseline", dir.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("accepted.toml:2: accept_property[0]: no property named \"replay-same-id\"; known: "),
        "{err}"
    );
}

#[test]
fn annotations_and_other_findings_accept_nothing() {
    let tmp = temp_dir("strict");
    let dir = tmp.path();
    let d = dir.to_str().unwrap();
    // An error where success is due: the deciding rules include R34/R35, which only annotate.
    let wrong = fake::start(Mode::Error("InvalidParameterValue"));
    let args = ["run", "--quiet", "--endpoint", wrong.url.as_str(), "--baseline", d, "--only", "valid", "--cases", "8"];
    let mut update = args.to_vec();
    update.push("--update-baseline");
    assert_eq!(run(&update, "").status.code(), Some(1));
    let accepted = |entries: &str| {
        std::fs::write(dir.join("accepted.toml"), entries).unwrap();
        run(&args, "")
    };
    // Naming an annotation is refused outright, at its line.
    let o = accepted("[[accept]]\nrule = \"R35-success\"\nreason = \"an annotation explains nothing\"\n");
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("accepted.toml:2: accept[0].rule \"R35-success\": a success annotation"),
        "{}",
        stderr(&o)
    );
    let o = accepted("[[accept]]\nrule = \"R21-dryrun\"\nfinding = \"wrong_status\"\nreason = \"the wrong finding\"\n");
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}
