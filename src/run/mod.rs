//! The runner: sends cases to an endpoint as an AWS client would, one record per case.
//!
//! Cases stream through with bounded concurrency, so memory does not grow with their number.
//! Each request is predicted against a mirror of the endpoint's state: a predicted copy is
//! recorded as pending, then given its real ImageId (or dropped) when the reply arrives.
//! Requests that share a Name or a ClientToken wait for each other, so the endpoint sees them
//! in the order they were predicted in.
//!
//! Cases are taken and predicted a little ahead of their turn on the wire; at most
//! `concurrency` have a request out at once, taking their turns in case order. When a reply
//! comes, the next ready request goes out before the answered one is judged, redacted and
//! reported, so that work overlaps the next round trip.

mod budget;
pub mod cleanup;
pub mod discover;
mod earlier;
pub mod ec2;
mod http1;
pub mod journal;
mod lanes;
pub mod nonce;
mod order;
pub mod properties;
mod record;
mod send;
pub mod setup;
pub mod stateful;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{Stream, StreamExt};

use crate::generate::Case;
use crate::oracle::{Oracle, Prediction, copies, record_copy, record_if_copied, render_region};
use crate::verdict::{
    CodeMap, Finding, Verdict, judge, namespace_finding, success_namespaces, with_finding, with_sdk_reading,
};
use crate::wire::{Credentials, Redactor, Reply};
use crate::world::{Params, World};
pub use budget::Budget;
pub use record::{CaseRecord, StepRecord};
pub use send::{Dialect, SendError, Sent, curl_for};

/// splitmix64's finaliser: a well-spread 64-bit hash of a counter or seed, for the nonces and
/// the stateful sequences' seeds.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// How to reach the endpoint.
#[derive(Clone, Debug)]
pub struct Target {
    /// Base URL, e.g. `http://127.0.0.1:5000/`.
    pub endpoint: String,
    /// The endpoint's Region: the destination of copies, and the signing Region.
    pub region: String,
    /// The wire dialect.
    pub dialect: Dialect,
    /// Signing credentials.
    pub credentials: Credentials,
    /// Whether the credentials are the public dummy ones (shown as-is in reproductions).
    pub dummy_credentials: bool,
    /// Time allowed for one request, reply included.
    pub timeout: Duration,
    /// Largest reply body read; a larger one is unparseable.
    pub max_body: usize,
    /// Retries for throttling and connection errors.
    pub retries: u32,
    /// First backoff delay; doubles each retry, with full jitter.
    pub backoff: Duration,
    /// Real AWS: `DryRun=true` is added to every request, except requests predicted to create
    /// an image while the `--live` budget lasts.
    pub safety: Safety,
    /// The operation's Action and Version, and what throttling looks like, from the spec.
    pub protocol: Protocol,
}

#[cfg(test)]
impl Target {
    /// A target for tests: `url` in us-east-1, ec2Query, the dummy credentials, a 10 s timeout,
    /// a 1 MiB body cap, no retries, no safety, the built-in spec's protocol. Tests change
    /// what they need with struct update syntax.
    pub(crate) fn for_tests(url: &str) -> Self {
        Target {
            endpoint: url.to_owned(),
            region: "us-east-1".into(),
            dialect: Dialect::Ec2Query,
            credentials: Credentials::dummy(),
            dummy_credentials: true,
            timeout: Duration::from_secs(10),
            max_body: 1 << 20,
            retries: 0,
            backoff: Duration::from_millis(10),
            safety: Safety::default(),
            protocol: Protocol::from_spec(&crate::spec::Spec::builtin().unwrap()),
        }
    }
}

/// What the wire needs from the spec.
#[derive(Clone, Debug)]
pub struct Protocol {
    /// The `Action` sent.
    pub action: String,
    /// The `Version` sent.
    pub version: String,
    /// Replies that mean "throttled, try again": the outcomes of the spec's throttling rule.
    pub throttled: Vec<crate::spec::Outcome>,
}

/// The spec's rule that says what throttling looks like.
pub const THROTTLE_RULE: &str = "R01-throttle";

impl Protocol {
    /// Reads the protocol facts from a spec.
    pub fn from_spec(spec: &crate::spec::Spec) -> Self {
        Protocol {
            action: spec.operation.action.clone(),
            version: spec.operation.version.clone(),
            throttled: spec.rule(THROTTLE_RULE).map(|r| r.outcomes.clone()).unwrap_or_default(),
        }
    }

    /// Whether a reply means throttling: a throttling status, or a throttling code.
    pub fn is_throttled(&self, status: u16, reply: &Reply) -> bool {
        self.throttled.iter().any(|o| {
            o.status == status || matches!((reply, &o.code), (Reply::Error { code, .. }, Some(c)) if **c == **code)
        })
    }
}

/// What keeps a run from creating resources on a real account.
#[derive(Clone, Debug, Default)]
pub struct Safety {
    /// Add `DryRun=true` to requests (real AWS without `--live`).
    pub force_dry_run: bool,
    /// With `--live`: how many requests that may create a resource go out unchanged, in the
    /// whole run (cases, stateful checks and `--setup` together).
    pub max_creates: u64,
    /// What has been spent of `max_creates`; every clone of this `Safety` spends from it.
    pub budget: Budget,
    /// The journal of live calls (AWS with `--live`, or any endpoint with `--journal`): each
    /// mutating call that is not a DryRun is journaled before it goes out, and carries the
    /// run-id tag.
    pub journal: Option<Arc<journal::Journal>>,
}

impl Safety {
    /// Whether a request that may create a resource may go out as it is: always off AWS; on
    /// AWS, while the budget lasts, each call taking one unit.
    pub fn try_spend(&self) -> bool {
        !self.force_dry_run || self.budget.try_spend(self.max_creates)
    }
}

/// Which records carry their `curl` reproduction ([`StepRecord::curl`]; empty in the others).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reproductions {
    /// Every request's, as a report that writes every case shows them.
    #[default]
    Every,
    /// Only the requests that do not conform, and the request under test of a case whose
    /// setup deviated: where the findings take their reproduction from.
    Failing,
}

/// Counters the runner keeps while it works.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests sent again after throttling or a connection error.
    pub retries: AtomicU64,
    /// Requests sent in all.
    pub requests: AtomicU64,
    /// Requests refused for a Name an earlier run left on the endpoint, and predicted again
    /// with its image (the `earlier` module).
    pub earlier_names: AtomicU64,
    /// Requests refused as a duplicate Name whose lookup of the endpoint's images failed: they
    /// stay findings (the `earlier` module).
    pub earlier_unchecked: AtomicU64,
    /// Why the first of those lookups to fail in time did.
    pub earlier_unchecked_why: std::sync::OnceLock<String>,
}

/// Sends cases and judges the replies.
pub struct Runner {
    oracle: Arc<Oracle>,
    target: Target,
    /// Sends every request: one HTTP client, one signer, the endpoint's URL parsed once.
    sender: send::Sender,
    mirror: Mutex<World>,
    codes: Arc<dyn CodeMap>,
    lines: Arc<order::Lines>,
    /// What every record is redacted with before the caller sees it (see [`Runner::redacting`]).
    redactor: Option<Redactor>,
    /// The run's nonce, when it has one (see [`Runner::with_nonce`]).
    nonce: Option<nonce::Nonce>,
    /// Which records get a `curl` reproduction (see [`Runner::reproducing`]).
    reproductions: Reproductions,
    /// Names the nonce leaves as generated: the caller's images' when the run starts.
    kept_names: std::collections::HashSet<String>,
    /// The rotated Names sent and answered so far (see the `earlier` module).
    sent_names: earlier::SentNames,
    /// What the runner has done so far.
    pub counters: Counters,
}

impl Runner {
    /// A runner for `target`, starting from `world` (which must describe the endpoint).
    pub fn new(
        oracle: Arc<Oracle>,
        target: Target,
        world: World,
        codes: Arc<dyn CodeMap>,
    ) -> Result<Self, reqwest::Error> {
        let sender = send::Sender::new(&target)?;
        let kept_names = nonce::kept_names(&world);
        Ok(Runner {
            oracle,
            target,
            sender,
            mirror: Mutex::new(world.predicting()),
            codes,
            lines: Arc::default(),
            redactor: None,
            nonce: None,
            reproductions: Reproductions::Every,
            kept_names,
            sent_names: earlier::SentNames::default(),
            counters: Counters::default(),
        })
    }

    /// The runner for a long-lived endpoint: every Name and ClientToken it sends is rotated by
    /// `nonce` (see [`nonce`]), so what an earlier run left there never meets this run.
    pub fn with_nonce(mut self, nonce: nonce::Nonce) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// The runner that redacts every record with `redactor` on the worker that made it, before
    /// the caller sees it.
    pub fn redacting(mut self, redactor: Redactor) -> Self {
        self.redactor = Some(redactor);
        self
    }

    /// The runner that builds `curl` reproductions only for the records `which` says.
    pub fn reproducing(mut self, which: Reproductions) -> Self {
        self.reproductions = which;
        self
    }

    /// Runs cases with at most `concurrency` requests on the wire, yielding records in case
    /// order. The cases run on a fixed set of lanes, tasks on the runtime's workers (see
    /// [`lanes`]): prediction, signing, judging and redaction happen there; the caller only
    /// takes cases from `cases` and the finished records, in order. As many cases as there are
    /// lanes (the concurrency, and up to eight more) run at once, and as many wait queued, so
    /// each is ready when its turn comes; cases take their slots in case order. At
    /// `concurrency` 1 the endpoint sees one request at a time, in case order. Dropping the
    /// stream stops the cases in flight.
    pub fn run<'a, I>(self: &'a Arc<Self>, cases: I, concurrency: usize) -> impl Stream<Item = CaseRecord> + 'a
    where
        I: IntoIterator<Item = Case> + 'a,
    {
        let concurrency = concurrency.max(1);
        let turns = order::Turns::new(concurrency);
        let jobs = cases.into_iter().map(move |case| self.dispatch(case, turns.queue()));
        let runner = Arc::clone(self);
        let lanes = concurrency + ahead(concurrency);
        lanes::Lanes::new(jobs, lanes, WINDOW, move |job: Job| {
            let runner = Arc::clone(&runner);
            // The record boxed: it moves as a pointer through the queue back to the caller.
            async move { Box::new(runner.run_case(job.id, job.target, job.steps, job.turn).await) }
        })
        .map(|record| *record)
    }

    /// Queues one case: its requests take their tickets now, and the case its turn on the
    /// wire, in case order (see [`order`]).
    fn dispatch(&self, case: Case, turn: order::Turn) -> Job {
        let Case { id, target, setup, params, .. } = case;
        let steps: Vec<Queued> =
            setup.into_iter().map(|s| s.params).chain(std::iter::once(params)).map(|p| self.queue(p)).collect();
        Job { id, target, steps, turn }
    }

    /// A request as this run sends it, with its ticket.
    fn queue(&self, params: Params) -> Queued {
        self.queue_rotated(params, self.nonce.as_ref())
    }

    /// [`Self::queue`] with Names and ClientTokens rotated by `nonce` instead of the run's.
    fn queue_rotated(&self, params: Params, nonce: Option<&nonce::Nonce>) -> Queued {
        let (sent, rotation) = match nonce {
            Some(n) => n.params(params, &self.kept_names),
            None => (params, None),
        };
        let ticket = self.lines.take(shared_keys(&sent));
        Queued { params: sent, rotation, ticket }
    }

    /// Runs one case on the caller's task with its Names and ClientTokens rotated by `nonce`
    /// instead of the run's (the shrinker gives each candidate its own, so candidates never
    /// meet each other's copies).
    pub async fn run_case_rotated(&self, case: Case, nonce: Option<&nonce::Nonce>) -> CaseRecord {
        let Case { id, target, setup, params, .. } = case;
        let steps: Vec<Queued> = setup
            .into_iter()
            .map(|s| s.params)
            .chain(std::iter::once(params))
            .map(|p| self.queue_rotated(p, nonce))
            .collect();
        self.run_case(id, target, steps, order::Turn::free()).await
    }

    /// Runs one case: its setup requests in order, then its request under test. The case holds
    /// its turn from its first request out until its last is answered.
    async fn run_case(&self, id: String, target: String, mut steps: Vec<Queued>, mut turn: order::Turn) -> CaseRecord {
        let under_test = steps.pop().expect("a case has its request under test");
        let mut setup = Vec::with_capacity(steps.len());
        let mut broken: Option<Finding> = None;
        let setup_curls = self.reproductions == Reproductions::Every;
        for (i, step) in steps.into_iter().enumerate() {
            let rec = self.judge(self.exchange(step, &mut turn).await, setup_curls);
            if broken.is_none() && !rec.verdict.passes() {
                broken = Some(Finding::SetupDeviated { step: i, detail: rec.verdict.to_string() });
            }
            setup.push(rec);
        }
        let answered = self.exchange(under_test, &mut turn).await;
        turn.release();
        // The next ready case's request, woken by the release, goes out before this one is
        // judged, so judging, redacting and reporting overlap its round trip. Going on instead
        // (when other requests were out) sent the freed slots' requests only after every reply
        // in hand was judged: the endpoint waited meanwhile (measured: 0.3 of the 2 cores idle
        // at concurrency 8 and 64, and fewer requests a second).
        order::yield_once().await;
        // A deviating setup makes the case deviate whatever its own verdict: it needs its
        // reproduction then.
        let mut result = self.judge(answered, setup_curls || broken.is_some());
        if let Some(f) = broken
            && result.verdict.passes()
        {
            result.verdict = Verdict::Deviation { findings: vec![f] };
        }
        let record = CaseRecord { id, target, setup, result };
        match &self.redactor {
            Some(r) => r.scrub(record),
            None => record,
        }
    }

    /// One request, predicted once its ticket is first, sent in the case's turn, and followed
    /// by the mirror.
    async fn exchange(&self, queued: Queued, turn: &mut order::Turn) -> Answered {
        if self.target.safety.force_dry_run {
            // Real AWS: the --live budget is spent as predictions are made, and must go to the
            // first requests in case order, as in a run one request at a time. There the round
            // trip dwarfs predicting, so nothing is predicted ahead of its turn.
            turn.hold().await;
        }
        // Requests that share state (a Name, a ClientToken) go one at a time, so the endpoint
        // sees them in the order they were predicted in.
        let Queued { params, rotation, ticket } = queued;
        ticket.first().await;
        let (params, prediction, pending) = self.predict_and_reserve(params, ticket.number());
        // Encoded and signed ahead of the turn: only the exchange waits for a slot. A
        // signature a few milliseconds older than its request is well inside SigV4's skew.
        let prepared = self.sender.prepare(&self.target, &params);
        turn.hold().await;
        let started = Instant::now();
        let sent = self.sender.exchange(&self.target, prepared, &self.counters).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        self.settle(&params, &prediction, pending.as_deref(), &sent);
        let prediction = self.with_earlier_name(&params, prediction, rotation.as_ref(), &sent).await;
        // The mirror has followed: the next request on the same keys may go.
        drop(ticket);
        Answered { params, prediction, sent, elapsed_ms, rotation }
    }

    /// The record of an answered request; its `curl` reproduction is built when `curl` says so
    /// or it does not conform.
    fn judge(&self, answered: Answered, curl: bool) -> StepRecord {
        let Answered { params, prediction, sent, elapsed_ms, rotation } = answered;
        let expected_image = prediction.image_id.as_deref().filter(|id| !id.starts_with(PENDING));
        let exact = prediction
            .message
            .as_deref()
            .filter(|_| prediction.message_exact)
            .map(|m| render_region(m, &self.target.region));
        let verdict = match &sent.outcome {
            Ok((status, reply)) => {
                let verdict = judge(&prediction, *status, reply, expected_image, exact.as_deref(), &*self.codes);
                // Only the EC2 dialect is what an AWS SDK reads, and only it has XML namespaces.
                let ec2 = self.target.dialect == Dialect::Ec2Query;
                let verdict = with_sdk_reading(verdict, sent.sdk.clone().filter(|_| ec2));
                with_finding(verdict, ec2.then(|| self.namespace_finding(&params, reply, &sent.raw)).flatten())
            }
            Err(error) => Verdict::Transport { error: error.to_string() },
        };
        // Most records conform, and a reproduction costs more than judging: only the records
        // a report shows one for get it.
        let curl = if curl || !verdict.passes() { sent.curl(&self.target) } else { String::new() };
        let (status, reply) = match sent.outcome {
            Ok((s, r)) => (Some(s), Some(r)),
            Err(_) => (None, None),
        };
        StepRecord {
            params,
            prediction,
            status,
            reply,
            verdict,
            attempts: sent.attempts,
            elapsed_ms,
            curl,
            nonce: rotation,
        }
    }

    /// The finding on the XML namespace of an EC2 reply to `params`, if it has one.
    fn namespace_finding(&self, params: &Params, reply: &Reply, raw: &[u8]) -> Option<Finding> {
        // Only a success's namespace is judged; most replies are errors, and the accepted
        // namespaces are worked out anew each time, unless the answer is the spec's own.
        if !matches!(reply, Reply::Success { .. }) {
            return None;
        }
        let namespace = crate::wire::root_namespace(raw)?;
        if namespace.as_deref().is_some_and(|ns| crate::verdict::plainly_accepted(self.oracle.spec(), ns)) {
            return None;
        }
        let accepted =
            success_namespaces(self.oracle.spec(), params.get(crate::oracle::key::VERSION).map(String::as_str));
        namespace_finding(reply, namespace.as_deref(), &accepted)
    }

    /// Predicts against the mirror and, for a predicted copy, records it as pending so that
    /// requests dispatched after it are predicted with it. Under `force_dry_run`, a request
    /// that would create an image gets `DryRun=true` once the creation budget is spent. A
    /// journaled request that is not a DryRun gets the run-id tag. A reserved copy is named
    /// after the request's ticket `number`, whatever order predictions are made in.
    fn predict_and_reserve(&self, mut params: Params, number: u64) -> (Params, Prediction, Option<String>) {
        let mut world = self.mirror.lock().unwrap_or_else(|e| e.into_inner());
        let mut p = self.oracle.predict(&world, &params);
        let safety = &self.target.safety;
        let dry = self.oracle.limits().is_true(params.get("DryRun").map(String::as_str));
        // A journaled request that may go out live carries the run-id tag, so `cleanup` can find
        // what it makes. The tag changes the request under test: only journaled runs (live ones
        // on AWS, or --journal) add it, and the prediction is made for the tagged request.
        let tagged = safety.journal.as_ref().filter(|_| !dry).map(|journal| {
            let mut tagged = params.clone();
            journal.tag(&mut tagged, COPY_TAGGED);
            let q = self.oracle.predict(&world, &tagged);
            (tagged, q)
        });
        if safety.force_dry_run {
            // Real AWS: only a request predicted to create an image as it would go out, while
            // the --live budget lasts, goes out as it is. Everything else is a dry run (sent
            // untagged), since a request predicted to fail may still succeed there.
            let (live, q) = tagged.unwrap_or_else(|| (params.clone(), p));
            if creates(&q) && safety.try_spend() {
                (params, p) = (live, q);
            } else {
                params.insert("DryRun".into(), self.oracle.limits().bool_true.clone());
                p = self.oracle.predict(&world, &params);
            }
        } else if let Some((live, q)) = tagged {
            (params, p) = (live, q);
        }
        // Named only for a predicted copy, through itoa: `format!` cost more than the rest of
        // the reservation.
        let reserved = copies(&p).then(|| [PENDING, itoa::Buffer::new().format(number)].concat()).filter(|id| {
            let before = world.image_count();
            record_if_copied(&self.oracle, &mut world, &params, &p, id);
            world.image_count() > before
        });
        (params, p, reserved)
    }

    /// Makes the mirror follow what the endpoint did.
    fn settle(&self, params: &Params, p: &Prediction, pending: Option<&str>, sent: &Sent) {
        let created = match &sent.outcome {
            Ok((_, Reply::Success { image_id: Some(id), .. })) => Some(id.as_str()),
            _ => None,
        };
        // Without an answer (or with a success that names no image) the endpoint may have made
        // the copy: the pending one stays, so later Names and tokens are predicted with it.
        let unknown = matches!(&sent.outcome, Err(_) | Ok((_, Reply::Success { image_id: None, .. })));
        let mut world = self.mirror.lock().unwrap_or_else(|e| e.into_inner());
        follow(&self.oracle, &mut world, params, p, pending, created, unknown);
    }
}

/// A request of a dispatched case: as sent (nonce applied), what the nonce rotated, its ticket.
struct Queued {
    params: Params,
    rotation: Option<nonce::Rotation>,
    ticket: order::Ticket,
}

/// A case queued for a lane: its requests with their tickets, and its turn.
struct Job {
    id: String,
    target: String,
    steps: Vec<Queued>,
    turn: order::Turn,
}

/// Most cases out of the caller's hands at once (queued, running, or done and waiting for an
/// earlier one): bounds the records held while an early case is slow.
const WINDOW: usize = 256;

/// A request as sent and answered, not yet judged.
struct Answered {
    params: Params,
    prediction: Prediction,
    sent: Sent,
    elapsed_ms: u64,
    rotation: Option<nonce::Rotation>,
}

/// How many lanes beyond those with a request on the wire make cases ready ahead of their turn:
/// as many as the slots a batch of replies frees, so each freed slot has its request ready, up
/// to 8.
// Measured at concurrency 1, 8 and 64 (with a task spawned per case, before the lanes): at 1,
// two keep the next request ready; at 8 and 64, two left most freed slots waiting for a case
// to be generated after the batch was judged; 64 cost more CPU (more tasks waiting and woken)
// than 8 and sent nothing sooner.
fn ahead(concurrency: usize) -> usize {
    concurrency.clamp(2, 8)
}

/// Makes `world` follow what the endpoint did with one request: a reserved copy is renamed to
/// the id the endpoint gave it, or forgotten when the endpoint made none; a copy the prediction
/// did not expect for certain is recorded as the endpoint records it.
fn follow(
    oracle: &Oracle,
    world: &mut World,
    params: &Params,
    p: &Prediction,
    pending: Option<&str>,
    created: Option<&str>,
    unknown: bool,
) {
    match (pending, created) {
        (Some(pending), Some(id)) => world.rename_image(pending, id),
        (Some(_), None) if unknown => {}
        (Some(pending), None) => world.forget_image(pending),
        // Success was one acceptable outcome among errors, and the endpoint made the copy:
        // later requests must see it as the endpoint does, encrypted like its source and with
        // its tags.
        (None, Some(id)) if p.image_id.as_deref() != Some(id) => record_copy(oracle, world, params, id),
        _ => {}
    }
}

const PENDING: &str = "pending-";

/// The resources a live CopyImage tags with the run id: the new image and its new snapshots.
pub(crate) const COPY_TAGGED: &[&str] = &["image", "snapshot"];

/// Whether a prediction is that the request creates an image.
fn creates(p: &Prediction) -> bool {
    p.ok && p.codes.is_empty() && p.image_id.is_none()
}

/// The values through which one request's outcome can depend on another's.
fn shared_keys(params: &Params) -> order::Keys {
    // Tokens that differ only in letter case meet too (the oracle tells a case twin of a used
    // token), so they share a line.
    [
        params.get("Name").map(|n| order::key(b'n', n.bytes())),
        params.get("ClientToken").map(|t| order::key(b't', t.bytes().map(|b| b.to_ascii_lowercase()))),
    ]
}

/// A verdict in a few words: its `Display`, kept under this name for the stateful checks,
/// which call it.
pub fn verdict_line(v: &Verdict) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests;
