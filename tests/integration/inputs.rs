//! Worlds at the edges: single-Region partitions generate and run, and bad world and
//! accepted.toml input is refused with one line naming the file and place, exit 2.

use copyimage_conformance::exit;
use copyimage_conformance::world::DEFAULT_WORLD;
use serde_json::Value;

use crate::{run, stderr, stdout};

/// The default world with every Region replaced by `region`, written to a temporary file.
fn world_in(region: &str) -> (tempfile::TempDir, String) {
    let text = DEFAULT_WORLD.replace("us-east-1", region).replace("us-west-2", region);
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
