//! A small HTTP/1.1 client for plain-http endpoints reached directly (emulators, `serve`):
//! a pool of keep-alive connections on tokio `TcpStream`s, each request written whole in one
//! write, each answer read into its connection's reused buffer, its head parsed with
//! `httparse` and its body framed by `Content-Length`, chunked transfer coding or the end of the
//! connection. It does for these endpoints what reqwest did, at a fraction of the CPU per
//! request; HTTPS and proxies stay with reqwest (see `ec2::Client`).

use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most header lines an answer may have (hyper's limit).
const MAX_HEADERS: usize = 100;
/// Largest answer head (status line and headers) read: hyper's default buffer limit.
const MAX_HEAD: usize = 8192 + 4096 * 100;
/// Free room a read offers at least; most answers of an emulator fit in one read.
const READ_ROOM: usize = 16 << 10;
/// Room made for a sized body at a time: a body is read straight into its own buffer, whose
/// size a server's `content-length` alone does not decide.
const BODY_ROOM: usize = 1 << 20;
/// How many leading body bytes a [`Error::TooLarge`] keeps.
const HEAD_LEN: usize = 200;
/// Longest chunk-size line read (its extensions included): httparse takes extensions of any
/// length, and a line that never ends would grow the buffer until the timeout.
const MAX_CHUNK_LINE: usize = 4096;

/// Keep-alive connections to one `host:port`. A connection goes back to the pool only after a
/// whole answer that leaves it usable, so there are never more than the requests in flight.
pub(crate) struct Client {
    host: String,
    port: u16,
    idle: Mutex<Vec<Conn>>,
}

/// One connection and the buffer its answers are read into.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// An answer: its status, its `location` (3xx answers only) and its whole body.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The HTTP status.
    pub(crate) status: u16,
    /// The `location` header of a 3xx answer.
    pub(crate) location: Option<Vec<u8>>,
    /// The body, without its transfer coding.
    pub(crate) body: Vec<u8>,
}

/// Why an exchange brought no whole answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// No answer head before the deadline.
    Timeout,
    /// The head came before the deadline, the whole body did not.
    BodyTimeout,
    /// No connection, or it broke, or said something that is not an HTTP/1 answer head, before
    /// the head was complete: a request worth sending again.
    Connect(String),
    /// The connection broke, or the body's framing was wrong, while the body came.
    BodyLost(String),
    /// The body is larger than the limit.
    TooLarge {
        /// The answer's status.
        status: u16,
        /// The body's first bytes (at most 200).
        head: Vec<u8>,
    },
}

/// How an answer's body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// After this many bytes.
    Length(usize),
    /// With the last chunk of the chunked transfer coding.
    Chunked,
    /// When the server closes the connection.
    Eof,
}

/// What the head of an answer says.
#[derive(Debug)]
struct Head {
    /// Its length in bytes, the blank line included.
    len: usize,
    status: u16,
    framing: Framing,
    /// Whether the connection may carry another request after this answer.
    keep_alive: bool,
    location: Option<Vec<u8>>,
}

impl Client {
    /// A client of the server at `host` (a name, an IPv4 address or a bracketed IPv6 one) and
    /// `port`.
    pub(crate) fn new(host: &str, port: u16) -> Self {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        Client { host, port, idle: Mutex::new(Vec::new()) }
    }

    /// Sends `request` (a whole request, as [`encode`] writes it) and reads the answer, all
    /// within `timeout`, its body no larger than `max_body`.
    pub(crate) async fn exchange(&self, request: &[u8], timeout: Duration, max_body: usize) -> Result<Answer, Error> {
        let mut headed = false;
        match tokio::time::timeout(timeout, self.exchange_untimed(request, max_body, &mut headed)).await {
            Ok(answer) => answer,
            Err(_) if headed => Err(Error::BodyTimeout),
            Err(_) => Err(Error::Timeout),
        }
    }

    async fn exchange_untimed(&self, request: &[u8], max_body: usize, headed: &mut bool) -> Result<Answer, Error> {
        let mut conn = match self.checkout() {
            Some(conn) => conn,
            None => self.dial().await?,
        };
        conn.stream.write_all(request).await.map_err(|e| Error::Connect(format!("cannot send the request: {e}")))?;
        let (answer, keep_alive) = conn.read_answer(max_body, headed).await?;
        if keep_alive {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
        Ok(answer)
    }

    /// An idle connection the server has not closed, if there is one. A server may close an
    /// idle connection at any time; one that did (or sent something unasked) is dropped here
    /// rather than met with the next request.
    fn checkout(&self) -> Option<Conn> {
        loop {
            let conn = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop()?;
            // Costs no system call unless the socket became readable since the last read.
            match conn.stream.try_read(&mut [0u8; 1]) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Some(conn),
                _ => continue,
            }
        }
    }

    async fn dial(&self) -> Result<Conn, Error> {
        let refused = |e: std::io::Error| Error::Connect(format!("cannot connect to {}:{}: {e}", self.host, self.port));
        let stream = TcpStream::connect((self.host.as_str(), self.port)).await.map_err(refused)?;
        // The request goes out in one write; waiting for more to send would only delay it.
        stream.set_nodelay(true).map_err(refused)?;
        Ok(Conn { stream, buf: Vec::with_capacity(READ_ROOM) })
    }
}

impl Conn {
    /// Reads more of the answer into the buffer; `Ok(0)` at the end of the connection.
    async fn fill(&mut self) -> std::io::Result<usize> {
        self.buf.reserve(READ_ROOM);
        self.stream.read_buf(&mut self.buf).await
    }

    /// Reads one answer; gives it and whether the connection may carry another request.
    async fn read_answer(&mut self, max_body: usize, headed: &mut bool) -> Result<(Answer, bool), Error> {
        self.buf.clear();
        let head = loop {
            match parse_head(&self.buf)? {
                // An informational answer (100 Continue) comes before the real one.
                Some(h) if (100..200).contains(&h.status) && h.status != 101 => {
                    self.buf.drain(..h.len);
                    continue;
                }
                Some(h) => break h,
                None if self.buf.len() > MAX_HEAD => {
                    return Err(Error::Connect(format!("the answer's head is longer than {MAX_HEAD} bytes")));
                }
                None => {}
            }
            match self.fill().await {
                Ok(0) if self.buf.is_empty() => {
                    return Err(Error::Connect("connection closed before an answer".into()));
                }
                Ok(0) => return Err(Error::Connect("connection closed in the middle of the answer's head".into())),
                Ok(_) => {}
                Err(e) => return Err(Error::Connect(format!("connection lost before an answer: {e}"))),
            }
        };
        *headed = true;
        let Head { len, status, framing, keep_alive, location } = head;
        let too_large = |body: &[u8]| Error::TooLarge { status, head: body[..body.len().min(HEAD_LEN)].to_vec() };
        let (body, clean) = match framing {
            Framing::Length(n) if n > max_body => return Err(too_large(&self.buf[len..])),
            Framing::Length(n) => self.read_sized(len, n).await?,
            Framing::Chunked => self.read_chunked(len, max_body, status).await?,
            Framing::Eof => (self.read_to_end(len, max_body, status).await?, false),
        };
        Ok((Answer { status, location, body }, keep_alive && clean))
    }

    /// A body of `n` bytes starting at `start`; and whether nothing followed it.
    async fn read_sized(&mut self, start: usize, n: usize) -> Result<(Vec<u8>, bool), Error> {
        let mut body = Vec::with_capacity(n.min(BODY_ROOM));
        let have = (self.buf.len() - start).min(n);
        body.extend_from_slice(&self.buf[start..start + have]);
        let clean = self.buf.len() - start == have;
        // The rest goes straight into the body, never past its end.
        while body.len() < n {
            let rest = n - body.len();
            body.reserve(rest.min(BODY_ROOM));
            match (&mut self.stream).take(rest as u64).read_buf(&mut body).await {
                Ok(0) => return Err(lost(&format!("connection closed after {} of {n} bytes", body.len()))),
                Ok(_) => {}
                Err(e) => return Err(lost(&e.to_string())),
            }
        }
        Ok((body, clean))
    }

    /// A chunked body whose first chunk starts at `start`; and whether nothing followed it.
    async fn read_chunked(&mut self, start: usize, max_body: usize, status: u16) -> Result<(Vec<u8>, bool), Error> {
        let mut body = Vec::new();
        let mut at = start;
        loop {
            let size = match httparse::parse_chunk_size(&self.buf[at..]) {
                Ok(httparse::Status::Complete((used, size))) => {
                    at += used;
                    size
                }
                Ok(httparse::Status::Partial) if self.buf.len() - at > MAX_CHUNK_LINE => {
                    return Err(lost(&format!("a chunk size line longer than {MAX_CHUNK_LINE} bytes")));
                }
                Ok(httparse::Status::Partial) => {
                    self.fill_body().await?;
                    continue;
                }
                Err(_) => return Err(lost("malformed chunk size")),
            };
            if size == 0 {
                at = self.skip_trailers(at).await?;
                return Ok((body, at == self.buf.len()));
            }
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            if size > max_body - body.len() {
                return Err(Error::TooLarge { status, head: body[..body.len().min(HEAD_LEN)].to_vec() });
            }
            while self.buf.len() - at < size.saturating_add(2) {
                self.fill_body().await?;
            }
            body.extend_from_slice(&self.buf[at..at + size]);
            if &self.buf[at + size..at + size + 2] != b"\r\n" {
                return Err(lost("a chunk does not end where its size says"));
            }
            at += size + 2;
            // What has been decoded is not needed again: keep the buffer small.
            self.buf.drain(..at);
            at = 0;
        }
    }

    /// Skips the trailer section that starts at `at`; gives where the answer ends. The section
    /// may be as long as an answer's head, no longer: trailers that never end would grow the
    /// buffer until the timeout.
    async fn skip_trailers(&mut self, mut at: usize) -> Result<usize, Error> {
        let start = at;
        loop {
            match memchr::memmem::find(&self.buf[at..], b"\r\n") {
                Some(0) => return Ok(at + 2),
                Some(line) => at += line + 2,
                None if self.buf.len() - start > MAX_HEAD => {
                    return Err(lost(&format!("trailers longer than {MAX_HEAD} bytes")));
                }
                None => self.fill_body().await?,
            }
        }
    }

    /// [`Conn::fill`] while a body comes: the end of the connection is an error.
    async fn fill_body(&mut self) -> Result<(), Error> {
        match self.fill().await {
            Ok(0) => Err(lost("connection closed in the middle of a chunked body")),
            Ok(_) => Ok(()),
            Err(e) => Err(lost(&e.to_string())),
        }
    }

    /// A body that starts at `start` and ends with the connection.
    async fn read_to_end(&mut self, start: usize, max_body: usize, status: u16) -> Result<Vec<u8>, Error> {
        loop {
            if self.buf.len() - start > max_body {
                let end = start + (self.buf.len() - start).min(HEAD_LEN);
                return Err(Error::TooLarge { status, head: self.buf[start..end].to_vec() });
            }
            match self.fill().await {
                Ok(0) => return Ok(self.buf[start..].to_vec()),
                Ok(_) => {}
                Err(e) => return Err(lost(&e.to_string())),
            }
        }
    }
}

fn lost(why: &str) -> Error {
    Error::BodyLost(why.to_owned())
}

/// The answer head at the start of `buf`, `None` while it is incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, Error> {
    if buf.is_empty() {
        return Ok(None);
    }
    // Room for a few headers first, the full room only for an answer with more: setting up a
    // hundred empty headers for every answer cost more than parsing its head.
    let mut few = [httparse::EMPTY_HEADER; FEW_HEADERS];
    let mut resp = httparse::Response::new(&mut few);
    match resp.parse(buf) {
        Err(httparse::Error::TooManyHeaders) => {
            let mut all = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut resp = httparse::Response::new(&mut all);
            let parsed = resp.parse(buf);
            head_of(&resp, parsed)
        }
        parsed => head_of(&resp, parsed),
    }
}

/// Headers most answers fit in; [`parse_head`] parses again with room for [`MAX_HEADERS`]
/// when an answer has more.
const FEW_HEADERS: usize = 16;

/// The head `resp` was parsed into (`parsed` says how far), `None` while it is incomplete.
fn head_of(resp: &httparse::Response<'_, '_>, parsed: httparse::Result<usize>) -> Result<Option<Head>, Error> {
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Error::Connect(format!("not an HTTP/1 answer: {e}"))),
    };
    let status = resp.code.unwrap_or_default();
    let malformed = |what: &str| Error::Connect(format!("not an HTTP/1 answer: {what}"));
    let (mut length, mut chunked, mut te, mut close, mut keep) = (None::<usize>, false, false, false, false);
    let mut location = None;
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| malformed("an invalid content-length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(malformed("two different content-lengths"));
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            te = true;
            // Only a last coding of `chunked` frames the body; any other runs to the close.
            chunked = last_token(h.value).is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|b| *b == b',').map(<[u8]>::trim_ascii) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if h.name.eq_ignore_ascii_case("location") && (300..400).contains(&status) {
            location = Some(h.value.to_vec());
        }
    }
    let framing = match (status, te, length) {
        (204 | 304, ..) | (100..200, ..) => Framing::Length(0),
        (_, true, _) if chunked => Framing::Chunked,
        (_, true, _) => Framing::Eof,
        (_, false, Some(n)) => Framing::Length(n),
        (_, false, None) => Framing::Eof,
    };
    let http11 = resp.version == Some(1);
    // After a 101 the connection no longer speaks HTTP/1.1; no request of ours asks for one.
    let keep_alive = !close && (http11 || keep) && framing != Framing::Eof && status >= 200;
    Ok(Some(Head { len, status, framing, keep_alive, location }))
}

/// The last comma-separated token of a header value.
fn last_token(value: &[u8]) -> Option<&[u8]> {
    value.rsplit(|b| *b == b',').map(<[u8]>::trim_ascii).find(|t| !t.is_empty())
}

/// A request as it goes on the wire: the request line, `headers` in their order, `accept:
/// */*` when they have no `accept` (reqwest's default, kept so that an endpoint sees the same
/// request from either client), `content-length`, and the body.
pub(crate) fn encode(method: &http::Method, path: &str, headers: &http::HeaderMap, body: &[u8]) -> Vec<u8> {
    let headers = headers.iter().map(|(name, value)| (name.as_str().as_bytes(), value.as_bytes()));
    write_request(method.as_str(), path, headers, body).0
}

/// [`encode`] of headers given as name and value, and where they end: what follows them is
/// the client's own (`accept`, `content-length`).
pub(crate) fn write_request<'h>(
    method: &str,
    path: &str,
    headers: impl Iterator<Item = (&'h [u8], &'h [u8])>,
    body: &[u8],
) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(512 + body.len());
    for part in [method, " ", path, " HTTP/1.1\r\n"] {
        out.extend_from_slice(part.as_bytes());
    }
    let mut accept = false;
    for (name, value) in headers {
        accept |= name == http::header::ACCEPT.as_str().as_bytes();
        for part in [name, b": ", value, b"\r\n"] {
            out.extend_from_slice(part);
        }
    }
    let headers_end = out.len();
    if !accept {
        out.extend_from_slice(b"accept: */*\r\n");
    }
    // itoa, not `write!`: the formatting machinery costs more than the digits.
    let mut length = itoa::Buffer::new();
    for part in [&b"content-length: "[..], length.format(body.len()).as_bytes(), b"\r\n\r\n", body] {
        out.extend_from_slice(part);
    }
    (out, headers_end)
}

#[cfg(test)]
mod tests;
