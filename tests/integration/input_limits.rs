//! Input files are read with a bound: an endless one (`/dev/zero`) is refused with one line
//! naming the file and its limit, exit 2, while pipes (`--world <(cat world.json)`) still
//! work; and the stateful checks name a world with nothing to copy as the cases do.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use copyimage_conformance::exit;

use crate::cli::assert_setup_error;
use crate::{run, stderr, stdout};

/// The most the binary may take, in KiB of address space, under [`run_capped`]: ample for
/// reading to a limit, while reading `/dev/zero` to its end (without the bound) fails in well
/// under a second instead of taking the machine's memory.
const ADDRESS_SPACE_KIB: u64 = 1 << 20;

/// Runs the binary with `args` and `env` under the address-space cap, killed after a minute: a
/// read without a bound fails the test, neither hangs it nor exhausts the machine.
fn run_capped(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!("ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("{args:?}: still reading after 60 s; stderr: {}", stderr(&o));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn an_endless_spec_world_or_case_is_refused_naming_it() {
    let spec = "/dev/zero: (file): larger than 16 MiB, the limit for a spec file";
    assert_setup_error(&run_capped(&["--spec", "/dev/zero", "rules"], &[]), spec);
    let world = "/dev/zero: larger than 64 MiB, the limit for a world file";
    assert_setup_error(&run_capped(&["gen", "--world", "/dev/zero", "--count", "1"], &[]), world);
    assert_setup_error(&run_capped(&["run", "--quiet", "--world", "/dev/zero", "--cases", "1"], &[]), world);
    assert_setup_error(&run_capped(&["serve", "--addr", "127.0.0.1:0", "--world", "/dev/zero"], &[]), world);
    let case = "/dev/zero: larger than 64 MiB, the limit for a case";
    assert_setup_error(&run_capped(&["predict", "--case", "/dev/zero"], &[]), case);
}

#[test]
fn an_endless_corpus_or_accepted_file_in_a_baseline_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_str().unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("corpus.jsonl")).unwrap();
    let o = run_capped(&["run", "--quiet", "--baseline", base], &[]);
    assert_setup_error(&o, &format!("{base}/corpus.jsonl:1: longer than 64 MiB, the limit for a line of a corpus"));
    // A sound corpus, and an endless accepted.toml beside it.
    std::fs::remove_file(dir.path().join("corpus.jsonl")).unwrap();
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/embedded/corpus.jsonl");
    std::fs::copy(committed, dir.path().join("corpus.jsonl")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("accepted.toml")).unwrap();
    let o = run_capped(&["run", "--quiet", "--baseline", base], &[]);
    let needle = format!("{base}/accepted.toml: larger than 16 MiB, the limit for an accepted-deviations file");
    assert_setup_error(&o, &needle);
}

#[test]
fn an_endless_credentials_file_is_refused_naming_it() {
    let env = [("AWS_SHARED_CREDENTIALS_FILE", "/dev/zero"), ("AWS_PROFILE", "test")];
    let o = run_capped(&["run", "--quiet", "--cases", "1"], &env);
    let needle =
        "cannot read credentials file /dev/zero: larger than 4 MiB, the limit for a credentials or config file";
    assert_setup_error(&o, needle);
}

/// Runs `script` in bash with `$0` the binary and `$1` the fixture `file`, as a user would
/// type `--world <(cat world.json)`.
fn in_bash(script: &str, file: &Path) -> Output {
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs")
}

#[test]
fn a_world_or_spec_from_a_pipe_is_read_as_a_file_is() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let from_file = run(&["gen", "--world", root.join("specs/world.json").to_str().unwrap(), "--count", "5"], "");
    assert_eq!(from_file.status.code(), Some(0), "{}", stderr(&from_file));
    let piped = in_bash(r#""$0" gen --world <(cat "$1") --count 5"#, &root.join("specs/world.json"));
    assert_eq!(piped.status.code(), Some(0), "{}", stderr(&piped));
    assert_eq!(stdout(&piped), stdout(&from_file));
    let spec = in_bash(r#""$0" --spec <(cat "$1") rules"#, &root.join("specs/copy_image.toml"));
    assert_eq!(spec.status.code(), Some(0), "{}", stderr(&spec));
    assert!(stdout(&spec).contains("R07-name"), "{}", stdout(&spec));
}

#[test]
fn the_stateful_checks_name_a_world_with_nothing_to_copy() {
    // A stored corpus lets the run start from a world the generator could not use; the cases
    // that need an image are skipped (none has their roles), the rest are recorded as the new
    // baseline, and the stateful checks find nothing to copy.
    let dir = tempfile::tempdir().unwrap();
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/embedded/corpus.jsonl");
    std::fs::copy(committed, dir.path().join("corpus.jsonl")).unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"region": "us-east-1", "images": []}"#).unwrap();
    let (base, empty) = (dir.path().to_str().unwrap(), empty.to_str().unwrap());
    let args = ["run", "--quiet", "--baseline", base, "--update-baseline", "--world", empty, "--stateful", "1"];
    let o = run(&[&args[..], &["--format", "json"]].concat(), "");
    assert_eq!(o.status.code(), Some(exit::INCONCLUSIVE.into()), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let nothing = "the world has no source image that a minimal CopyImage request copies successfully";
    assert_eq!(v["summary"]["stateful"]["stopped"], format!("{empty}: {nothing}"), "{}", v["summary"]);
}
