//! `targets reset` waits as long as the server needs: a fake target whose reset takes 2.5 s
//! (moto's took 1.3 s where an earlier 2 s limit gave up) is reset, not refused.

use std::time::{Duration, Instant};

use crate::{run, stderr, stdout};

/// A loopback HTTP server: 200 to any GET, 200 to POST /reset after 2.5 s.
const SLOW_RESET: &str = r#"
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    def answer(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def do_GET(self):
        self.answer()
    def do_POST(self):
        time.sleep(2.5)
        self.answer()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"#;

#[test]
fn reset_waits_for_a_slow_server() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("slow_reset.py"), SLOW_RESET).unwrap();
    std::fs::create_dir(root.join("targets")).unwrap();
    let description = format!(
        "name = \"slow\"\nabout = \"a server whose reset takes 2.5 s\"\ndir = \".slow\"\nbaseline = \"snapshots/slow\"\n\
         [start]\ncommand = [\"python3\", \"{script}\", \"{{port}}\"]\n[ready]\npath = \"/\"\nstatus = 200\n\
         [reset]\npath = \"/reset\"\n",
        script = root.join("slow_reset.py").display(),
    );
    std::fs::write(root.join("targets/slow.toml"), description).unwrap();
    let targets = root.join("targets");
    // The working directory is the test's, not the description's (under the repository).
    let work = root.join("work");
    let cmd = |action: &str| {
        run(&["targets", action, "slow", "--targets", targets.to_str().unwrap(), "--dir", work.to_str().unwrap()], "")
    };
    let started = cmd("start");
    assert_eq!(started.status.code(), Some(0), "{}", stderr(&started));
    let t0 = Instant::now();
    let reset = cmd("reset");
    let took = t0.elapsed();
    let stopped = cmd("stop");
    assert_eq!(reset.status.code(), Some(0), "{}{}", stdout(&reset), stderr(&reset));
    assert!(took >= Duration::from_millis(2500), "the reset answered after {took:?}");
    assert_eq!(stopped.status.code(), Some(0), "{}", stderr(&stopped));
}
