//! The EC2 client every part of the runner shares: the HTTP client a target gets (our own
//! HTTP/1.1 client for a plain-http endpoint reached directly, reqwest otherwise), a request
//! signed the way that client takes it (see [`route`]), one bounded exchange with the
//! endpoint, and the ec2Query calls (`DescribeImages` among them) that `setup` and
//! `--discover` make.

pub(crate) mod route;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::run::journal::Answer;
use crate::run::{Target, http1};
use crate::wire::describe::{Text, read_xml};
use crate::wire::xml_path::{root_name, text_at};
use crate::wire::{self, Reply, WireError};
use crate::world::{Image, Params};
use route::{FORM, Route, Signed, build_routed, into_reqwest, wire_routed};

/// How many leading bytes of an unexpected answer an error shows.
const HEAD_LEN: usize = 200;

/// The HTTP client for `target`: one request, reply included, may take `target.timeout`.
/// Redirects are not followed: they would carry the signed request, session token included, to
/// another server, and the verdict would judge that server's answer.
///
/// reqwest's own retries (of HTTP/2 streams the server refused) are off: the runner retries
/// connection errors itself, counted and with backoff, and reqwest's policy would copy every
/// request in case it retried.
pub fn http_client(target: &Target) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(target.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .build()
}

/// Why an exchange with the endpoint brought no whole answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The request cannot be put together.
    #[error("cannot build the request: {0}")]
    Build(#[source] http::Error),
    /// The request cannot be handed to the HTTP client.
    #[error("cannot build the request: {0}")]
    Convert(#[source] reqwest::Error),
    /// The request cannot be signed.
    #[error("cannot sign the request: {0}")]
    Sign(#[source] WireError),
    /// No answer in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The answer's body did not come in time.
    #[error("timed out after {0:?} reading the body")]
    BodyTimeout(Duration),
    /// No connection, or no answer on it; the error with its causes.
    #[error("{0}")]
    Connect(String),
    /// The connection broke while the body came; the error with its causes.
    #[error("connection lost while reading the body: {0}")]
    BodyLost(String),
    /// A 3xx answer: a redirect, not followed.
    #[error("HTTP {status} {}", redirect_words(.location.as_deref()))]
    Redirect {
        /// The answer's status.
        status: u16,
        /// Its `location` header, shortened as [`head`] shortens a body.
        location: Option<String>,
        /// The first bytes of the body.
        head: Vec<u8>,
    },
    /// The body is larger than the target allows.
    #[error("HTTP {status}: answer larger than {max} bytes")]
    TooLarge {
        /// The answer's status.
        status: u16,
        /// The largest body read.
        max: usize,
        /// The first bytes of the body.
        head: Vec<u8>,
    },
}

/// The HTTP client a target's requests go through. A plain-http endpoint reached directly (an
/// emulator, `serve`) gets our own HTTP/1.1 client, which costs a fraction of reqwest's CPU
/// per request; HTTPS (AWS), an endpoint a proxy variable applies to, and one whose URL is not
/// of the plain shape get reqwest, with its TLS and its proxy handling.
pub(crate) enum Client {
    /// Our own HTTP/1.1 client, and the path every request goes to.
    Lean(http1::Client, String),
    /// reqwest, as [`http_client`] builds it.
    Reqwest(reqwest::Client),
}

impl Client {
    /// The client for `target`, whose endpoint `route` holds: the one place that decides.
    pub(crate) fn for_target(target: &Target, route: &Route) -> Result<Client, reqwest::Error> {
        if let Some(parsed) = &route.0
            && parsed.uri.scheme_str() == Some("http")
            && let Some(host) = parsed.uri.host()
            && !proxied(&parsed.uri)
        {
            let port = parsed.uri.port_u16().unwrap_or(80);
            return Ok(Client::Lean(http1::Client::new(host, port), parsed.uri.path().to_owned()));
        }
        http_client(target).map(Client::Reqwest)
    }

    /// `body` with `headers` signed for `region` now, as this client takes it: our own
    /// client gets the request written as it goes on the wire.
    pub(crate) fn sign(
        &self,
        route: &Route,
        target: &Target,
        signer: &wire::Signer,
        region: &str,
        body: &str,
        headers: &[(http::HeaderName, http::HeaderValue)],
    ) -> Result<Signed, TransportError> {
        let now = SystemTime::now();
        if let Client::Lean(..) = self
            && let Some(wire) = wire_routed(route, signer, region, body, headers, now)
        {
            return wire.map(Signed::Wire);
        }
        build_routed(route, target, signer, region, body, headers, now).map(|req| Signed::Request(Box::new(req)))
    }

    /// Sends a signed request along `route` and reads the answer's status and body, the body
    /// no larger than `target.max_body`.
    pub(crate) async fn exchange(
        &self,
        route: &Route,
        target: &Target,
        signed: &Signed,
    ) -> Result<(u16, Vec<u8>), TransportError> {
        let req = match (self, signed) {
            (Client::Lean(client, _), Signed::Wire(wire)) => {
                return lean_answer(target, client.exchange(&wire.bytes, target.timeout, target.max_body).await);
            }
            (_, Signed::Request(req)) => req,
            // `Client::sign` writes a request out only for our own client.
            (Client::Reqwest(_), Signed::Wire(_)) => unreachable!("a written request goes to the lean client"),
        };
        match self {
            Client::Lean(client, path) => {
                let wire = http1::encode(req.method(), path, req.headers(), req.body());
                lean_answer(target, client.exchange(&wire, target.timeout, target.max_body).await)
            }
            Client::Reqwest(client) => {
                let mut copy = http::Request::new(req.body().clone());
                *copy.method_mut() = req.method().clone();
                *copy.uri_mut() = req.uri().clone();
                *copy.headers_mut() = req.headers().clone();
                exchange(client, target, into_reqwest(route, copy)?).await
            }
        }
    }
}

/// Whether reqwest would send a request to `uri` through a proxy: `HTTP_PROXY`, `http_proxy`
/// or `ALL_PROXY` applies to it (and `NO_PROXY` does not exempt it), read as reqwest reads them.
fn proxied(uri: &http::Uri) -> bool {
    hyper_util::client::proxy::matcher::Matcher::from_system().intercept(uri).is_some()
}

/// What our own client's answer is to the runner: as [`exchange`] makes reqwest's.
fn lean_answer(target: &Target, answer: Result<http1::Answer, http1::Error>) -> Result<(u16, Vec<u8>), TransportError> {
    match answer {
        Ok(http1::Answer { status, location, mut body }) if (300..400).contains(&status) => {
            body.truncate(HEAD_LEN);
            let location = location.filter(|l| !l.is_empty()).map(|l| head(&l));
            Err(TransportError::Redirect { status, location, head: body })
        }
        Ok(answer) => Ok((answer.status, answer.body)),
        Err(http1::Error::Timeout) => Err(TransportError::Timeout(target.timeout)),
        Err(http1::Error::BodyTimeout) => Err(TransportError::BodyTimeout(target.timeout)),
        Err(http1::Error::Connect(why)) => {
            Err(TransportError::Connect(format!("error sending request for url ({}): {why}", target.endpoint)))
        }
        Err(http1::Error::BodyLost(why)) => Err(TransportError::BodyLost(why)),
        Err(http1::Error::TooLarge { status, head }) => {
            Err(TransportError::TooLarge { status, max: target.max_body, head })
        }
    }
}

/// Sends a request through reqwest and reads the answer's status and body, the body no
/// larger than `target.max_body`.
pub(crate) async fn exchange(
    client: &reqwest::Client,
    target: &Target,
    req: reqwest::Request,
) -> Result<(u16, Vec<u8>), TransportError> {
    let mut resp = match client.execute(req).await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return Err(TransportError::Timeout(target.timeout)),
        Err(e) => return Err(TransportError::Connect(error_chain(&e))),
    };
    let status = resp.status().as_u16();
    let location = resp.headers().get(http::header::LOCATION).filter(|v| !v.is_empty()).map(|v| head(v.as_bytes()));
    let mut bytes = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > target.max_body {
                    bytes.truncate(HEAD_LEN);
                    return Err(TransportError::TooLarge { status, max: target.max_body, head: bytes });
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) if (300..400).contains(&status) => {
                bytes.truncate(HEAD_LEN);
                return Err(TransportError::Redirect { status, location, head: bytes });
            }
            Ok(None) => return Ok((status, bytes)),
            Err(e) if e.is_timeout() => return Err(TransportError::BodyTimeout(target.timeout)),
            Err(e) => return Err(TransportError::BodyLost(error_chain(&e))),
        }
    }
}

/// A redirect in words: where it points, and that it was not followed.
pub(crate) fn redirect_words(location: Option<&str>) -> String {
    match location {
        Some(to) => format!("redirect to {to} (not followed)"),
        None => "redirect without a location (not followed)".to_owned(),
    }
}

/// An error with its causes, on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// An ec2Query call that failed, or whose answer is not the call's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{detail}")]
pub struct CallError {
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// The error code of an EC2 error answer, e.g. `InvalidAMIID.NotFound`.
    pub code: Option<String>,
    /// What went wrong: the endpoint's code and message, or the status and the answer's first
    /// bytes, or the transport error.
    pub detail: String,
}

impl CallError {
    /// A failure without an EC2 error code.
    pub fn other(status: Option<u16>, detail: String) -> Self {
        CallError { status, code: None, detail }
    }

    fn transport(e: &TransportError) -> Self {
        let detail = match e {
            // A call either answers or not: how far it got does not matter here.
            TransportError::Timeout(t) | TransportError::BodyTimeout(t) => format!("timed out after {t:?}"),
            TransportError::Connect(d) | TransportError::BodyLost(d) => d.clone(),
            other => other.to_string(),
        };
        CallError::other(None, detail)
    }
}

/// The ec2Query calls of `setup` and `--discover`, all through one HTTP client.
pub struct Ec2Client<'t> {
    http: Client,
    route: Route,
    signer: wire::Signer,
    target: &'t Target,
}

impl<'t> Ec2Client<'t> {
    /// A client for `target`'s endpoint (whatever its dialect, the calls speak ec2Query).
    pub fn new(target: &'t Target) -> Result<Self, reqwest::Error> {
        let route = Route::new(target);
        let http = Client::for_target(target, &route)?;
        Ok(Ec2Client { http, route, signer: wire::Signer::new(target.credentials.clone()), target })
    }

    /// The target the calls go to.
    pub fn target(&self) -> &'t Target {
        self.target
    }

    /// Sends one ec2Query call signed for `region` and returns the body of its 2xx answer,
    /// whose root must be `<{action}Response>`. With a journal, a mutating call is journaled
    /// before it goes out (and not sent when that fails), and its answer after.
    pub async fn call(&self, region: &str, action: &str, params: &Params) -> Result<Vec<u8>, CallError> {
        let journal = self.target.safety.journal.as_deref().filter(|_| MUTATING.contains(&action));
        let Some(journal) = journal else { return self.call_unjournaled(region, action, params).await };
        let seq = journal.intent(action, region, params).map_err(|e| CallError::other(None, error_chain(&e)))?;
        let outcome = self.call_unjournaled(region, action, params).await;
        let answer = match &outcome {
            Ok(bytes) => Answer { status: Some(200), ids: returned_ids(action, bytes), error: None },
            Err(e) => Answer { status: e.status, error: Some(e.detail.clone()), ..Answer::default() },
        };
        // A failed write marks the journal broken: the next mutating call is refused.
        let _ = journal.result(seq, action, answer);
        outcome
    }

    async fn call_unjournaled(&self, region: &str, action: &str, params: &Params) -> Result<Vec<u8>, CallError> {
        let body = wire::form_body(action, &self.target.protocol.version, params);
        let req = self
            .http
            .sign(&self.route, self.target, &self.signer, region, &body, &FORM)
            .map_err(|e| CallError::transport(&e))?;
        let answer = self.http.exchange(&self.route, self.target, &req).await;
        let (status, bytes) = answer.map_err(|e| CallError::transport(&e))?;
        check_answer(action, status, &bytes)?;
        Ok(bytes)
    }

    /// `DescribeImages` with `ImageId.N` for `ids`, read into images of `region` (text
    /// trimmed, as a world holds it).
    pub async fn describe_images(&self, region: &str, ids: &[&str]) -> Result<Vec<Image>, CallError> {
        let params: Params =
            ids.iter().enumerate().map(|(i, id)| (format!("ImageId.{}", i + 1), (*id).to_owned())).collect();
        let answer = self.call(region, "DescribeImages", &params).await?;
        let images = read_xml(&answer, Text::Trimmed).map_err(|e| CallError::other(None, e.to_string()))?;
        Ok(images.into_iter().map(|i| i.into_image(region)).collect())
    }
}

/// The ec2Query calls `setup` makes that change what the endpoint holds: journaled.
const MUTATING: [&str; 5] = ["RegisterImage", "CreateVolume", "CreateSnapshot", "CreateTags", "DeregisterImage"];

/// The resource ids a create call's answer returns, by the names cleanup reads.
fn returned_ids(action: &str, answer: &[u8]) -> BTreeMap<String, String> {
    let root = format!("{action}Response");
    [("imageId", "ImageId"), ("volumeId", "VolumeId"), ("snapshotId", "SnapshotId")]
        .into_iter()
        .filter_map(|(field, name)| {
            let id = text_at(answer, &[&root, field]).ok().flatten().filter(|v| !v.is_empty())?;
            Some((name.to_owned(), id))
        })
        .collect()
}

/// Whether an answer is a success of `action`; if not, the EC2 error code (when there is one)
/// and a one-line account of the answer.
pub(crate) fn check_answer(action: &str, status: u16, body: &[u8]) -> Result<(), CallError> {
    let fail = |code: Option<String>, detail: String| Err(CallError { status: Some(status), code, detail });
    if !(200..300).contains(&status) {
        return match wire::decode_xml(status, body) {
            Reply::Error { code, message: Some(m), .. } if !m.is_empty() => {
                let detail = format!("HTTP {status} {code}: {m}");
                fail(Some(code), detail)
            }
            Reply::Error { code, .. } => {
                let detail = format!("HTTP {status} {code}");
                fail(Some(code), detail)
            }
            _ => fail(None, format!("HTTP {status}: {}", head(body))),
        };
    }
    let expected = format!("{action}Response");
    match root_name(body) {
        Ok(root) if root == expected => Ok(()),
        Ok(root) => fail(None, format!("HTTP {status} with <{root}>, not <{expected}>: {}", head(body))),
        Err(e) => fail(None, format!("HTTP {status}, {e}: {}", head(body))),
    }
}

/// The answer's first bytes on one line, for error messages.
pub(crate) fn head(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty body)".into();
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(HEAD_LEN)]);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if body.len() > HEAD_LEN { format!("{one_line}…") } else { one_line }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, code: Option<&str>, detail: &str) -> Result<(), CallError> {
        Err(CallError { status: Some(status), code: code.map(str::to_owned), detail: detail.to_owned() })
    }

    #[test]
    fn failures_name_code_and_message_or_status_and_first_bytes() {
        let envelope = r#"<?xml version="1.0"?><Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><Errors><Error><Code>InvalidParameterValue</Code><Message>bad Name</Message></Error></Errors><RequestID>r</RequestID></Response>"#;
        assert_eq!(
            check_answer("RegisterImage", 400, envelope.as_bytes()),
            err(400, Some("InvalidParameterValue"), "HTTP 400 InvalidParameterValue: bad Name")
        );
        let no_message = b"<Response><Errors><Error><Code>Boom</Code></Error></Errors></Response>";
        assert_eq!(check_answer("X", 503, no_message), err(503, Some("Boom"), "HTTP 503 Boom"));

        let html = b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>";
        assert_eq!(
            check_answer("DeregisterImage", 500, html),
            err(
                500,
                None,
                "HTTP 500: <!doctype html> <html lang=en> <title>500 Internal Server Error</title> \
                 <h1>Internal Server Error</h1>"
            )
        );
        assert_eq!(check_answer("X", 404, b""), err(404, None, "HTTP 404: (empty body)"));
        let long = vec![b'x'; 500];
        let e = check_answer("X", 502, &long).expect_err("502");
        assert_eq!(e.detail, format!("HTTP 502: {}…", "x".repeat(200)));

        // moto routes an unsigned request to S3, which answers 200 with its own document.
        let s3 = br#"<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Buckets/></ListAllMyBucketsResult>"#;
        let e = check_answer("RegisterImage", 200, s3).expect_err("wrong root");
        assert_eq!(e.code, None);
        assert!(e.detail.starts_with("HTTP 200 with <ListAllMyBucketsResult>, not <RegisterImageResponse>: "), "{e}");
        let e = check_answer("RegisterImage", 200, b"").expect_err("empty");
        assert_eq!(e.detail, "HTTP 200, no root element: (empty body)");
        assert_eq!(check_answer("RegisterImage", 200, b"<a:RegisterImageResponse xmlns:a='u'/>"), Ok(()));
    }

    #[test]
    fn a_call_without_an_answer_names_the_transport_error_only() {
        let e = CallError::transport(&TransportError::BodyTimeout(Duration::from_secs(3)));
        assert_eq!(e, CallError::other(None, "timed out after 3s".into()));
        let e = CallError::transport(&TransportError::BodyLost("reset".into()));
        assert_eq!(e.detail, "reset");
        let e = CallError::transport(&TransportError::TooLarge { status: 200, max: 10, head: vec![] });
        assert_eq!(e.detail, "HTTP 200: answer larger than 10 bytes");
        let to = Some("http://elsewhere.example/x".to_owned());
        let e = CallError::transport(&TransportError::Redirect { status: 307, location: to, head: vec![] });
        assert_eq!(e.detail, "HTTP 307 redirect to http://elsewhere.example/x (not followed)");
        let e = CallError::transport(&TransportError::Redirect { status: 302, location: None, head: vec![] });
        assert_eq!(e.detail, "HTTP 302 redirect without a location (not followed)");
    }
}
