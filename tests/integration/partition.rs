//! `run --partition K/N` and `merge`: a run split into shards and merged gives the unsplit
//! run's summary, findings and exit code (generated cases and a stored corpus, against the
//! embedded endpoint and a mutant); bad values and bad reports exit 2 naming the place; the
//! README's CI example runs as written.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::{TestServe, serve_for_test_with, stderr, stdout};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
}

fn exec(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn summary(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["summary"].clone()
}

/// What must be the same in the unsplit run and the merge: counts, rules, skipped cases, and
/// each finding's key with its case count.
fn comparable(s: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for k in ["cases", "conforms", "deviations", "unparseable", "transport_errors", "skipped", "skipped_reasons"] {
        out.insert(k.into(), s[k].clone());
    }
    out.insert("rules".into(), s["rules"].clone());
    let mut findings: Vec<(String, u64)> = s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["key"].to_string(), f["cases"].as_u64().unwrap()))
        .collect();
    findings.sort();
    out.insert("findings".into(), serde_json::json!(findings));
    Value::Object(out)
}

/// Runs the cases unsplit and in 3 shards (each against its own endpoint from `endpoint`, or
/// the embedded one), merges the shards, and checks the merge says what the unsplit run said;
/// returns the merged summary and the exit code.
fn split_and_merge(dir: &Path, scheme: &str, run: &[&str], endpoint: &dyn Fn() -> Option<TestServe>) -> (Value, i32) {
    let with = |extra: &[&str], out: &Path, serve: &Option<TestServe>| {
        let out = out.to_str().unwrap().to_owned();
        let mut args: Vec<&str> = vec!["run", "--quiet", "--format", "json", "--output", &out];
        args.extend(run);
        args.extend(extra);
        if let Some(s) = serve {
            args.extend(["--endpoint", &s.url]);
        }
        exec(&args)
    };
    let whole = with(&[], &dir.join("whole.json"), &endpoint());
    let mut shards = vec![];
    for k in 1..=3 {
        let path = dir.join(format!("shard-{k}.json"));
        let o = with(&["--partition", &format!("{scheme}{k}/3")], &path, &endpoint());
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        shards.push(path.to_str().unwrap().to_owned());
    }
    let merged = dir.join("merged.json");
    let junit = dir.join("merged.xml");
    let mut args = vec!["merge", "--format", "json", "--output", merged.to_str().unwrap()];
    args.extend(["--junit", junit.to_str().unwrap()]);
    args.extend(shards.iter().map(String::as_str));
    let o = exec(&args);
    let (whole_code, whole, m) = (whole.status.code(), summary(&dir.join("whole.json")), summary(&merged));
    assert_eq!(comparable(&m), comparable(&whole));
    assert_eq!(o.status.code(), whole_code, "{}", stderr(&o));
    let cases =
        |p: &Path| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap()["cases"].clone();
    // The shards' records, read back side by side, come out in the unsplit run's order.
    let ids = |p: &Path| -> Vec<Value> { cases(p).as_array().unwrap().iter().map(|c| c["id"].clone()).collect() };
    assert_eq!(ids(&merged), ids(&dir.join("whole.json")));
    assert!(std::fs::read_to_string(&junit).unwrap().contains("<testsuites name=\"copyimage-conformance\""));
    (m, o.status.code().unwrap())
}

#[test]
fn three_shards_of_a_generated_run_merge_to_the_unsplit_run() {
    let dir = tempfile::tempdir().unwrap();
    let (merged, code) = split_and_merge(dir.path(), "", &["--cases", "240", "--seed", "5"], &|| None);
    assert_eq!(code, 0);
    assert_eq!(merged["merged"]["present"], serde_json::json!([1, 2, 3]));
    // Cases that replay a ClientToken or reuse a Name met what they meet in the unsplit run.
    for rule in ["R24-idem-mismatch", "R31-name-dup"] {
        assert!(merged["rules"][rule]["cases"].as_u64().unwrap_or(0) > 0, "{rule}: {}", merged["rules"]);
    }
}

#[test]
fn three_shards_against_a_mutant_find_what_the_unsplit_run_finds() {
    let dir = tempfile::tempdir().unwrap();
    let serve = || Some(serve_for_test_with(&["--mutant", "dry-run-status-400"]));
    let (merged, code) = split_and_merge(dir.path(), "count:", &["--cases", "240", "--seed", "5"], &serve);
    assert_eq!(code, 1);
    assert!(!merged["findings"].as_array().unwrap().is_empty());
    let text = exec(&["merge", dir.path().join("shard-1.json").to_str().unwrap()]);
    // Two shards missing: what shard 1 found is still wrong.
    assert_eq!(text.status.code(), Some(1), "{}", stderr(&text));
    assert!(stdout(&text).contains("FAIL: no report of shard 2, 3 of 3"), "{}", stdout(&text));
    assert!(
        stdout(&text).contains("merged from shards 1 of 3 (count); no report of shard 2, 3\n"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn shards_of_a_stored_corpus_compare_their_share_of_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = format!("{}/snapshots/embedded", env!("CARGO_MANIFEST_DIR"));
    let (merged, code) = split_and_merge(dir.path(), "hash:", &["--baseline", &baseline, "--stateful", "6"], &|| None);
    assert_eq!(code, 0);
    assert_eq!(merged["baseline"]["changed"], serde_json::json!([]));
    assert_eq!(merged["stateful"]["failures"], serde_json::json!([]));
    let shard: Value = summary(&dir.path().join("shard-2.json"));
    assert_eq!(shard["shard"], serde_json::json!({"index": 2, "count": 3, "by": "hash"}));
    assert!(shard["cases"].as_u64().unwrap() < merged["cases"].as_u64().unwrap() / 2);
}

#[test]
fn bad_partitions_exit_2_naming_the_flag() {
    for (value, why) in [
        ("4/3", "K must be between 1 and N (3)"),
        ("0/0", "N must be between 1 and 10000"),
        ("1/4000000000", "N must be between 1 and 10000"),
        ("x", "no '/'"),
    ] {
        let o = exec(&["run", "--cases", "3", "--partition", value]);
        assert_eq!(o.status.code(), Some(2), "{value}");
        assert!(stderr(&o).contains(&format!("--partition {value:?}: {why}")), "{}", stderr(&o));
    }
    let o = exec(&["run", "--partition", "1/2", "--baseline", "/nonexistent", "--update-baseline"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--partition with --update-baseline"), "{}", stderr(&o));
}

#[test]
fn reports_that_are_not_shards_of_one_run_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let report = |name: &str, extra: &[&str]| {
        let out = path(name);
        let mut args = vec!["run", "--quiet", "--cases", "12", "--format", "json", "--output", &out];
        args.extend(extra);
        assert!(exec(&args).status.success());
        out
    };
    let (a, b) = (report("a.json", &["--partition", "1/2"]), report("b.json", &["--partition", "2/2"]));
    let other_seed = report("c.json", &["--partition", "2/2", "--seed", "9"]);
    let whole = report("whole.json", &[]);
    std::fs::write(path("broken.json"), "{\"cases\": [],\n\"summary\": {\"cases\": \"many\"}}").unwrap();
    // Shards no run writes, as a hand edit would make them: one past its count, one of
    // billions (whose missing shards would not fit in memory).
    let edited = |name: &str, index: u64, count: u64| {
        let mut report: Value = serde_json::from_str(&std::fs::read_to_string(&a).unwrap()).unwrap();
        report["summary"]["shard"]["index"] = index.into();
        report["summary"]["shard"]["count"] = count.into();
        std::fs::write(path(name), report.to_string()).unwrap();
        path(name)
    };
    let (past, huge) = (edited("past.json", 3, 2), edited("huge.json", 1, 4_000_000_000));
    let cases = [
        (vec![a.clone(), other_seed.clone()], format!("{other_seed}: summary.source is")),
        (vec![a.clone(), a.clone()], format!("{a}: shard 1/2 again (also {a})")),
        (vec![a.clone(), whole.clone()], format!("{whole}: summary.shard is absent: not a shard report")),
        (vec![a.clone(), path("broken.json")], format!("{}: not a report of `run --format json`", path("broken.json"))),
        (vec![path("none.json")], format!("{}: cannot read", path("none.json"))),
        (vec![past.clone()], format!("{past}: summary.shard is 3/2: K must be between 1 and N (2)")),
        (vec![huge.clone()], format!("{huge}: summary.shard is 1/4000000000: N must be between 1 and 10000")),
    ];
    for (files, message) in cases {
        let mut args = vec!["merge"];
        args.extend(files.iter().map(String::as_str));
        let o = exec(&args);
        assert_eq!(o.status.code(), Some(2), "{files:?}");
        assert!(stderr(&o).contains(&message), "{message}\n{}", stderr(&o));
    }
    assert!(stderr(&exec(&["merge", &a, &path("broken.json")])).contains("line 2"));
    let o = exec(&["merge", &a]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stdout(&o).contains("INCONCLUSIVE: no report of shard 2 of 2"), "{}", stdout(&o));
    assert_eq!(exec(&["merge", &b, &a]).status.code(), Some(0));
}

/// Counts in shard reports are a user's files: two whose deviations add up past 2^64 still
/// merge into a failing run, in every format, never into a pass or a crash.
#[test]
fn merged_counts_past_2_64_still_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    for (k, deviations) in [(1, u64::MAX), (2, 1)] {
        let out = path(&format!("s{k}.json"));
        let partition = format!("{k}/2");
        let args = ["run", "--quiet", "--cases", "6", "--format", "json", "--partition", &partition, "--output", &out];
        assert!(exec(&args).status.success());
        let mut report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        for field in ["cases", "deviations", "requests"] {
            report["summary"][field] = deviations.into();
        }
        std::fs::write(&out, report.to_string()).unwrap();
    }
    for format in ["terminal", "json", "junit", "markdown", "html"] {
        let o = exec(&["merge", &path("s1.json"), &path("s2.json"), "--format", format]);
        assert_eq!(o.status.code(), Some(1), "{format}: {}", stderr(&o));
    }
}

/// The commands of the README's sharding example, in order.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let start = readme.find("<!-- sharding example:").expect("the README has the sharding example");
    let block = &readme[start..];
    let block = &block[block.find("```yaml\n").unwrap() + 8..];
    let block = &block[..block.find("```").unwrap()];
    assert!(block.contains("shard: [1, 2, 3]") && block.contains("actions/upload-artifact"), "{block}");
    block.lines().filter_map(|l| l.trim().strip_prefix("- run: copyimage-conformance ")).map(str::to_owned).collect()
}

#[test]
fn the_readme_ci_example_runs_as_written() {
    let commands = readme_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().to_str().unwrap();
    // moto is not installed here: the same commands gate the embedded endpoint instead, with
    // the gate's working files and the reports in a temporary directory.
    let gate = commands[0]
        .replace("targets gate moto --", &format!("targets gate embedded --dir {tmp}/gate --"))
        .replace("shard-${{ matrix.shard }}", &format!("{tmp}/shard-${{{{ matrix.shard }}}}"));
    for k in 1..=3 {
        let line = gate.replace("${{ matrix.shard }}", &k.to_string());
        let o = bin().args(line.split_whitespace()).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{line}\n{}", stderr(&o));
    }
    let (merge, redirect) = commands[1].split_once(" >> ").unwrap();
    assert_eq!(redirect, "\"$GITHUB_STEP_SUMMARY\"");
    // As the workflow's shell runs it (the reports by a glob), in the reports' directory.
    let shell = format!("'{}' {merge}", env!("CARGO_BIN_EXE_copyimage-conformance"));
    let merged = || Command::new("bash").args(["-c", &shell]).current_dir(tmp).output().unwrap();
    let o = merged();
    assert_eq!(o.status.code(), Some(0), "{merge}\n{}", stderr(&o));
    assert!(stdout(&o).starts_with("## CopyImage conformance"), "{}", stdout(&o));
    assert!(stdout(&o).contains("PASS: 0 findings"), "{}", stdout(&o));
    assert!(stdout(&o).contains("merged from shards 1, 2, 3 of 3 (count)."), "{}", stdout(&o));
    assert!(std::fs::read_to_string(format!("{tmp}/conformance.xml")).unwrap().contains("<testsuites"));
    // A shard job that died before writing its report: the merge still reports the others'.
    std::fs::remove_file(format!("{tmp}/shard-2.json")).unwrap();
    let o = merged();
    assert_eq!(o.status.code(), Some(3), "{merge}\n{}", stderr(&o));
    assert!(stdout(&o).contains("INCONCLUSIVE: no report of shard 2 of 3"), "{}", stdout(&o));
    assert!(stdout(&o).contains("merged from shards 1, 3 of 3 (count); no report of shard 2"), "{}", stdout(&o));
}

/// A JSON merge reads each report twice (once for the summary, once to write the records side
/// by side): reports from pipes are kept from the first read, and `--output` may name one of
/// the reports, which is replaced only once the merged report is whole.
#[test]
fn shards_merge_from_pipes_and_into_one_of_their_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    for k in 1..=2 {
        let (out, partition) = (path(&format!("s{k}.json")), format!("{k}/2"));
        let args = ["run", "--quiet", "--cases", "40", "--format", "json", "--partition", &partition, "--output", &out];
        assert!(exec(&args).status.success());
    }
    let (s1, s2, expected) = (path("s1.json"), path("s2.json"), path("expected.json"));
    let o = exec(&["merge", "--format", "json", "--output", &expected, &s1, &s2]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let expected = std::fs::read(&expected).unwrap();
    // Through bash's process substitution: /dev/fd pipes, which a second open finds empty.
    let binary = env!("CARGO_BIN_EXE_copyimage-conformance");
    let piped = format!("'{binary}' merge --format json <(cat '{s1}') <(cat '{s2}')");
    let o = Command::new("bash").args(["-c", &piped]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout == expected, "merged from pipes:\n{}", stdout(&o));
    let o = exec(&["merge", "--format", "json", "--output", &s1, &s1, &s2]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read(&s1).unwrap() == expected, "merged into its own first shard");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 3, "no partial file left behind: {left:?}");
}

/// `--output` that is not a regular file (a device, a FIFO) is written in place, as before
/// reports were staged beside their path: nothing is renamed onto it; a symlink is followed to
/// the file it names, and a file replaced keeps its permissions.
#[test]
fn merge_writes_through_devices_and_symlinks_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let shard = path("s1.json");
    let args = ["run", "--quiet", "--cases", "10", "--format", "json", "--partition", "1/1", "--output", &shard];
    assert!(exec(&args).status.success());
    let o = exec(&["merge", "--format", "json", "--output", "/dev/stdout", &shard]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("{\"cases\": ["), "{}", stdout(&o));
    let (target, link) = (path("target.json"), path("link.json"));
    std::fs::write(&target, "old").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = exec(&["merge", "--format", "json", "--output", &link, &shard]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is still a link");
    assert!(std::fs::read_to_string(&target).unwrap().starts_with("{\"cases\": ["));
    // A file replaced keeps its permissions.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let o = exec(&["merge", "--format", "json", "--output", &target, &shard]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o640);
    // Last, as it turns the shard into a merged report: a link to the very shard being merged,
    // whose target is replaced once the report is whole.
    let expected = exec(&["merge", "--format", "json", &shard]).stdout;
    let latest = path("latest.json");
    std::os::unix::fs::symlink(&shard, &latest).unwrap();
    let o = exec(&["merge", "--format", "json", "--output", &latest, &shard]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(std::fs::read(&shard).unwrap() == expected, "the shard's own merge, through the link");
}

/// A shard job killed mid-run (a CI timeout) leaves no report at its `--output`, not a cut-off
/// one that `merge` would refuse, and an earlier run's report there is gone from the start.
#[test]
fn a_run_killed_half_way_leaves_no_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shard-1.json");
    std::fs::write(&out, "an earlier run's report").unwrap();
    let out_arg = out.to_str().unwrap();
    let args = ["run", "--quiet", "--cases", "1000000", "--format", "json", "--output", out_arg];
    // Killed however the test ends, so that a failure leaves no million-case run going.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Killed(bin().args(args).stderr(std::process::Stdio::null()).spawn().unwrap());
    // Until the report being written has some cases in it.
    let partial = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(".partial"))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while partial().is_none_or(|p| std::fs::metadata(p).map_or(0, |m| m.len()) < 100_000) {
        assert!(std::time::Instant::now() < deadline, "no report being written");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!out.exists(), "the earlier run's report went when this one started");
    drop(child);
    assert!(!out.exists(), "no cut-off report");
}
