//! The integration tests, one binary (each `tests/*.rs` would be its own link).
//!
//! One module per concern, each saying in its first line what it checks; most run the built
//! binary as a user would and assert its output and exit code. Fixtures live in `tests/data/`.

mod architecture;
mod aws_namespace;
mod baseline;
mod benchmarks;
mod cleanup;
mod cli;
mod docs;
mod draft_accepted;
mod evidence;
mod fake;
mod fault_servers;
mod faults;
mod findings;
mod hostile;
mod html;
mod input_limits;
mod inputs;
mod interrupt;
mod matrix;
mod mutants;
mod partition;
mod plan_errors;
mod plausible;
mod proxy;
mod redact;
mod runner;
mod safety_promises;
mod shrink;
mod targets_reset;

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs the binary with `args`, feeding `stdin`.
pub fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A fixture path.
pub fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A running embedded endpoint with the default world, for tests that need one of their own.
pub struct TestServe {
    /// Its URL.
    pub url: String,
    _child: ChildGuard,
}

struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `copyimage-conformance serve` on a free port and waits until it answers.
pub fn serve_for_test() -> TestServe {
    serve_for_test_with(&[])
}

/// Starts `copyimage-conformance serve` with extra `args` (e.g. `--mutant NAME`) on a free port
/// and waits until it answers.
pub fn serve_for_test_with(args: &[&str]) -> TestServe {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(args)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = ChildGuard(child);
    // Generous: the tests share two cores with builds, and a loaded machine starts slowly.
    for _ in 0..3000 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return TestServe { url: format!("http://127.0.0.1:{port}/"), _child: guard };
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("serve did not start within 30 s");
}
