//! Targets and the conformance matrix: the README's matrix is what `matrix` makes of the
//! committed baselines, every gated target has a complete baseline, and bad target
//! descriptions are refused with exit code 2 and the file and field named.

use std::path::Path;

use copyimage_conformance::exit;
use copyimage_conformance::targets::{self, matrix};

use crate::{run, stderr, stdout};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_readme_matrix_is_what_matrix_makes_of_the_committed_baselines() {
    let o = run(&["matrix"], "");
    assert_eq!(o.status.code(), Some(exit::OK.into()), "{}", stderr(&o));
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = matrix::block(&readme).expect("README.md has the matrix markers");
    assert!(
        block == stdout(&o),
        "README.md's matrix is stale: run `make matrix` (copyimage-conformance matrix --update README.md)"
    );
    for name in ["moto", "moto-ext", "localstack"] {
        assert!(block.contains(&format!("[{name}](snapshots/{name}/accepted.toml)")), "{name} has no column");
    }
}

#[test]
fn every_target_has_a_complete_baseline() {
    for t in targets::load_all(&root().join(targets::DEFAULT_DIR)).unwrap() {
        let dir = root().join(&t.baseline);
        assert!(dir.join("corpus.jsonl").is_file(), "{}: no corpus.jsonl", t.name);
        let spec = copyimage_conformance::Spec::builtin().unwrap();
        let column = matrix::column(&targets::Target { baseline: dir.clone(), ..t.clone() }, &spec).unwrap();
        assert!(column.scores.contains_key("valid"), "{}: no valid.snap in {}", t.name, dir.display());
        if t.name != "embedded" {
            assert!(dir.join("accepted.toml").is_file(), "{}: no accepted.toml", t.name);
        }
    }
}

#[test]
fn an_unknown_target_is_named_with_the_known_ones() {
    let o = run(&["targets", "stop", "nosuch"], "");
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()));
    let err = stderr(&o);
    assert!(err.contains("\"nosuch\"") && err.contains("moto-ext"), "{err}");
}

#[test]
fn a_bad_description_is_refused_with_its_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("targets/moto.toml")).unwrap();
    std::fs::write(dir.path().join("moto.toml"), text.replace("timeout_seconds = 30", "timeout_seconds = -1")).unwrap();
    let o = run(&["targets", "list", "--targets", dir.path().to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()));
    let err = stderr(&o);
    assert!(err.contains("moto.toml") && err.contains("start.timeout_seconds"), "{err}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn list_names_every_target() {
    let o = run(&["targets", "list"], "");
    assert_eq!(o.status.code(), Some(exit::OK.into()), "{}", stderr(&o));
    let out = stdout(&o);
    for name in ["embedded", "localstack", "moto", "moto-ext"] {
        assert!(out.lines().any(|l| l.starts_with(&format!("{name} "))), "{name} missing: {out}");
    }
}
