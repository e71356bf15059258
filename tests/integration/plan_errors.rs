//! `run`'s input checks as a user meets them: bad numbers, endpoints and credentials are one
//! line naming the flag or variable, exit code 2, before any connection.

use std::process::{Command, Output, Stdio};

use copyimage_conformance::exit;

use crate::{stderr, stdout};

/// Runs `run` with `args` and only the environment given (besides PATH).
fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"));
    cmd.arg("run").arg("--quiet").args(args).env_clear().stdin(Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.envs(env.iter().copied()).output().expect("the binary runs")
}

#[track_caller]
fn assert_refused(o: &Output, expected: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()), "{err}");
    assert_eq!(err.trim_end(), format!("copyimage-conformance: error: {expected}"));
    assert!(stdout(o).is_empty());
}

#[test]
fn numbers_out_of_range_name_the_flag_and_the_range() {
    // An endpoint that takes no connections: the plan refuses before trying it.
    let closed = ["--endpoint", "http://127.0.0.1:9/"];
    let cases: [(&[&str], &str); 7] = [
        (&["--concurrency", "0"], "--concurrency 0: out of range; give 1 to 1024"),
        (&["--cases", "0"], "--cases 0: out of range; give 1 to 10000000"),
        (&["--retries", "4000000000"], "--retries 4000000000: out of range; give 0 to 10"),
        (&["--stateful", "100001"], "--stateful 100001: out of range; give 0 to 100000"),
        (&["--stateful-len", "0"], "--stateful-len 0: out of range; give 1 to 64"),
        (&["--stateful-len", "65"], "--stateful-len 65: out of range; give 1 to 64"),
        (&["--max-body", "0"], "--max-body 0: out of range; give 1024 to 1073741824"),
    ];
    for (args, expected) in cases {
        assert_refused(&run_with_env(&[&closed[..], args].concat(), &[]), expected);
    }
}

#[test]
fn max_creates_without_live_is_refused() {
    let o = run_with_env(&["--endpoint", "https://ec2.us-east-1.amazonaws.com/", "--max-creates", "5"], &[]);
    assert_refused(&o, "--max-creates only counts with --live; without --live every request is a DryRun");
}

#[test]
fn endpoints_with_a_query_or_an_escaped_host_are_refused() {
    let o = run_with_env(&["--endpoint", "https://ec2.us-east-1.amazonaws.com/?DryRun=false"], &[]);
    assert_refused(
        &o,
        "--endpoint: a query string or fragment is not allowed (it would be sent, and signed, with every request)",
    );
    let o = run_with_env(&["--endpoint", "http://ec2.us-east-1.amazonaws%2Ecom/"], &[]);
    assert_refused(
        &o,
        "--endpoint \"http://ec2.us-east-1.amazonaws%2Ecom/\": percent-encoded host; write the host plainly",
    );
}

#[test]
fn a_newline_in_the_session_token_is_refused_by_name_without_its_value() {
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDPLANERRORS"),
        ("AWS_SECRET_ACCESS_KEY", "plan-errors-secret"),
        ("AWS_SESSION_TOKEN", "token-first-line\ntoken-second-line"),
    ];
    let o = run_with_env(&["--use-env-credentials", "--cases", "3"], &env);
    assert_refused(
        &o,
        "AWS_SESSION_TOKEN contains a control character (a newline?); it cannot be sent in a signed request",
    );
    assert!(!stderr(&o).contains("token-first-line"));
}

#[test]
fn setup_on_aws_without_live_is_refused_before_any_connection() {
    // Port 9 of a documentation address: a connection attempt would fail differently.
    let o = run_with_env(&["--endpoint", "https://ec2.us-east-1.amazonaws.com:9/", "--setup"], &[]);
    assert_refused(
        &o,
        "--setup creates images, volumes and snapshots on https://ec2.us-east-1.amazonaws.com:9/, which is AWS's: \
         add --live and --max-creates to allow it",
    );
}

#[test]
fn not_aws_needs_env_credentials() {
    let o = run_with_env(&["--endpoint", "http://127.0.0.1:9/", "--not-aws"], &[]);
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()));
    let err = stderr(&o);
    assert!(err.contains("--use-env-credentials") && err.trim_end().lines().count() == 1, "{err}");
}

#[test]
fn profile_comes_from_the_aws_files_and_a_missing_one_names_them() {
    let home = tempfile::tempdir().unwrap();
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(aws.join("credentials"), "[far]\naws_access_key_id = AKIDFAR\naws_secret_access_key = far-secret\n")
        .unwrap();
    std::fs::write(aws.join("config"), "[profile far]\nregion = mars-north-1\n").unwrap();
    let h = home.path().to_str().unwrap();
    let o = run_with_env(&["--profile", "nobody"], &[("HOME", h)]);
    assert_refused(&o, &format!("profile `nobody` not found in {h}/.aws/credentials or {h}/.aws/config"));
    // The profile's Region reaches the plan (here refused, which proves it was read); --region
    // comes first.
    let o = run_with_env(&["--profile", "far"], &[("HOME", h)]);
    assert_refused(
        &o,
        "Region \"mars-north-1\" is not one the spec knows (specs/copy_image.toml [[partition]]); pass --region with a known one",
    );
    let o = run_with_env(&["--profile", "far", "--region", "mars-south-1"], &[("HOME", h), ("AWS_PROFILE", "far")]);
    assert!(stderr(&o).contains("\"mars-south-1\""), "{}", stderr(&o));
    // AWS_CONFIG_FILE moves the config file; AWS_PROFILE names the profile without the flag.
    let moved = home.path().join("elsewhere");
    std::fs::write(&moved, "[profile far]\nregion = venus-east-1\n").unwrap();
    let o = run_with_env(&[], &[("HOME", h), ("AWS_PROFILE", "far"), ("AWS_CONFIG_FILE", moved.to_str().unwrap())]);
    assert!(stderr(&o).contains("\"venus-east-1\"") && !stderr(&o).contains("far-secret"), "{}", stderr(&o));
}
