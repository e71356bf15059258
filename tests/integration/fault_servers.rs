//! Fault servers: each answers every request with one kind of trouble (reset, stall,
//! throttle, truncate, redirect, deep nesting, echo, HTML, garbage).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a server misbehaves on every connection.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Closes the connection without a reply: every other one with unread request bytes (a
    /// TCP reset), the others after reading the request (an orderly close).
    Reset,
    /// Says nothing for this long, then closes: every other connection stalls before the
    /// status line, the others in the middle of the body.
    Stall(Duration),
    /// 503 `RequestLimitExceeded`, every time.
    Throttle,
    /// A `content-length` larger than the body sent, then a close in the middle of the XML.
    Truncate,
    /// 302 and 307 in turn, with `location` pointing at `to`.
    Redirect {
        /// Where the redirect points.
        to: String,
    },
    /// 200 with a CopyImage answer nesting this many elements (and no imageId).
    Deep(usize),
    /// 400 with an error whose message repeats the request's headers, secrets included.
    Echo,
    /// 200 with an HTML page.
    Html200,
    /// Bytes that are not HTTP at all.
    Garbage,
}

/// A running hostile server.
pub struct Hostile {
    /// Its URL.
    pub url: String,
    /// Connections it accepted.
    pub connections: Arc<AtomicU64>,
}

/// Starts a hostile server on a free loopback port; it lives until the test process ends.
pub fn start(fault: Fault) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicU64::new(0));
    let count = connections.clone();
    let fault = Arc::new(fault);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let fault = fault.clone();
            std::thread::spawn(move || misbehave(stream, &fault, n));
        }
    });
    Hostile { url, connections }
}

const OK_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><CopyImageResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>"#;

fn error_body(code: &str, message: &str) -> String {
    let message = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>r</RequestID></Response>"#
    )
}

fn respond(mut stream: &TcpStream, status: u16, extra: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: text/xml\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn misbehave(mut stream: TcpStream, fault: &Fault, n: u64) {
    if matches!(fault, Fault::Reset) && n.is_multiple_of(2) {
        // Closing with request bytes unread makes the kernel answer with a reset.
        let mut first = [0u8; 1];
        let _ = stream.read_exact(&mut first);
        return;
    }
    let Some((head, _)) = crate::fake::read_request(&stream) else { return };
    // The header lines, without the request line.
    let headers: Vec<String> = head.lines().skip(1).map(|l| l.trim_end().to_owned()).collect();
    match fault {
        Fault::Reset => {}
        Fault::Stall(pause) => {
            if !n.is_multiple_of(2) {
                let body = format!("{OK_HEAD}<imageId>ami-0123456789abcdef0</imageId></CopyImageResponse>");
                let head = format!("HTTP/1.1 200 X\r\ncontent-length: {}\r\n\r\n", body.len());
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body.as_bytes()[..40]);
            }
            std::thread::sleep(*pause);
        }
        Fault::Throttle => respond(&stream, 503, "", &error_body("RequestLimitExceeded", "Request limit exceeded.")),
        Fault::Truncate => {
            let head = "HTTP/1.1 200 X\r\ncontent-type: text/xml\r\ncontent-length: 4096\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&OK_HEAD.as_bytes()[..100]);
            let _ = stream.shutdown(Shutdown::Both);
        }
        Fault::Redirect { to } => {
            let status = if n.is_multiple_of(2) { 302 } else { 307 };
            respond(&stream, status, &format!("location: {to}\r\n"), "");
        }
        Fault::Deep(depth) => {
            let body = format!("{OK_HEAD}{}{}</CopyImageResponse>", "<a>".repeat(*depth), "</a>".repeat(*depth));
            respond(&stream, 200, "", &body);
        }
        Fault::Echo => respond(&stream, 400, "", &error_body("EchoedRequest", &headers.join("; "))),
        Fault::Html200 => {
            let page = "<!doctype html><html><head><title>Welcome</title></head><body>It works!</body></html>";
            respond(&stream, 200, "", page);
        }
        Fault::Garbage => {
            let _ = stream.write_all(b"\x00\x01\x02 SSH-2.0-not-http \xff\xfe\r\n\r\n");
        }
    }
}
