//! Behind an HTTP proxy: the start-up check probes the hop the requests take (the proxy named
//! by `HTTP_PROXY`, unless `NO_PROXY` exempts the endpoint), not the endpoint itself.

use std::process::{Command, Output, Stdio};

use copyimage_conformance::exit;
use serde_json::Value;

use crate::{serve_for_test, stderr, stdout};

/// A host no resolver knows (RFC 6761), so only a proxy can reach it.
const BEHIND_PROXY: &str = "http://ec2-behind-a-proxy.invalid/";

/// Runs `run` against `endpoint` with only `env` (and PATH) in the environment.
fn run_via(endpoint: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"));
    cmd.args(["run", "--quiet", "--format", "json", "--cases", "6", "--retries", "0", "--endpoint", endpoint]);
    cmd.env_clear().stdin(Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.envs(env.iter().copied()).output().expect("the binary runs")
}

/// A port that takes no connections (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_run_goes_through_the_proxy_when_the_endpoint_is_unreachable_directly() {
    // The embedded endpoint stands in for a forward proxy: it answers the absolute-form
    // requests a client sends to a proxy by their path, as an EC2 endpoint would.
    let proxy = serve_for_test();
    let o = run_via(BEHIND_PROXY, &[("HTTP_PROXY", proxy.url.trim_end_matches('/'))]);
    assert_eq!(o.status.code(), Some(exit::OK.into()), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["summary"]["requests"].as_u64().unwrap() >= 6, "{v}");
}

#[test]
fn an_unreachable_proxy_is_named_and_exits_2() {
    let port = closed_port();
    let o = run_via(BEHIND_PROXY, &[("http_proxy", &format!("http://user:hunter2@127.0.0.1:{port}"))]);
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()));
    let err = stderr(&o);
    let expected = format!(
        "copyimage-conformance: error: cannot reach the proxy 127.0.0.1:{port} (from HTTP_PROXY, HTTPS_PROXY or \
         ALL_PROXY) for the endpoint {BEHIND_PROXY}: "
    );
    assert!(err.starts_with(&expected) && err.trim_end().lines().count() == 1, "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn no_proxy_sends_the_check_straight_to_the_endpoint() {
    let proxy = serve_for_test();
    let endpoint = format!("http://127.0.0.1:{}/", closed_port());
    let vars = [("HTTP_PROXY", proxy.url.trim_end_matches('/')), ("NO_PROXY", "localhost,127.0.0.1")];
    let o = run_via(&endpoint, &vars);
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()));
    let err = stderr(&o);
    assert!(err.starts_with(&format!("copyimage-conformance: error: cannot reach the endpoint {endpoint}: ")), "{err}");
}
