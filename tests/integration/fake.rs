//! A test server that answers wrongly on purpose, one way per instance.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How the server answers every request.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// 200 with a CopyImage success body.
    Success,
    /// 400 with this EC2 error code.
    Error(&'static str),
    /// This status with this EC2 error code.
    ErrorWithStatus(u16, &'static str),
    /// 500 with an HTML page (as moto's crashes do).
    Html500,
    /// Closes the connection without answering.
    Drop,
    /// Answers after this many milliseconds.
    Slow(u64),
    /// 503 RequestLimitExceeded on the first attempt of each request, then success.
    ThrottleOnce,
    /// 200 with a body larger than the runner reads.
    Huge,
    /// 400 with this code, written with whitespace around it inside `<Code>`.
    PaddedCode(&'static str),
    /// 400 with this code, the body starting with a blank line before the XML declaration.
    BlankBeforeDeclaration(&'static str),
}

/// A running fake server.
pub struct Fake {
    /// Its URL.
    pub url: String,
    /// Requests it received.
    pub requests: Arc<AtomicU64>,
}

/// Starts a fake server on a free loopback port; it lives until the test process ends.
pub fn start(mode: Mode) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicU64::new(0));
    let count = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let count = count.clone();
            std::thread::spawn(move || serve(stream, mode, &count));
        }
    });
    Fake { url, requests }
}

fn read_request(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(String::from_utf8_lossy(&body).into_owned())
}

fn serve(mut stream: TcpStream, mode: Mode, count: &AtomicU64) {
    // One request per connection: the runner's client reconnects as it would to moto.
    let Some(body) = read_request(&stream) else { return };
    let n = count.fetch_add(1, Ordering::SeqCst);
    let ok = r#"<?xml version="1.0" encoding="UTF-8"?><CopyImageResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><imageId>ami-0123456789abcdef0</imageId></CopyImageResponse>"#.to_owned();
    let err = |code: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>"#
        )
    };
    let (status, reply) = match mode {
        Mode::Success => (200, ok),
        Mode::Error(code) => (400, err(code)),
        Mode::ErrorWithStatus(s, code) => (s, err(code)),
        Mode::Html500 => (500, "<!doctype html><html><title>500 Internal Server Error</title></html>".to_owned()),
        Mode::Drop => return,
        Mode::Slow(ms) => {
            std::thread::sleep(Duration::from_millis(ms));
            (200, ok)
        }
        Mode::ThrottleOnce => {
            // Throttle a request the first time its exact body is seen.
            static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
            let mut seen = SEEN.lock().unwrap();
            if seen.contains(&body) {
                (200, ok)
            } else {
                seen.push(body);
                (503, err("RequestLimitExceeded"))
            }
        }
        Mode::Huge => (200, format!("{ok}{}", " ".repeat(3 << 20))),
        Mode::PaddedCode(code) => (400, err(&format!("\n  {code}\n"))),
        Mode::BlankBeforeDeclaration(code) => (400, format!("\n{}", err(code))),
    };
    let _ = n;
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.as_bytes());
}
