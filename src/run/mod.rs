//! The runner: sends cases to an endpoint as an AWS client would, one record per case.
//!
//! Cases stream through with bounded concurrency, so memory does not grow with their number.
//! Each request is predicted when it is dispatched, against a mirror of the endpoint's state:
//! a predicted copy is recorded as pending, then given its real ImageId (or dropped) when the
//! reply arrives. Requests that share a Name or a ClientToken wait for each other, so the
//! endpoint sees them in the order they were predicted in.

mod budget;
pub mod cleanup;
pub mod discover;
pub mod ec2;
pub mod journal;
pub mod nonce;
pub mod properties;
mod send;
pub mod setup;
pub mod stateful;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::generate::Case;
use crate::oracle::{Oracle, Prediction, record_copy, record_if_copied, render_region};
use crate::verdict::{
    CodeMap, Finding, Verdict, judge, namespace_finding, success_namespaces, with_finding, with_sdk_reading,
};
use crate::wire::{Credentials, Reply};
use crate::world::{Params, World};
pub use budget::Budget;
pub use send::{Dialect, SendError, Sent};

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

/// One request of a case as sent and answered.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepRecord {
    /// The raw parameters.
    pub params: Params,
    /// The prediction made when it was sent.
    pub prediction: Prediction,
    /// HTTP status, if a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The decoded reply, if a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    /// The verdict on this request.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Attempts made (1 without retries).
    pub attempts: u32,
    /// Time from first attempt to the final reply.
    pub elapsed_ms: u64,
    /// A copy-paste `curl` command that sends the same request; secrets are placeholders.
    pub curl: String,
    /// The values the run's nonce rotated in `params` (a run against a long-lived endpoint):
    /// [`nonce::Rotation::generated`] gives the request as generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<nonce::Rotation>,
}

/// Everything one case came to: its setup requests and its request under test.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaseRecord {
    /// The case id.
    pub id: String,
    /// What the case aimed at.
    pub target: String,
    /// Setup requests, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<StepRecord>,
    /// The request under test; its verdict is the case's.
    #[serde(flatten)]
    pub result: StepRecord,
}

impl CaseRecord {
    /// The case's verdict.
    pub fn verdict(&self) -> &Verdict {
        &self.result.verdict
    }
}

/// Counters the runner keeps while it works.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests sent again after throttling or a connection error.
    pub retries: AtomicU64,
    /// Requests sent in all.
    pub requests: AtomicU64,
}

/// Sends cases and judges the replies.
pub struct Runner {
    oracle: Arc<Oracle>,
    target: Target,
    client: reqwest::Client,
    mirror: Mutex<World>,
    codes: Arc<dyn CodeMap>,
    pending: AtomicU64,
    inflight: Mutex<std::collections::HashSet<String>>,
    released: tokio::sync::Notify,
    /// The run's nonce, when it has one (see [`Runner::with_nonce`]).
    nonce: Option<nonce::Nonce>,
    /// Names the nonce leaves as generated: the caller's images' when the run starts.
    kept_names: std::collections::HashSet<String>,
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
        let client = ec2::http_client(&target)?;
        let kept_names = nonce::kept_names(&world);
        Ok(Runner {
            oracle,
            target,
            client,
            mirror: Mutex::new(world),
            codes,
            pending: AtomicU64::new(0),
            inflight: Mutex::new(Default::default()),
            released: tokio::sync::Notify::new(),
            nonce: None,
            kept_names,
            counters: Counters::default(),
        })
    }

    /// The runner for a long-lived endpoint: every Name and ClientToken it sends is rotated by
    /// `nonce` (see [`nonce`]), so what an earlier run left there never meets this run.
    pub fn with_nonce(mut self, nonce: nonce::Nonce) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Runs cases with at most `concurrency` in flight, yielding records in case order.
    pub fn run<'a, I>(self: &'a Arc<Self>, cases: I, concurrency: usize) -> impl Stream<Item = CaseRecord> + 'a
    where
        I: IntoIterator<Item = Case> + 'a,
    {
        stream::iter(cases).map(move |case| self.run_case(case)).buffered(concurrency.max(1))
    }

    /// Runs one case: its setup requests in order, then its request under test.
    pub async fn run_case(&self, case: Case) -> CaseRecord {
        let mut setup = Vec::with_capacity(case.setup.len());
        let mut broken: Option<Finding> = None;
        for (i, step) in case.setup.iter().enumerate() {
            let rec = self.step(&step.params).await;
            if broken.is_none() && !rec.verdict.passes() {
                broken = Some(Finding::SetupDeviated { step: i, detail: rec.verdict.to_string() });
            }
            setup.push(rec);
        }
        let mut result = self.step(&case.params).await;
        if let Some(f) = broken
            && result.verdict.passes()
        {
            result.verdict = Verdict::Deviation { findings: vec![f] };
        }
        CaseRecord { id: case.id, target: case.target, setup, result }
    }

    async fn step(&self, params: &Params) -> StepRecord {
        let (sent, rotation) = match &self.nonce {
            Some(n) => n.params(params, &self.kept_names),
            None => (params.clone(), None),
        };
        // Requests that share state (a Name, a ClientToken) go one at a time, so the endpoint
        // sees them in the order they were predicted in.
        let keys = shared_keys(&sent);
        self.claim(&keys).await;
        let mut record = self.step_claimed(&sent).await;
        self.release(&keys);
        record.nonce = rotation;
        record
    }

    async fn claim(&self, keys: &[String]) {
        loop {
            let notified = self.released.notified();
            tokio::pin!(notified);
            // Registered before the check, so a release between the check and the wait is not missed.
            notified.as_mut().enable();
            {
                let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
                if keys.iter().all(|k| !inflight.contains(k)) {
                    inflight.extend(keys.iter().cloned());
                    return;
                }
            }
            notified.await;
        }
    }

    fn release(&self, keys: &[String]) {
        let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            inflight.remove(k);
        }
        drop(inflight);
        self.released.notify_waiters();
    }

    async fn step_claimed(&self, params: &Params) -> StepRecord {
        let (params, prediction, pending) = self.predict_and_reserve(params);
        let params = &params;
        let started = Instant::now();
        let sent = send::send(&self.client, &self.target, params, &self.counters).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        self.settle(params, &prediction, pending.as_deref(), &sent);
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
                let sdk = ec2.then(|| crate::wire::sdk_reading(*status, &sent.raw));
                let verdict = with_sdk_reading(verdict, sdk.flatten());
                with_finding(verdict, ec2.then(|| self.namespace_finding(params, reply, &sent.raw)).flatten())
            }
            Err(error) => Verdict::Transport { error: error.to_string() },
        };
        let curl = sent.curl(&self.target);
        let (status, reply) = match sent.outcome {
            Ok((s, r)) => (Some(s), Some(r)),
            Err(_) => (None, None),
        };
        StepRecord {
            params: params.clone(),
            prediction,
            status,
            reply,
            verdict,
            attempts: sent.attempts,
            elapsed_ms,
            curl,
            nonce: None,
        }
    }

    /// The finding on the XML namespace of an EC2 reply to `params`, if it has one.
    fn namespace_finding(&self, params: &Params, reply: &Reply, raw: &[u8]) -> Option<Finding> {
        let accepted =
            success_namespaces(self.oracle.spec(), params.get(crate::oracle::key::VERSION).map(String::as_str));
        namespace_finding(reply, crate::wire::root_namespace(raw)?.as_deref(), &accepted)
    }

    /// Predicts against the mirror and, for a predicted copy, records it as pending so that
    /// requests dispatched after it are predicted with it. Under `force_dry_run`, a request
    /// that would create an image gets `DryRun=true` once the creation budget is spent. A
    /// journaled request that is not a DryRun gets the run-id tag.
    fn predict_and_reserve(&self, params: &Params) -> (Params, Prediction, Option<String>) {
        let mut world = self.mirror.lock().unwrap_or_else(|e| e.into_inner());
        let mut params = params.clone();
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
        let id = format!("{PENDING}{}", self.pending.fetch_add(1, Ordering::Relaxed));
        let before = world.images.len();
        record_if_copied(&self.oracle, &mut world, &params, &p, &id);
        let reserved = (world.images.len() > before).then_some(id);
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
fn shared_keys(params: &Params) -> Vec<String> {
    let mut keys = vec![];
    if let Some(n) = params.get("Name") {
        keys.push(format!("name:{n}"));
    }
    if let Some(t) = params.get("ClientToken") {
        keys.push(format!("token:{t}"));
    }
    keys
}

/// A verdict in a few words: its `Display`, kept under this name for the stateful checks,
/// which call it.
pub fn verdict_line(v: &Verdict) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Generator;
    use crate::verdict::SameCodes;

    async fn run_with(safety: Safety, cases: usize) -> Vec<CaseRecord> {
        run_cases(safety, |cases: Vec<Case>| cases, cases).await
    }

    async fn run_cases(safety: Safety, edit: impl Fn(Vec<Case>) -> Vec<Case>, cases: usize) -> Vec<CaseRecord> {
        let oracle = Arc::new(Oracle::builtin().unwrap());
        let world = World::default_world();
        let running = crate::serve::bind(([127, 0, 0, 1], 0).into(), oracle.clone(), world.clone()).await.unwrap();
        let target = Target {
            region: world.region.clone(),
            timeout: Duration::from_secs(5),
            safety,
            ..Target::for_tests(&running.url())
        };
        let runner = Arc::new(Runner::new(oracle.clone(), target, world.clone(), Arc::new(SameCodes)).unwrap());
        let cases: Vec<Case> =
            edit(Generator::new(&oracle, world, 3, None, None).unwrap().take(cases).map(Result::unwrap).collect());
        let records: Vec<CaseRecord> = runner.run(cases, 4).collect().await;
        running.shutdown().await;
        records
    }

    fn steps(records: &[CaseRecord]) -> impl Iterator<Item = &StepRecord> {
        records.iter().flat_map(|r| r.setup.iter().chain(std::iter::once(&r.result)))
    }

    #[tokio::test]
    async fn real_aws_safety_makes_every_request_a_dry_run() {
        let records = run_with(Safety { force_dry_run: true, max_creates: 0, ..Safety::default() }, 150).await;
        for s in steps(&records) {
            assert_eq!(s.params.get("DryRun").map(String::as_str), Some("true"), "{:?}", s.params);
            assert!(!matches!(s.reply, Some(Reply::Success { .. })), "a request created an image: {:?}", s.params);
        }
        // The predictions are made for the requests as sent, so the run still conforms.
        assert!(records.iter().all(|r| r.verdict().passes()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_sharing_a_name_reach_the_endpoint_in_prediction_order() {
        let same_name = |cases: Vec<Case>| {
            cases
                .into_iter()
                .filter(|c| c.target == crate::generate::VALID && c.setup.is_empty())
                .map(|mut c| {
                    c.params.insert("Name".into(), "shared-name".into());
                    c.params.remove("DryRun");
                    c
                })
                .collect()
        };
        let records = run_cases(Safety::default(), same_name, 200).await;
        assert!(records.len() >= 30, "{}", records.len());
        let created = records.iter().filter(|r| matches!(r.result.reply, Some(Reply::Success { .. }))).count();
        // The first copy takes the name; the embedded endpoint refuses the others as duplicates.
        assert_eq!(created, 1);
        for r in &records {
            assert!(r.verdict().passes(), "case {}: {:?}", r.id, r.verdict());
        }
    }

    #[test]
    fn the_mirror_keeps_an_unexpected_copy_as_the_endpoint_made_it() {
        let oracle = Oracle::builtin().unwrap();
        let mut world = World::default_world();
        // An encrypted, tagged source; a Name only the model allows: success is uncertain.
        let source = "ami-0f1e2d3c4b5a69788";
        world.set_image_tags(source, [("team".to_owned(), "a".to_owned())].into_iter().collect());
        let params: Params = [
            ("Name", "copy[1]"),
            ("SourceImageId", source),
            ("SourceRegion", "us-east-1"),
            ("CopyImageTags", "true"),
            ("ClientToken", "mirror-token-0001"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let p = oracle.predict(&world, &params);
        assert!(p.ok && !p.codes.is_empty(), "{p:?}");
        let id = "ami-0123456789abcdef0";
        follow(&oracle, &mut world, &params, &p, None, Some(id), false);
        let copy = world.image(id, "us-east-1").expect("the copy is in the mirror");
        assert!(copy.encrypted, "a copy of an encrypted source is encrypted");
        assert_eq!(copy.tags.get("team").map(String::as_str), Some("a"));
        assert_eq!(world.token("mirror-token-0001").map(|t| t.image_id.as_str()), Some(id));
        // Copying it unencrypted is then predicted as the endpoint will answer.
        let again = [("Name", "copy-2"), ("SourceImageId", id), ("SourceRegion", "us-east-1"), ("Encrypted", "false")];
        let again: Params = again.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        assert_eq!(oracle.predict(&world, &again).code_list(), ["InvalidRequest"]);
    }

    #[tokio::test]
    async fn live_requests_are_journaled_and_tagged_and_dry_runs_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.jsonl");
        let journal = Arc::new(journal::Journal::create(&path, "cic-1-0000000l", "http://x/", "us-east-1").unwrap());
        let safety = Safety { force_dry_run: true, max_creates: 2, journal: Some(journal), ..Safety::default() };
        let records = run_with(safety, 150).await;
        let tagged = |s: &&StepRecord| s.params.values().any(|v| v == "cic-1-0000000l");
        let live: Vec<&StepRecord> =
            steps(&records).filter(|s| s.params.get("DryRun").map(String::as_str) != Some("true")).collect();
        assert_eq!(live.len(), 2);
        assert!(live.iter().all(tagged), "live requests carry the run-id tag");
        assert_eq!(steps(&records).filter(tagged).count(), 2, "DryRuns are sent as generated");
        assert!(records.iter().all(|r| r.verdict().passes()));
        let read = journal::read(&path).unwrap();
        let intents: Vec<&Params> = read
            .entries
            .iter()
            .filter_map(|e| match e {
                journal::Entry::Intent { params, .. } => Some(params),
                _ => None,
            })
            .collect();
        assert_eq!(intents.len(), 2);
        assert!(intents.iter().all(|p| p.get("TagSpecification.1.ResourceType").is_some()), "{intents:?}");
        let mut made: Vec<&str> = read
            .entries
            .iter()
            .filter_map(|e| match e {
                journal::Entry::Result { ids, .. } => ids.get("ImageId").map(String::as_str),
                _ => None,
            })
            .collect();
        let mut created: Vec<&str> = steps(&records)
            .filter_map(|s| match &s.reply {
                Some(Reply::Success { image_id: Some(id), .. }) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        // Requests in flight answer in any order; the journal holds them as they answered.
        made.sort_unstable();
        created.sort_unstable();
        assert_eq!(made, created);
    }

    #[tokio::test]
    async fn a_live_budget_caps_the_requests_that_create() {
        let records = run_with(Safety { force_dry_run: true, max_creates: 2, ..Safety::default() }, 150).await;
        let created = steps(&records).filter(|s| matches!(s.reply, Some(Reply::Success { .. }))).count();
        let undry = steps(&records).filter(|s| s.params.get("DryRun").map(String::as_str) != Some("true")).count();
        assert_eq!(created, 2);
        assert_eq!(undry, 2);
    }
}
