//! Stateful property checks against a live endpoint: seeded sequences of copies, idempotent
//! replays, changed replays, look-ups and copies of a deregistered source, each step checked
//! against a named property. A failing sequence is shrunk to its shortest and reported with a
//! bash script that sends it again.
//!
//! The endpoint keeps its state from one sequence to the next (and from one shrinking attempt
//! to the next), so every run of a sequence gets its own ClientTokens and Names: a per-check
//! nonce, the run number and the step number. The sequences themselves (which steps, which
//! parameters) depend only on the seed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use proptest::prelude::any;
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use quick_xml::events::Event;
use serde::{Deserialize, Serialize};

use super::send::{self, Sent};
use super::{Counters, Dialect, Target, verdict_line};
use crate::generate::strategy::{Inputs, OneOf, valid};
use crate::oracle::{Oracle, Prediction, key};
use crate::serve::EnvelopeCodes;
use crate::verdict::{CodeMap, SameCodes, judge};
use crate::wire::Reply;
use crate::world::{ImageState, Params, World};

/// A valid copy, sent with a fresh ClientToken, gets what the oracle predicts: 200 and an
/// ImageId.
pub const COPY_ACCEPTED: &str = "copy-accepted";
/// A replay (same ClientToken, same parameters) gets 200 with the first call's ImageId.
pub const REPLAY_SAME_IMAGE_ID: &str = "replay-same-image-id";
/// After a replay, DescribeImages shows no image with the copy's Name but the first one.
pub const REPLAY_NO_NEW_IMAGE: &str = "replay-no-new-image";
/// The same ClientToken with another Name gets 400 `IdempotentParameterMismatch`.
pub const MISMATCH_ERROR: &str = "mismatch-error";
/// DescribeImages with the copy's ImageId lists it.
pub const DESCRIBE_FOUND: &str = "describe-found";
/// The described copy has the requested Name.
pub const DESCRIBE_NAME: &str = "describe-name";
/// The described copy has the requested Description, when one was given.
pub const DESCRIBE_DESCRIPTION: &str = "describe-description";
/// The described copy is `pending` or `available`.
pub const DESCRIBE_STATE: &str = "describe-state";
/// The described copy has the tags of its `image` TagSpecifications, plus the source's
/// user-defined tags when CopyImageTags=true, and no others.
pub const DESCRIBE_TAGS: &str = "describe-tags";
/// The described copy's snapshots are encrypted when Encrypted=true was asked or the source's
/// are.
pub const DESCRIBE_ENCRYPTED: &str = "describe-encrypted";
/// A copy from a deregistered source gets one of the outcomes the oracle predicts for it.
pub const DEREGISTERED_SOURCE_ERROR: &str = "deregistered-source-error";

/// Every property, by its stable name (what `skip` may list).
pub const PROPERTIES: [&str; 11] = [
    COPY_ACCEPTED,
    REPLAY_SAME_IMAGE_ID,
    REPLAY_NO_NEW_IMAGE,
    MISMATCH_ERROR,
    DESCRIBE_FOUND,
    DESCRIBE_NAME,
    DESCRIBE_DESCRIPTION,
    DESCRIBE_STATE,
    DESCRIBE_TAGS,
    DESCRIBE_ENCRYPTED,
    DEREGISTERED_SOURCE_ERROR,
];

/// proptest's shrinking attempts per failing property; each attempt sends a whole sequence
/// again.
const MAX_SHRINK_ITERS: u32 = 256;

/// Attempts at simplifying the parameters of the shrunk sequence's copies, per property.
const MAX_SIMPLIFY_ITERS: u32 = 256;

/// Members a valid copy needs; every other one may be left out.
const REQUIRED: [&str; 3] = [key::NAME, key::SOURCE_IMAGE_ID, key::SOURCE_REGION];

/// The prefix of every TagSpecification member.
const TAG_SPEC: &str = "TagSpecification.";

/// Keeps these seeds apart from the case generator's, which seeds the same way.
const SEED_SALT: u64 = 0x5747_4154_4546_554c;

/// TagSpecification members shown in a step's description; the script has them all.
const SHOWN_TAG_MEMBERS: usize = 6;

/// How many sequences to run, how long, from which seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatefulConfig {
    /// Sequences to run.
    pub sequences: u32,
    /// Most steps in one sequence (at least 1).
    pub max_len: usize,
    /// The seed; the same seed gives the same sequences.
    pub seed: u64,
}

/// What the stateful checks came to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatefulReport {
    /// Sequences run to their end (those that found a failure included).
    pub sequences_run: u32,
    /// One failure per failing property, each shrunk to its shortest sequence.
    pub failures: Vec<PropertyFailure>,
    /// Why the checks stopped before running every sequence: no answer from the endpoint, the
    /// creation budget spent, a world with nothing to copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl StatefulReport {
    /// The failure of this property, if it failed.
    pub fn failure(&self, property: &str) -> Option<&PropertyFailure> {
        self.failures.iter().find(|f| f.property == property)
    }
}

/// A property that failed, with the shortest sequence found that makes it fail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyFailure {
    /// The property's stable name, e.g. `replay-same-image-id`.
    pub property: String,
    /// What was expected and what came, naming the step.
    pub detail: String,
    /// The shrunk sequence, one line per step, as sent and answered.
    pub steps: Vec<String>,
    /// A bash script sending the shrunk sequence again, one `curl` command per step (plus the
    /// DescribeImages that showed the failure, when that is a separate request).
    pub script: String,
}

/// One step of a sequence. Steps name earlier copies by a number taken modulo the copies
/// made so far, so deleting a step while shrinking leaves every other step meaningful.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    /// A valid copy with a fresh ClientToken and Name.
    Copy(Params),
    /// An earlier copy again: same ClientToken, same parameters.
    Replay(u8),
    /// An earlier copy's ClientToken with another Name.
    ReplayChanged(u8),
    /// DescribeImages of an earlier copy.
    Describe(u8),
    /// A valid copy whose source is one of the world's deregistered images.
    CopyDeregistered(u8, Params),
}

fn op_strategy(inputs: &Inputs, has_deregistered: bool) -> BoxedStrategy<Op> {
    let mut options = vec![
        (4, valid(inputs, false).prop_map(Op::Copy).boxed()),
        (3, any::<u8>().prop_map(Op::Replay).boxed()),
        (2, any::<u8>().prop_map(Op::ReplayChanged).boxed()),
        (3, any::<u8>().prop_map(Op::Describe).boxed()),
    ];
    if has_deregistered {
        options.push((1, (any::<u8>(), valid(inputs, false)).prop_map(|(i, p)| Op::CopyDeregistered(i, p)).boxed()));
    }
    OneOf::weighted(options).boxed()
}

/// Sequences from a seed: each draws from its own forked random source, so it can be drawn
/// again (to shrink it) without disturbing the ones after it.
struct Sequences {
    strategy: BoxedStrategy<Vec<Op>>,
    master: TestRunner,
}

impl Sequences {
    fn new(inputs: &Inputs, has_deregistered: bool, cfg: &StatefulConfig) -> Self {
        let strategy = proptest::collection::vec(op_strategy(inputs, has_deregistered), 1..=cfg.max_len.max(1)).boxed();
        let seed = cfg.seed ^ SEED_SALT;
        let mut bytes = [0u8; 16];
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes());
        }
        let master = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::XorShift, &bytes));
        Sequences { strategy, master }
    }

    /// The random source of the next sequence.
    fn next_rng(&mut self) -> TestRng {
        self.master.new_rng()
    }

    /// The sequence a random source gives, as a shrinkable tree.
    fn tree(&self, rng: &TestRng) -> Result<Box<dyn ValueTree<Value = Vec<Op>>>, String> {
        let mut runner = TestRunner::new_with_rng(Config::default(), rng.clone());
        self.strategy.new_tree(&mut runner).map_err(|e| format!("cannot draw a sequence: {e}"))
    }
}

/// Runs up to `cfg.sequences` sequences against `target` and checks every property not in
/// `skip`. On a property's first failure the sequence is shrunk to its shortest, recorded,
/// and the property is not checked again; the other properties go on being checked.
///
/// `world` must describe the endpoint's source images (as for the runner). Requests are
/// driven on a thread of their own with its own Tokio runtime, so this may be called from
/// synchronous code; from async code, call it inside `tokio::task::spawn_blocking`, so the
/// caller's runtime (which may be serving the endpoint) keeps its worker threads.
///
/// Copies are real. With `target.safety.force_dry_run` (real AWS), at most
/// `safety.max_creates` copies are sent, shrinking included; the checks then stop and say so
/// in [`StatefulReport::stopped`].
pub fn check(
    target: &Target,
    oracle: &Oracle,
    world: &World,
    cfg: &StatefulConfig,
    skip: &BTreeSet<String>,
) -> StatefulReport {
    std::thread::scope(|s| match s.spawn(|| check_here(target, oracle, world, cfg, skip)).join() {
        Ok(report) => report,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

fn check_here(
    target: &Target,
    oracle: &Oracle,
    world: &World,
    cfg: &StatefulConfig,
    skip: &BTreeSet<String>,
) -> StatefulReport {
    let stopped = |why: String| StatefulReport { stopped: Some(why), ..StatefulReport::default() };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return stopped(format!("cannot start the async runtime: {e}")),
    };
    let client = {
        let _in_runtime = rt.enter();
        match reqwest::Client::builder().timeout(target.timeout).build() {
            Ok(c) => c,
            Err(e) => return stopped(format!("cannot build the HTTP client: {e}")),
        }
    };
    let codes: Box<dyn CodeMap> = match target.dialect {
        Dialect::Ec2Query => Box::new(SameCodes),
        Dialect::JsonEnvelope => match EnvelopeCodes::builtin() {
            Ok(c) => Box::new(c),
            Err(e) => return stopped(e.to_string()),
        },
    };
    let inputs = Inputs::new(oracle, world);
    if inputs.copyable.is_empty() {
        return stopped("the world has no source image that a minimal CopyImage request copies successfully".into());
    }
    let deregistered: Vec<(String, String)> = world
        .images
        .iter()
        .filter(|i| i.state == ImageState::Deregistered && i.visible && !i.image_id.is_empty())
        .map(|i| (i.image_id.clone(), i.region.clone()))
        .collect();
    let mut sequences = Sequences::new(&inputs, !deregistered.is_empty(), cfg);
    let mut session = Session {
        rt,
        client,
        target,
        oracle,
        codes,
        counters: Counters::default(),
        model: world.clone(),
        deregistered,
        first_source: inputs.copyable.first().cloned(),
        nonce: nonce(cfg.seed),
        runs: 0,
        creates: 0,
    };
    session.explore(&mut sequences, cfg, skip)
}

/// A short id that keeps this check's tokens and names apart from every other check's on the
/// same endpoint.
fn nonce(seed: u64) -> String {
    static CHECKS: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let n = CHECKS.fetch_add(1, Ordering::Relaxed);
    let x = splitmix64(
        now ^ (u64::from(std::process::id()) << 32) ^ seed.rotate_left(17) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    );
    format!("{:08x}", x >> 32)
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A copy the endpoint made during a run.
struct Made {
    /// Its step, 1-based.
    step: usize,
    /// The parameters sent.
    params: Params,
    /// The Name without this run's tag, for a changed Name.
    generated: String,
    /// The ImageId the endpoint returned.
    image_id: String,
}

/// A property that failed at a step.
#[derive(Clone, Debug)]
struct Failed {
    property: &'static str,
    /// The step, 1-based.
    step: usize,
    detail: String,
    /// The command of a follow-up request that showed the failure (a DescribeImages after a
    /// replay).
    evidence: Option<String>,
}

/// What one step did.
struct Step {
    line: String,
    curl: Option<String>,
    failure: Option<(&'static str, String, Option<String>)>,
}

impl Step {
    fn skipped(line: String) -> Self {
        Step { line, curl: None, failure: None }
    }
}

/// One run of a sequence: a line and a command per step run, and the failure that ended it.
#[derive(Default)]
struct Trace {
    steps: Vec<String>,
    curls: Vec<Option<String>>,
    failure: Option<Failed>,
}

/// The trace and its failure, if the run failed this property.
fn failing(mut t: Trace, property: &str) -> Option<(Trace, Failed)> {
    match t.failure.take() {
        Some(f) if f.property == property => Some((t, f)),
        _ => None,
    }
}

/// One image as DescribeImages shows it, text as sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Described {
    image_id: String,
    name: Option<String>,
    description: Option<String>,
    state: Option<String>,
    /// `encrypted` of each EBS block device; `None` where the mapping does not say.
    ebs_encrypted: Vec<Option<bool>>,
    tags: BTreeMap<String, String>,
}

struct Session<'a> {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    target: &'a Target,
    oracle: &'a Oracle,
    codes: Box<dyn CodeMap>,
    counters: Counters,
    /// What the endpoint holds, as far as the checks know: the world, plus every copy made.
    model: World,
    deregistered: Vec<(String, String)>,
    /// The source a simplified copy prefers.
    first_source: Option<(String, String, bool)>,
    nonce: String,
    runs: u64,
    creates: u64,
}

impl Session<'_> {
    fn explore(&mut self, sequences: &mut Sequences, cfg: &StatefulConfig, skip: &BTreeSet<String>) -> StatefulReport {
        let mut report = StatefulReport::default();
        let mut done: BTreeSet<&'static str> = BTreeSet::new();
        'sequences: for _ in 0..cfg.sequences {
            let rng = sequences.next_rng();
            let ops = match sequences.tree(&rng) {
                Ok(t) => t.current(),
                Err(e) => {
                    report.stopped = Some(e);
                    break;
                }
            };
            // A run stops at its first failure; running the sequence again with that property
            // dropped lets it show the others.
            let mut ran = false;
            loop {
                let active = |p: &str| !skip.contains(p) && !done.contains(p);
                if !PROPERTIES.iter().any(|p| active(p)) {
                    report.sequences_run += u32::from(ran);
                    break 'sequences;
                }
                ran = true;
                let trace = match self.run(&ops, &active) {
                    Ok(t) => t,
                    Err(why) => {
                        report.stopped = Some(why);
                        break 'sequences;
                    }
                };
                let Some(property) = trace.failure.as_ref().map(|f| f.property) else { break };
                let tree = match sequences.tree(&rng) {
                    Ok(t) => t,
                    Err(e) => {
                        report.stopped = Some(e);
                        break 'sequences;
                    }
                };
                let (failure, stop) = self.shrink(tree, property, ops.clone(), trace);
                report.failures.extend(failure);
                done.insert(property);
                if let Some(why) = stop {
                    report.stopped = Some(why);
                    break 'sequences;
                }
            }
            report.sequences_run += 1;
        }
        report
    }

    /// Shrinks a sequence that fails `property`: proptest's simplification (deleting steps,
    /// then simplifying each step's parameters), then deleting single steps until none can
    /// go, then simplifying the copies' parameters member by member (the strategy draws them
    /// from a few random words, so proptest alone rarely makes them plain). Only `property`
    /// is checked meanwhile, so another failure cannot mask it.
    fn shrink(
        &mut self,
        mut tree: Box<dyn ValueTree<Value = Vec<Op>>>,
        property: &'static str,
        ops: Vec<Op>,
        first: Trace,
    ) -> (Option<PropertyFailure>, Option<String>) {
        let only = |p: &str| p == property;
        let Some((trace, failed)) = failing(first, property) else { return (None, None) };
        let mut best = (ops, trace, failed);
        let mut stop = None;
        let mut iters = 0;
        let mut more = tree.simplify();
        while more && iters < MAX_SHRINK_ITERS {
            iters += 1;
            let ops = tree.current();
            match self.run(&ops, &only) {
                Err(why) => {
                    stop = Some(why);
                    break;
                }
                Ok(t) => match failing(t, property) {
                    Some((t, f)) => {
                        best = (ops, t, f);
                        more = tree.simplify();
                    }
                    None => more = tree.complicate(),
                },
            }
        }
        // Steps after the failing one were not run.
        best.0.truncate(best.2.step);
        'deleting: while stop.is_none() {
            let mut deleted = false;
            let mut i = 0;
            while i < best.0.len() && best.0.len() > 1 {
                let mut fewer = best.0.clone();
                fewer.remove(i);
                match self.run(&fewer, &only) {
                    Err(why) => {
                        stop = Some(why);
                        break 'deleting;
                    }
                    Ok(t) => match failing(t, property) {
                        Some((t, f)) => {
                            fewer.truncate(f.step);
                            best = (fewer, t, f);
                            deleted = true;
                        }
                        None => i += 1,
                    },
                }
            }
            if !deleted {
                break;
            }
        }
        if stop.is_none()
            && let Err(why) = self.simplify_params(&mut best, property)
        {
            stop = Some(why);
        }
        let (_, trace, failed) = best;
        (Some(self.failure(&trace, failed)), stop)
    }

    /// Replaces each copy's parameters by simpler ones while the sequence still fails
    /// `property`, until no simpler version does (or the attempts run out).
    fn simplify_params(&mut self, best: &mut (Vec<Op>, Trace, Failed), property: &'static str) -> Result<(), String> {
        let only = |p: &str| p == property;
        let mut left = MAX_SIMPLIFY_ITERS;
        let mut changed = true;
        while changed {
            changed = false;
            let mut i = 0;
            while i < best.0.len() {
                let (Op::Copy(params) | Op::CopyDeregistered(_, params)) = &best.0[i] else {
                    i += 1;
                    continue;
                };
                let mut simplified = false;
                for candidate in self.simpler(params) {
                    if left == 0 {
                        return Ok(());
                    }
                    left -= 1;
                    let mut ops = best.0.clone();
                    if let Op::Copy(p) | Op::CopyDeregistered(_, p) = &mut ops[i] {
                        *p = candidate;
                    }
                    if let Some((t, f)) = failing(self.run(&ops, &only)?, property) {
                        ops.truncate(f.step);
                        *best = (ops, t, f);
                        simplified = true;
                        break;
                    }
                }
                // A simplified step is tried again from its new parameters.
                if simplified {
                    changed = true;
                } else {
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// Simpler versions of a copy's parameters that are still a valid copy, the boldest
    /// first: a TagSpecification or a tag left out, an optional member left out, a shorter
    /// key, value, Name or Description, the first copyable source.
    fn simpler(&self, p: &Params) -> Vec<Params> {
        let mut out: Vec<Params> = vec![];
        let specs = tag_specs(p);
        for n in 0..specs.len() {
            let mut fewer = specs.clone();
            fewer.remove(n);
            out.push(with_tag_specs(p, &fewer));
        }
        for (n, spec) in specs.iter().enumerate() {
            for m in 0..spec.tags.len() {
                let mut fewer = specs.clone();
                fewer[n].tags.remove(m);
                out.push(with_tag_specs(p, &fewer));
            }
        }
        for k in p.keys() {
            if !REQUIRED.contains(&k.as_str()) && k != key::CLIENT_TOKEN && !k.starts_with(TAG_SPEC) {
                let mut fewer = p.clone();
                fewer.remove(k);
                out.push(fewer);
            }
        }
        for (n, spec) in specs.iter().enumerate() {
            for (m, (k, v)) in spec.tags.iter().enumerate() {
                if let Some(short) = k.as_deref().and_then(shorter_key)
                    && !spec.tags.iter().any(|(other, _)| other.as_deref() == Some(short.as_str()))
                {
                    let mut plainer = specs.clone();
                    plainer[n].tags[m].0 = Some(short);
                    out.push(with_tag_specs(p, &plainer));
                }
                if v.as_deref().is_some_and(|v| !v.is_empty()) {
                    let mut plainer = specs.clone();
                    plainer[n].tags[m].1 = Some(String::new());
                    out.push(with_tag_specs(p, &plainer));
                }
            }
        }
        for k in [key::DESCRIPTION, key::NAME] {
            if let Some(v) = p.get(k)
                && v.chars().count() > 1
            {
                let mut plainer = p.clone();
                plainer.insert(k.to_owned(), v.chars().take(v.chars().count() / 2).collect());
                out.push(plainer);
            }
        }
        if let Some((id, region, _)) = self.first_source.as_ref()
            && p.get(key::SOURCE_IMAGE_ID) != Some(id)
        {
            let mut plainer = p.clone();
            plainer.insert(key::SOURCE_IMAGE_ID.into(), id.clone());
            plainer.insert(key::SOURCE_REGION.into(), region.clone());
            out.push(plainer);
        }
        out.retain(|c| c != p && self.valid_copy(c));
        out
    }

    /// Whether the oracle predicts a plain success for a copy with these parameters (and a
    /// Name and ClientToken of its own).
    fn valid_copy(&self, p: &Params) -> bool {
        let (params, _) = self.fresh(p, &format!("{}probe", self.nonce));
        let prediction = self.oracle.predict(&self.model, &params);
        prediction.ok && prediction.codes.is_empty() && prediction.image_id.is_none()
    }

    fn failure(&self, trace: &Trace, failed: Failed) -> PropertyFailure {
        let mut script = String::from("#!/usr/bin/env bash\n");
        script
            .push_str(&comment(&format!("Stateful property `{}` fails on {}.", failed.property, self.target.endpoint)));
        script.push_str(&comment(&failed.detail));
        script.push_str(&comment(
            "The shrunk sequence, one request per step. Its ClientTokens and Names are the recorded \
             run's: an endpoint that saw them already answers differently, so start from a fresh \
             endpoint or change them first.",
        ));
        script.push_str("set -u\n");
        for (line, curl) in trace.steps.iter().zip(&trace.curls) {
            script.push('\n');
            script.push_str(&comment(line));
            if let Some(curl) = curl {
                script.push_str(curl);
                script.push_str("\necho\n");
            }
        }
        if let Some(curl) = &failed.evidence {
            script.push('\n');
            script.push_str(&comment("The request that shows the failure:"));
            script.push_str(curl);
            script.push_str("\necho\n");
        }
        PropertyFailure {
            property: failed.property.to_owned(),
            detail: failed.detail,
            steps: trace.steps.clone(),
            script,
        }
    }

    /// Runs a sequence from its first step until a property in `checked` fails. `Err` means
    /// the checks cannot go on (no answer, budget spent).
    fn run(&mut self, ops: &[Op], checked: &dyn Fn(&str) -> bool) -> Result<Trace, String> {
        let run = self.runs;
        self.runs += 1;
        let mut trace = Trace::default();
        let mut made: Vec<Made> = vec![];
        for (i, op) in ops.iter().enumerate() {
            let n = i + 1;
            let tag = format!("{}r{run:x}s{n}", self.nonce);
            let step = match op {
                Op::Copy(p) => self.copy(p, n, &tag, &mut made, checked)?,
                Op::Replay(k) => match pick(&made, *k) {
                    Some(c) => self.replay(c, n, checked)?,
                    None => Step::skipped(format!("{n}. Replay: skipped, no earlier copy was made")),
                },
                Op::ReplayChanged(k) => match pick(&made, *k) {
                    Some(c) => self.replay_changed(c, n, &tag, checked)?,
                    None => Step::skipped(format!("{n}. Replay with another Name: skipped, no earlier copy was made")),
                },
                Op::Describe(k) => match pick(&made, *k) {
                    Some(c) => self.describe_copy(c, n, checked)?,
                    None => Step::skipped(format!("{n}. Describe: skipped, no earlier copy was made")),
                },
                Op::CopyDeregistered(k, p) => self.copy_deregistered(*k, p, n, &tag, checked)?,
            };
            trace.steps.push(step.line);
            trace.curls.push(step.curl);
            if let Some((property, detail, evidence)) = step.failure {
                trace.failure = Some(Failed { property, step: n, detail, evidence });
                break;
            }
        }
        Ok(trace)
    }

    fn copy(
        &mut self,
        p: &Params,
        n: usize,
        tag: &str,
        made: &mut Vec<Made>,
        checked: &dyn Fn(&str) -> bool,
    ) -> Result<Step, String> {
        let (params, generated) = self.fresh(p, tag);
        let prediction = self.oracle.predict(&self.model, &params);
        self.spend(&prediction)?;
        let (sent, status, reply) = self.send(&params)?;
        let line = format!("{n}. Copy: CopyImage {} → {}", show(&params), outcome(status, &reply));
        if let Reply::Success { image_id: Some(id), .. } = &reply {
            self.record(&params, id);
            made.push(Made { step: n, params: params.clone(), generated, image_id: id.clone() });
        }
        let verdict = judge(&prediction, status, &reply, None, None, &*self.codes);
        let failure = (checked(COPY_ACCEPTED) && !verdict.passes()).then(|| {
            let detail = format!("step {n}: a valid copy: {}", verdict_line(&verdict));
            (COPY_ACCEPTED, detail, None)
        });
        Ok(Step { line, curl: Some(sent.curl(self.target)), failure })
    }

    fn replay(&mut self, c: &Made, n: usize, checked: &dyn Fn(&str) -> bool) -> Result<Step, String> {
        let prediction = self.oracle.predict(&self.model, &c.params);
        let (sent, status, reply) = self.send(&c.params)?;
        let line =
            format!("{n}. Replay of step {} (same ClientToken, same parameters) → {}", c.step, outcome(status, &reply));
        let curl = Some(sent.curl(self.target));
        let verdict = judge(&prediction, status, &reply, Some(&c.image_id), None, &*self.codes);
        if checked(REPLAY_SAME_IMAGE_ID) && !verdict.passes() {
            let detail = format!(
                "step {n}: the replay of step {} must return {} again: {}",
                c.step,
                c.image_id,
                verdict_line(&verdict)
            );
            return Ok(Step { line, curl, failure: Some((REPLAY_SAME_IMAGE_ID, detail, None)) });
        }
        if !checked(REPLAY_NO_NEW_IMAGE) {
            return Ok(Step { line, curl, failure: None });
        }
        let name = c.params.get(key::NAME).cloned().unwrap_or_default();
        let query: Params = [("Owner.1", "self"), ("Filter.1.Name", "name"), ("Filter.1.Value.1", name.as_str())]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let (describe_curl, listed) = self.describe(query)?;
        let problem = match listed {
            Err(why) => Some(format!("step {n}: after the replay of step {}, DescribeImages: {why}", c.step)),
            Ok(images) => {
                let extra: Vec<&str> = images
                    .iter()
                    .filter(|i| i.name.as_deref() == Some(name.as_str()) && i.image_id != c.image_id)
                    .map(|i| i.image_id.as_str())
                    .collect();
                (!extra.is_empty()).then(|| {
                    format!(
                        "step {n}: after the replay of step {}, DescribeImages shows {} besides {} with its Name: {}",
                        c.step,
                        if extra.len() == 1 { "another image" } else { "other images" },
                        c.image_id,
                        extra.join(", ")
                    )
                })
            }
        };
        let failure = problem.map(|detail| (REPLAY_NO_NEW_IMAGE, detail, Some(describe_curl)));
        Ok(Step { line, curl, failure })
    }

    fn replay_changed(
        &mut self,
        c: &Made,
        n: usize,
        tag: &str,
        checked: &dyn Fn(&str) -> bool,
    ) -> Result<Step, String> {
        let mut params = c.params.clone();
        let name = self.unique_name(&c.generated, tag);
        params.insert(key::NAME.into(), name.clone());
        let prediction = self.oracle.predict(&self.model, &params);
        self.spend(&prediction)?;
        let (sent, status, reply) = self.send(&params)?;
        let line = format!(
            "{n}. Replay of step {} with Name={name:?} (same ClientToken) → {}",
            c.step,
            outcome(status, &reply)
        );
        if let Reply::Success { image_id: Some(id), .. } = &reply {
            // The endpoint made a copy after all; the model follows it.
            self.record(&params, id);
        }
        let verdict = judge(&prediction, status, &reply, None, None, &*self.codes);
        let failure = (checked(MISMATCH_ERROR) && !verdict.passes()).then(|| {
            let detail =
                format!("step {n}: step {}'s ClientToken with another Name: {}", c.step, verdict_line(&verdict));
            (MISMATCH_ERROR, detail, None)
        });
        Ok(Step { line, curl: Some(sent.curl(self.target)), failure })
    }

    fn describe_copy(&mut self, c: &Made, n: usize, checked: &dyn Fn(&str) -> bool) -> Result<Step, String> {
        let query: Params = [("ImageId.1".to_owned(), c.image_id.clone())].into();
        let (curl, listed) = self.describe(query)?;
        let found = match &listed {
            Ok(images) => images.iter().find(|i| i.image_id == c.image_id),
            Err(_) => None,
        };
        let line = format!(
            "{n}. Describe the copy of step {}: DescribeImages ImageId.1={} → {}",
            c.step,
            c.image_id,
            match (&listed, found) {
                (Err(why), _) => format!("unreadable ({why})"),
                (Ok(_), None) => "not listed".to_owned(),
                (Ok(_), Some(i)) => format!(
                    "state {}, Name {:?}, {} tag(s)",
                    i.state.as_deref().unwrap_or("(none)"),
                    i.name.as_deref().unwrap_or(""),
                    i.tags.len()
                ),
            }
        );
        let step = |failure: Option<(&'static str, String)>| Step {
            line: line.clone(),
            curl: Some(curl.clone()),
            failure: failure.map(|(p, d)| (p, d, None)),
        };
        let image = match (&listed, found) {
            (Ok(_), Some(i)) => i,
            (Err(why), _) => {
                let detail = format!("step {n}: DescribeImages of the copy of step {}: {why}", c.step);
                return Ok(step(checked(DESCRIBE_FOUND).then_some((DESCRIBE_FOUND, detail))));
            }
            (Ok(images), None) => {
                let listed: Vec<&str> = images.iter().map(|i| i.image_id.as_str()).collect();
                let detail = format!(
                    "step {n}: DescribeImages ImageId.1={} does not list the copy of step {} (it lists [{}])",
                    c.image_id,
                    c.step,
                    listed.join(", ")
                );
                return Ok(step(checked(DESCRIBE_FOUND).then_some((DESCRIBE_FOUND, detail))));
            }
        };
        let checks: [(&'static str, &dyn Fn() -> Option<String>); 5] = [
            (DESCRIBE_NAME, &|| self.name_problem(c, image)),
            (DESCRIBE_DESCRIPTION, &|| self.description_problem(c, image)),
            (DESCRIBE_STATE, &|| state_problem(image)),
            (DESCRIBE_TAGS, &|| self.tags_problem(c, image)),
            (DESCRIBE_ENCRYPTED, &|| self.encrypted_problem(c, image)),
        ];
        for (property, problem) in checks {
            if !checked(property) {
                continue;
            }
            if let Some(p) = problem() {
                return Ok(step(Some((
                    property,
                    format!("step {n}: the copy of step {} ({}): {p}", c.step, c.image_id),
                ))));
            }
        }
        Ok(step(None))
    }

    fn copy_deregistered(
        &mut self,
        k: u8,
        p: &Params,
        n: usize,
        tag: &str,
        checked: &dyn Fn(&str) -> bool,
    ) -> Result<Step, String> {
        let Some((id, region)) = pick(&self.deregistered, k).cloned() else {
            return Ok(Step::skipped(format!("{n}. Copy from a deregistered source: skipped, the world has none")));
        };
        let (mut params, _) = self.fresh(p, tag);
        params.insert(key::SOURCE_IMAGE_ID.into(), id.clone());
        params.insert(key::SOURCE_REGION.into(), region);
        let prediction = self.oracle.predict(&self.model, &params);
        self.spend(&prediction)?;
        let (sent, status, reply) = self.send(&params)?;
        let line =
            format!("{n}. Copy from deregistered {id}: CopyImage {} → {}", show(&params), outcome(status, &reply));
        if let Reply::Success { image_id: Some(made), .. } = &reply {
            self.record(&params, made);
        }
        let verdict = judge(&prediction, status, &reply, None, None, &*self.codes);
        let failure = (checked(DEREGISTERED_SOURCE_ERROR) && !verdict.passes()).then(|| {
            let detail = format!(
                "step {n}: a copy of deregistered {id} (expected {}): {}",
                expected(&prediction),
                verdict_line(&verdict)
            );
            (DEREGISTERED_SOURCE_ERROR, detail, None)
        });
        Ok(Step { line, curl: Some(sent.curl(self.target)), failure })
    }

    fn name_problem(&self, c: &Made, image: &Described) -> Option<String> {
        let want = c.params.get(key::NAME)?;
        match image.name.as_deref() {
            Some(got) if got == want => None,
            Some(got) => Some(format!("Name is {got:?}, not the requested {want:?}")),
            None => Some(format!("no Name; {want:?} was requested")),
        }
    }

    fn description_problem(&self, c: &Made, image: &Described) -> Option<String> {
        let want = c.params.get(key::DESCRIPTION)?;
        // An empty element and no element both say "no description".
        let got = image.description.as_deref().unwrap_or("");
        (got != want).then(|| format!("Description is {got:?}, not the requested {want:?}"))
    }

    fn tags_problem(&self, c: &Made, image: &Described) -> Option<String> {
        let explicit = image_tags(&c.params);
        let copied = if self.oracle.limits().is_true(c.params.get(key::COPY_IMAGE_TAGS).map(String::as_str)) {
            self.source_tags(&c.params)
        } else {
            BTreeMap::new()
        };
        let mut problems = vec![];
        for (k, v) in &explicit {
            match image.tags.get(k) {
                // How the two sources combine on one key is not documented: either value will do.
                Some(got) if got == v || copied.get(k) == Some(got) => {}
                Some(got) => {
                    problems.push(format!("tag {:?} is {:?}, not {:?} (TagSpecification)", clip(k), clip(got), clip(v)))
                }
                None => problems.push(format!("tag {:?} missing (TagSpecification)", clip(k))),
            }
        }
        for (k, v) in copied.iter().filter(|(k, _)| !explicit.contains_key(*k)) {
            match image.tags.get(k) {
                Some(got) if got == v => {}
                Some(got) => problems.push(format!(
                    "tag {:?} is {:?}, not the source's {:?} (CopyImageTags)",
                    clip(k),
                    clip(got),
                    clip(v)
                )),
                None => problems.push(format!("tag {:?} missing (the source's, CopyImageTags=true)", clip(k))),
            }
        }
        for (k, v) in &image.tags {
            if !explicit.contains_key(k) && !copied.contains_key(k) {
                problems.push(format!("unexpected tag {:?}={:?}", clip(k), clip(v)));
            }
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// The source's tags a copy with CopyImageTags=true carries: user-defined ones only, and of
    /// another account's image only `ec2:SharedTag/` ones.
    fn source_tags(&self, params: &Params) -> BTreeMap<String, String> {
        let (Some(id), Some(region)) = (params.get(key::SOURCE_IMAGE_ID), params.get(key::SOURCE_REGION)) else {
            return BTreeMap::new();
        };
        let Some(source) = self.model.image(id, region) else { return BTreeMap::new() };
        let own = self.model.owner_of(source) == self.model.account;
        source
            .tags
            .iter()
            .filter(|(k, _)| !k.starts_with("aws:") && (own || k.starts_with("ec2:SharedTag/")))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn encrypted_problem(&self, c: &Made, image: &Described) -> Option<String> {
        if !self.expect_encrypted(&c.params) {
            return None;
        }
        let why = if self.oracle.limits().is_true(c.params.get(key::ENCRYPTED).map(String::as_str)) {
            "Encrypted=true was asked"
        } else {
            "the source is encrypted"
        };
        if image.ebs_encrypted.is_empty() {
            return Some(format!("no EBS block device shows encryption, but {why}"));
        }
        let plain = image.ebs_encrypted.iter().filter(|e| **e != Some(true)).count();
        (plain > 0).then(|| format!("{plain} of {} EBS snapshots not encrypted, but {why}", image.ebs_encrypted.len()))
    }

    fn expect_encrypted(&self, params: &Params) -> bool {
        let source = match (params.get(key::SOURCE_IMAGE_ID), params.get(key::SOURCE_REGION)) {
            (Some(id), Some(region)) => self.model.image(id, region).is_some_and(|i| i.encrypted),
            _ => false,
        };
        self.oracle.limits().is_true(params.get(key::ENCRYPTED).map(String::as_str)) || source
    }

    /// Adds a copy the endpoint made to the model.
    fn record(&mut self, params: &Params, image_id: &str) {
        let encrypted = self.expect_encrypted(params);
        self.model.record_copy(params, image_id, encrypted);
    }

    /// The parameters with this run's ClientToken and a Name of their own; also the Name
    /// without the tag.
    fn fresh(&self, p: &Params, tag: &str) -> (Params, String) {
        let mut params = p.clone();
        let generated = params.get(key::NAME).cloned().unwrap_or_default();
        let room = self.oracle.limits().name_max.saturating_sub(tag.len() + 1);
        let generated: String = generated.chars().take(room).collect();
        params.insert(key::NAME.into(), self.unique_name(&generated, tag));
        params.insert(key::CLIENT_TOKEN.into(), tag.to_owned());
        (params, generated)
    }

    fn unique_name(&self, generated: &str, tag: &str) -> String {
        let room = self.oracle.limits().name_max.saturating_sub(tag.len() + 1);
        let head: String = generated.chars().take(room).collect();
        format!("{head}-{tag}")
    }

    /// Counts a CopyImage against the budget real AWS runs have. Every copy request counts,
    /// whatever its prediction: one predicted to fail may still create an image on AWS.
    fn spend(&mut self, _: &Prediction) -> Result<(), String> {
        let safety = &self.target.safety;
        if !safety.force_dry_run {
            return Ok(());
        }
        if self.creates >= safety.max_creates {
            return Err(format!(
                "stopped: the stateful checks make real copies, and the creation budget ({}) is spent",
                safety.max_creates
            ));
        }
        self.creates += 1;
        Ok(())
    }

    fn send(&self, params: &Params) -> Result<(Sent, u16, Reply), String> {
        let mut sent = self.rt.block_on(send::send(&self.client, self.target, params, &self.counters));
        match std::mem::replace(&mut sent.outcome, Err(String::new())) {
            Ok((status, reply)) => Ok((sent, status, reply)),
            Err(e) => Err(format!("no answer from {}: {e}", self.target.endpoint)),
        }
    }

    /// Sends DescribeImages with `query`; gives its command and the images, or why they could
    /// not be read.
    fn describe(&self, mut query: Params) -> Result<(String, Result<Vec<Described>, String>), String> {
        query.insert(key::ACTION.into(), "DescribeImages".into());
        let (sent, status, reply) = self.send(&query)?;
        let curl = sent.curl(self.target);
        let images = match reply {
            Reply::Error { code, message, .. } => Err(format!("HTTP {status} {code}: {}", message.unwrap_or_default())),
            // No body kept: empty, or larger than the target's limit.
            Reply::Unparseable { reason, .. } if sent.raw.is_empty() => Err(format!("HTTP {status}: {reason}")),
            _ if !(200..300).contains(&status) => Err(format!("HTTP {status}: {}", head(&sent.raw))),
            _ => match self.target.dialect {
                Dialect::Ec2Query => parse_describe_xml(&sent.raw),
                Dialect::JsonEnvelope => parse_describe_json(&sent.raw),
            },
        };
        Ok((curl, images))
    }
}

fn pick<T>(list: &[T], k: u8) -> Option<&T> {
    (!list.is_empty()).then(|| &list[usize::from(k) % list.len()])
}

fn state_problem(image: &Described) -> Option<String> {
    match image.state.as_deref() {
        Some("pending" | "available") => None,
        Some(s) => Some(format!("state {s:?}, not pending or available")),
        None => Some("no state".into()),
    }
}

/// The tags of a request's `image` TagSpecifications.
fn image_tags(params: &Params) -> BTreeMap<String, String> {
    tag_specs(params)
        .into_iter()
        .filter(|s| s.resource_type.as_deref() == Some("image"))
        .flat_map(|s| s.tags)
        .filter_map(|(k, v)| Some((k?, v.unwrap_or_default())))
        .collect()
}

/// A tag as a request spells it: its Key and Value members, either possibly absent.
type Tag = (Option<String>, Option<String>);

/// One TagSpecification: its ResourceType and its tags, in index order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct TagSpec {
    resource_type: Option<String>,
    tags: Vec<Tag>,
}

/// A request's TagSpecifications, in index order (indexes compared as numbers).
fn tag_specs(p: &Params) -> Vec<TagSpec> {
    let mut by_n: BTreeMap<u64, (Option<String>, BTreeMap<u64, Tag>)> = BTreeMap::new();
    for (k, v) in p.range(TAG_SPEC.to_owned()..) {
        let Some(rest) = k.strip_prefix(TAG_SPEC) else { break };
        let parts: Vec<&str> = rest.split('.').collect();
        let num = |s: &str| s.parse::<u64>().ok();
        match parts.as_slice() {
            [n, "ResourceType"] if num(n).is_some() => {
                by_n.entry(num(n).unwrap_or_default()).or_default().0 = Some(v.clone());
            }
            [n, "Tag", m, field @ ("Key" | "Value")] if num(n).is_some() && num(m).is_some() => {
                let spec = by_n.entry(num(n).unwrap_or_default()).or_default();
                let tag = spec.1.entry(num(m).unwrap_or_default()).or_default();
                if *field == "Key" {
                    tag.0 = Some(v.clone());
                } else {
                    tag.1 = Some(v.clone());
                }
            }
            _ => {}
        }
    }
    by_n.into_values()
        .map(|(resource_type, tags)| TagSpec { resource_type, tags: tags.into_values().collect() })
        .collect()
}

/// `p` with its TagSpecifications replaced by `specs`, numbered from 1 without gaps.
fn with_tag_specs(p: &Params, specs: &[TagSpec]) -> Params {
    let mut out: Params =
        p.iter().filter(|(k, _)| !k.starts_with(TAG_SPEC)).map(|(k, v)| (k.clone(), v.clone())).collect();
    for (n, spec) in specs.iter().enumerate() {
        let n = n + 1;
        if let Some(rt) = &spec.resource_type {
            out.insert(format!("{TAG_SPEC}{n}.ResourceType"), rt.clone());
        }
        for (m, (k, v)) in spec.tags.iter().enumerate() {
            let m = m + 1;
            if let Some(k) = k {
                out.insert(format!("{TAG_SPEC}{n}.Tag.{m}.Key"), k.clone());
            }
            if let Some(v) = v {
                out.insert(format!("{TAG_SPEC}{n}.Tag.{m}.Value"), v.clone());
            }
        }
    }
    out
}

/// A shorter tag key: the generator's numbered prefix (`k1-`), else the first half.
fn shorter_key(k: &str) -> Option<String> {
    let short = match k.find('-') {
        Some(i) if i + 1 < k.len() => k[..=i].to_owned(),
        _ => k.chars().take(k.chars().count() / 2).collect(),
    };
    (!short.is_empty() && short != k).then_some(short)
}

/// A step's parameters in a line: every member, long values clipped, TagSpecification
/// members after the first few counted.
fn show(params: &Params) -> String {
    let mut parts = vec![];
    let mut tags = 0;
    for (k, v) in params {
        if k.starts_with("TagSpecification.") {
            tags += 1;
            if tags > SHOWN_TAG_MEMBERS {
                continue;
            }
        }
        parts.push(format!("{k}={:?}", clip(v)));
    }
    if tags > SHOWN_TAG_MEMBERS {
        parts.push(format!("(+{} TagSpecification members)", tags - SHOWN_TAG_MEMBERS));
    }
    parts.join(" ")
}

fn clip(v: &str) -> String {
    const MAX: usize = 40;
    let n = v.chars().count();
    if n <= MAX { v.to_owned() } else { format!("{}…({n} chars)", v.chars().take(MAX).collect::<String>()) }
}

fn outcome(status: u16, reply: &Reply) -> String {
    match reply {
        Reply::Success { image_id, .. } => format!("HTTP {status} {}", image_id.as_deref().unwrap_or("(no imageId)")),
        Reply::Error { code, .. } => format!("HTTP {status} {code}"),
        Reply::Unparseable { reason, .. } => format!("HTTP {status}, unparseable ({reason})"),
    }
}

fn expected(p: &Prediction) -> String {
    let mut all: Vec<String> = p
        .outcomes
        .iter()
        .map(|o| match &o.code {
            Some(c) => format!("{} {c}", o.status),
            None => format!("{} success", o.status),
        })
        .collect();
    all.dedup();
    all.join(" or ")
}

fn head(body: &[u8]) -> String {
    format!("body starts {:?}", String::from_utf8_lossy(&body[..body.len().min(200)]))
}

/// A bash comment line (newlines in `text` become spaces).
fn comment(text: &str) -> String {
    format!("# {}\n", text.replace(['\n', '\r'], " "))
}

/// Reads a `DescribeImagesResponse`, keeping text as sent (no trimming), every EBS block
/// device's encryption, and the state as written. Never panics.
fn parse_describe_xml(xml: &[u8]) -> Result<Vec<Described>, String> {
    let text = std::str::from_utf8(xml).map_err(|e| format!("DescribeImages response is not UTF-8: {e}"))?;
    let mut reader = quick_xml::Reader::from_str(text.strip_prefix('\u{feff}').unwrap_or(text));
    let mut p = DescribeParser::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("unreadable DescribeImages response (byte {}): {e}", reader.buffer_position()))?;
        match event {
            Event::Eof => break,
            Event::Start(e) => p.open(e.local_name().as_ref().to_owned())?,
            Event::Empty(e) => {
                p.open(e.local_name().as_ref().to_owned())?;
                p.close();
            }
            Event::End(_) => p.close(),
            Event::Text(t) => p.text.push_str(&t.xml10_content()),
            Event::CData(t) => p.text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => p.text.push_str(&crate::wire::decode::resolve_ref(&r)),
            _ => {}
        }
    }
    if p.path.is_empty() && p.rooted {
        Ok(p.out)
    } else {
        Err("DescribeImages response without a DescribeImagesResponse root".into())
    }
}

#[derive(Default)]
struct DescribeParser {
    path: Vec<String>,
    rooted: bool,
    /// The image being read, with the depth of its `item`.
    cur: Option<(usize, Described)>,
    tag: (Option<String>, Option<String>),
    text: String,
    out: Vec<Described>,
}

impl DescribeParser {
    fn open(&mut self, name: String) -> Result<(), String> {
        if self.path.is_empty() {
            if name != "DescribeImagesResponse" {
                return Err(format!("unexpected root element <{name}> in the DescribeImages response"));
            }
            self.rooted = true;
        }
        if self.cur.is_none() && name == "item" && self.path.last().is_some_and(|p| p == "imagesSet") {
            self.cur = Some((self.path.len(), Described::default()));
        }
        self.path.push(name);
        self.text.clear();
        if let Some((depth, image)) = &mut self.cur {
            let rel: Vec<&str> = self.path[*depth + 1..].iter().map(String::as_str).collect();
            match rel.as_slice() {
                ["blockDeviceMapping", "item", "ebs"] => image.ebs_encrypted.push(None),
                ["tagSet", "item"] => self.tag = (None, None),
                _ => {}
            }
        }
        Ok(())
    }

    fn close(&mut self) {
        let value = std::mem::take(&mut self.text);
        if let Some((depth, image)) = &mut self.cur {
            let depth = *depth;
            let rel: Vec<&str> = self.path.get(depth + 1..).unwrap_or_default().iter().map(String::as_str).collect();
            match rel.as_slice() {
                ["imageId"] => image.image_id = value.trim().to_owned(),
                ["name"] => image.name = Some(value),
                ["description"] => image.description = Some(value),
                ["imageState"] => image.state = Some(value.trim().to_owned()),
                ["blockDeviceMapping", "item", "ebs", "encrypted"] => {
                    if let Some(last) = image.ebs_encrypted.last_mut() {
                        *last = Some(value.trim() == "true");
                    }
                }
                ["tagSet", "item", "key"] => self.tag.0 = Some(value),
                ["tagSet", "item", "value"] => self.tag.1 = Some(value),
                ["tagSet", "item"] => {
                    if let Some(k) = self.tag.0.take() {
                        image.tags.insert(k, self.tag.1.take().unwrap_or_default());
                    }
                }
                _ => {}
            }
            if self.path.len() == depth + 1
                && let Some((_, image)) = self.cur.take()
            {
                self.out.push(image);
            }
        }
        self.path.pop();
    }
}

/// Reads the json-envelope dialect's `{"success": true, "data": {"images": [...]}}`.
fn parse_describe_json(body: &[u8]) -> Result<Vec<Described>, String> {
    use serde_json::Value;
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("DescribeImages response is not JSON: {e}"))?;
    let images = v
        .get("data")
        .and_then(|d| d.get("images"))
        .and_then(Value::as_array)
        .ok_or("DescribeImages response without a `data.images` array")?;
    images
        .iter()
        .map(|i| {
            let text = |k: &str| i.get(k).and_then(Value::as_str).map(str::to_owned);
            Ok(Described {
                image_id: text("id").ok_or("a described image without a string `id`")?,
                name: text("name"),
                description: text("description"),
                state: text("state"),
                ebs_encrypted: match i.get("encrypted") {
                    Some(Value::Bool(b)) => vec![Some(*b)],
                    Some(_) => vec![None],
                    None => vec![],
                },
                tags: i
                    .get("tags")
                    .and_then(Value::as_object)
                    .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::run::Safety;
    use crate::serve;
    use crate::wire::Credentials;

    fn target(url: &str, dialect: Dialect) -> Target {
        Target {
            endpoint: url.to_owned(),
            region: "us-east-1".into(),
            dialect,
            credentials: Credentials::dummy(),
            dummy_credentials: true,
            timeout: Duration::from_secs(10),
            max_body: 1 << 20,
            retries: 0,
            backoff: Duration::from_millis(10),
            safety: Safety::default(),
            protocol: crate::run::Protocol::from_spec(&crate::spec::Spec::builtin().unwrap()),
        }
    }

    /// Runs `check` against a fresh embedded endpoint over the default world.
    fn against_embedded(dialect: Dialect, cfg: &StatefulConfig, skip: &BTreeSet<String>) -> StatefulReport {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let oracle = Arc::new(Oracle::builtin().unwrap());
        let world = World::default_world();
        let running =
            rt.block_on(serve::bind(SocketAddr::from(([127, 0, 0, 1], 0)), oracle.clone(), world.clone())).unwrap();
        let report = check(&target(&running.url(), dialect), &oracle, &world, cfg, skip);
        rt.block_on(running.shutdown());
        report
    }

    #[test]
    fn same_seed_same_sequences() {
        let oracle = Oracle::builtin().unwrap();
        let world = World::default_world();
        let inputs = Inputs::new(&oracle, &world);
        let draw = |seed| {
            let cfg = StatefulConfig { sequences: 20, max_len: 6, seed };
            let mut s = Sequences::new(&inputs, true, &cfg);
            (0..20)
                .map(|_| {
                    let rng = s.next_rng();
                    s.tree(&rng).unwrap().current()
                })
                .collect::<Vec<_>>()
        };
        let (a, b, c) = (draw(9), draw(9), draw(10));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|ops| (1..=6).contains(&ops.len())));
        // Drawing a sequence again (to shrink it) gives the same one.
        let cfg = StatefulConfig { sequences: 1, max_len: 6, seed: 9 };
        let mut s = Sequences::new(&inputs, true, &cfg);
        let rng = s.next_rng();
        assert_eq!(s.tree(&rng).unwrap().current(), s.tree(&rng).unwrap().current());
        assert_eq!(s.tree(&rng).unwrap().current(), a[0]);
    }

    #[test]
    fn describe_xml_keeps_text_and_reads_every_snapshot() {
        let xml = br#"<?xml version="1.0"?>
<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <imagesSet>
    <item>
      <imageId>ami-12345678</imageId>
      <imageState>weird</imageState>
      <name> spaced &amp; co </name>
      <description/>
      <blockDeviceMapping>
        <item><deviceName>/dev/xvda</deviceName><ebs><encrypted>true</encrypted></ebs></item>
        <item><deviceName>/dev/xvdb</deviceName><ebs><snapshotId>snap-1</snapshotId></ebs></item>
      </blockDeviceMapping>
      <tagSet>
        <item><key>k</key><value/></item>
        <item><key>e</key><value> v </value></item>
      </tagSet>
    </item>
    <item><imageId>ami-87654321</imageId><imageState>available</imageState></item>
  </imagesSet>
</DescribeImagesResponse>"#;
        let images = parse_describe_xml(xml).unwrap();
        assert_eq!(images.len(), 2);
        let i = &images[0];
        assert_eq!(i.image_id, "ami-12345678");
        assert_eq!(i.name.as_deref(), Some(" spaced & co "));
        assert_eq!(i.description.as_deref(), Some(""));
        assert_eq!(state_problem(i).as_deref(), Some("state \"weird\", not pending or available"));
        assert_eq!(i.ebs_encrypted, [Some(true), None]);
        assert_eq!(i.tags, BTreeMap::from([("k".into(), String::new()), ("e".into(), " v ".into())]));
        assert_eq!(images[1].state.as_deref(), Some("available"));
        assert!(images[1].tags.is_empty());
    }

    #[test]
    fn malformed_describe_replies_are_errors() {
        for bad in [
            &b""[..],
            b"<html><body>500</body></html>",
            b"<DescribeImagesResponse><imagesSet><item>",
            b"<DescribeImagesResponse><imagesSet></item></imagesSet></DescribeImagesResponse>",
            b"\xff\xfe",
        ] {
            assert!(parse_describe_xml(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        for bad in [&b"{}"[..], b"[]", br#"{"data":{"images":[{"id":1}]}}"#, b"nope"] {
            assert!(parse_describe_json(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn image_tags_are_those_of_image_specifications() {
        let params: Params = [
            ("TagSpecification.1.ResourceType", "snapshot"),
            ("TagSpecification.1.Tag.1.Key", "s"),
            ("TagSpecification.1.Tag.1.Value", "1"),
            ("TagSpecification.2.ResourceType", "image"),
            ("TagSpecification.2.Tag.1.Key", "a"),
            ("TagSpecification.2.Tag.1.Value", "x"),
            ("TagSpecification.2.Tag.10.Key", "b"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(image_tags(&params), BTreeMap::from([("a".into(), "x".into()), ("b".into(), String::new())]));
    }

    #[test]
    fn embedded_endpoint_holds_every_property() {
        let cfg = StatefulConfig { sequences: 30, max_len: 8, seed: 1 };
        let report = against_embedded(Dialect::Ec2Query, &cfg, &BTreeSet::new());
        assert_eq!(report.stopped, None);
        assert_eq!(report.sequences_run, 30);
        assert!(report.failures.is_empty(), "{:#?}", report.failures);
    }

    #[test]
    fn embedded_endpoint_in_the_json_envelope_dialect() {
        let cfg = StatefulConfig { sequences: 12, max_len: 8, seed: 2 };
        let report = against_embedded(Dialect::JsonEnvelope, &cfg, &BTreeSet::new());
        assert_eq!(report.stopped, None);
        assert_eq!(report.sequences_run, 12);
        assert!(report.failures.is_empty(), "{:#?}", report.failures);
    }

    #[test]
    fn real_aws_without_a_budget_stops_before_copying() {
        let oracle = Oracle::builtin().unwrap();
        let mut world = World::default_world();
        // No deregistered source: the first request sent would be a copy.
        world.images.retain(|i| i.state != ImageState::Deregistered);
        let mut t = target("http://127.0.0.1:9/", Dialect::Ec2Query);
        t.safety = Safety { force_dry_run: true, max_creates: 0 };
        let cfg = StatefulConfig { sequences: 5, max_len: 4, seed: 3 };
        let report = check(&t, &oracle, &world, &cfg, &BTreeSet::new());
        assert!(report.stopped.as_deref().is_some_and(|s| s.contains("budget")), "{report:?}");
        assert!(report.failures.is_empty());
    }

    /// A server that answers every CopyImage with a new ImageId, tokens or not, and every
    /// DescribeImages with a truncated document.
    fn start_forgetful() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().flatten().enumerate() {
                answer_forgetfully(stream, n as u64);
            }
        });
        url
    }

    fn answer_forgetfully(mut stream: TcpStream, n: u64) {
        let Some(body) = read_body(&stream) else { return };
        let reply = if body.starts_with(b"Action=DescribeImages") {
            "<DescribeImagesResponse><imagesSet><item><imageId>ami-".to_owned()
        } else {
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><CopyImageResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><imageId>ami-{:017x}</imageId></CopyImageResponse>"#,
                splitmix64(n)
            )
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            reply.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(reply.as_bytes());
    }

    fn read_body(stream: &TcpStream) -> Option<Vec<u8>> {
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
        Some(body)
    }

    #[test]
    fn token_ignoring_endpoint_fails_replay_in_two_steps() {
        let oracle = Oracle::builtin().unwrap();
        let world = World::default_world();
        let url = start_forgetful();
        let cfg = StatefulConfig { sequences: 10, max_len: 8, seed: 4 };
        let report = check(&target(&url, Dialect::Ec2Query), &oracle, &world, &cfg, &BTreeSet::new());
        assert_eq!(report.stopped, None);
        let f = report.failure(REPLAY_SAME_IMAGE_ID).unwrap_or_else(|| panic!("{:#?}", report.failures));
        assert_eq!(f.steps.len(), 2, "{:#?}", f.steps);
        assert!(f.steps[0].starts_with("1. Copy: CopyImage "), "{}", f.steps[0]);
        assert!(f.steps[1].starts_with("2. Replay of step 1 "), "{}", f.steps[1]);
        assert!(f.detail.starts_with("step 2: the replay of step 1 must return ami-"), "{}", f.detail);
        let curls: Vec<&str> = f.script.lines().filter(|l| l.starts_with("curl ")).collect();
        assert_eq!(curls.len(), 2, "{}", f.script);
        assert!(f.script.starts_with("#!/usr/bin/env bash\n"));
        assert!(f.script.contains("--user \"AKIAIOSFODNN7EXAMPLE:"), "{}", f.script);
        // The replay is the copy's request again, ClientToken included.
        let bodies: Vec<&str> = f.script.lines().filter(|l| l.contains("--data-binary")).collect();
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0], bodies[1]);
        // The unreadable DescribeImages answers are failures too, not crashes.
        for f in &report.failures {
            assert!(PROPERTIES.contains(&f.property.as_str()));
        }
        let bash = std::process::Command::new("bash").arg("-n").arg("-c").arg(&f.script).output().unwrap();
        assert!(bash.status.success(), "{}", String::from_utf8_lossy(&bash.stderr));
    }
}
