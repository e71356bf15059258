//! One request on the wire: prepared (encoded, signed), then exchanged (sent with retries, a
//! bounded body read, decoded).

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use http::{HeaderName, HeaderValue};

use crate::oracle::key;
use crate::run::ec2::{self, TransportError, route};
use crate::run::journal::{Answer, Journal, JournalError};
use crate::run::{Counters, Target};
use crate::wire::{self, Reply};
use crate::world::Params;

/// The wire dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// EC2 Query: form-encoded POST, XML replies (what AWS speaks).
    Ec2Query,
    /// JSON body with `accept: application/json`, replies in a `{"success", "data"|"error"}` envelope.
    JsonEnvelope,
}

/// What sending one request came to.
pub struct Sent {
    /// The status and decoded reply, or why there was none.
    pub outcome: Result<(u16, Reply), SendError>,
    /// Attempts made.
    pub attempts: u32,
    /// The final reply's body as read, for callers that decode another operation's answer
    /// (the stateful checks read DescribeImages through this path).
    pub(crate) raw: Vec<u8>,
    /// What an AWS SDK would read differently in the final EC2 XML reply (see
    /// [`wire::sdk`]), found as it was decoded.
    pub(crate) sdk: Option<String>,
    /// The last attempt's request, as signed (a reproduction shows its headers, secrets left
    /// out), or the headers of one that never was.
    headers: Shown,
    body: String,
}

/// Why a request got no reply to judge.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Every attempt was throttled.
    #[error("throttled (HTTP {status}{}) on all {attempts} attempts", .code.as_ref().map(|c| format!(" {c}")).unwrap_or_default())]
    Throttled {
        /// The last attempt's status.
        status: u16,
        /// The last attempt's error code, if it had one.
        code: Option<String>,
        /// Attempts made.
        attempts: u32,
    },
    /// Every attempt met a connection error.
    #[error("{error} (after {attempts} attempts)")]
    Unreachable {
        /// The last attempt's error.
        error: TransportError,
        /// Attempts made.
        attempts: u32,
    },
    /// A failure that retrying cannot help: no answer in time, a request that cannot be built.
    #[error(transparent)]
    Failed(TransportError),
    /// The journal entry of a live request could not be written, so the request was not sent.
    #[error(transparent)]
    Journal(JournalError),
}

impl Sent {
    /// The request as a copy-paste `curl` command with secrets as placeholders.
    pub fn curl(&self, target: &Target) -> String {
        let headers = match &self.headers {
            Shown::Map(map) => pairs(map.iter()),
            Shown::Signed(route::Signed::Request(req)) => pairs(req.headers().iter()),
            Shown::Signed(route::Signed::Wire(wire)) => wire.headers(),
        };
        curl_of(target, "POST", &target.endpoint, &headers, &self.body)
    }
}

/// The `curl` command that sends `params` to `target` as the runner would, without sending.
pub fn curl_for(target: &Target, params: &Params) -> String {
    let (body, base) = body_for(target, params);
    curl_of(target, "POST", &target.endpoint, &pairs(base.iter().map(|(k, v)| (k, v))), &body)
}

/// Headers as a reproduction shows them.
fn pairs<'h>(headers: impl Iterator<Item = (&'h HeaderName, &'h HeaderValue)>) -> Vec<(String, String)> {
    headers.map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

/// What a reproduction shows the headers of.
enum Shown {
    /// A request that was never signed: its dialect's headers.
    Map(http::HeaderMap),
    /// The last request signed.
    Signed(route::Signed),
}

fn curl_of(target: &Target, method: &str, url: &str, headers: &[(String, String)], body: &str) -> String {
    let cmd = wire::curl_command(method, url, headers, body, &target.region);
    if target.dummy_credentials {
        // The dummy credentials are public; spelling them out makes the command run as is.
        cmd.replace("$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY", &target.credentials.dummy_user())
    } else {
        cmd
    }
}

/// The headers a request of each dialect carries before it is signed.
type Base = &'static [(HeaderName, HeaderValue)];
static JSON: [(HeaderName, HeaderValue); 2] = [
    (HeaderName::from_static("content-type"), HeaderValue::from_static("application/json")),
    (HeaderName::from_static("accept"), HeaderValue::from_static("application/json")),
];

fn body_for(target: &Target, params: &Params) -> (String, Base) {
    match target.dialect {
        Dialect::Ec2Query => (wire::form_body(&target.protocol.action, &target.protocol.version, params), &route::FORM),
        Dialect::JsonEnvelope => (wire::json_body(params), &JSON),
    }
}

/// `base` as a header map: what a request that was never signed shows.
fn unsigned(base: Base) -> Shown {
    Shown::Map(base.iter().cloned().collect())
}

/// What sends a runner's requests: the HTTP client its target gets, the signer (its signing
/// key kept from one request to the next) and the endpoint's URL, parsed once.
pub(crate) struct Sender {
    client: ec2::Client,
    signer: wire::Signer,
    route: route::Route,
}

/// A request encoded and signed, not yet sent: [`Sender::prepare`] builds it ahead of time,
/// [`Sender::exchange`] sends it.
pub(crate) struct Prepared {
    body: String,
    base: Base,
    /// The first attempt's request, signed, or why it cannot be built.
    signed: Result<route::Signed, TransportError>,
    /// The parameters of a live request (see [`live`]), for its journal entry.
    live: Option<Params>,
}

impl Sender {
    /// A sender to `target`.
    pub(crate) fn new(target: &Target) -> Result<Self, reqwest::Error> {
        let signer = wire::Signer::new(target.credentials.clone());
        let route = route::Route::new(target);
        Ok(Sender { client: ec2::Client::for_target(target, &route)?, signer, route })
    }

    /// Sends one request, retrying throttling and connection errors with backoff and jitter. A
    /// live one (see [`live`]) is journaled before it goes out, and its answer after; when the
    /// journal cannot be written it does not go out, and after a connection error it is not
    /// sent again (it may have been carried out). [`Sender::prepare`], then
    /// [`Sender::exchange`].
    pub(crate) async fn send(&self, target: &Target, params: &Params, counters: &Counters) -> Sent {
        self.exchange(target, self.prepare(target, params), counters).await
    }

    /// `params` encoded for `target` and signed: everything of a request but sending it.
    pub(crate) fn prepare(&self, target: &Target, params: &Params) -> Prepared {
        let (body, base) = body_for(target, params);
        let signed = self.client.sign(&self.route, target, &self.signer, &target.region, &body, base);
        Prepared { body, base, signed, live: live(target, params).map(|_| params.clone()) }
    }

    /// Sends a prepared request as [`Sender::send`] does.
    pub(crate) async fn exchange(&self, target: &Target, prepared: Prepared, counters: &Counters) -> Sent {
        let Prepared { body, base, signed, live } = prepared;
        let journal = target.safety.journal.as_deref();
        let journaled = match journal.zip(live.as_ref()) {
            Some((journal, params)) => match journal.intent(&target.protocol.action, &target.region, params) {
                Ok(seq) => Some((journal, seq)),
                Err(e) => {
                    let outcome = Err(SendError::Journal(e));
                    return Sent { outcome, attempts: 0, raw: vec![], sdk: None, headers: unsigned(base), body };
                }
            },
            None => None,
        };
        // A live request that met a broken connection may have been carried out: sent again,
        // it could create a second resource on one unit of the --max-creates budget.
        let resend_lost = journaled.is_none();
        let sent = self.send_unjournaled(target, body, base, signed, counters, resend_lost).await;
        if let Some((journal, seq)) = journaled {
            // A failed write marks the journal broken: the next live request is refused and the
            // session ends the run.
            let _ = journal.result(seq, &target.protocol.action, answer(&sent.outcome));
        }
        sent
    }
}

/// The journal a request is live for: the target has one, the request is the operation
/// under test (not a DescribeImages of the stateful checks) and it is not certainly a DryRun.
fn live<'t>(target: &'t Target, params: &Params) -> Option<&'t Journal> {
    let journal = target.safety.journal.as_deref()?;
    let other_action = params.get(key::ACTION).is_some_and(|a| *a != target.protocol.action);
    // Only the exact `true` counts as a DryRun here: a doubtful one is journaled.
    let dry = params.get(key::DRY_RUN).is_some_and(|v| v == "true");
    (!other_action && !dry).then_some(journal)
}

/// What a journal's result line says of an outcome.
fn answer(outcome: &Result<(u16, Reply), SendError>) -> Answer {
    match outcome {
        Ok((status, Reply::Success { image_id, .. })) => Answer {
            status: Some(*status),
            ids: image_id.iter().map(|id| ("ImageId".to_owned(), id.clone())).collect(),
            error: None,
        },
        Ok((status, Reply::Error { code, message, .. })) => Answer {
            status: Some(*status),
            error: Some(format!("{code}: {}", message.as_deref().unwrap_or(""))),
            ..Answer::default()
        },
        Ok((status, Reply::Unparseable { reason, .. })) => {
            Answer { status: Some(*status), error: Some(format!("unparseable: {reason}")), ..Answer::default() }
        }
        Err(e) => Answer { error: Some(e.to_string()), ..Answer::default() },
    }
}

impl Sender {
    /// Sends a request, retrying throttling and, when `resend_lost`, connection errors.
    async fn send_unjournaled(
        &self,
        target: &Target,
        body: String,
        base: Base,
        signed: Result<route::Signed, TransportError>,
        counters: &Counters,
        resend_lost: bool,
    ) -> Sent {
        let mut first = Some(signed);
        let mut headers = None;
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            counters.requests.fetch_add(1, Ordering::Relaxed);
            // Every attempt after the first is signed anew, at its own time.
            let req = first
                .take()
                .unwrap_or_else(|| self.client.sign(&self.route, target, &self.signer, &target.region, &body, base));
            let outcome = match req {
                Ok(req) => {
                    let outcome = self.attempt(target, &req).await;
                    headers = Some(Shown::Signed(req));
                    outcome
                }
                Err(e) => Attempt::Failed(e),
            };
            let retry = match &outcome {
                // A throttled request was refused before it was carried out.
                Attempt::Throttled(..) => attempts <= target.retries,
                Attempt::Connect(_) => resend_lost && attempts <= target.retries,
                _ => false,
            };
            if !retry {
                break outcome;
            }
            counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(backoff(target.backoff, attempts)).await;
        };
        let (mut raw, mut sdk) = (Vec::new(), None);
        let outcome = match outcome {
            Attempt::Done(status, reply, body, reading) => {
                (raw, sdk) = (body, reading);
                Ok((status, reply))
            }
            Attempt::Throttled(status, reply) => {
                let code = match reply {
                    Reply::Error { code, .. } => Some(code),
                    _ => None,
                };
                Err(SendError::Throttled { status, code, attempts })
            }
            Attempt::Connect(error) => Err(SendError::Unreachable { error, attempts }),
            Attempt::Failed(error) => Err(SendError::Failed(error)),
        };
        let headers = headers.unwrap_or_else(|| unsigned(base));
        Sent { outcome, attempts, raw, sdk, headers, body }
    }
}

/// The largest reply body decoded on the async worker itself; larger ones go to a blocking
/// thread. At most this many bytes hold too few elements to nest or repeat for long.
const INLINE_DECODE: usize = 16 << 10;

/// What one attempt came to.
enum Attempt {
    /// The status, the decoded reply, the body, and what an SDK would read differently.
    Done(u16, Reply, Vec<u8>, Option<String>),
    Throttled(u16, Reply),
    /// Worth another attempt.
    Connect(TransportError),
    Failed(TransportError),
}

impl Sender {
    async fn attempt(&self, target: &Target, req: &route::Signed) -> Attempt {
        let (status, bytes) = match self.client.exchange(&self.route, target, req).await {
            Ok(answer) => answer,
            Err(TransportError::TooLarge { status, max, head }) => {
                let head = String::from_utf8_lossy(&head).into_owned();
                let reason = format!("body larger than {max} bytes");
                return Attempt::Done(status, Reply::Unparseable { reason, head }, Vec::new(), None);
            }
            // A redirect is the endpoint's answer, and a wrong one: judged, not retried or followed.
            Err(TransportError::Redirect { status, location, head }) => {
                let (reason, head) =
                    (ec2::redirect_words(location.as_deref()), String::from_utf8_lossy(&head).into_owned());
                return Attempt::Done(status, Reply::Unparseable { reason, head }, Vec::new(), None);
            }
            Err(e @ (TransportError::Connect(_) | TransportError::BodyLost(_))) => return Attempt::Connect(e),
            Err(e) => return Attempt::Failed(e),
        };
        decoded(target, status, bytes).await
    }
}

/// What an answer of `status` with body `bytes` comes to, decoded.
async fn decoded(target: &Target, status: u16, bytes: Vec<u8>) -> Attempt {
    let dialect = target.dialect;
    let inline = bytes.len() <= INLINE_DECODE;
    let decode = move || {
        let (reply, sdk) = match dialect {
            Dialect::Ec2Query => wire::decode_xml_read(status, &bytes),
            Dialect::JsonEnvelope => (wire::decode_json(status, &bytes), None),
        };
        (reply, sdk, bytes)
    };
    // Decoding a large or deeply nested body is CPU work: off the async workers, it cannot hold
    // up the reads and timeouts of the other requests in flight (they would time out). A small
    // one decodes in microseconds, less than the hand-over to a blocking thread costs.
    let (reply, sdk, bytes) = if inline {
        decode()
    } else {
        match tokio::task::spawn_blocking(decode).await {
            Ok(decoded) => decoded,
            // The decoders never panic, and a runtime shutting down drops this future instead.
            Err(e) => std::panic::resume_unwind(e.try_into_panic().unwrap_or_else(|e| Box::new(e.to_string()))),
        }
    };
    let throttled = target.protocol.is_throttled(status, &reply);
    if throttled { Attempt::Throttled(status, reply) } else { Attempt::Done(status, reply, bytes, sdk) }
}

/// Exponential backoff with full jitter, capped at 20 s.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let cap = base.saturating_mul(1 << attempt.min(16)).min(Duration::from_secs(20));
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    // Jitter only spreads retries out; the clock's low bits are random enough for that.
    let mut z = u64::from(nanos).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z ^= z >> 29;
    cap.mul_f64((z % 1_000) as f64 / 1_000.0)
}
