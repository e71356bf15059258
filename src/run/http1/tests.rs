//! The HTTP/1.1 client against tiny local servers that each answer in one way, and the bytes
//! it sends against reqwest's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use super::*;
use crate::run::Target;
use crate::run::ec2;
use crate::run::ec2::route::{self, Route};

/// A server on a free loopback port and the connections it accepted.
struct Server {
    port: u16,
    connections: Arc<AtomicUsize>,
}

/// Starts a server that reads each request whole and lets `reply` answer it (given the
/// request's number, from 0, over all connections); the connection stays open while `reply`
/// says so and the client keeps it.
fn server(reply: impl Fn(&mut TcpStream, usize) -> bool + Send + Sync + 'static) -> Server {
    server_recording(reply, Arc::default())
}

/// [`server`] that also keeps every request's bytes in `seen`.
fn server_recording(
    reply: impl Fn(&mut TcpStream, usize) -> bool + Send + Sync + 'static,
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let (count, reply, requests) = (connections.clone(), Arc::new(reply), Arc::new(AtomicUsize::new(0)));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let (reply, requests, seen) = (reply.clone(), requests.clone(), seen.clone());
            std::thread::spawn(move || {
                while let Some(request) = read_request(&stream) {
                    seen.lock().unwrap().push(request);
                    if !reply(&mut stream, requests.fetch_add(1, Ordering::SeqCst)) {
                        break;
                    }
                }
            });
        }
    });
    Server { port, connections }
}

/// One request's bytes, head and `content-length` body; `None` at the end of the connection.
fn read_request(stream: &TcpStream) -> Option<Vec<u8>> {
    let mut reader = BufReader::new(stream);
    let (mut request, mut len) = (Vec::new(), 0);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
        request.extend_from_slice(line.as_bytes());
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    request.extend_from_slice(&body);
    Some(request)
}

fn write(stream: &mut TcpStream, bytes: &str) {
    stream.write_all(bytes.as_bytes()).unwrap();
}

/// A keep-alive answer with `body`.
fn ok(stream: &mut TcpStream, body: &str) {
    write(stream, &format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len()));
}

fn request() -> Vec<u8> {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, http::HeaderValue::from_static("127.0.0.1"));
    encode(&http::Method::POST, "/", &headers, b"Action=CopyImage")
}

const SECOND: Duration = Duration::from_secs(5);

async fn send(client: &Client, max_body: usize) -> Result<Answer, Error> {
    client.exchange(&request(), SECOND, max_body).await
}

fn body(answer: Result<Answer, Error>) -> String {
    String::from_utf8(answer.expect("an answer").body).unwrap()
}

#[tokio::test]
async fn keep_alive_answers_share_one_connection() {
    let s = server(|stream, n| {
        ok(stream, &format!("answer {n}"));
        true
    });
    let client = Client::new("127.0.0.1", s.port);
    for n in 0..3 {
        assert_eq!(body(send(&client, 1 << 20).await), format!("answer {n}"));
    }
    assert_eq!(s.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn chunked_bodies_are_decoded_in_pieces_and_the_connection_kept() {
    let s = server(|stream, _| {
        write(stream, "HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhel");
        std::thread::sleep(Duration::from_millis(20));
        write(stream, "lo\r\n6\r\n world\r\n");
        std::thread::sleep(Duration::from_millis(20));
        write(stream, "0\r\nx-trailer: t\r\n\r\n");
        true
    });
    let client = Client::new("127.0.0.1", s.port);
    assert_eq!(body(send(&client, 1 << 20).await), "hello world");
    assert_eq!(body(send(&client, 1 << 20).await), "hello world");
    assert_eq!(s.connections.load(Ordering::SeqCst), 1);
    // A body of chunks adding up to more than the limit is refused at the chunk that passes it.
    let e = send(&client, 8).await.expect_err("too large");
    assert_eq!(e, Error::TooLarge { status: 200, head: b"hello".to_vec() });
}

#[tokio::test]
async fn connection_close_is_honoured_and_the_next_request_redials() {
    // The server would keep the connection; the answer says it will not, which is what counts.
    let s = server(|stream, _| {
        write(stream, "HTTP/1.1 200 OK\r\nConnection: Close\r\ncontent-length: 2\r\n\r\nok");
        true
    });
    let client = Client::new("127.0.0.1", s.port);
    for _ in 0..3 {
        assert_eq!(body(send(&client, 1 << 20).await), "ok");
    }
    assert_eq!(s.connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_connection_closed_silently_after_its_answer_is_not_reused() {
    let s = server(|stream, _| {
        ok(stream, "ok");
        false
    });
    let client = Client::new("127.0.0.1", s.port);
    for _ in 0..3 {
        assert_eq!(body(send(&client, 1 << 20).await), "ok");
        // Time for the server's close to arrive.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn bodies_over_the_limit_are_too_large_whatever_their_framing() {
    let s = server(|stream, n| {
        match n {
            0 => ok(stream, &"x".repeat(300)),
            _ => write(stream, &format!("HTTP/1.1 500 Oops\r\n\r\n{}", "y".repeat(300))),
        }
        false
    });
    let client = Client::new("127.0.0.1", s.port);
    let e = send(&client, 100).await.expect_err("sized");
    assert_eq!(e, Error::TooLarge { status: 200, head: vec![b'x'; 200] });
    let e = send(&client, 100).await.expect_err("to the end");
    assert!(matches!(e, Error::TooLarge { status: 500, ref head } if head.starts_with(b"yyy")), "{e:?}");
    // Up to the limit is fine, with the body read to the close.
    assert_eq!(body(send(&client, 300).await).len(), 300);
}

#[tokio::test]
async fn answers_that_never_finish_time_out_before_or_after_the_head() {
    let s = server(|stream, n| {
        if n == 1 {
            write(stream, "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial");
        }
        std::thread::sleep(Duration::from_secs(2));
        false
    });
    let client = Client::new("127.0.0.1", s.port);
    let short = Duration::from_millis(200);
    assert_eq!(client.exchange(&request(), short, 1 << 20).await.expect_err("no head"), Error::Timeout);
    assert_eq!(client.exchange(&request(), short, 1 << 20).await.expect_err("no body"), Error::BodyTimeout);
}

#[tokio::test]
async fn broken_answers_are_errors_not_panics() {
    let s = server(|stream, n| {
        let answers = [
            "SSH-2.0-not-http\r\n\r\n",
            "HTTP/1.1 abc OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 1x\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\ntruncated",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-",
            "",
        ];
        write(stream, answers[n]);
        false
    });
    let client = Client::new("127.0.0.1", s.port);
    for _ in 0..3 {
        let e = send(&client, 1 << 20).await.expect_err("not HTTP");
        assert!(matches!(&e, Error::Connect(why) if why.starts_with("not an HTTP/1 answer")), "{e:?}");
    }
    for _ in 0..3 {
        let e = send(&client, 1 << 20).await.expect_err("a broken body");
        assert!(matches!(e, Error::BodyLost(_)), "{e:?}");
    }
    let e = send(&client, 1 << 20).await.expect_err("half a head");
    assert_eq!(e, Error::Connect("connection closed in the middle of the answer's head".into()));
    let e = send(&client, 1 << 20).await.expect_err("nothing");
    assert_eq!(e, Error::Connect("connection closed before an answer".into()));
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = send(&Client::new("127.0.0.1", closed), 1 << 20).await.expect_err("refused");
    assert!(matches!(&e, Error::Connect(why) if why.starts_with("cannot connect to 127.0.0.1:")), "{e:?}");
}

/// A chunk-size line or a trailer section that never ends is refused once it is longer than
/// any answer needs, well before the timeout: the server keeps writing and the buffer would
/// grow with it.
#[tokio::test]
async fn endless_chunk_extensions_and_trailers_are_refused_at_their_limit() {
    let s = server(|stream, n| {
        let start = ["1;", "1\r\nx\r\n0\r\n"][n % 2];
        write(stream, &format!("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{start}"));
        // An extension or trailer lines, 16 KiB at a time, until the client hangs up.
        let filler = if n % 2 == 0 { "a".repeat(16 << 10) } else { format!("x: {}\r\n", "a".repeat(16 << 10)) };
        while stream.write_all(filler.as_bytes()).is_ok() {}
        false
    });
    let client = Client::new("127.0.0.1", s.port);
    let e = client.exchange(&request(), Duration::from_secs(60), 1 << 20).await.expect_err("an endless extension");
    assert_eq!(e, Error::BodyLost(format!("a chunk size line longer than {MAX_CHUNK_LINE} bytes")));
    let e = client.exchange(&request(), Duration::from_secs(60), 1 << 20).await.expect_err("endless trailers");
    assert_eq!(e, Error::BodyLost(format!("trailers longer than {MAX_HEAD} bytes")));
}

#[tokio::test]
async fn informational_answers_are_skipped_and_redirects_keep_their_location() {
    let s = server(|stream, n| {
        match n {
            0 => write(stream, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
            _ => write(stream, "HTTP/1.1 307 Moved\r\nLocation: http://elsewhere/\r\ncontent-length: 0\r\n\r\n"),
        }
        true
    });
    let client = Client::new("127.0.0.1", s.port);
    assert_eq!(body(send(&client, 1 << 20).await), "ok");
    let moved = send(&client, 1 << 20).await.unwrap();
    assert_eq!((moved.status, moved.location.as_deref()), (307, Some(&b"http://elsewhere/"[..])));
}

#[tokio::test]
async fn the_request_on_the_wire_is_the_one_reqwest_sends() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = server_recording(
        |stream, _| {
            ok(stream, "<CopyImageResponse/>");
            true
        },
        seen.clone(),
    );
    let json = [
        (http::HeaderName::from_static("content-type"), http::HeaderValue::from_static("application/json")),
        (http::HeaderName::from_static("accept"), http::HeaderValue::from_static("application/json")),
    ];
    for base in [&route::FORM[..], &json[..]] {
        let target = Target::for_tests(&format!("http://127.0.0.1:{}/", s.port));
        let route = Route::new(&target);
        let lean = ec2::Client::for_target(&target, &route).unwrap();
        assert!(matches!(lean, ec2::Client::Lean(..)), "a plain-http endpoint gets the lean client");
        let theirs = ec2::Client::Reqwest(ec2::http_client(&target).unwrap());
        let signer = crate::wire::Signer::new(target.credentials.clone());
        let req = route::build_routed(
            &route,
            &target,
            &signer,
            "us-east-1",
            "Action=CopyImage&Name=x",
            base,
            SystemTime::now(),
        )
        .unwrap();
        let req = route::Signed::Request(Box::new(req));
        for client in [&lean, &theirs] {
            let (status, answer) = client.exchange(&route, &target, &req).await.unwrap();
            assert_eq!((status, &answer[..]), (200, &b"<CopyImageResponse/>"[..]));
        }
        // What the runner sends our own client: the request written out, signed anew.
        let written = lean.sign(&route, &target, &signer, "us-east-1", "Action=CopyImage&Name=x", base).unwrap();
        assert!(matches!(written, route::Signed::Wire(_)));
        let (status, _) = lean.exchange(&route, &target, &written).await.unwrap();
        assert_eq!(status, 200);
        let seen: Vec<Vec<u8>> = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(seen.len(), 3);
        assert_eq!(String::from_utf8_lossy(&seen[0]), String::from_utf8_lossy(&seen[1]));
        // Its signature may be of a later second; the rest is the same.
        let unsigned = |r: &[u8]| {
            let text = String::from_utf8_lossy(r).into_owned();
            text.lines()
                .filter(|l| !l.starts_with("x-amz-date") && !l.starts_with("authorization"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(unsigned(&seen[2]), unsigned(&seen[0]));
        assert_eq!(seen[2].len(), seen[0].len());
    }
    let https = Target::for_tests("https://ec2.us-east-1.amazonaws.com/");
    let client = ec2::Client::for_target(&https, &Route::new(&https)).unwrap();
    assert!(matches!(client, ec2::Client::Reqwest(_)), "HTTPS stays with reqwest");
}

#[test]
fn a_request_is_written_whole_with_its_length_in_decimal() {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, http::HeaderValue::from_static("h:1"));
    for len in [0, 1, 9, 10, 99, 100, 12_345, 1_000_000] {
        let body = vec![b'x'; len];
        let wire = encode(&http::Method::POST, "/p", &headers, &body);
        let head = format!("POST /p HTTP/1.1\r\nhost: h:1\r\naccept: */*\r\ncontent-length: {len}\r\n\r\n");
        assert_eq!(&wire[..head.len()], head.as_bytes(), "{len}");
        assert_eq!(&wire[head.len()..], &body[..], "{len}");
    }
    // An `accept` of the request's own replaces the default one.
    headers.insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
    let wire = encode(&http::Method::POST, "/", &headers, b"{}");
    let want = "POST / HTTP/1.1\r\nhost: h:1\r\naccept: application/json\r\ncontent-length: 2\r\n\r\n{}";
    assert_eq!(String::from_utf8(wire).unwrap(), want);
}

/// An answer head with `extra` made-up headers before its `content-length`.
fn head_with(extra: usize) -> Vec<u8> {
    let mut head = String::from("HTTP/1.1 200 OK\r\n");
    for i in 0..extra {
        head.push_str(&format!("x-extra-{i}: {i}\r\n"));
    }
    head.push_str("content-length: 7\r\n\r\n");
    head.into_bytes()
}

#[test]
fn a_head_with_many_headers_parses_up_to_the_limit_and_is_refused_past_it() {
    // Up to 16 headers fit the first room; more take the second parse, up to MAX_HEADERS.
    for extra in [0, FEW_HEADERS - 1, FEW_HEADERS, 50, MAX_HEADERS - 1] {
        let head = head_with(extra);
        let parsed = parse_head(&head).unwrap().unwrap_or_else(|| panic!("{extra}: incomplete"));
        assert_eq!((parsed.status, parsed.len), (200, head.len()), "{extra} extra headers");
        assert!(parsed.framing == Framing::Length(7), "{extra}: the content-length after them counts");
    }
    match parse_head(&head_with(MAX_HEADERS)) {
        Err(Error::Connect(why)) => assert_eq!(why, "not an HTTP/1 answer: too many headers"),
        _ => panic!("more headers than MAX_HEADERS are refused"),
    }
    // Nothing read yet, or a head cut short, is incomplete at any size.
    assert!(parse_head(b"").unwrap().is_none());
    assert!(parse_head(&head_with(40)[..300]).unwrap().is_none());
}
