//! `run`: its flags, turned into a plan that a session executes against an endpoint (the
//! embedded one by default).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use copyimage_conformance::{Dialect, Env, Flags, Oracle, Plan, ReportFormat, Session, SessionError};

use super::OnlyArg;

/// Report formats of `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The distinct findings (each with a `curl` reproduction), per-rule scores and a verdict line.
    Terminal,
    /// `{"cases": [...], "summary": {...}}`.
    Json,
    /// JUnit XML, one testcase per finding (class: its rule), conforming rules and skipped cases.
    Junit,
    /// Markdown, for a CI job summary.
    Markdown,
    /// One self-contained HTML file (no script, no external assets), for a browser.
    Html,
}

/// Flags of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Endpoint URL; without one, the embedded reference endpoint is started and tested.
    ///
    /// No query string, fragment or percent-encoded host. The endpoint counts as real AWS (every
    /// request a DryRun unless --live) when its host is under a DNS suffix of the spec's
    /// partitions (amazonaws.com, api.aws, amazonaws.com.cn, c2s.ic.gov, sc2s.sgov.gov,
    /// cloud.adc-e.uk, csp.hci.ic.gov, amazonaws.eu, ...), or when it is any other host (an IP
    /// address, localhost, an unknown name) and --use-env-credentials is given without
    /// --not-aws. Otherwise it is an emulator, signed with AWS's public example keys.
    #[arg(long, visible_alias = "endpoint-url", env = "AWS_ENDPOINT_URL_EC2", value_name = "URL")]
    pub endpoint: Option<String>,
    /// The endpoint's Region (default: AWS_REGION, AWS_DEFAULT_REGION, then the world's).
    #[arg(long)]
    pub region: Option<String>,
    /// Wire dialect.
    #[arg(long, value_enum, default_value_t = DialectArg::Ec2Query)]
    pub dialect: DialectArg,
    /// Requests in flight at once, 1 to 1024 (default: 8 for emulators, 2 for AWS).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Threads that generate, sign, send and judge the requests (and run the embedded
    /// endpoint), 1 to 256 (default: 1, the least CPU per request; more may help a fast endpoint at
    /// high --concurrency on a machine with cores to spare).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Seconds allowed for one request.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Largest reply body read, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Retries for throttling (503, RequestLimitExceeded) and connection errors, 0 to 10; a
    /// live call is not sent again after a connection error (it may have been carried out).
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Seed of the generated cases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many cases, 1 to 10000000.
    #[arg(long, default_value_t = 300)]
    pub cases: u64,
    /// Only valid or only invalid cases.
    #[arg(long, value_enum)]
    pub only: Option<OnlyArg>,
    /// Only cases aimed at this rule id, or a unique start of one (`R07` for `R07-name`).
    #[arg(long, value_name = "ID")]
    pub rule: Option<String>,
    /// World file describing the endpoint's source images.
    #[arg(long, value_name = "FILE", conflicts_with = "discover")]
    pub world: Option<PathBuf>,
    /// Build the world from the endpoint's DescribeImages answer for these image ids.
    #[arg(long, value_name = "IMAGE_ID", num_args = 1.., conflicts_with = "setup")]
    pub discover: Vec<String>,
    /// Prepare source images on the endpoint itself (plain, encrypted, in a second Region,
    /// deregistered) and use what it reports as the world. On real AWS this creates resources
    /// and needs --live.
    #[arg(long, conflicts_with = "world")]
    pub setup: bool,
    /// With --setup: the second Region.
    #[arg(long, default_value = "us-west-2", value_name = "REGION")]
    pub second_region: String,
    /// Write the world the run used (after --setup or --discover) to this file.
    #[arg(long, value_name = "FILE")]
    pub world_out: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Sign requests to an emulator with your AWS credentials instead of dummy ones. An endpoint
    /// whose host is not known to be an emulator's is then treated as real AWS (every request a
    /// DryRun), unless --not-aws is given too.
    #[arg(long)]
    pub use_env_credentials: bool,
    /// With --use-env-credentials: the endpoint (an IP address, localhost, an unknown name) is
    /// not AWS, so requests are not forced to DryRun. Refused for hosts under AWS's own domains.
    #[arg(long, requires = "use_env_credentials")]
    pub not_aws: bool,
    /// Real AWS: let requests that create images go out (otherwise every request is a DryRun).
    #[arg(long, requires = "max_creates")]
    pub live: bool,
    /// With --live (required): at most this many requests that may create a resource, in the
    /// whole run (cases, --stateful copies and replays, --setup's creates); later CopyImage
    /// requests are DryRun, the stateful checks stop, setup fails.
    #[arg(long, value_name = "N")]
    pub max_creates: Option<u64>,
    /// Run the stored corpus of this baseline directory and compare every normalized response
    /// with its snapshots; deviations must be listed in its accepted.toml.
    #[arg(long, value_name = "DIR")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: rewrite the snapshots from this run (and create the corpus if absent).
    #[arg(long, requires = "baseline")]
    pub update_baseline: bool,
    /// After the cases, check stateful properties (idempotency, what DescribeImages shows of a
    /// copy, deregistered sources) over this many generated request sequences, 0 to 100000.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub stateful: u32,
    /// Longest stateful sequence, 1 to 64 steps.
    #[arg(long, value_name = "STEPS", default_value_t = 8)]
    pub stateful_len: usize,
    /// Journal every live call (intent before, result after) to this JSON Lines file, and tag
    /// what it creates with the run id, for `cleanup`. Live runs write
    /// copyimage-conformance-<run id>.journal.jsonl by default; on an emulator, only with this
    /// flag (the tag changes the requests under test). The file must not exist.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
    /// Send only shard K of N of the cases (and of the --stateful sequences), for CI jobs that
    /// split one run across N machines; `merge` combines their JSON reports. `K/N` or
    /// `count:K/N` deals cases round robin by position (case i to shard i mod N + 1); `hash:K/N`
    /// by a hash of the case id. Cases that send the same Name or ClientToken go to the shard of
    /// the first of them, so each meets the endpoint as in an unsplit run. N is at most 10000.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<String>,
    /// Profile of ~/.aws/credentials (`[NAME]`) and ~/.aws/config (`[profile NAME]`), as the AWS
    /// CLI reads them (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE): its Region counts after
    /// --region, AWS_REGION and AWS_DEFAULT_REGION; its keys sign where your credentials are used
    /// (real AWS, --use-env-credentials), ahead of the key variables. Without it, AWS_PROFILE
    /// names the profile, behind the key variables.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// After the run, write an accepted.toml draft to this new file: one entry per open finding,
    /// with its title, for a person to fill in the reasons (a draft's TODO reasons do not load).
    #[arg(long, value_name = "FILE")]
    pub draft_accepted: Option<PathBuf>,
    /// Requests spent shrinking the examples of the findings not accepted to minimal
    /// reproductions (DryRun-only against AWS); 0 turns shrinking off.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub shrink_budget: u64,
    /// Write one pytest file per finding not accepted into DIR: it fails on the endpoint
    /// today and passes once the endpoint answers as AWS does.
    #[arg(long, value_name = "DIR")]
    pub emit_tests: Option<PathBuf>,
}

impl From<Format> for ReportFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Terminal => ReportFormat::Terminal,
            Format::Json => ReportFormat::Json,
            Format::Junit => ReportFormat::Junit,
            Format::Markdown => ReportFormat::Markdown,
            Format::Html => ReportFormat::Html,
        }
    }
}

/// The wire dialect (the library's [`Dialect`], as a flag value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DialectArg {
    /// EC2 Query: form-encoded POST, XML replies (what AWS speaks).
    Ec2Query,
    /// JSON body with `accept: application/json`, replies in a `{"success", "data"|"error"}` envelope.
    JsonEnvelope,
}

impl From<DialectArg> for Dialect {
    fn from(d: DialectArg) -> Self {
        match d {
            DialectArg::Ec2Query => Dialect::Ec2Query,
            DialectArg::JsonEnvelope => Dialect::JsonEnvelope,
        }
    }
}

impl From<RunArgs> for Flags {
    fn from(a: RunArgs) -> Self {
        Flags {
            endpoint: a.endpoint,
            region: a.region,
            dialect: a.dialect.into(),
            concurrency: a.concurrency,
            threads: a.threads,
            timeout: a.timeout,
            max_body: a.max_body,
            retries: a.retries,
            seed: a.seed,
            cases: a.cases,
            only: a.only.map(Into::into),
            rule: a.rule,
            world: a.world,
            discover: a.discover,
            setup: a.setup,
            second_region: a.second_region,
            world_out: a.world_out,
            format: a.format.into(),
            output: a.output,
            quiet: a.quiet,
            use_env_credentials: a.use_env_credentials,
            not_aws: a.not_aws,
            live: a.live,
            max_creates: a.max_creates,
            baseline: a.baseline,
            update_baseline: a.update_baseline,
            stateful: a.stateful,
            stateful_len: a.stateful_len,
            journal: a.journal,
            partition: a.partition,
            profile: a.profile,
            shrink_budget: a.shrink_budget,
            emit_tests: a.emit_tests,
        }
    }
}

/// Runs `run` and returns the exit code.
pub fn run(oracle: Arc<Oracle>, mut args: RunArgs) -> Result<u8> {
    let draft = args.draft_accepted.take();
    // Refused before the run, so that a long run does not end in a file it may not write.
    if let Some(path) = &draft
        && path.exists()
    {
        bail!("--draft-accepted {}: the file exists; a draft is only written to a new file", path.display());
    }
    let target = args.endpoint.clone().filter(|e| !e.is_empty()).unwrap_or_else(|| "the embedded endpoint".into());
    let env = Env::from_process();
    let plan = Plan::resolve(args.into(), oracle.spec(), &env)?;
    let runtime = match plan.threads() {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    }
    .enable_all()
    .build()
    .context("cannot start the async runtime")?;
    let session = Session::new(oracle, plan, env).on_ctrl_c();
    let result = runtime.block_on(session.run(&mut std::io::stderr()));
    // Stateful checks left running by Ctrl-C hold a blocking thread; the process does not wait.
    runtime.shutdown_background();
    let outcome = result.map_err(|e| match e {
        // A closed pipe is told by the io::Error in the chain (see main), so it goes unwrapped.
        SessionError::Report(io) => anyhow::Error::new(io),
        other => anyhow::Error::new(other),
    })?;
    if let Some(path) = draft {
        write_new(&path, &outcome.accepted_draft(&target))?;
        eprintln!("copyimage-conformance: wrote a draft of accepted.toml to {}: fill in its reasons", path.display());
    }
    Ok(outcome.exit_code())
}

/// Writes `text` to `path`, which must not exist yet.
fn write_new(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("--draft-accepted {}: cannot create (it must be a new file)", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("--draft-accepted {}: cannot write", path.display()))
}
