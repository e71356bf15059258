//! Worlds at the edges: single-Region partitions generate and run, and bad world and
//! accepted.toml input is refused with one line naming the file and place, exit 2.

use copyimage_conformance::exit;
use serde_json::Value;

use crate::cli::assert_setup_error;
use crate::{run, stderr, stdout};

/// The default world with every Region replaced by `region`, written to a temporary file.
fn world_in(region: &str) -> (tempfile::TempDir, String) {
    let text = default_world().replace("us-east-1", region).replace("us-west-2", region);
    write_world(&text)
}

fn write_world(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("world.json");
    std::fs::write(&path, text).unwrap();
    (dir, path.to_str().unwrap().to_owned())
}

#[test]
fn single_region_partitions_generate_and_run() {
    for region in ["eusc-de-east-1", "eu-isoe-west-1"] {
        let (_dir, world) = world_in(region);
        let o = run(&["gen", "--world", &world, "--seed", "1", "--count", "1500"], "");
        assert_eq!(o.status.code(), Some(0), "{region}: {}", stderr(&o));
        assert_eq!(stdout(&o).lines().count(), 1500, "{region}");
        // The two rules whose violations want "another Region of the partition" still get cases.
        for rule in ["R25-ami-notfound", "R30-unsupported-pair"] {
            let o = run(&["gen", "--world", &world, "--rule", rule, "--count", "200"], "");
            assert_eq!(o.status.code(), Some(0), "{region} {rule}: {}", stderr(&o));
            for line in stdout(&o).lines() {
                let v: Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["target"], rule, "{line}");
            }
        }
        let o = run(&["run", "--quiet", "--world", &world, "--seed", "1", "--cases", "300", "--format", "json"], "");
        assert_eq!(o.status.code(), Some(exit::OK.into()), "{region}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}

/// A world of two images in us-east-1 with `images[1]` and the tokens replaced.
fn world_with(second: &str, tokens: &str) -> String {
    format!(
        r#"{{"region": "us-east-1", "images": [
            {{"image_id": "ami-0a1b2c3d4e5f60718", "region": "us-east-1"}},
            {second}
        ], "tokens": [{tokens}]}}"#
    )
}

const GOOD: &str = r#"{"image_id": "ami-12345678", "region": "us-east-1"}"#;

#[test]
fn bad_worlds_are_one_line_naming_file_and_place() {
    let token = |id: &str| format!(r#"{{"token": "t1", "params": {{}}, "image_id": "{id}"}}"#);
    let cases = [
        (
            world_with(r#"{"image_id": "ami-xyz", "region": "us-east-1"}"#, ""),
            r#"world.json: images[1].image_id "ami-xyz": not an AMI id"#,
        ),
        (world_with(r#"{"image_id": "", "region": "us-east-1"}"#, ""), "world.json: images[1].image_id: empty"),
        (
            world_with(r#"{"image_id": "ami-0a1b2c3d4e5f60718", "region": "us-east-1"}"#, ""),
            r#"world.json: images[1].image_id "ami-0a1b2c3d4e5f60718": images[0] has the same id in us-east-1"#,
        ),
        (
            world_with(r#"{"image_id": "ami-12345678", "region": "mars-north-1"}"#, ""),
            r#"world.json: images[1].region "mars-north-1": not a Region of any partition"#,
        ),
        (world_with(GOOD, &token("ami-123")), r#"world.json: tokens[0].image_id "ami-123": not an AMI id"#),
        (world_with(GOOD, &token("")), "world.json: tokens[0].image_id: empty"),
    ];
    for (text, needle) in cases {
        let (_dir, world) = write_world(&text);
        assert_setup_error(&run(&["gen", "--world", &world, "--count", "1"], ""), needle);
        assert_setup_error(&run(&["run", "--quiet", "--world", &world, "--cases", "1"], ""), needle);
        assert_setup_error(&run(&["serve", "--addr", "127.0.0.1:0", "--world", &world], ""), needle);
        let case = format!(r#"{{"world": {text}, "params": {{}}}}"#);
        let stdin_needle = needle.replace("world.json: ", "stdin: world.");
        assert_setup_error(&run(&["predict"], &case), &stdin_needle);
    }
    // The same id in two Regions is two images, and a good world still works.
    let (_dir, world) = write_world(&world_with(r#"{"image_id": "ami-0a1b2c3d4e5f60718", "region": "us-west-2"}"#, ""));
    let o = run(&["gen", "--world", &world, "--count", "5"], "");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_world_in_an_unknown_region_is_refused_by_gen() {
    let (_dir, world) = write_world(r#"{"region": "mars-north-1", "images": []}"#);
    let o = run(&["gen", "--world", &world, "--count", "1"], "");
    assert_setup_error(&o, r#"world.json: region "mars-north-1": not a Region of any partition"#);
}

#[test]
fn a_baseline_corpus_with_a_bad_world_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/embedded/corpus.jsonl");
    let text = std::fs::read_to_string(committed).unwrap();
    let edited = text.replacen("\"image_id\":\"ami-0a1b2c3d4e5f60718\"", "\"image_id\":\"ami-0a1b\"", 1);
    assert_ne!(text, edited);
    std::fs::write(dir.path().join("corpus.jsonl"), edited).unwrap();
    let o = run(&["run", "--quiet", "--baseline", dir.path().to_str().unwrap()], "");
    assert_setup_error(&o, r#"corpus.jsonl:1: corpus.world: images[0].image_id "ami-0a1b": not an AMI id"#);
}

#[test]
fn accepted_entries_must_name_deciding_rules_of_the_spec_at_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/embedded/corpus.jsonl");
    std::fs::copy(committed, dir.path().join("corpus.jsonl")).unwrap();
    let base = dir.path().to_str().unwrap();
    let cases = [
        ("rule = \"R99-nothing\"", "accepted.toml:5: accept[1].rule \"R99-nothing\": no rule of the spec has this id"),
        (
            "rule = \"R34-encrypt-default\"",
            "accepted.toml:5: accept[1].rule \"R34-encrypt-default\": a success annotation",
        ),
    ];
    for (entry, needle) in cases {
        let text = format!(
            "[[accept]]\nrule = \"R04-missing\"\nreason = \"fine\"\n[[accept]]\n{entry}\nreason = \"not fine\"\n"
        );
        std::fs::write(dir.path().join("accepted.toml"), text).unwrap();
        assert_setup_error(&run(&["run", "--quiet", "--baseline", base], ""), needle);
    }
}

/// The built-in world, as the repository holds it.
fn default_world() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/world.json")).unwrap()
}
