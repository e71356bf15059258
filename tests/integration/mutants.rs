//! The harness's mutation score: the default `run` against `serve --mutant NAME` for every
//! known fault, which of them it catches, and the README table that records it.

use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use copyimage_conformance::{Mutant, exit};
use serde_json::Value;

use crate::{serve_for_test_with, stderr};

/// The issue asks for 95 %. The default run opens with the generator's coverage walk (every
/// limit on both sides, every violation alone and in a dry run) and checks the XML namespace
/// of every success, so it catches every mutant; the README table (checked below, mutant by
/// mutant) shows any change either way.
const FLOOR_PERCENT: usize = 95;

/// Stateful sequences for the mutants only DescribeImages shows.
const STATEFUL_SEQUENCES: &str = "20";

/// Runs at once: the machine has two cores, each run is a server and a client process.
const WORKERS: usize = 2;

const README_BEGIN: &str = "<!-- mutants:begin -->";
const README_END: &str = "<!-- mutants:end -->";

/// What one run against one endpoint found.
#[derive(Debug)]
struct Found {
    exit: Option<i32>,
    /// Deviations, unparseable replies and stateful failures.
    findings: u64,
}

impl Found {
    fn caught(&self) -> bool {
        self.exit == Some(exit::DEVIATIONS.into()) && self.findings > 0
    }
}

/// The default run against a fresh endpoint with `mutant` planted (none: the reference).
fn run_against(mutant: Option<Mutant>) -> Found {
    let name = mutant.map(Mutant::name);
    let serve_args: Vec<&str> = name.as_deref().map(|n| vec!["--mutant", n]).unwrap_or_default();
    let serve = serve_for_test_with(&serve_args);
    let mut args = vec!["run", "--endpoint", serve.url.as_str(), "--quiet", "--format", "json"];
    if mutant.is_some_and(Mutant::needs_stateful) {
        args.extend(["--stateful", STATEFUL_SEQUENCES]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance")).args(&args).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name:?}: no JSON report ({e}): {}", stderr(&out)));
    let s = &report["summary"];
    let count = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{name:?}: summary.{k} missing"));
    let stateful = s["stateful"]["failures"].as_array().map_or(0, Vec::len) as u64;
    Found { exit: out.status.code(), findings: count("deviations") + count("unparseable") + stateful }
}

/// The README block for these results: one row per mutant, then the score.
fn readme_block(results: &[(Mutant, bool)]) -> String {
    let mut s = format!("{README_BEGIN}\n| mutant | stage | fault planted | caught |\n|---|---|---|---|\n");
    for (m, caught) in results {
        let caught = if *caught { "yes" } else { "**no**" };
        let stateful = if m.needs_stateful() { " (with `--stateful 20`)" } else { "" };
        s.push_str(&format!("| `{}` | {} | {}{stateful} | {caught} |\n", m.name(), m.stage().name(), m.description()));
    }
    let caught = results.iter().filter(|(_, c)| *c).count();
    s.push_str(&format!(
        "\nScore: the default run catches **{caught} of {}** mutants ({} %).\n{README_END}",
        results.len(),
        caught * 100 / results.len()
    ));
    s
}

#[test]
fn the_default_run_catches_the_planted_faults() {
    let reference = run_against(None);
    assert_eq!(reference.exit, Some(exit::OK.into()), "the unmutated endpoint: {reference:?}");
    assert_eq!(reference.findings, 0, "the unmutated endpoint");

    let mutants = Mutant::all();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<bool>>> = Mutex::new(vec![None; mutants.len()]);
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| {
                while let Some(&m) = mutants.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let caught = run_against(Some(m)).caught();
                    let i = mutants.iter().position(|x| *x == m).unwrap();
                    results.lock().unwrap()[i] = Some(caught);
                }
            });
        }
    });
    let results: Vec<(Mutant, bool)> =
        mutants.iter().copied().zip(results.into_inner().unwrap().into_iter().map(Option::unwrap)).collect();

    let caught = results.iter().filter(|(_, c)| *c).count();
    println!("mutation score: {caught} of {} caught", results.len());
    for (m, c) in &results {
        println!("  {:30} {:11} {}", m.name(), m.stage().name(), if *c { "caught" } else { "MISSED" });
    }
    assert!(
        caught * 100 >= FLOOR_PERCENT * results.len(),
        "the default run catches only {caught} of {} mutants",
        results.len()
    );

    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let expected = readme_block(&results);
    assert!(
        readme.contains(&expected),
        "README.md's mutation table is stale; replace its {README_BEGIN} .. {README_END} block with:\n{expected}"
    );
}

/// A spec of the user's that names its phases otherwise cannot take a mutant that moves a
/// rule to the built-in spec's `protocol` phase: one message naming the spec, exit 2.
#[test]
fn a_mutant_the_spec_cannot_take_is_refused_naming_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("renamed.toml");
    let builtin = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/copy_image.toml")).unwrap();
    std::fs::write(&spec, builtin.replace("\"protocol\"", "\"proto\"")).unwrap();
    let spec = spec.to_str().unwrap();
    // The spec itself is sound.
    assert_eq!(crate::run(&["--spec", spec, "rules"], "").status.code(), Some(exit::OK.into()));
    let o = crate::run(&["--spec", spec, "serve", "--addr", "127.0.0.1:0", "--mutant", "dry-run-before-syntax"], "");
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(spec) && err.contains("phase.protocol") && err.contains("dry-run-before-syntax"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn unknown_mutant_is_a_usage_error_and_the_list_names_every_mutant() {
    let o = crate::run(&["serve", "--mutant", "no-such-fault"], "");
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()));
    assert!(stderr(&o).contains("invalid value 'no-such-fault'"), "{}", stderr(&o));
    let o = crate::run(&["serve", "--list-mutants"], "");
    assert_eq!(o.status.code(), Some(exit::OK.into()), "{}", stderr(&o));
    let list = crate::stdout(&o);
    assert_eq!(list.lines().count(), Mutant::all().len());
    for m in Mutant::all() {
        let line = list.lines().find(|l| l.split_whitespace().next() == Some(m.name().as_str()));
        assert!(line.is_some_and(|l| l.ends_with(&m.description())), "{} in:\n{list}", m.name());
    }
}

#[test]
fn a_reply_without_ec2_s_namespace_is_one_finding_under_its_own_rule() {
    let serve = serve_for_test_with(&["--mutant", "drops-xml-namespace"]);
    let args =
        ["run", "--endpoint", serve.url.as_str(), "--quiet", "--format", "json", "--only", "valid", "--cases", "8"];
    let out = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance")).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(exit::DEVIATIONS.into()), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["summary"]["findings"].as_array().unwrap();
    let ours: Vec<&Value> = findings.iter().filter(|f| f["key"]["kind"] == "wrong_namespace").collect();
    assert!(!ours.is_empty(), "{findings:?}");
    for f in ours {
        assert_eq!(f["key"]["rule"], "R39-xml-namespace", "{f}");
        assert_eq!(f["title"], "success whose CopyImageResponse is not in EC2's XML namespace", "{f}");
    }
}
