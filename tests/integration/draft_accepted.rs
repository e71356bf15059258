//! `run --draft-accepted`: a draft accepted.toml from a run's open findings, refused as a
//! baseline's accepted file until a person fills in its reasons, accepted once they are.

use copyimage_conformance::exit;

use crate::{run, serve_for_test_with, stderr};

/// Runs `args` against `url` quietly and returns the exit code and standard error.
fn run_against(url: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["run", "--quiet", "--endpoint-url", url, "--cases", "120"];
    all.extend_from_slice(args);
    let o = run(&all, "");
    (o.status.code(), stderr(&o))
}

#[test]
fn a_draft_names_each_open_finding_and_loads_once_filled_in() {
    let serve = serve_for_test_with(&["--mutant", "dry-run-status-400"]);
    let tmp = tempfile::tempdir().unwrap();
    let draft = tmp.path().join("draft.toml");
    let draft_s = draft.to_str().unwrap();
    let (code, err) = run_against(&serve.url, &["--draft-accepted", draft_s]);
    assert_eq!(code, Some(exit::DEVIATIONS.into()), "{err}");
    let text = std::fs::read_to_string(&draft).unwrap();
    assert!(text.contains("# R21-dryrun (Dry run)"), "{text}");
    assert!(
        text.contains("DryRunOperation comes with HTTP 400; AWS answers 412 (observed: DryRunOperation, HTTP 400;")
    );
    assert!(
        text.contains("[[accept]]\nrule = \"R21-dryrun\"\nfinding = \"wrong_status\"\nreason = \"TODO: "),
        "{text}"
    );
    // One entry per open finding: the mutant answers every dry run with HTTP 400, whichever
    // rule decides the case (the coverage walk sends dry runs with other violations too).
    let entries = text.matches("[[accept]]").count();
    assert!(entries >= 1, "{text}");
    assert_eq!(text.matches("finding = \"wrong_status\"").count(), entries, "{text}");
    assert_eq!(text.matches("(observed: DryRunOperation, HTTP 400;").count(), entries, "{text}");

    // A second draft to the same file is refused before the run.
    let (code, err) = run_against(&serve.url, &["--draft-accepted", draft_s]);
    assert_eq!(code, Some(exit::SETUP_ERROR.into()));
    assert!(err.contains("the file exists"), "{err}");

    // As a baseline's accepted file, the draft is refused while its reason is a TODO.
    let baseline = tmp.path().join("baseline");
    std::fs::create_dir(&baseline).unwrap();
    let accepted = baseline.join("accepted.toml");
    std::fs::copy(&draft, &accepted).unwrap();
    let b = baseline.to_str().unwrap();
    let (code, err) = run_against(&serve.url, &["--baseline", b, "--update-baseline"]);
    assert_eq!(code, Some(exit::SETUP_ERROR.into()), "{err}");
    assert!(err.contains("accepted.toml:") && err.contains("accept[0].reason is not filled in"), "{err}");
    // An empty evidence is refused too.
    let reason_filled: String = text
        .lines()
        .map(|l| if l.starts_with("reason = \"TODO: ") { "reason = \"Known.\"".to_owned() } else { l.to_owned() })
        .map(|l| l + "\n")
        .collect();
    std::fs::write(&accepted, &reason_filled).unwrap();
    let (code, err) = run_against(&serve.url, &["--baseline", b, "--update-baseline"]);
    assert_eq!(code, Some(exit::SETUP_ERROR.into()), "{err}");
    assert!(err.contains("accept[0].evidence is empty"), "{err}");

    // Filled in, it accepts the finding: the baseline records and then passes.
    std::fs::write(&accepted, reason_filled.replace("evidence = \"\"", "evidence = \"the mutant's list\"")).unwrap();
    let (code, err) = run_against(&serve.url, &["--baseline", b, "--update-baseline"]);
    assert_eq!(code, Some(exit::OK.into()), "{err}");
    let (code, err) = run_against(&serve.url, &["--baseline", b]);
    assert_eq!(code, Some(exit::OK.into()), "{err}");
}

#[test]
fn a_run_without_findings_drafts_an_empty_file() {
    let tmp = tempfile::tempdir().unwrap();
    let draft = tmp.path().join("accepted.toml");
    let o = run(&["run", "--quiet", "--cases", "20", "--draft-accepted", draft.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&draft).unwrap();
    assert!(text.contains("run against the embedded endpoint") && text.contains("no open findings"), "{text}");
    assert!(!text.contains("[[accept]]"));
}
