//! A target's server: installed with pip into its own venv (pip's progress shown), started on a
//! free loopback port in its own process group, checked until ready, reset, and stopped by its
//! PID. The PID, URL and log live in the target's directory (`NAME.pid`, `NAME.url`,
//! `NAME.log`), so a later command finds it.

use std::fs;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Target, TargetError, io_err};

/// File in the venv recording what was installed, so a later start skips pip.
const INSTALLED: &str = "copyimage-conformance-installed.txt";

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its PID (and process group).
    pub pid: u32,
    /// The process, when this program started it (so it can be reaped).
    child: Option<Child>,
}

struct Files {
    dir: PathBuf,
    pid: PathBuf,
    url: PathBuf,
    log: PathBuf,
}

impl Files {
    fn of(t: &Target) -> Self {
        Files {
            dir: t.dir.clone(),
            pid: t.dir.join(format!("{}.pid", t.name)),
            url: t.dir.join(format!("{}.url", t.name)),
            log: t.dir.join(format!("{}.log", t.name)),
        }
    }

    fn forget(&self) {
        let _ = fs::remove_file(&self.pid);
        let _ = fs::remove_file(&self.url);
    }
}

fn fail(t: &Target, message: impl Into<String>) -> TargetError {
    TargetError::Server { target: t.name.clone(), message: message.into() }
}

/// How much of the end of a server's log [`log_tail`] reads: a long-lived server's log can be
/// large, and only its last lines are shown.
const LOG_TAIL: u64 = 64 << 10;

/// The last lines of the server's log, for an error message.
fn log_tail(files: &Files) -> String {
    let mut bytes = vec![];
    if let Ok(mut file) = fs::File::open(&files.log) {
        let size = file.metadata().map_or(0, |m| m.len());
        if file.seek(SeekFrom::Start(size.saturating_sub(LOG_TAIL))).is_ok() {
            let _ = file.take(LOG_TAIL).read_to_end(&mut bytes);
        }
    }
    // Lossy: a line cut at the start, or a server's non-UTF-8 output, still shows the rest.
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(15)..].join("\n");
    if tail.is_empty() { String::new() } else { format!("\n--- last lines of {}:\n{tail}", files.log.display()) }
}

/// Installs the target's packages into `DIR/venv` unless exactly they are there already,
/// printing pip's progress to `progress` as it goes.
pub fn install(t: &Target, progress: &mut dyn Write) -> Result<(), TargetError> {
    let Some(install) = &t.install else { return Ok(()) };
    let venv = t.dir.join("venv");
    let marker = venv.join(INSTALLED);
    let wanted = install.packages.join("\n") + "\n";
    let python = venv.join("bin/python");
    if python.exists() && fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        return Ok(());
    }
    let started = Instant::now();
    // Said before pip starts: resolving and downloading can take minutes before its first line.
    let _ = writeln!(
        progress,
        "{}: installing {} into {} (pip; a few minutes the first time)...",
        t.name,
        install.packages.join(" "),
        venv.display()
    );
    fs::create_dir_all(&t.dir).map_err(|e| io_err(&t.dir, e))?;
    if !python.exists() {
        let status = Command::new(&install.python)
            .args(["-m", "venv"])
            .arg(&venv)
            .stdin(Stdio::null())
            .status()
            .map_err(|e| fail(t, format!("cannot run {} -m venv: {e}", install.python)))?;
        if !status.success() {
            return Err(fail(t, format!("{} -m venv {} failed ({status})", install.python, venv.display())));
        }
    }
    let mut child = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"])
        .args(&install.packages)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| fail(t, format!("cannot run pip: {e}")))?;
    // pip's own lines, indented, as they come: a long install is never silent.
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = writeln!(progress, "  pip: {line}");
        }
    }
    let status = child.wait().map_err(|e| fail(t, format!("pip: {e}")))?;
    if !status.success() {
        return Err(fail(t, format!("pip install failed ({status}); see the lines above")));
    }
    fs::write(&marker, wanted).map_err(|e| io_err(&marker, e))?;
    let _ = writeln!(progress, "{}: installed in {:.0} s", t.name, started.elapsed().as_secs_f64());
    Ok(())
}

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it a moment later).
pub fn free_port() -> Result<u16, TargetError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| io_err(Path::new("127.0.0.1:0"), e))?;
    l.local_addr().map(|a| a.port()).map_err(|e| io_err(Path::new("127.0.0.1:0"), e))
}

fn expand(text: &str, port: u16, dir: &Path, self_exe: &Path) -> String {
    text.replace("{port}", &port.to_string())
        .replace("{venv}", &dir.join("venv").display().to_string())
        .replace("{dir}", &dir.display().to_string())
        .replace("{self}", &self_exe.display().to_string())
}

/// Starts the target (installing it first if needed) and waits until its readiness check
/// passes. A server this directory already runs is reused when it answers. `self_exe` is what
/// `{self}` stands for.
pub fn start(t: &Target, self_exe: &Path, progress: &mut dyn Write) -> Result<Server, TargetError> {
    let files = Files::of(t);
    if let Some(pid) = live_pid(t, &files) {
        let url = fs::read_to_string(&files.url).unwrap_or_default().trim().to_owned();
        if ready(t, &url) {
            let _ = writeln!(progress, "{}: already running (PID {pid}) at {url}", t.name);
            return Ok(Server { url, pid, child: None });
        }
        return Err(fail(
            t,
            format!(
                "PID {pid} from {} runs but does not answer; stop it first{}",
                files.dir.display(),
                log_tail(&files)
            ),
        ));
    }
    install(t, progress)?;
    fs::create_dir_all(&files.dir).map_err(|e| io_err(&files.dir, e))?;
    let dir = fs::canonicalize(&files.dir).map_err(|e| io_err(&files.dir, e))?;
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let args: Vec<String> = t.start.command.iter().map(|a| expand(a, port, &dir, self_exe)).collect();
    let log = fs::File::create(&files.log).map_err(|e| io_err(&files.log, e))?;
    let log2 = log.try_clone().map_err(|e| io_err(&files.log, e))?;
    let mut cmd = Command::new(&args[0]);
    cmd.args(&args[1..]).stdin(Stdio::null()).stdout(log).stderr(log2);
    for (k, v) in &t.start.env {
        cmd.env(k, expand(v, port, &dir, self_exe));
    }
    // Its own process group: stop signals the server and whatever it spawned, nothing else,
    // and a Ctrl-C meant for this program does not reach it.
    cmd.process_group(0);
    let started = Instant::now();
    let child = cmd.spawn().map_err(|e| fail(t, format!("cannot start {}: {e}", args[0])))?;
    let mut server = Server { url: url.clone(), pid: child.id(), child: Some(child) };
    write_file(&files.pid, &format!("{}\n", server.pid))?;
    write_file(&files.url, &format!("{url}\n"))?;
    let deadline = started + Duration::from_secs_f64(t.start.timeout_seconds);
    loop {
        if ready(t, &url) {
            break;
        }
        let exited = server.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
        let why = match exited {
            Some(status) => Some(format!("exited ({status}) before {url}{} answered", t.ready.path)),
            None if Instant::now() >= deadline => {
                Some(format!("{url}{} did not answer as expected within {} s", t.ready.path, t.start.timeout_seconds))
            }
            None => None,
        };
        if let Some(why) = why {
            let tail = log_tail(&files);
            server.stop(t);
            return Err(fail(t, format!("PID {} {why}{tail}", server.pid)));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if let Some(path) = &t.ready.warmup {
        let wait = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(5));
        if let Err(e) = http(&url, "GET", path, wait) {
            let tail = log_tail(&files);
            server.stop(t);
            return Err(fail(t, format!("PID {}: warm-up GET {url}{path}: {e}{tail}", server.pid)));
        }
    }
    let _ = writeln!(
        progress,
        "{}: PID {} ready at {url} after {:.1} s",
        t.name,
        server.pid,
        started.elapsed().as_secs_f64()
    );
    Ok(server)
}

fn write_file(path: &Path, text: &str) -> Result<(), TargetError> {
    fs::write(path, text).map_err(|e| io_err(path, e))
}

/// Whether the readiness check passes now.
fn ready(t: &Target, url: &str) -> bool {
    let Ok((status, body)) = http(url, "GET", &t.ready.path, Duration::from_secs(5)) else { return false };
    t.ready.status.is_none_or(|s| s == status)
        && t.ready.body.as_ref().is_none_or(|re| regex::Regex::new(re).is_ok_and(|re| re.is_match(&body)))
}

/// One HTTP/1.1 request with an empty body, each read answered within `wait`: the status and
/// the body (at most 1 MiB).
pub fn http(url: &str, method: &str, path: &str, wait: Duration) -> std::io::Result<(u16, String)> {
    let host = url.strip_prefix("http://").unwrap_or(url).trim_end_matches('/');
    let addr = host
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host}: no address")))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    s.set_read_timeout(Some(wait))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    s.take(1 << 20).read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok((status, body))
}

/// The PID in the PID file when it names a live process whose command line is the target's:
/// a stale or reused PID is not ours.
fn live_pid(t: &Target, files: &Files) -> Option<u32> {
    let pid: u32 = fs::read_to_string(&files.pid).ok()?.trim().parse().ok()?;
    alive(pid).then_some(())?;
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline);
    // An interpreter may stand in for a script's name, so look for the program's file name
    // and for the first argument without a placeholder.
    let program = Path::new(&t.start.command[0]).file_name()?.to_string_lossy().into_owned();
    let fixed = t.start.command[1..].iter().find(|a| !a.contains('{'));
    (cmdline.contains(&program) && fixed.is_none_or(|a| cmdline.contains(a.as_str()))).then_some(pid)
}

/// Whether the process exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesized command name.
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

fn signal(pid: u32, sig: &str) {
    // The negative PID names the process group the server leads.
    let _ = Command::new("kill")
        .args([format!("-{sig}"), "--".into(), format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn terminate(pid: u32, timeout: f64, child: Option<&mut Child>) {
    signal(pid, "TERM");
    let deadline = Instant::now() + Duration::from_secs_f64(timeout);
    let mut child = child;
    loop {
        if let Some(c) = child.as_mut() {
            if c.try_wait().ok().flatten().is_some() {
                return;
            }
        } else if !alive(pid) {
            return;
        }
        if Instant::now() >= deadline {
            signal(pid, "KILL");
            if let Some(c) = child {
                let _ = c.wait();
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Server {
    /// When the server is gone (it exited, or something else ended it): what to tell, with
    /// where its log is.
    pub fn gone(&mut self, t: &Target) -> Option<String> {
        let exited = match self.child.as_mut() {
            Some(c) => c.try_wait().ok().flatten().map(|s| s.to_string()),
            None => (!alive(self.pid)).then(|| "gone".to_owned()),
        };
        exited.map(|how| {
            format!("PID {} ended during the run ({how}); its log: {}", self.pid, Files::of(t).log.display())
        })
    }

    /// Stops it (SIGTERM, then SIGKILL after the target's timeout) and forgets its files.
    pub fn stop(&mut self, t: &Target) {
        terminate(self.pid, t.stop.timeout_seconds, self.child.as_mut());
        Files::of(t).forget();
    }
}

/// Stops the server the target's directory records; says so when none runs.
pub fn stop(t: &Target, progress: &mut dyn Write) {
    let files = Files::of(t);
    match live_pid(t, &files) {
        Some(pid) => {
            terminate(pid, t.stop.timeout_seconds, None);
            let _ = writeln!(progress, "{}: PID {pid} stopped", t.name);
        }
        None => {
            let _ = writeln!(progress, "{}: not running from {}", t.name, files.dir.display());
        }
    }
    files.forget();
}

/// Sends the target's reset request to the server its directory records.
pub fn reset(t: &Target) -> Result<String, TargetError> {
    let files = Files::of(t);
    let Some(reset) = &t.reset else { return Err(fail(t, "has no reset; stop and start it instead")) };
    if live_pid(t, &files).is_none() {
        return Err(fail(t, format!("not running from {}; start it first", files.dir.display())));
    }
    let url = fs::read_to_string(&files.url).map_err(|e| io_err(&files.url, e))?.trim().to_owned();
    match http(&url, &reset.method, &reset.path, Duration::from_secs(30)) {
        Ok((status, _)) if status == reset.status => Ok(url),
        Ok((status, _)) => {
            Err(fail(t, format!("{} {url}{} answered HTTP {status}{}", reset.method, reset.path, log_tail(&files))))
        }
        Err(e) => Err(fail(t, format!("{} {url}{}: {e}", reset.method, reset.path))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_tail_is_the_last_lines_of_a_large_log_even_with_stray_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let mut text: Vec<u8> = (0..200_000).flat_map(|i| format!("line {i}\n").into_bytes()).collect();
        // A server's stray byte near the end: the old whole-file UTF-8 read showed nothing.
        text.extend_from_slice(b"bad \xff byte\nlast line\n");
        fs::write(&log, text).unwrap();
        let files = Files { dir: dir.path().into(), pid: dir.path().join("p"), url: dir.path().join("u"), log };
        let tail = log_tail(&files);
        let lines: Vec<&str> = tail.strip_prefix('\n').expect("a tail starts on a line of its own").lines().collect();
        assert_eq!(lines.len(), 16, "{tail}");
        assert!(lines[0].starts_with("--- last lines of "), "{tail}");
        assert_eq!(lines[1], "line 199987");
        assert_eq!(lines[14], "bad \u{fffd} byte");
        assert_eq!(lines[15], "last line");
        let absent = Files { log: dir.path().join("absent.log"), ..files };
        assert_eq!(log_tail(&absent), "");
    }
}
