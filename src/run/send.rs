//! One request on the wire: encode, sign, send with retries, read a bounded body, decode.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use crate::oracle::key;
use crate::run::ec2::{self, TransportError};
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
    method: &'static str,
    url: String,
    headers: Vec<(String, String)>,
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
        curl_of(target, self.method, &self.url, &self.headers, &self.body)
    }
}

/// The `curl` command that sends `params` to `target` as the runner would, without sending.
pub fn curl_for(target: &Target, params: &Params) -> String {
    let (body, headers) = body_for(target, params);
    curl_of(target, "POST", &target.endpoint, &headers, &body)
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

fn body_for(target: &Target, params: &Params) -> (String, Vec<(String, String)>) {
    match target.dialect {
        Dialect::Ec2Query => (
            wire::form_body(&target.protocol.action, &target.protocol.version, params),
            vec![("content-type".into(), "application/x-www-form-urlencoded; charset=utf-8".into())],
        ),
        Dialect::JsonEnvelope => (
            wire::json_body(params),
            vec![("content-type".into(), "application/json".into()), ("accept".into(), "application/json".into())],
        ),
    }
}

/// Sends one request, retrying throttling and connection errors with backoff and jitter. A
/// live one (see [`live`]) is journaled before it goes out, and its answer after; when the
/// journal cannot be written it does not go out.
pub async fn send(client: &reqwest::Client, target: &Target, params: &Params, counters: &Counters) -> Sent {
    let signer = wire::Signer::new(target.credentials.clone());
    send_with(client, &signer, &ec2::Route::new(target), target, params, counters).await
}

/// What sends a runner's requests: the HTTP client, the signer (its signing key kept from one
/// request to the next) and the endpoint's URL, parsed once.
pub(crate) struct Sender {
    client: reqwest::Client,
    signer: wire::Signer,
    route: ec2::Route,
}

impl Sender {
    /// A sender to `target`.
    pub(crate) fn new(target: &Target) -> Result<Self, reqwest::Error> {
        let signer = wire::Signer::new(target.credentials.clone());
        Ok(Sender { client: ec2::http_client(target)?, signer, route: ec2::Route::new(target) })
    }

    /// [`send`] through this sender.
    pub(crate) async fn send(&self, target: &Target, params: &Params, counters: &Counters) -> Sent {
        send_with(&self.client, &self.signer, &self.route, target, params, counters).await
    }
}

async fn send_with(
    client: &reqwest::Client,
    signer: &wire::Signer,
    route: &ec2::Route,
    target: &Target,
    params: &Params,
    counters: &Counters,
) -> Sent {
    let (body, headers) = body_for(target, params);
    let journaled = match live(target, params) {
        Some(journal) => match journal.intent(&target.protocol.action, &target.region, params) {
            Ok(seq) => Some((journal, seq)),
            Err(e) => {
                let outcome = Err(SendError::Journal(e));
                let url = target.endpoint.clone();
                return Sent { outcome, attempts: 0, raw: vec![], method: "POST", url, headers, body };
            }
        },
        None => None,
    };
    let sent = send_unjournaled(Via { client, signer, route }, target, body, headers, counters).await;
    if let Some((journal, seq)) = journaled {
        // A failed write marks the journal broken: the next live request is refused and the
        // session ends the run.
        let _ = journal.result(seq, &target.protocol.action, answer(&sent.outcome));
    }
    sent
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

/// What a request goes out through.
#[derive(Clone, Copy)]
struct Via<'a> {
    client: &'a reqwest::Client,
    signer: &'a wire::Signer,
    route: &'a ec2::Route,
}

async fn send_unjournaled(
    via: Via<'_>,
    target: &Target,
    body: String,
    mut headers: Vec<(String, String)>,
    counters: &Counters,
) -> Sent {
    let mut attempts = 0;
    let outcome = loop {
        attempts += 1;
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let outcome = attempt(via, target, &body, &mut headers).await;
        let retry = match &outcome {
            Attempt::Throttled(..) | Attempt::Connect(_) => attempts <= target.retries,
            _ => false,
        };
        if !retry {
            break outcome;
        }
        counters.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(backoff(target.backoff, attempts)).await;
    };
    let mut raw = Vec::new();
    let outcome = match outcome {
        Attempt::Done(status, reply, body) => {
            raw = body;
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
    Sent { outcome, attempts, raw, method: "POST", url: target.endpoint.clone(), headers, body }
}

/// The largest reply body decoded on the async worker itself; larger ones go to a blocking
/// thread. At most this many bytes hold too few elements to nest or repeat for long.
const INLINE_DECODE: usize = 16 << 10;

/// What one attempt came to.
enum Attempt {
    Done(u16, Reply, Vec<u8>),
    Throttled(u16, Reply),
    /// Worth another attempt.
    Connect(TransportError),
    Failed(TransportError),
}

async fn attempt(via: Via<'_>, target: &Target, body: &str, shown: &mut Vec<(String, String)>) -> Attempt {
    let base: Vec<(String, String)> =
        shown.iter().filter(|(k, _)| k == "content-type" || k == "accept").cloned().collect();
    let req = match ec2::build_routed(via.route, target, via.signer, &target.region, body, &base) {
        Ok(r) => r,
        Err(e) => return Attempt::Failed(e),
    };
    *shown = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let (status, bytes) = match ec2::exchange(via.client, target, req).await {
        Ok(answer) => answer,
        Err(TransportError::TooLarge { status, max, head }) => {
            let head = String::from_utf8_lossy(&head).into_owned();
            let reason = format!("body larger than {max} bytes");
            return Attempt::Done(status, Reply::Unparseable { reason, head }, Vec::new());
        }
        // A redirect is the endpoint's answer, and a wrong one: judged, not retried or followed.
        Err(TransportError::Redirect { status, location, head }) => {
            let (reason, head) =
                (ec2::redirect_words(location.as_deref()), String::from_utf8_lossy(&head).into_owned());
            return Attempt::Done(status, Reply::Unparseable { reason, head }, Vec::new());
        }
        Err(e @ (TransportError::Connect(_) | TransportError::BodyLost(_))) => return Attempt::Connect(e),
        Err(e) => return Attempt::Failed(e),
    };
    let dialect = target.dialect;
    let inline = bytes.len() <= INLINE_DECODE;
    let decode = move || {
        let reply = match dialect {
            Dialect::Ec2Query => wire::decode_xml(status, &bytes),
            Dialect::JsonEnvelope => wire::decode_json(status, &bytes),
        };
        (reply, bytes)
    };
    // Decoding a large or deeply nested body is CPU work: off the async workers, it cannot hold
    // up the reads and timeouts of the other requests in flight (they would time out). A small
    // one decodes in microseconds, less than the hand-over to a blocking thread costs.
    let (reply, bytes) = if inline {
        decode()
    } else {
        match tokio::task::spawn_blocking(decode).await {
            Ok(decoded) => decoded,
            // The decoders never panic, and a runtime shutting down drops this future instead.
            Err(e) => std::panic::resume_unwind(e.try_into_panic().unwrap_or_else(|e| Box::new(e.to_string()))),
        }
    };
    let throttled = target.protocol.is_throttled(status, &reply);
    if throttled { Attempt::Throttled(status, reply) } else { Attempt::Done(status, reply, bytes) }
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
