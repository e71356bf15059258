//! A run session: a [`Plan`] resolved once from flags and environment, then executed by a
//! [`Session`] into one [`Outcome`] with the run's exit code.
//!
//! The session starts the embedded endpoint when no endpoint is given, checks the endpoint is
//! reachable, loads credentials, builds the world (`--discover`, `--setup`), runs the cases
//! through the report and the baseline, then the stateful checks. Diagnostics for people
//! (snapshot files written, diffs, unaccepted deviations) go to a writer the caller gives;
//! they are best effort, so a closed standard error does not stop a run.
//!
//! Everything the session writes (reports, diagnostics, snapshots, the corpus, the world
//! file) has the credentials the process holds redacted, whatever a server echoed. An
//! [`Interrupt`] (Ctrl-C) stops new cases from starting: the cases in flight finish, the
//! stateful checks and baseline steps not yet done are skipped, and the reports say so.

mod baseline;
pub mod cleanup;
mod error;
mod interrupt;
mod outcome;
mod partition;
pub mod plan;
mod reach;
pub mod safety;
mod shrink;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;

use crate::generate::{Case, GenerateError, Generator};
use crate::oracle::Oracle;
use crate::report::staged::Staged;
use crate::report::{self, Sink, Source, Summary};
use crate::run::discover::discover;
use crate::run::journal::{self, Journal, JournalError};
use crate::run::setup::setup;
use crate::run::stateful::{StatefulConfig, StatefulReport};
use crate::run::{Dialect, Protocol, Reproductions, Runner, Target};
use crate::serve::{self, EnvelopeCodes};
use crate::snapshot::Baseline;
use crate::verdict::{CodeMap, SameCodes};
use crate::wire::{Credentials, Redacting, Redactor};
use crate::world::World;

pub use error::{NoCredentials, SessionError};
pub use interrupt::Interrupt;
pub use outcome::Outcome;
pub use plan::{CredentialSource, Endpoint, Env, Flags, Plan, PlanError};

/// Executes a [`Plan`].
///
/// This is the library's only way to send requests, and a `Plan` comes only from
/// [`Plan::resolve`], so a library caller gets the command line's safety: a real AWS endpoint
/// gets nothing but DryRun requests unless the flags say `live` with a `max_creates` budget.
pub struct Session {
    oracle: Arc<Oracle>,
    plan: Plan,
    env: Env,
    interrupt: Interrupt,
    ctrl_c: bool,
}

/// The endpoint a session talks to: its URL, and the embedded server when it runs one.
struct Connected {
    url: String,
    embedded: Option<serve::Running>,
}

impl Session {
    /// A session for `plan`; `env` is where credentials come from when the plan says so.
    pub fn new(oracle: Arc<Oracle>, plan: Plan, env: Env) -> Self {
        Session { oracle, plan, env, interrupt: Interrupt::default(), ctrl_c: false }
    }

    /// Stops the run when `interrupt` is raised.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Self {
        self.interrupt = interrupt;
        self
    }

    /// Raises the interrupt on Ctrl-C (a second Ctrl-C ends the process); for the command
    /// line, not for a library caller whose process owns SIGINT.
    pub fn on_ctrl_c(mut self) -> Self {
        self.ctrl_c = true;
        self
    }

    /// Runs the plan: the cases, the baseline gate and the stateful checks, reported as they
    /// complete; `diag` gets the messages for people.
    pub async fn run(self, diag: &mut dyn Write) -> Result<Outcome, SessionError> {
        if self.ctrl_c {
            self.interrupt.listen_for_ctrl_c();
        }
        // The environment's credentials are redacted even when requests are signed with the
        // dummy ones: the process holds them. The dummy ones are published examples.
        let held = self.plan.env_credentials(&self.env).ok().flatten();
        let redactor = Redactor::new(held.as_ref());
        let mut diag = Redacting::new(diag, redactor.clone());
        let outcome = self.execute(&redactor, &mut diag).await;
        let _ = diag.flush();
        outcome
    }

    async fn execute(&self, redactor: &Redactor, diag: &mut dyn Write) -> Result<Outcome, SessionError> {
        // First, so that a run that fails at any step leaves no earlier run's report behind.
        let (out, staged) = self.output()?;
        let connected = self.connect().await?;
        let mut target = self.target(&connected.url)?;
        target.safety.journal = self.journal(&connected.url, redactor, diag)?;
        let world = self.world(&target, redactor).await?;
        let codes: Arc<dyn CodeMap> = match self.plan.dialect {
            Dialect::Ec2Query => Arc::new(SameCodes),
            Dialect::JsonEnvelope => Arc::new(EnvelopeCodes::builtin()?),
        };
        let mut opened = match &self.plan.baseline {
            Some(b) => Some(baseline::open(&self.oracle, &self.plan, b, &world, redactor, diag)?),
            None => None,
        };
        let stuck = Cell::new(None);
        let (cases, planned) = self.planned_cases(opened.as_mut(), &world, &stuck)?;
        let runner_journal = target.safety.journal.clone();
        let runner = self.runner(&target, &world, codes, redactor, &connected)?;
        let mut sink = report::sink(self.plan.format, Box::new(Redacting::new(out, redactor.clone())), &connected.url);
        let recorder = opened.as_mut().map(|o| &mut o.baseline);
        let (mut summary, next) = self.cases(&runner, cases, &world, recorder, &mut *sink).await?;
        if let Some(e) = stuck.take() {
            return Err(e.into());
        }
        let mut not_run = vec![];
        if let Some(id) = next {
            not_run.push(format!("{} cases from {id} on", planned.saturating_sub(summary.cases + summary.skipped)));
        }
        if let (Some(o), Some(plan)) = (&opened, &self.plan.baseline) {
            if self.interrupt.is_raised() {
                not_run.push(baseline::skipped(plan, diag));
            } else {
                summary.baseline = Some(baseline::finish(o, plan, redactor, diag)?);
            }
        }
        broken(runner_journal.as_deref())?;
        if let Some(cfg) = &self.plan.stateful {
            let accepted = opened.as_ref().map(|o| &o.baseline);
            summary.unchecked_properties = accepted
                .map(|b| b.accepted_properties())
                .unwrap_or_default()
                .iter()
                .map(|p| report::Unchecked { property: p.property.clone(), reason: p.reason.clone() })
                .collect();
            match self.stateful(cfg.clone(), target.clone(), world.clone(), accepted).await? {
                Some(report) => summary.stateful = Some(redactor.scrub(report)),
                None => not_run.push("the stateful checks".to_owned()),
            }
        }
        broken(runner_journal.as_deref())?;
        summary.dialect = match self.plan.dialect {
            Dialect::Ec2Query => "ec2-query",
            Dialect::JsonEnvelope => "json-envelope",
        }
        .to_owned();
        (summary.endpoint, summary.source, summary.shard) =
            (connected.url.clone(), Some(self.source()), self.plan.partition);
        summary.accepted_file = self.plan.baseline.as_ref().map(|b| b.dir.join("accepted.toml").display().to_string());
        summary.close(self.oracle.spec());
        self.reproductions(&mut summary, &runner, &target, &world, redactor, diag).await?;
        summary.retries = runner.counters.retries.load(Ordering::Relaxed);
        summary.requests = runner.counters.requests.load(Ordering::Relaxed);
        summary.earlier_names = runner.counters.earlier_names.load(Ordering::Relaxed);
        summary.earlier_unchecked = runner.counters.earlier_unchecked.load(Ordering::Relaxed);
        summary.earlier_unchecked_why = runner.counters.earlier_unchecked_why.get().cloned();
        if self.interrupt.is_raised() {
            (summary.interrupted, summary.planned, summary.not_run) = (true, Some(planned), not_run);
        }
        sink.finish(&summary).map_err(SessionError::Report)?;
        drop(sink);
        if let (Some(staged), Some(path)) = (staged, &self.plan.output) {
            staged.commit().map_err(|source| SessionError::Create { path: path.clone(), source })?;
        }
        if let Some(line) = summary.interruption() {
            let _ = writeln!(diag, "copyimage-conformance: {line}");
        }
        if let Some(running) = connected.embedded {
            running.shutdown().await;
        }
        Ok(Outcome { summary })
    }

    /// The runner of the cases, against the endpoint `connected`.
    fn runner(
        &self,
        target: &Target,
        world: &World,
        codes: Arc<dyn CodeMap>,
        redactor: &Redactor,
        connected: &Connected,
    ) -> Result<Arc<Runner>, SessionError> {
        let mut runner =
            Runner::new(self.oracle.clone(), target.clone(), world.clone(), codes).map_err(SessionError::Client)?;
        // Records are redacted where they are made, on the runner's workers, not here.
        runner = runner.redacting(redactor.clone());
        // Only a report that writes every case shows a conforming case's reproduction.
        if !self.plan.format.writes_every_case() {
            runner = runner.reproducing(Reproductions::Failing);
        }
        // Another endpoint may outlive the run and keep its copies and tokens: a per-run nonce
        // keeps the next run from meeting them. The embedded one starts afresh each run.
        if connected.embedded.is_none() {
            runner = runner.with_nonce(crate::run::nonce::Nonce::fresh());
        }
        Ok(Arc::new(runner))
    }

    /// The shrink stage on the findings not accepted (unless interrupted), then `--emit-tests`.
    async fn reproductions(
        &self,
        summary: &mut Summary,
        runner: &Runner,
        target: &Target,
        world: &World,
        redactor: &Redactor,
        diag: &mut dyn Write,
    ) -> Result<(), SessionError> {
        if !self.interrupt.is_raised() {
            let stage = shrink::Stage { oracle: &self.oracle, runner, target, world, interrupt: &self.interrupt };
            stage.run(&mut summary.findings, self.plan.shrink_budget).await;
        }
        match &self.plan.emit_tests {
            Some(dir) => self.emit(dir, summary, target, world, redactor, diag),
            None => Ok(()),
        }
    }

    /// `--emit-tests`: one pytest file per open finding a test can assert, into `dir`
    /// (created), redacted; their names are told on `diag`.
    fn emit(
        &self,
        dir: &std::path::Path,
        summary: &Summary,
        target: &Target,
        world: &World,
        redactor: &Redactor,
        diag: &mut dyn Write,
    ) -> Result<(), SessionError> {
        std::fs::create_dir_all(dir).map_err(|source| SessionError::Create { path: dir.to_owned(), source })?;
        let default_world = World::default_world();
        let cx = report::pytest::Context {
            spec: self.oracle.spec(),
            endpoint: &target.endpoint,
            region: &target.region,
            action: &target.protocol.action,
            version: &target.protocol.version,
            world,
            default_world: &default_world,
        };
        let files = report::pytest::files(&cx, &summary.findings);
        for (name, text) in &files {
            let path = dir.join(name);
            std::fs::write(&path, redactor.text(text).as_bytes())
                .map_err(|source| SessionError::Write { path: path.clone(), source })?;
        }
        let _ = writeln!(diag, "emitted {} pytest files into {}", files.len(), dir.display());
        Ok(())
    }

    /// The cases to run, the baseline's corpus or generated ones, and how many they are.
    fn planned_cases<'a>(
        &'a self,
        opened: Option<&mut baseline::Opened>,
        world: &World,
        stuck: &'a Cell<Option<GenerateError>>,
    ) -> Result<(Box<dyn Iterator<Item = Case> + 'a>, u64), SessionError> {
        let shard = self.plan.partition;
        if let Some(o) = opened {
            let mut cases = std::mem::take(&mut o.cases);
            if let Some(shard) = shard {
                let kept = partition::members(shard, cases.iter());
                cases = in_shard(kept, cases.into_iter()).collect();
                // The shard's cases are compared with their entries of the snapshots only.
                o.baseline.only_cases(cases.iter().map(|c| c.id.clone()).collect());
            }
            let n = cases.len() as u64;
            return Ok((Box::new(cases.into_iter()), n));
        }
        let plan = &self.plan;
        // The runner predicts each request against its mirror; the generator need not.
        let generator = Generator::new(&self.oracle, world.clone(), plan.seed, plan.only, plan.rule.as_deref())
            .map_err(|e| self.named_world(e))?
            .unpredicted();
        // A case the generator cannot build ends the cases; the error is the run's.
        let cases = generator.take(plan.cases as usize).map_while(|c| c.map_err(|e| stuck.set(Some(e))).ok());
        let Some(shard) = shard else { return Ok((Box::new(cases), plan.cases)) };
        // Every shard generates the whole run twice, so that case i is the same case in each:
        // once to group the cases (see `partition`), then to send its own. A case the
        // generator cannot build ends both passes at the same place.
        let again = Generator::new(&self.oracle, world.clone(), plan.seed, plan.only, plan.rule.as_deref())?;
        let all = again.take(plan.cases as usize).map_while(Result::ok);
        let kept = partition::members(shard, all);
        let planned = kept.iter().filter(|k| **k).count() as u64;
        Ok((Box::new(in_shard(kept, cases)), planned))
    }

    /// What the run's cases come from, for the report (and for `merge` to tell runs apart).
    fn source(&self) -> Source {
        let plan = &self.plan;
        Source {
            seed: plan.seed,
            cases: plan.cases,
            only: plan.only.map(|o| format!("{o:?}").to_lowercase()),
            rule: plan.rule.clone(),
            corpus: plan.baseline.as_ref().map(|b| b.dir.display().to_string()),
            stateful: plan.stateful.as_ref().map_or(0, |s| s.sequences),
        }
    }

    /// Starts the embedded endpoint, or checks that the given one (or the proxy in front of it)
    /// takes connections.
    async fn connect(&self) -> Result<Connected, SessionError> {
        match &self.plan.endpoint {
            Endpoint::Embedded => {
                let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
                let running = serve::bind(any_port, self.oracle.clone(), self.plan.world.clone())
                    .await
                    .map_err(SessionError::Embedded)?;
                Ok(Connected { url: running.url(), embedded: Some(running) })
            }
            Endpoint::Remote(remote) => {
                let url = remote.url.clone();
                match reach::first_hop(remote, &self.env) {
                    reach::Hop::Direct => reach::reachable(&remote.host, remote.port)
                        .await
                        .map_err(|source| SessionError::Unreachable { url: url.clone(), source })?,
                    reach::Hop::Proxy { host, port } => reach::reachable(&host, port)
                        .await
                        .map_err(|source| SessionError::ProxyUnreachable { host, port, url: url.clone(), source })?,
                }
                Ok(Connected { url, embedded: None })
            }
        }
    }

    /// How to reach and sign for the endpoint at `url`.
    fn target(&self, url: &str) -> Result<Target, SessionError> {
        let plan = &self.plan;
        let (credentials, dummy) = match plan.credentials {
            CredentialSource::Dummy => (Credentials::dummy(), true),
            CredentialSource::Environment => {
                let found = plan.env_credentials(&self.env)?;
                (found.ok_or(NoCredentials)?, false)
            }
        };
        Ok(Target {
            endpoint: url.to_owned(),
            region: plan.world.region.clone(),
            dialect: plan.dialect,
            credentials,
            dummy_credentials: dummy,
            timeout: plan.timeout,
            max_body: plan.max_body,
            retries: plan.retries,
            backoff: Duration::from_millis(200),
            safety: plan.safety.clone(),
            protocol: Protocol::from_spec(self.oracle.spec()),
        })
    }

    /// The journal of live calls, when the run may make some: `--journal`, or by default a
    /// file named after the run id for `--live`. Its path is told on `diag`.
    fn journal(
        &self,
        url: &str,
        redactor: &Redactor,
        diag: &mut dyn Write,
    ) -> Result<Option<Arc<Journal>>, SessionError> {
        let run_id = journal::new_run_id();
        let path = match (&self.plan.journal, self.plan.live) {
            (Some(path), _) => path.clone(),
            (None, true) => journal::default_path(&run_id),
            (None, false) => return Ok(None),
        };
        let journal = Journal::create(&path, &run_id, url, &self.plan.world.region, redactor.clone())?;
        // Best effort, as every diagnostic: the journal itself is written.
        let _ = writeln!(diag, "journal of live calls: {} (run id {run_id})", path.display());
        Ok(Some(Arc::new(journal)))
    }

    /// `e`, naming the world when it is the world's fault.
    fn named_world(&self, e: GenerateError) -> SessionError {
        match e {
            GenerateError::NoCopyableImage => SessionError::NothingToCopy { origin: self.world_origin(), source: e },
            other => other.into(),
        }
    }

    /// Where the run's world came from, for messages: its file, the built-in world, or what
    /// `--setup` or `--discover` found.
    fn world_origin(&self) -> String {
        let plan = &self.plan;
        if plan.setup.is_some() {
            "the world --setup made".to_owned()
        } else if !plan.discover.is_empty() {
            "the world --discover found".to_owned()
        } else {
            plan.world_origin.clone()
        }
    }

    /// The world the cases run against: the plan's, or what `--discover` or `--setup` found;
    /// written out when asked.
    async fn world(&self, target: &Target, redactor: &Redactor) -> Result<World, SessionError> {
        let mut world = self.plan.world.clone();
        if !self.plan.discover.is_empty() {
            world = discover(target, &world.account.clone(), &self.plan.discover).await?;
        }
        if let Some(second_region) = &self.plan.setup {
            world = setup(target, &world.account.clone(), second_region).await?;
        }
        if let Some(path) = &self.plan.world_out {
            let text = serde_json::to_string_pretty(&world)?;
            std::fs::write(path, redactor.text(&text).into_owned() + "\n")
                .map_err(|source| SessionError::Write { path: path.clone(), source })?;
        }
        Ok(world)
    }

    /// Where the report goes: the plan's file or standard output. A file is written beside its
    /// path and put in place once the report is whole (an earlier report there goes at once),
    /// so a run that fails or is killed leaves no report a `merge` would take for one.
    fn output(&self) -> Result<(Box<dyn Write>, Option<Staged>), SessionError> {
        Ok(match &self.plan.output {
            Some(p) => {
                let (staged, out) = Staged::create(p, report::staged::Before::Removed)
                    .map_err(|source| SessionError::Create { path: p.clone(), source })?;
                (out, Some(staged))
            }
            None => (Box::new(io::BufWriter::new(io::stdout())), None),
        })
    }

    /// Runs the cases, each record (redacted by the runner) to the report, the summary and the baseline,
    /// until they end or the run is interrupted; then the id of the first case not sent.
    async fn cases(
        &self,
        runner: &Arc<Runner>,
        cases: impl Iterator<Item = Case>,
        world: &World,
        mut baseline: Option<&mut Baseline>,
        sink: &mut dyn Sink,
    ) -> Result<(Summary, Option<String>), SessionError> {
        let annotations = crate::snapshot::annotation_rules(self.oracle.spec());
        let roles = role_names(world);
        let progress = if self.plan.progress {
            indicatif::ProgressBar::new(self.plan.cases)
        } else {
            indicatif::ProgressBar::hidden()
        };
        let mut summary = Summary::default();
        // Cases that need a world the endpoint cannot be put in (an unauthorized caller) are not
        // sent; they are counted by reason.
        let skipped = std::cell::RefCell::new(BTreeMap::<String, u64>::new());
        // The runner takes a case only a little before a request slot is free for it, so once
        // interrupted no new case is taken; the few taken finish with the ones in flight.
        let next = std::cell::Cell::new(None);
        let cases = cases.take_while(|c| {
            let go = !self.interrupt.is_raised();
            if !go {
                next.set(Some(c.id.clone()));
            }
            go
        });
        let cases = cases.filter(|c| {
            let Some(world) = &c.world else { return true };
            *skipped.borrow_mut().entry(skip_reason(&c.target, world)).or_default() += 1;
            false
        });
        {
            let mut stream = pin!(runner.run(cases, self.plan.concurrency));
            while let Some(rec) = stream.next().await {
                let accepted = baseline.as_deref().and_then(|b| b.accepting(&rec, &annotations));
                summary.add(&rec, accepted.map(|a| a.reason.as_str()));
                if let Some(b) = baseline.as_deref_mut() {
                    b.add(&rec, &roles, &annotations);
                }
                sink.case(&rec).map_err(SessionError::Report)?;
                progress.inc(1);
            }
        }
        progress.finish_and_clear();
        for (reason, n) in skipped.take() {
            summary.skip(&reason, n);
        }
        Ok((summary, next.take()))
    }

    /// The stateful checks, skipping the properties the baseline accepts as failing; `None`
    /// when the run is interrupted before or while they run.
    async fn stateful(
        &self,
        cfg: StatefulConfig,
        target: Target,
        world: World,
        baseline: Option<&Baseline>,
    ) -> Result<Option<StatefulReport>, SessionError> {
        if self.interrupt.is_raised() {
            return Ok(None);
        }
        let skip: BTreeSet<String> =
            baseline.map(|b| b.accepted_properties().iter().map(|p| p.property.clone()).collect()).unwrap_or_default();
        let oracle = self.oracle.clone();
        let shard = self.plan.partition;
        let origin = self.world_origin();
        // The checks block (they drive their own requests); they run off the async workers.
        let checks = tokio::task::spawn_blocking(move || {
            let keep = |i: u32| shard.is_none_or(|s| s.keeps(u64::from(i), &format!("sequence-{i:06}")));
            crate::run::stateful::check_some(&target, &oracle, &world, &origin, &cfg, &skip, &keep)
        });
        // The checks cannot be stopped between sequences from here: interrupted, they are left
        // to run out on their thread (the command line does not wait for it) unreported.
        tokio::select! {
            joined = checks => joined.map(Some).map_err(SessionError::Stateful),
            () = self.interrupt.raised() => Ok(None),
        }
    }
}

/// The cases `kept` keeps, by their position in the whole run.
fn in_shard(kept: Vec<bool>, cases: impl Iterator<Item = Case>) -> impl Iterator<Item = Case> {
    cases.enumerate().filter(move |(i, _)| kept.get(*i).copied().unwrap_or(false)).map(|(_, c)| c)
}

/// Ends the run once a journal write has failed: the calls after it were refused, not sent.
fn broken(journal: Option<&Journal>) -> Result<(), SessionError> {
    match journal.filter(|j| j.is_broken()) {
        Some(j) => Err(SessionError::Journal(JournalError::Broken { path: j.path().to_owned() })),
        None => Ok(()),
    }
}

/// Why a case that needs its own `world` is not sent.
fn skip_reason(target: &str, world: &World) -> String {
    if world.authorized {
        format!("{target}: needs a world the endpoint cannot be put in from outside")
    } else {
        format!("{target}: needs a caller without permission to copy, which the endpoint cannot be made to deny")
    }
}

/// Role images' ids and names, which snapshots show by role.
fn role_names(world: &World) -> BTreeMap<String, String> {
    world
        .images
        .iter()
        .filter_map(|i| Some((i, i.role.clone()?)))
        .flat_map(|(i, role)| [Some((i.image_id.clone(), role.clone())), i.name.clone().map(|n| (n, role))])
        .flatten()
        .collect()
}
