//! The plan of a run: flags and environment resolved once, every validation and default in
//! one place, before any request goes out.

use std::collections::HashMap;
use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::generate::Only;
use crate::report::Format;
use crate::run::stateful::StatefulConfig;
use crate::run::{Dialect, Safety};
use crate::spec::Spec;
use crate::world::{World, WorldError};

use super::safety;

/// What the user asked for: `run`'s flags as plain values (the command line's `RunArgs`
/// converted; see its help for each one).
#[derive(Clone, Debug)]
pub struct Flags {
    /// Endpoint URL; `None` (or empty) tests the embedded endpoint unless `AWS_ENDPOINT_URL`
    /// names one.
    pub endpoint: Option<String>,
    /// The endpoint's Region, ahead of `AWS_REGION`, `AWS_DEFAULT_REGION` and the world's.
    pub region: Option<String>,
    /// Wire dialect.
    pub dialect: Dialect,
    /// Requests in flight at once; `None` picks by endpoint.
    pub concurrency: Option<usize>,
    /// Seconds allowed for one request.
    pub timeout: f64,
    /// Largest reply body read, in bytes.
    pub max_body: usize,
    /// Retries for throttling and connection errors.
    pub retries: u32,
    /// Seed of the generated cases (and the stateful sequences).
    pub seed: u64,
    /// How many cases.
    pub cases: u64,
    /// Only valid or only invalid cases.
    pub only: Option<Only>,
    /// Only cases aimed at this rule id.
    pub rule: Option<String>,
    /// World file; the built-in world when `None`.
    pub world: Option<PathBuf>,
    /// Image ids to build the world from with DescribeImages.
    pub discover: Vec<String>,
    /// Prepare source images on the endpoint itself.
    pub setup: bool,
    /// With `setup`: the second Region.
    pub second_region: String,
    /// Where to write the world the run used.
    pub world_out: Option<PathBuf>,
    /// Report format.
    pub format: Format,
    /// Report file; standard output when `None`.
    pub output: Option<PathBuf>,
    /// No progress bar.
    pub quiet: bool,
    /// Sign requests to an emulator with the environment's credentials.
    pub use_env_credentials: bool,
    /// Real AWS: let requests that create images go out.
    pub live: bool,
    /// With `live`: at most this many of them.
    pub max_creates: Option<u64>,
    /// Baseline directory.
    pub baseline: Option<PathBuf>,
    /// Rewrite the baseline's snapshots.
    pub update_baseline: bool,
    /// Stateful sequences to check after the cases (0: none).
    pub stateful: u32,
    /// Longest stateful sequence.
    pub stateful_len: usize,
}

/// The environment a run reads: its variables and whether standard error is a terminal.
/// Passed in explicitly so that resolving a plan can be tested without touching the process.
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    stderr_is_terminal: bool,
}

impl Env {
    /// The process's environment (variables that are not valid UTF-8 are absent, as for
    /// `std::env::var`).
    pub fn from_process() -> Self {
        let vars = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Env { vars: vars.collect(), stderr_is_terminal: std::io::stderr().is_terminal() }
    }

    /// An environment of these variables.
    pub fn new<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
        stderr_is_terminal: bool,
    ) -> Self {
        Env { vars: vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect(), stderr_is_terminal }
    }

    /// A variable's value, empty or not.
    pub fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn nonempty(&self, name: &str) -> Option<String> {
        self.var(name).filter(|v| !v.is_empty())
    }
}

// Variables hold secrets: only their names are shown.
impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.vars.keys().collect();
        names.sort();
        f.debug_struct("Env").field("vars", &names).field("stderr_is_terminal", &self.stderr_is_terminal).finish()
    }
}

/// Flags or environment that do not make a run.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The world file cannot be used.
    #[error(transparent)]
    World(#[from] WorldError),
    /// The Region is in none of the spec's partitions.
    #[error(
        "Region {region:?} is not one the spec knows (specs/copy_image.toml [[partition]]); pass --region with a known one"
    )]
    UnknownRegion {
        /// The Region asked for.
        region: String,
    },
    /// `--timeout` out of range.
    #[error("--timeout {seconds}: give seconds between 0 and 3600")]
    Timeout {
        /// The seconds given.
        seconds: f64,
    },
    /// `--endpoint` does not parse as a URL.
    #[error("--endpoint {url:?}: not a URL ({reason})")]
    NotAUrl {
        /// The endpoint given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// `--endpoint` is not http(s) or has no host.
    #[error("--endpoint {url:?}: needs an http:// or https:// URL with a host")]
    NoHost {
        /// The endpoint given.
        url: String,
    },
    /// `--endpoint` carries a user name or password.
    #[error("--endpoint: credentials in the URL are not supported (they would be sent as the Host and printed)")]
    CredentialsInUrl,
    /// `--live` for an endpoint that is not AWS's.
    #[error("--live is for real AWS endpoints; {url} is not one")]
    LiveNotAws {
        /// The endpoint, or "the embedded endpoint".
        url: String,
    },
}

/// The endpoint a run tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// The embedded reference endpoint, started by the session on a free port.
    Embedded,
    /// An endpoint given by URL.
    Remote(Remote),
}

/// An endpoint given by URL, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// The URL as given.
    pub url: String,
    /// Its host, as the URL writes it.
    pub host: String,
    /// Its port, or the scheme's.
    pub port: u16,
    /// Whether it is AWS's own, where requests cost money.
    pub aws: bool,
}

/// Where the signing credentials come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    /// The public dummy ones (emulators).
    Dummy,
    /// The environment: key variables, or a profile in the credentials file.
    Environment,
}

/// A resolved run: what to test, how, with which cases, and what to report.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The world the run starts from, its Region the endpoint's.
    pub world: World,
    /// The endpoint tested.
    pub endpoint: Endpoint,
    /// Wire dialect.
    pub dialect: Dialect,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Largest reply body read.
    pub max_body: usize,
    /// Retries for throttling and connection errors.
    pub retries: u32,
    /// What keeps the run from creating resources on a real account.
    pub safety: Safety,
    /// Where the signing credentials come from.
    pub credentials: CredentialSource,
    /// Seed of the generated cases.
    pub seed: u64,
    /// How many cases are generated.
    pub cases: u64,
    /// Only valid or only invalid cases.
    pub only: Option<Only>,
    /// Only cases aimed at this rule id.
    pub rule: Option<String>,
    /// Image ids to build the world from with DescribeImages (none: keep the world).
    pub discover: Vec<String>,
    /// Prepare source images on the endpoint, with this second Region.
    pub setup: Option<String>,
    /// Where to write the world the run used.
    pub world_out: Option<PathBuf>,
    /// Report format.
    pub format: Format,
    /// Report file; standard output when `None`.
    pub output: Option<PathBuf>,
    /// Whether to show a progress bar.
    pub progress: bool,
    /// The baseline to gate on, and whether to rewrite it.
    pub baseline: Option<BaselinePlan>,
    /// The stateful checks to make after the cases.
    pub stateful: Option<StatefulConfig>,
}

/// A baseline directory and what to do with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaselinePlan {
    /// The directory.
    pub dir: PathBuf,
    /// Rewrite its snapshots (and create its corpus if absent).
    pub update: bool,
}

/// Requests in flight by default: emulators take many, AWS throttles.
const CONCURRENCY_EMULATOR: usize = 8;
const CONCURRENCY_AWS: usize = 2;
/// The longest `--timeout`, in seconds.
const MAX_TIMEOUT: f64 = 3600.0;

impl Plan {
    /// Resolves flags against the spec and the environment. Reads the world file, touches no
    /// network.
    pub fn resolve(flags: Flags, spec: &Spec, env: &Env) -> Result<Plan, PlanError> {
        let mut world = match &flags.world {
            Some(p) => World::load(p)?,
            None => World::default_world(),
        };
        let region =
            flags.region.clone().or_else(|| env.nonempty("AWS_REGION")).or_else(|| env.nonempty("AWS_DEFAULT_REGION"));
        if let Some(r) = region {
            world.region = r;
        }
        if spec.partition_of(&world.region).is_none() {
            return Err(PlanError::UnknownRegion { region: world.region });
        }
        if !(flags.timeout.is_finite() && flags.timeout > 0.0 && flags.timeout <= MAX_TIMEOUT) {
            return Err(PlanError::Timeout { seconds: flags.timeout });
        }
        let endpoint =
            match flags.endpoint.clone().filter(|e| !e.is_empty()).or_else(|| env.nonempty("AWS_ENDPOINT_URL")) {
                Some(url) => Endpoint::Remote(remote(url)?),
                None => Endpoint::Embedded,
            };
        let aws = matches!(&endpoint, Endpoint::Remote(r) if r.aws);
        let safety = safety::decide(aws, flags.live, flags.max_creates).ok_or_else(|| PlanError::LiveNotAws {
            url: match &endpoint {
                Endpoint::Remote(r) => r.url.clone(),
                Endpoint::Embedded => "the embedded endpoint".to_owned(),
            },
        })?;
        let credentials =
            if aws || flags.use_env_credentials { CredentialSource::Environment } else { CredentialSource::Dummy };
        let stateful = (flags.stateful > 0).then_some(StatefulConfig {
            sequences: flags.stateful,
            max_len: flags.stateful_len,
            seed: flags.seed,
        });
        Ok(Plan {
            world,
            endpoint,
            dialect: flags.dialect,
            concurrency: flags.concurrency.unwrap_or(if aws { CONCURRENCY_AWS } else { CONCURRENCY_EMULATOR }),
            timeout: Duration::from_secs_f64(flags.timeout),
            max_body: flags.max_body,
            retries: flags.retries,
            safety,
            credentials,
            seed: flags.seed,
            cases: flags.cases,
            only: flags.only,
            rule: flags.rule,
            discover: flags.discover,
            setup: flags.setup.then_some(flags.second_region),
            world_out: flags.world_out,
            format: flags.format,
            output: flags.output,
            progress: !flags.quiet && env.stderr_is_terminal,
            baseline: flags.baseline.map(|dir| BaselinePlan { dir, update: flags.update_baseline }),
            stateful,
        })
    }
}

/// Checks an endpoint URL: http(s), a host, no user name or password.
fn remote(url: String) -> Result<Remote, PlanError> {
    let parsed = match reqwest::Url::parse(&url) {
        Ok(u) => u,
        Err(e) => return Err(PlanError::NotAUrl { url, reason: e.to_string() }),
    };
    let host = parsed.host_str().filter(|_| matches!(parsed.scheme(), "http" | "https"));
    let Some(host) = host else { return Err(PlanError::NoHost { url }) };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(PlanError::CredentialsInUrl);
    }
    Ok(Remote {
        host: host.to_owned(),
        port: parsed.port_or_known_default().unwrap_or(80),
        aws: safety::is_aws_host(host),
        url,
    })
}

#[cfg(test)]
mod tests;
