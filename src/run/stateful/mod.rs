//! Stateful property checks against a live endpoint: seeded sequences of copies, idempotent
//! replays, changed replays, look-ups and copies of a deregistered source, each step checked
//! against a named property ([`crate::run::properties`]). A failing sequence is shrunk to its
//! shortest and reported with a bash script that sends it again.
//!
//! The endpoint keeps its state from one sequence to the next (and from one shrinking attempt
//! to the next), so every run of a sequence gets its own ClientTokens and Names: a per-check
//! nonce, the run number and the step number. The sequences themselves (which steps, which
//! parameters) depend only on the seed.
//!
//! By role: [`ops`] draws the sequences, [`session`] runs them against the endpoint and
//! [`trace`] records what a run did, [`checks`] holds the properties a described copy must
//! have, [`shrink`] makes a failing sequence shorter and plainer, [`script`] writes what a
//! failure shows.

mod checks;
mod ops;
mod script;
mod session;
mod shrink;
#[cfg(test)]
mod tests;
mod trace;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::generate::strategy::Inputs;
use crate::oracle::Oracle;
use crate::run::properties::PROPERTIES;
use crate::run::{Counters, Dialect, SendError, Target, send};
use crate::wire::{CodeMap, EnvelopeCodes, EnvelopeError, SameCodes};
use crate::world::{ImageState, World};
use ops::{Sequences, nonce};
use session::Session;

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

/// Why the checks cannot go on; [`StatefulReport::stopped`] says it.
#[derive(Debug, thiserror::Error)]
enum Stop {
    /// No runtime to drive the requests.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// No HTTP client.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The json-envelope code table is unusable.
    #[error(transparent)]
    Codes(EnvelopeError),
    /// Nothing to copy in the world named (its file, the built-in world, or what `--discover`
    /// or `--setup` found).
    #[error("{0}: the world has no source image that a minimal CopyImage request copies successfully")]
    NothingToCopy(String),
    /// proptest could not draw a sequence.
    #[error("cannot draw a sequence: {0}")]
    Draw(proptest::test_runner::Reason),
    /// The endpoint did not answer.
    #[error("no answer from {endpoint}: {error}")]
    NoAnswer {
        /// The endpoint.
        endpoint: String,
        /// Why, after retries.
        error: SendError,
    },
    /// Real AWS: the creation budget is spent.
    #[error("stopped: the stateful checks make real copies, and the creation budget ({0}) is spent")]
    Budget(u64),
}

/// Every sequence: [`check_some`] keeping all of them.
// Sessions call `check_some` (a run may be one shard); the tests check every sequence.
#[cfg(test)]
pub fn check(
    target: &Target,
    oracle: &Oracle,
    world: &World,
    cfg: &StatefulConfig,
    skip: &BTreeSet<String>,
) -> StatefulReport {
    check_some(target, oracle, world, "the test world", cfg, skip, &|_| true)
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
/// Copies are real. With `target.safety.force_dry_run` (real AWS), every copy and replay
/// spends from the run's one budget (shared with the cases and `--setup`), shrinking
/// included; once it is spent the checks stop and say so in [`StatefulReport::stopped`].
///
/// Only the sequences whose index (from 0) `keep` keeps run: one shard's share
/// (`--partition`). Every sequence is still drawn, so each has the steps it has in a whole run.
/// `world_origin` names the world (its file, or what `--discover` or `--setup` found) when it
/// has nothing to copy.
pub fn check_some(
    target: &Target,
    oracle: &Oracle,
    world: &World,
    world_origin: &str,
    cfg: &StatefulConfig,
    skip: &BTreeSet<String>,
    keep: &(dyn Fn(u32) -> bool + Sync),
) -> StatefulReport {
    let here = || match start(target, oracle, world, world_origin, cfg) {
        Ok((mut session, mut sequences)) => session.explore(&mut sequences, cfg, skip, keep),
        Err(why) => StatefulReport { stopped: Some(why.to_string()), ..StatefulReport::default() },
    };
    std::thread::scope(|s| match s.spawn(here).join() {
        Ok(report) => report,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// A session against the target, on a runtime of its own, and the sequences to run.
fn start<'a>(
    target: &'a Target,
    oracle: &'a Oracle,
    world: &World,
    world_origin: &str,
    cfg: &StatefulConfig,
) -> Result<(Session<'a>, Sequences), Stop> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Stop::Runtime)?;
    let client = {
        let _in_runtime = rt.enter();
        send::Sender::new(target).map_err(Stop::Client)?
    };
    let codes: Box<dyn CodeMap> = match target.dialect {
        Dialect::Ec2Query => Box::new(SameCodes),
        Dialect::JsonEnvelope => Box::new(EnvelopeCodes::builtin().map_err(Stop::Codes)?),
    };
    let inputs = Inputs::new(oracle, world);
    if inputs.copyable.is_empty() {
        return Err(Stop::NothingToCopy(world_origin.to_owned()));
    }
    let deregistered: Vec<(String, String)> = world
        .images
        .iter()
        .filter(|i| i.state == ImageState::Deregistered && i.visible && !i.image_id.is_empty())
        .map(|i| (i.image_id.clone(), i.region.clone()))
        .collect();
    let sequences = Sequences::new(&inputs, !deregistered.is_empty(), cfg);
    let session = Session {
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
    };
    Ok((session, sequences))
}

impl Session<'_> {
    /// Runs the sequences, shrinking each property's first failure.
    fn explore(
        &mut self,
        sequences: &mut Sequences,
        cfg: &StatefulConfig,
        skip: &BTreeSet<String>,
        keep: &dyn Fn(u32) -> bool,
    ) -> StatefulReport {
        let mut report = StatefulReport::default();
        let mut done: BTreeSet<&'static str> = BTreeSet::new();
        'sequences: for index in 0..cfg.sequences {
            let rng = sequences.next_rng();
            if !keep(index) {
                continue;
            }
            let ops = match sequences.tree(&rng) {
                Ok(t) => t.current(),
                Err(e) => {
                    report.stopped = Some(e.to_string());
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
                        report.stopped = Some(why.to_string());
                        break 'sequences;
                    }
                };
                let Some(property) = trace.failure.as_ref().map(|f| f.property) else { break };
                let tree = match sequences.tree(&rng) {
                    Ok(t) => t,
                    Err(e) => {
                        report.stopped = Some(e.to_string());
                        break 'sequences;
                    }
                };
                let (failure, stop) = self.shrink(tree, property, ops.clone(), trace);
                report.failures.extend(failure);
                done.insert(property);
                if let Some(why) = stop {
                    report.stopped = Some(why.to_string());
                    break 'sequences;
                }
            }
            report.sequences_run += 1;
        }
        report
    }
}
