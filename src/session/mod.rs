//! A run session: a [`Plan`] resolved once from flags and environment, then executed by a
//! [`Session`] into one [`Outcome`] with the run's exit code.
//!
//! The session starts the embedded endpoint when no endpoint is given, checks the endpoint is
//! reachable, loads credentials, builds the world (`--discover`, `--setup`), runs the cases
//! through the report and the baseline, then the stateful checks. Diagnostics for people
//! (snapshot files written, diffs, unaccepted deviations) go to a writer the caller gives;
//! they are best effort, so a closed standard error does not stop a run.

mod baseline;
mod outcome;
pub mod plan;
mod reach;
pub mod safety;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;

use crate::generate::{Case, Generator};
use crate::oracle::Oracle;
use crate::report::{self, Sink, Summary};
use crate::run::discover::{DiscoverError, discover};
use crate::run::setup::{SetupError, setup};
use crate::run::stateful::{StatefulConfig, StatefulReport};
use crate::run::{Dialect, Protocol, Runner, Target};
use crate::serve::{self, EnvelopeCodes, EnvelopeError};
use crate::snapshot::{Baseline, BaselineError};
use crate::verdict::{CodeMap, SameCodes};
use crate::wire::{Credentials, WireError};
use crate::world::World;

pub use outcome::Outcome;
pub use plan::{CredentialSource, Endpoint, Env, Flags, Plan, PlanError};

/// Why a planned run could not be carried out (deviations are not errors: they are in the
/// [`Outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The embedded endpoint could not listen.
    #[error("cannot start the embedded endpoint")]
    Embedded(#[source] io::Error),
    /// No TCP connection to the endpoint.
    #[error("cannot reach the endpoint {url}")]
    Unreachable {
        /// The endpoint.
        url: String,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// No TCP connection to the proxy the requests would go through.
    #[error("cannot reach the proxy {host}:{port} (from HTTP_PROXY, HTTPS_PROXY or ALL_PROXY) for the endpoint {url}")]
    ProxyUnreachable {
        /// The proxy's host.
        host: String,
        /// The proxy's port.
        port: u16,
        /// The endpoint.
        url: String,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// The environment's credentials are unusable.
    #[error(transparent)]
    Credentials(#[from] WireError),
    /// The plan needs credentials from the environment, and it has none.
    #[error(
        "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials"
    )]
    NoCredentials,
    /// `--discover` failed.
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    /// `--setup` failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The world could not be written as JSON.
    #[error(transparent)]
    WorldJson(#[from] serde_json::Error),
    /// `--world-out` could not be written.
    #[error("{}: cannot write", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// A file or directory could not be created (the report, the baseline directory).
    #[error("{}: cannot create", path.display())]
    Create {
        /// The file or directory.
        path: PathBuf,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// The JSON envelope's code table is unusable.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The baseline is unusable.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// The baseline corpus's world is not one the spec allows.
    #[error(transparent)]
    World(#[from] crate::world::WorldError),
    /// The baseline has no corpus and is not to be rewritten.
    #[error("{}: no corpus; run once with --update-baseline to create the baseline", path.display())]
    NoCorpus {
        /// Where the corpus should be.
        path: PathBuf,
    },
    /// No cases can be generated (an unknown `--rule`, a world with nothing to copy).
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The report could not be written (a closed pipe among others).
    #[error(transparent)]
    Report(io::Error),
    /// The stateful checks' task ended abnormally.
    #[error("the stateful checks stopped")]
    Stateful(#[source] tokio::task::JoinError),
}

/// Executes a [`Plan`].
pub struct Session {
    oracle: Arc<Oracle>,
    plan: Plan,
    env: Env,
}

/// The endpoint a session talks to: its URL, and the embedded server when it runs one.
struct Connected {
    url: String,
    embedded: Option<serve::Running>,
}

impl Session {
    /// A session for `plan`; `env` is where credentials come from when the plan says so.
    pub fn new(oracle: Arc<Oracle>, plan: Plan, env: Env) -> Self {
        Session { oracle, plan, env }
    }

    /// Runs the plan: the cases, the baseline gate and the stateful checks, reported as they
    /// complete; `diag` gets the messages for people.
    pub async fn run(mut self, diag: &mut dyn Write) -> Result<Outcome, SessionError> {
        let connected = self.connect().await?;
        let target = self.target(&connected.url)?;
        let world = self.world(&target).await?;
        let codes: Arc<dyn CodeMap> = match self.plan.dialect {
            Dialect::Ec2Query => Arc::new(SameCodes),
            Dialect::JsonEnvelope => Arc::new(EnvelopeCodes::builtin()?),
        };
        let mut opened = match &self.plan.baseline {
            Some(b) => Some(baseline::open(&self.oracle, &self.plan, b, &world, diag)?),
            None => None,
        };
        let roles = role_names(&world);
        // The runner's mirror and the embedded endpoint change their worlds, so they have
        // copies; the generator is the world's only other holder (so it can use it as scratch
        // space) unless the stateful checks need it after the cases.
        let mirror = world.clone();
        let world = Arc::new(world);
        let stateful_world = self.plan.stateful.as_ref().map(|_| Arc::clone(&world));
        // A case the generator cannot build ends the cases; the error is the run's.
        let stuck = std::cell::Cell::new(None);
        let cases: Box<dyn Iterator<Item = Case> + '_> = match opened.as_mut() {
            Some((_, cases)) => Box::new(std::mem::take(cases).into_iter()),
            None => Box::new(
                Generator::new(&self.oracle, world, self.plan.seed, self.plan.only, self.plan.rule.as_deref())?
                    .take(self.plan.cases as usize)
                    .map_while(|c| c.map_err(|e| stuck.set(Some(e))).ok()),
            ),
        };
        let mut baseline = opened.map(|(b, _)| b);
        let runner = Runner::new(self.oracle.clone(), target.clone(), mirror, codes).map_err(SessionError::Client)?;
        let runner = Arc::new(runner);
        let mut sink = self.sink(&connected.url)?;
        let mut summary = self.cases(&runner, cases, &roles, baseline.as_mut(), &mut *sink).await?;
        if let Some(e) = stuck.take() {
            return Err(e.into());
        }
        if let (Some(b), Some(plan)) = (&baseline, &self.plan.baseline) {
            summary.baseline = Some(baseline::finish(b, plan, diag)?);
        }
        if let (Some(cfg), Some(world)) = (&self.plan.stateful, stateful_world) {
            let world = Arc::unwrap_or_clone(world);
            summary.stateful = Some(self.stateful(cfg.clone(), target, world, baseline.as_ref()).await?);
        }
        summary.retries = runner.counters.retries.load(Ordering::Relaxed);
        summary.requests = runner.counters.requests.load(Ordering::Relaxed);
        sink.finish(&summary).map_err(SessionError::Report)?;
        if let Some(running) = connected.embedded {
            running.shutdown().await;
        }
        Ok(Outcome { summary })
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
                let found = Credentials::from_env(&|k| self.env.var(k))?;
                (found.ok_or(SessionError::NoCredentials)?, false)
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

    /// The world the cases run against: the plan's, or what `--discover` or `--setup` found;
    /// written out when asked.
    async fn world(&mut self, target: &Target) -> Result<World, SessionError> {
        // Taken, not copied: nothing reads the plan's world after this, and a world can be large.
        let mut world = std::mem::replace(&mut self.plan.world, World::new("", "", vec![]));
        if !self.plan.discover.is_empty() {
            world = discover(target, &world.account.clone(), &self.plan.discover).await?;
        }
        if let Some(second_region) = &self.plan.setup {
            world = setup(target, &world.account.clone(), second_region).await?;
        }
        if let Some(path) = &self.plan.world_out {
            let text = serde_json::to_string_pretty(&world)?;
            std::fs::write(path, text + "\n").map_err(|source| SessionError::Write { path: path.clone(), source })?;
        }
        Ok(world)
    }

    /// The report, to the plan's file or standard output.
    fn sink(&self, url: &str) -> Result<Box<dyn Sink>, SessionError> {
        let out: Box<dyn Write> = match &self.plan.output {
            Some(p) => {
                let file =
                    std::fs::File::create(p).map_err(|source| SessionError::Create { path: p.clone(), source })?;
                Box::new(io::BufWriter::new(file))
            }
            None => Box::new(io::BufWriter::new(io::stdout())),
        };
        Ok(report::sink(self.plan.format, out, url))
    }

    /// Runs the cases, each record to the report, the summary and the baseline.
    async fn cases(
        &self,
        runner: &Arc<Runner>,
        cases: impl Iterator<Item = Case>,
        roles: &BTreeMap<String, String>,
        mut baseline: Option<&mut Baseline>,
        sink: &mut dyn Sink,
    ) -> Result<Summary, SessionError> {
        let annotations = crate::snapshot::annotation_rules(self.oracle.spec());
        let progress = if self.plan.progress {
            indicatif::ProgressBar::new(self.plan.cases)
        } else {
            indicatif::ProgressBar::hidden()
        };
        let mut summary = Summary::default();
        // Cases that need a world the endpoint cannot be put in (an unauthorized caller) are not sent.
        let skipped = std::cell::Cell::new(0u64);
        let cases = cases.filter(|c| {
            let keep = c.world.is_none();
            skipped.set(skipped.get() + u64::from(!keep));
            keep
        });
        {
            let mut stream = pin!(runner.run(cases, self.plan.concurrency));
            while let Some(rec) = stream.next().await {
                summary.add(&rec);
                if let Some(b) = baseline.as_deref_mut() {
                    b.add(&rec, roles, &annotations);
                }
                sink.case(&rec).map_err(SessionError::Report)?;
                progress.inc(1);
            }
        }
        progress.finish_and_clear();
        summary.skipped += skipped.get();
        Ok(summary)
    }

    /// The stateful checks, skipping the properties the baseline accepts as failing.
    async fn stateful(
        &self,
        cfg: StatefulConfig,
        target: Target,
        world: World,
        baseline: Option<&Baseline>,
    ) -> Result<StatefulReport, SessionError> {
        let skip: BTreeSet<String> =
            baseline.map(|b| b.accepted_properties().iter().map(|p| p.property.clone()).collect()).unwrap_or_default();
        let oracle = self.oracle.clone();
        // The checks block (they drive their own requests); they run off the async workers.
        tokio::task::spawn_blocking(move || crate::run::stateful::check(&target, &oracle, &world, &cfg, &skip))
            .await
            .map_err(SessionError::Stateful)
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
