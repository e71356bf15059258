//! Credentials a hostile server echoes back (the session token, the request signature) never
//! reach a report, a snapshot, a world file, standard output or standard error.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

use crate::fake::{self, Fake, Mode};
use crate::{stderr, stdout};

const KEY_ID: &str = "AKIDECHOTEST";
// `/`, `+` and `=` so that the percent-encoded forms differ from the raw ones.
const SECRET: &str = "wJalrXUtnFEMI/echoed+secret=key-7d1f";
const TOKEN: &str = "IQoJb3JpZ2luX2VjE/echoed+session=token-9c2e";

fn percent_encoded(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Runs the binary against `fake` with recognizable environment credentials.
fn hostile_run(fake: &Fake, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .args(["run", "--quiet", "--use-env-credentials", "--endpoint", &fake.url])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// Asserts that no form of a secret, and no signature the server saw, is in `text`.
fn assert_clean(fake: &Fake, what: &str, text: &str) {
    for secret in [SECRET, TOKEN] {
        assert!(!text.contains(secret), "{what} holds a secret:\n{text}");
        assert!(!text.contains(&percent_encoded(secret)), "{what} holds a percent-encoded secret:\n{text}");
    }
    let signatures = fake.signatures.lock().unwrap();
    assert!(!signatures.is_empty(), "the server saw no signature");
    for sig in signatures.iter() {
        assert_eq!(sig.len(), 64, "{sig}");
        assert!(!text.contains(sig.as_str()), "{what} holds the signature {sig}:\n{text}");
    }
}

fn files_under(dir: &Path) -> Vec<(String, String)> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        out.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
    }
    out
}

#[test]
fn echoed_credentials_reach_no_report_snapshot_or_world_file() {
    let fake = fake::start(Mode::Echo);
    let tmp = TempDir::new().unwrap();
    let (report, world, baseline) = (tmp.path().join("report"), tmp.path().join("world.json"), tmp.path().join("b"));
    for format in ["json", "terminal", "junit", "markdown"] {
        let mut args = vec!["--cases", "24", "--discover", "ami-12345678", "--format", format];
        args.extend(["--output", report.to_str().unwrap(), "--world-out", world.to_str().unwrap()]);
        if format == "json" {
            args.extend(["--baseline", baseline.to_str().unwrap(), "--update-baseline", "--stateful", "2"]);
        }
        let o = hostile_run(&fake, &args);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{format}: {}", stderr(&o));
        let report_text = std::fs::read_to_string(&report).unwrap();
        assert_clean(&fake, &format!("{format} stdout"), &stdout(&o));
        assert_clean(&fake, &format!("{format} stderr"), &stderr(&o));
        assert_clean(&fake, &format!("{format} report"), &report_text);
        let world_text = std::fs::read_to_string(&world).unwrap();
        assert_clean(&fake, "the --world-out file", &world_text);
        // The echo did get through, redacted: the access key id is not a secret and stays.
        assert!(world_text.contains(&format!("Credential={KEY_ID}/")), "{world_text}");
        if format == "json" {
            assert!(report_text.contains(&format!("Credential={KEY_ID}/")), "{report_text}");
            let snaps = files_under(&baseline);
            assert!(snaps.iter().any(|(p, _)| p.ends_with(".snap")), "no snapshot written");
            for (path, text) in snaps {
                assert_clean(&fake, &path, &text);
            }
        }
    }
}

#[test]
fn echoed_credentials_reach_no_error_message() {
    let fake = fake::start(Mode::Echo);
    let o = hostile_run(&fake, &["--discover", "ami-0000000000000dead"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("DescribeImages on"), "{err}");
    assert!(err.contains(&format!("Credential={KEY_ID}/")), "{err}");
    assert_clean(&fake, "stderr", &err);
}

#[test]
fn echoed_credentials_reach_no_journal() {
    let fake = fake::start(Mode::Echo);
    let tmp = TempDir::new().unwrap();
    let journal = tmp.path().join("j.jsonl");
    // One request at a time: the six live calls are the first six CopyImages, and the fake
    // answers every third with an error that echoes the request.
    let o = hostile_run(
        &fake,
        &[
            "--cases",
            "12",
            "--only",
            "valid",
            "--concurrency",
            "1",
            "--live",
            "--max-creates",
            "6",
            "--journal",
            journal.to_str().unwrap(),
        ],
    );
    assert!(matches!(o.status.code(), Some(1 | 3)), "{}", stderr(&o));
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains("you sent:"), "no echo reached the journal:\n{text}");
    assert_clean(&fake, "the journal", &text);
}

#[test]
fn echoed_profile_credentials_reach_no_error_message() {
    // Keys only in the config file of a `--profile`: nothing in the environment names them.
    let fake = fake::start(Mode::Echo);
    let home = TempDir::new().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    let config = format!(
        "[profile echo]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n"
    );
    std::fs::write(home.path().join(".aws/config"), config).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .args(["run", "--quiet", "--use-env-credentials", "--endpoint", &fake.url, "--profile", "echo"])
        .args(["--discover", "ami-0000000000000dead"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&format!("Credential={KEY_ID}/")), "the profile's keys signed: {err}");
    assert_clean(&fake, "stderr", &err);
}
