//! AWS traffic without AWS: the binary runs in a private network namespace (`unshare -mn`)
//! whose hosts file sends AWS endpoint names of every partition to a logging stand-in on
//! 127.0.0.1:80 (tests/data/ec2_logger.py). The log proves what would have reached AWS: only
//! DryRuns, and nothing at all for refused runs.
//!
//! Needs root (for `unshare`, the bind mount and port 80) and python3. Without them the test
//! says why and passes, unless `CI` is set, where it fails.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use copyimage_conformance::exit;
use serde_json::Value;

use crate::data;

/// Endpoint hosts by partition, with the Region each names.
const PARTITION_HOSTS: [(&str, &str); 9] = [
    ("us-east-1", "ec2.us-east-1.amazonaws.com"),
    ("us-east-2", "ec2.us-east-2.api.aws"),
    ("cn-north-1", "ec2.cn-north-1.amazonaws.com.cn"),
    ("us-gov-west-1", "ec2.us-gov-west-1.amazonaws.com"),
    ("us-iso-east-1", "ec2.us-iso-east-1.c2s.ic.gov"),
    ("us-isob-east-1", "ec2.us-isob-east-1.sc2s.sgov.gov"),
    ("eu-isoe-west-1", "ec2.eu-isoe-west-1.cloud.adc-e.uk"),
    ("us-isof-south-1", "ec2.us-isof-south-1.csp.hci.ic.gov"),
    ("eusc-de-east-1", "ec2.eusc-de-east-1.amazonaws.eu"),
];
/// Hosts of the runs that must be refused before any request.
const SETUP_HOST: &str = "ec2.us-west-1.amazonaws.com";
const QUERY_HOST: &str = "ec2.eu-west-1.amazonaws.com";
const ESCAPED_HOST: &str = "ec2.eu-west-2.amazonaws.com";

/// Fake keys: the stand-in checks no signature, and nothing real is ever signed.
const FAKE_KEYS: &str = "AWS_ACCESS_KEY_ID=AKIDNAMESPACETEST AWS_SECRET_ACCESS_KEY=namespace-test-secret";

/// One run of the binary inside the namespace.
struct Scenario {
    name: String,
    args: Vec<String>,
    /// `NAME=value` words for `env`.
    env: &'static str,
}

impl Scenario {
    fn new(name: impl Into<String>, env: &'static str, args: &[&str]) -> Self {
        // The stand-in's DryRunOperation answers make findings, so the shrink stage's candidates
        // are among the requests logged (each must be a DryRun too); a small budget keeps the
        // test quick.
        let cases = [
            "--quiet",
            "--format",
            "json",
            "--cases",
            "12",
            "--retries",
            "0",
            "--timeout",
            "5",
            "--shrink-budget",
            "24",
        ];
        let args = ["run"].iter().chain(&cases).chain(args).map(|s| (*s).to_owned()).collect();
        Scenario { name: name.into(), args, env }
    }
}

/// What a scenario did: its exit code and the requests the stand-in logged for its host.
struct Seen {
    code: Option<i32>,
    stderr: String,
    requests: Vec<Value>,
}

fn scenarios() -> Vec<Scenario> {
    let mut all: Vec<Scenario> = PARTITION_HOSTS
        .iter()
        // The world's Region (us-east-1) stays: its source images make the cases, and only
        // the host decides whether the endpoint is AWS's.
        .map(|(_, host)| Scenario::new(*host, FAKE_KEYS, &["--endpoint", &format!("http://{host}/")]))
        .collect();
    all.push(Scenario::new("127.0.0.1", FAKE_KEYS, &["--endpoint", "http://127.0.0.1/", "--use-env-credentials"]));
    let vouched = ["--endpoint", "http://127.0.0.2/", "--use-env-credentials", "--not-aws"];
    all.push(Scenario::new("127.0.0.2", FAKE_KEYS, &vouched));
    all.push(Scenario::new(SETUP_HOST, FAKE_KEYS, &["--endpoint", &format!("http://{SETUP_HOST}/"), "--setup"]));
    let query = format!("http://{QUERY_HOST}/?DryRun=false");
    all.push(Scenario::new(QUERY_HOST, FAKE_KEYS, &["--endpoint", &query]));
    let escaped = format!("http://{}/", ESCAPED_HOST.replace(".com", "%2Ecom"));
    all.push(Scenario::new(ESCAPED_HOST, FAKE_KEYS, &["--endpoint", &escaped]));
    all
}

/// A word for `sh`, single-quoted.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The script run inside the namespace: hosts file, loopback, stand-in, then each scenario
/// with its output in `$D/<n>.out`, `.err` and `.rc`.
fn script(scenarios: &[Scenario]) -> String {
    let mut s = String::from(
        r#"set -u
D=$1 BIN=$2 LOGGER=$3
: > "$D/entered"
mount --bind "$D/hosts" /etc/hosts || exit 90
ip link set lo up || exit 91
python3 "$LOGGER" "$D/log.jsonl" "$D/ready" 2> "$D/logger.err" &
LOGGER_PID=$!
i=0
while [ ! -e "$D/ready" ]; do
  i=$((i + 1)); [ "$i" -gt 200 ] && exit 92
  sleep 0.05
done
"#,
    );
    for (n, sc) in scenarios.iter().enumerate() {
        let args: Vec<String> = sc.args.iter().map(|a| quote(a)).collect();
        let _ = writeln!(
            s,
            r#"env -i PATH="$PATH" {} "$BIN" {} > "$D/{n}.out" 2> "$D/{n}.err"; echo $? > "$D/{n}.rc""#,
            sc.env,
            args.join(" ")
        );
    }
    s.push_str("kill \"$LOGGER_PID\"\nwait\n");
    s
}

/// A fresh scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch() -> Scratch {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("copyimage-aws-namespace-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Runs every scenario in one namespace; `None` (after saying why) where namespaces cannot be
/// had outside CI.
fn run_in_namespace(scenarios: &[Scenario]) -> Option<BTreeMap<String, Seen>> {
    let dir = scratch();
    let d = &dir.0;
    let mut names: Vec<&str> = PARTITION_HOSTS.iter().map(|(_, h)| *h).collect();
    names.extend([SETUP_HOST, QUERY_HOST, ESCAPED_HOST]);
    std::fs::write(d.join("hosts"), format!("127.0.0.1 localhost {}\n::1 localhost\n", names.join(" "))).unwrap();
    std::fs::write(d.join("run.sh"), script(scenarios)).unwrap();
    let out = Command::new("unshare")
        .args(["-mn", "sh"])
        .arg(d.join("run.sh"))
        .arg(d)
        .arg(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .arg(data("ec2_logger.py"))
        .stdin(Stdio::null())
        .output();
    let why = match &out {
        Err(e) => Some(format!("cannot run unshare: {e}")),
        Ok(o) if !d.join("entered").exists() => {
            Some(format!("unshare -mn failed: {}", String::from_utf8_lossy(&o.stderr).trim()))
        }
        Ok(o) if o.status.code() == Some(92) => Some(format!("the stand-in did not start: {}", read(d, "logger.err"))),
        Ok(_) => None,
    };
    if let Some(why) = why {
        assert!(std::env::var_os("CI").is_none(), "CI needs the network namespace test: {why}");
        eprintln!("aws_namespace: skipped: {why}");
        return None;
    }
    let out = out.unwrap();
    assert!(out.status.success(), "namespace script failed: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    let log = read(d, "log.jsonl");
    let requests: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let seen = scenarios.iter().enumerate().map(|(n, sc)| {
        let seen = Seen {
            code: read(d, &format!("{n}.rc")).trim().parse().ok(),
            stderr: read(d, &format!("{n}.err")),
            requests: requests.iter().filter(|r| r["host"] == sc.name.as_str()).cloned().collect(),
        };
        (sc.name.clone(), seen)
    });
    Some(seen.collect())
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

/// Whether a logged request is a DryRun: exactly one `DryRun` parameter, and it is `true`.
fn is_dry_run(request: &Value) -> bool {
    let body = request["body"].as_str().unwrap_or_default();
    let dry: Vec<&str> = body.split('&').filter_map(|p| p.strip_prefix("DryRun=")).collect();
    dry == ["true"]
}

#[test]
fn aws_endpoints_of_every_partition_only_ever_get_dry_runs() {
    let Some(seen) = run_in_namespace(&scenarios()) else { return };
    let mut dry_hosts: Vec<&str> = PARTITION_HOSTS.iter().map(|(_, h)| *h).collect();
    dry_hosts.push("127.0.0.1");
    for host in dry_hosts {
        let s = &seen[host];
        assert_ne!(s.code, Some(exit::SETUP_ERROR.into()), "{host}: {}", s.stderr);
        assert!(s.requests.len() >= 12, "{host}: {} requests; {}", s.requests.len(), s.stderr);
        let live: Vec<&Value> = s.requests.iter().filter(|r| !is_dry_run(r)).collect();
        assert!(live.is_empty(), "{host}: {} requests without DryRun=true, first {}", live.len(), live[0]);
        assert!(s.requests.iter().all(|r| r["method"] == "POST" && r["path"] == "/"), "{host}");
    }
    // --not-aws vouches for the host: generated cases go out as they are, some not DryRuns.
    let vouched = &seen["127.0.0.2"];
    assert!(vouched.requests.iter().any(|r| !is_dry_run(r)), "the log tells DryRuns apart: {}", vouched.stderr);
    for host in [SETUP_HOST, QUERY_HOST, ESCAPED_HOST] {
        let s = &seen[host];
        assert_eq!(s.code, Some(exit::SETUP_ERROR.into()), "{host}: {}", s.stderr);
        assert!(s.requests.is_empty(), "{host}: a refused run sent {} requests", s.requests.len());
        assert_eq!(s.stderr.lines().count(), 1, "{host}: {}", s.stderr);
    }
}
