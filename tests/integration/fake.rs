//! A test server that answers wrongly on purpose, one way per instance.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// This status with this body, as given.
    Raw(u16, &'static str),
    /// Hostile: echoes each request's head and body (raw and percent-encoded) and its session
    /// token (bare, without its header's name) back, in turn
    /// in an error `<Message>`, in a success body and in an unparseable 500; `DescribeImages`
    /// of `ami-12345678` answers with that image, its description the echo.
    Echo,
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
    /// The hex of every `Signature=` in the requests' `Authorization` headers.
    pub signatures: Arc<Mutex<Vec<String>>>,
}

/// Starts a fake server on a free loopback port; it lives until the test process ends.
pub fn start(mode: Mode) -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicU64::new(0));
    let signatures = Arc::new(Mutex::new(Vec::new()));
    let (count, seen) = (requests.clone(), signatures.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (count, seen) = (count.clone(), seen.clone());
            std::thread::spawn(move || serve(stream, mode, &count, &seen));
        }
    });
    Fake { url, requests, signatures }
}

/// The request's head (request line and headers) and body, or `None` if the connection ends
/// first; every test server of this binary reads requests with it.
pub fn read_request(stream: &TcpStream) -> Option<(String, String)> {
    let mut reader = BufReader::new(stream);
    let mut len = 0usize;
    let mut head = String::new();
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
        head.push_str(&line);
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some((head, String::from_utf8_lossy(&body).into_owned()))
}

fn serve(mut stream: TcpStream, mode: Mode, count: &AtomicU64, seen: &Mutex<Vec<String>>) {
    // One request per connection: the runner's client reconnects as it would to moto.
    let Some((head, body)) = read_request(&stream) else { return };
    if let Some((_, sig)) = head.split_once("Signature=") {
        seen.lock().unwrap().push(sig.chars().take_while(char::is_ascii_hexdigit).collect());
    }
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
        Mode::Raw(status, body) => (status, body.to_owned()),
        Mode::Echo => echo(n, &head, &body),
        Mode::PaddedCode(code) => (400, err(&format!("\n  {code}\n"))),
        Mode::BlankBeforeDeclaration(code) => (400, format!("\n{}", err(code))),
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.as_bytes());
}

/// [`Mode::Echo`]'s answer to the `n`th request.
fn echo(n: u64, head: &str, body: &str) -> (u16, String) {
    // The signing headers first, so that an excerpt of the start holds them too.
    let lower = head.to_ascii_lowercase();
    let signing: String = head
        .lines()
        .zip(lower.lines())
        .filter(|(_, l)| l.starts_with("authorization") || l.starts_with("x-amz-security-token"))
        .map(|(h, _)| format!("{h}; "))
        .collect();
    // The token bare too, as AWS's "The security token included in the request is expired"
    // might quote it: only a redactor that knows the token can find it there.
    let token = lower
        .lines()
        .zip(head.lines())
        .find_map(|(l, h)| l.starts_with("x-amz-security-token:").then(|| h[h.find(':').unwrap() + 1..].trim()))
        .map_or_else(String::new, |t| format!(" (the security token {t} is expired)"));
    let said = format!("you sent: {signing}{head}{body} (encoded: {}){token}", percent_encode(head));
    let xml = said.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let error = |xml: &str| {
        format!(
            "<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>{xml}</Message></Error></Errors><RequestID>r</RequestID></Response>"
        )
    };
    if body.contains("Action=DescribeImages") {
        if !body.contains("ami-12345678") {
            return (400, error(&xml));
        }
        let image = format!(
            "<item><imageId>ami-12345678</imageId><imageState>available</imageState><name>echo</name><description>{xml}</description></item>"
        );
        return (200, format!("<DescribeImagesResponse><imagesSet>{image}</imagesSet></DescribeImagesResponse>"));
    }
    match n % 3 {
        0 => (
            200,
            format!(
                "<CopyImageResponse><requestId>r</requestId><imageId>ami-0123456789abcdef0</imageId><note>{xml}</note></CopyImageResponse>"
            ),
        ),
        1 => (
            400,
            format!(
                "<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>{xml}</Message></Error></Errors><RequestID>r</RequestID></Response>"
            ),
        ),
        _ => (500, said),
    }
}

/// Every byte but unreserved ASCII as `%XX`.
fn percent_encode(s: &str) -> String {
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
