//! The plan of a run: flags and environment resolved once, every validation and default in
//! one place, before any request goes out.

use std::collections::HashMap;
use std::fmt;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::generate::Only;
use crate::report::{Format, Shard};
use crate::run::stateful::StatefulConfig;
use crate::run::{Dialect, Safety};
use crate::spec::Spec;
use crate::wire::{Credentials, WireError};
use crate::world::{DEFAULT_WORLD_ORIGIN, World};

use super::safety::{self, AwsHosts};

mod error;
mod profile;
pub use error::PlanError;
pub use profile::Profile;
pub(super) use profile::{env_credentials, resolve as resolve_profile};

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
    /// Threads of the async runtime; `None` for the default (see [`Plan::threads`]).
    pub threads: Option<usize>,
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
    /// Only cases aimed at this rule id: the id, or a unique prefix of it (`R07`).
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
    /// With `use_env_credentials`: the endpoint is not AWS, though its host is not known to be
    /// an emulator's (an IP literal, an unknown name).
    pub not_aws: bool,
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
    /// The journal of live calls; live runs write one in the current directory by default.
    pub journal: Option<PathBuf>,
    /// `--partition K/N` (or `count:K/N`, `hash:K/N`): send only shard K of N of the cases
    /// and stateful sequences.
    pub partition: Option<String>,
    /// The named profile of the shared credentials and config files (`--profile`), ahead of
    /// `AWS_PROFILE`: its keys sign when the environment's credentials are used, its Region
    /// counts after `AWS_REGION` and `AWS_DEFAULT_REGION`.
    pub profile: Option<String>,
    /// Requests the shrink stage may spend on the findings not accepted (0: no shrinking).
    pub shrink_budget: u64,
    /// Where to write one pytest file per finding not accepted.
    pub emit_tests: Option<PathBuf>,
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

    /// A variable's value, when set and not empty.
    pub(crate) fn nonempty(&self, name: &str) -> Option<String> {
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
    /// Whether it counts as AWS's, where requests cost money (see [`safety`]): every request
    /// is then a DryRun unless `--live` allows creating.
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
///
/// Only [`Plan::resolve`] makes one, and its fields are the crate's: a library caller cannot
/// alter a resolved plan, so every safety decision `resolve` took (AWS hosts, DryRun forcing,
/// the `--live` budget) holds when a `Session` executes it.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The world the run starts from, its Region the endpoint's.
    pub(crate) world: World,
    /// Where it came from: the world file, or the built-in world's name.
    pub(crate) world_origin: String,
    /// The endpoint tested.
    pub(crate) endpoint: Endpoint,
    /// Wire dialect.
    pub(crate) dialect: Dialect,
    /// Requests in flight at once.
    pub(crate) concurrency: usize,
    /// Threads of the async runtime the run is executed on.
    pub(crate) threads: usize,
    /// Time allowed for one request.
    pub(crate) timeout: Duration,
    /// Largest reply body read.
    pub(crate) max_body: usize,
    /// Retries for throttling and connection errors.
    pub(crate) retries: u32,
    /// What keeps the run from creating resources on a real account.
    pub(crate) safety: Safety,
    /// Where the signing credentials come from.
    pub(crate) credentials: CredentialSource,
    /// The named profile (`--profile`, `AWS_PROFILE`), when one is named.
    pub(crate) profile: Option<Profile>,
    /// Seed of the generated cases.
    pub(crate) seed: u64,
    /// How many cases are generated.
    pub(crate) cases: u64,
    /// Only valid or only invalid cases.
    pub(crate) only: Option<Only>,
    /// Only cases aimed at this rule id.
    pub(crate) rule: Option<String>,
    /// Image ids to build the world from with DescribeImages (none: keep the world).
    pub(crate) discover: Vec<String>,
    /// Prepare source images on the endpoint, with this second Region.
    pub(crate) setup: Option<String>,
    /// Where to write the world the run used.
    pub(crate) world_out: Option<PathBuf>,
    /// Report format.
    pub(crate) format: Format,
    /// Report file; standard output when `None`.
    pub(crate) output: Option<PathBuf>,
    /// Whether to show a progress bar.
    pub(crate) progress: bool,
    /// The baseline to gate on, and whether to rewrite it.
    pub(crate) baseline: Option<BaselinePlan>,
    /// The stateful checks to make after the cases.
    pub(crate) stateful: Option<StatefulConfig>,
    /// Real AWS with `--live`: calls that create resources may go out, so they are journaled.
    pub(crate) live: bool,
    /// Where to journal live calls (`--journal`); with `live` and none given, a file named
    /// after the run id in the current directory.
    pub(crate) journal: Option<PathBuf>,
    /// The shard of the cases and stateful sequences to send (`--partition`); all when `None`.
    pub(crate) partition: Option<Shard>,
    /// Requests the shrink stage may spend (`--shrink-budget`).
    pub(crate) shrink_budget: u64,
    /// The directory of the emitted pytest files (`--emit-tests`).
    pub(crate) emit_tests: Option<PathBuf>,
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
/// The runtime's threads when `--threads` is not given. A client that only signs, sends and
/// judges spends less CPU per request on one thread than on several (no tasks handed between
/// threads, no cross-thread wake-ups), and one thread keeps up with over ten thousand requests
/// a second. Measured on 2 cores, this held with the embedded endpoint in the same process too.
const THREADS_DEFAULT: usize = 1;
/// The longest `--timeout`, in seconds.
const MAX_TIMEOUT: f64 = 3600.0;

/// Bounds of the numeric flags, inclusive: `(flag, least, most, the range in words)`. Wider
/// values are mistakes (a 0 that would silently mean 1 or nothing) or would swamp an endpoint
/// or the machine; `--help` shows the same numbers.
const CONCURRENCY: (&str, u64, u64, &str) = ("--concurrency", 1, 1024, "1 to 1024");
const THREADS: (&str, u64, u64, &str) = ("--threads", 1, 256, "1 to 256");
const CASES: (&str, u64, u64, &str) = ("--cases", 1, 10_000_000, "1 to 10000000");
const RETRIES: (&str, u64, u64, &str) = ("--retries", 0, 10, "0 to 10");
const STATEFUL: (&str, u64, u64, &str) = ("--stateful", 0, 100_000, "0 to 100000");
const STATEFUL_LEN: (&str, u64, u64, &str) = ("--stateful-len", 1, 64, "1 to 64");
// Below 1 KiB even AWS's own error replies would count as oversized.
const MAX_BODY: (&str, u64, u64, &str) = ("--max-body", 1024, 1 << 30, "1024 to 1073741824");

/// The variables that hold signing credentials.
const CREDENTIAL_VARS: [&str; 3] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];

impl Plan {
    /// Resolves flags against the spec and the environment. Reads the world file, touches no
    /// network.
    pub fn resolve(flags: Flags, spec: &Spec, env: &Env) -> Result<Plan, PlanError> {
        let mut world = match &flags.world {
            Some(p) => World::load(p)?,
            None => World::default_world(),
        };
        let profile = profile::resolve(flags.profile.as_deref(), env)?;
        if let Some(r) = region(&flags, env, profile.as_ref()) {
            world.region = r;
        }
        if spec.partition_of(&world.region).is_none() {
            return Err(PlanError::UnknownRegion { region: world.region });
        }
        let origin = flags.world.as_ref().map_or_else(|| DEFAULT_WORLD_ORIGIN.to_owned(), |p| p.display().to_string());
        world.validate(spec, &origin)?;
        if !(flags.timeout.is_finite() && flags.timeout > 0.0 && flags.timeout <= MAX_TIMEOUT) {
            return Err(PlanError::Timeout { seconds: flags.timeout });
        }
        check_bounds(&flags)?;
        let partition = flags.partition.as_deref().map(Shard::parse).transpose()?;
        if partition.is_some() && flags.update_baseline {
            return Err(PlanError::PartitionUpdate);
        }
        let rule = rule(flags.rule.clone(), spec)?;
        let endpoint = endpoint(&flags, spec, env)?;
        if flags.setup && endpoint == Endpoint::Embedded {
            return Err(PlanError::SetupNeedsEndpoint);
        }
        let aws = matches!(&endpoint, Endpoint::Remote(r) if r.aws);
        let safety = live_safety(&flags, &endpoint, aws)?;
        let credentials =
            if aws || flags.use_env_credentials { CredentialSource::Environment } else { CredentialSource::Dummy };
        if credentials == CredentialSource::Environment {
            check_credential_vars(env)?;
        }
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
            threads: flags.threads.unwrap_or(THREADS_DEFAULT),
            timeout: Duration::from_secs_f64(flags.timeout),
            max_body: flags.max_body,
            retries: flags.retries,
            safety,
            credentials,
            profile,
            seed: flags.seed,
            cases: flags.cases,
            only: flags.only,
            rule,
            discover: flags.discover,
            setup: flags.setup.then_some(flags.second_region),
            world_out: flags.world_out,
            world_origin: origin,
            format: flags.format,
            output: flags.output,
            progress: !flags.quiet && env.stderr_is_terminal,
            baseline: flags.baseline.map(|dir| BaselinePlan { dir, update: flags.update_baseline }),
            stateful,
            live: flags.live,
            journal: flags.journal,
            partition,
            shrink_budget: flags.shrink_budget,
            emit_tests: flags.emit_tests,
        })
    }
}

/// What the run may do to the endpoint (DryRun-only on AWS unless `--live`, and then within
/// `--max-creates`), refusing the flag combinations that would make a live run unbounded or
/// send `--setup`'s mutating calls to AWS without `--live`.
fn live_safety(flags: &Flags, endpoint: &Endpoint, aws: bool) -> Result<Safety, PlanError> {
    let safety = safety::decide(aws, flags.live, flags.max_creates).ok_or_else(|| PlanError::LiveNotAws {
        url: match endpoint {
            Endpoint::Remote(r) => r.url.clone(),
            Endpoint::Embedded => "the embedded endpoint".to_owned(),
        },
    })?;
    if flags.max_creates.is_some() && !flags.live {
        return Err(PlanError::MaxCreatesWithoutLive);
    }
    if flags.live && flags.max_creates.is_none() {
        return Err(PlanError::LiveWithoutMaxCreates);
    }
    if let Endpoint::Remote(r) = endpoint
        && r.aws
        && flags.setup
        && !flags.live
    {
        return Err(PlanError::SetupNeedsLive { url: r.url.clone() });
    }
    Ok(safety)
}

impl Plan {
    /// Threads of the async runtime the run is executed on: `--threads`, else one. One means a
    /// single-threaded runtime.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The credentials the environment gives, as the AWS CLI picks them: a `--profile`'s keys;
    /// else the key variables; else `AWS_PROFILE`'s keys (or the default profile's in the
    /// credentials file). `Ok(None)` when there are none.
    pub(crate) fn env_credentials(&self, env: &Env) -> Result<Option<Credentials>, WireError> {
        profile::env_credentials(self.profile.as_ref(), env)
    }
}

/// The Region asked for: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's.
fn region(flags: &Flags, env: &Env, profile: Option<&Profile>) -> Option<String> {
    let profile = || profile.and_then(|p| p.region.clone());
    flags
        .region
        .clone()
        .or_else(|| env.nonempty("AWS_REGION"))
        .or_else(|| env.nonempty("AWS_DEFAULT_REGION"))
        .or_else(profile)
}

/// The rule `--rule` aims at, as the spec's full id (see [`Spec::rule_target`]).
fn rule(given: Option<String>, spec: &Spec) -> Result<Option<String>, PlanError> {
    given.map(|r| spec.rule_target(&r).map_err(PlanError::Rule)).transpose()
}

/// Checks the numeric flags against their bounds.
fn check_bounds(flags: &Flags) -> Result<(), PlanError> {
    let checks = [
        (CONCURRENCY, flags.concurrency.map(|c| c as u64)),
        (THREADS, flags.threads.map(|t| t as u64)),
        (CASES, Some(flags.cases)),
        (RETRIES, Some(u64::from(flags.retries))),
        (STATEFUL, Some(u64::from(flags.stateful))),
        (STATEFUL_LEN, Some(flags.stateful_len as u64)),
        (MAX_BODY, Some(flags.max_body as u64)),
    ];
    for ((flag, least, most, range), value) in checks {
        match value {
            Some(value) if !(least..=most).contains(&value) => {
                return Err(PlanError::OutOfRange { flag, value, range });
            }
            _ => {}
        }
    }
    Ok(())
}

/// Refuses credential variables with control characters, naming the variable only.
fn check_credential_vars(env: &Env) -> Result<(), PlanError> {
    match CREDENTIAL_VARS.into_iter().find(|v| env.var(v).is_some_and(|value| value.chars().any(char::is_control))) {
        Some(var) => Err(PlanError::ControlCharacter { var }),
        None => Ok(()),
    }
}

/// The endpoint tested: the flag, `AWS_ENDPOINT_URL`, or the embedded one; whether it counts
/// as AWS follows [`safety`]'s rule.
fn endpoint(flags: &Flags, spec: &Spec, env: &Env) -> Result<Endpoint, PlanError> {
    let Some(url) = flags.endpoint.clone().filter(|e| !e.is_empty()).or_else(|| env.nonempty("AWS_ENDPOINT_URL"))
    else {
        return Ok(Endpoint::Embedded);
    };
    let mut remote = remote(url)?;
    let hosts = AwsHosts::from_spec(spec);
    let known = hosts.suffix_of(&remote.host);
    if let (Some(suffix), true) = (known, flags.not_aws) {
        return Err(PlanError::NotAwsOnAws { host: remote.host, suffix: suffix.trim_start_matches('.').to_owned() });
    }
    remote.aws = safety::is_aws(known.is_some(), flags.use_env_credentials, flags.not_aws);
    Ok(Endpoint::Remote(remote))
}

/// Checks an endpoint URL: http(s), a host written plainly, no user name or password, no query
/// string or fragment. Whether it is AWS's is left to the caller (`aws` is false).
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
    // First, so that no later message repeats a query string (it may hold a token).
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(PlanError::QueryInUrl);
    }
    // The parser decodes escapes in the host, so only the text as given shows them.
    if written_host(&url).contains('%') {
        return Err(PlanError::PercentEncodedHost { url });
    }
    Ok(Remote { host: host.to_owned(), port: parsed.port_or_known_default().unwrap_or(80), aws: false, url })
}

/// The host and port of an http(s) URL as written: after the scheme's colon, its slashes and
/// any user info, up to the path, query or fragment. The parser takes `\` for `/` and lets
/// slashes be missing (`http:host`), so this does too.
fn written_host(url: &str) -> &str {
    let rest = url.split_once(':').map_or(url, |(_, rest)| rest).trim_start_matches(['/', '\\']);
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}

#[cfg(test)]
mod tests;
