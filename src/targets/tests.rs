//! Target descriptions: what loads, what is refused with the file and field named, and the
//! matrix's counting and README splicing.

use std::path::Path;

use super::matrix::{self, Score};
use super::{Target, TargetError};

const GOOD: &str = r#"
name = "demo"
about = "a demo"
dir = ".demo"
baseline = "snapshots/demo"
run = ["--setup", "--stateful", "30"]
[install]
packages = ["moto[server]==5.2.5"]
[start]
command = ["{venv}/bin/moto_server", "-p", "{port}"]
env = { DATA = "{dir}/data" }
[ready]
path = "/moto-api/"
status = 200
"#;

fn load(name: &str, text: &str) -> Result<Target, TargetError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    Target::load(&path)
}

#[track_caller]
fn refused(name: &str, text: &str, field: &str) -> String {
    let e = load(name, text).expect_err("refused").to_string();
    assert!(e.contains(&format!("{name}.toml")), "the file is named: {e}");
    assert!(e.contains(field), "{field} is named: {e}");
    e
}

#[test]
fn a_good_description_loads_with_defaults() {
    let t = load("demo", GOOD).unwrap();
    assert_eq!(t.stateful(), 30);
    assert_eq!(t.install.unwrap().python, "python3");
    assert_eq!(t.stop.timeout_seconds, 10.0);
    assert!(t.reset.is_none());
}

#[test]
fn bad_descriptions_name_the_file_and_field() {
    refused("other", GOOD, "name");
    refused("demo", &GOOD.replace("\"{port}\"]", "\"{prot}\"]"), "{prot}");
    refused("demo", &GOOD.replace("==5.2.5", ""), "install.packages");
    refused("demo", &GOOD.replace("\"/moto-api/\"", "\"moto-api\""), "ready.path");
    refused("demo", &GOOD.replace("baseline = \"snapshots/demo\"", "baseline = \"/abs\""), "baseline");
    refused("demo", &format!("{GOOD}\n[reset]\nmethod = \"PUT\"\npath = \"/r\"\n"), "reset.method");
    let e = refused("demo", &GOOD.replace("about", "abut"), ":");
    assert!(e.contains("unknown field"), "{e}");
    let no_install = GOOD.replace("[install]\npackages = [\"moto[server]==5.2.5\"]\n", "");
    refused("demo", &no_install, "{venv}");
}

#[test]
fn scores_count_each_case_by_its_last_verdict() {
    let snap = "- case 1\n  request: a\n    response: 200\n    verdict: conforms\n\
                - case 2\n  setup 0: x\n    verdict: conforms\n  request: b\n    verdict: success, expected X\n\
                - case 3\n  setup 0: x\n    verdict: unparseable: HTTP 500\n  request: c\n    verdict: conforms\n";
    assert_eq!(matrix::score_snapshot(snap), Score { cases: 3, conform: 2 });
    assert_eq!(matrix::score_snapshot(""), Score::default());
}

#[test]
fn splice_replaces_only_the_block() {
    let readme = format!("intro\n{}\nold\n{}\nrest\n", matrix::BEGIN, matrix::END);
    let new = matrix::splice(&readme, "new\n").unwrap();
    assert_eq!(new, format!("intro\n{}\nnew\n{}\nrest\n", matrix::BEGIN, matrix::END));
    assert_eq!(matrix::block(&new), Some("new\n"));
    assert_eq!(matrix::splice("no markers", "x"), None);
}

#[test]
fn the_committed_descriptions_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(super::DEFAULT_DIR);
    let all = super::load_all(&dir).unwrap();
    let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
    for gated in ["moto", "moto-ext", "localstack"] {
        assert!(names.contains(&gated), "{gated} missing from {names:?}");
    }
}
