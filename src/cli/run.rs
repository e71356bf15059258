//! `run` and `serve`: the runner against an endpoint (the embedded one by default), and the
//! embedded endpoint on its own.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use futures_util::StreamExt;

use crate::generate::{Generator, Only};
use crate::oracle::Oracle;
use crate::report::{Json, Junit, Markdown, Sink, Summary, Terminal};
use crate::run::{Dialect, Runner, Safety, Target, discover::discover};
use crate::serve::{self, EnvelopeCodes};
use crate::snapshot::{Baseline, Corpus, corpus::Header, map_roles};
use crate::verdict::{CodeMap, SameCodes};
use crate::wire::Credentials;
use crate::world::World;

/// Report formats of `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Counts, per-rule scores and the worst deviations with `curl` reproductions.
    Terminal,
    /// `{"cases": [...], "summary": {...}}`.
    Json,
    /// JUnit XML, one testcase per case grouped by rule.
    Junit,
    /// Markdown, for a CI job summary.
    Markdown,
}

/// Flags of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Endpoint URL; without one, the embedded reference endpoint is started and tested.
    #[arg(long, env = "AWS_ENDPOINT_URL_EC2", value_name = "URL")]
    pub endpoint: Option<String>,
    /// The endpoint's Region (default: AWS_REGION, AWS_DEFAULT_REGION, then the world's).
    #[arg(long)]
    pub region: Option<String>,
    /// Wire dialect.
    #[arg(long, value_enum, default_value_t = Dialect::Ec2Query)]
    pub dialect: Dialect,
    /// Requests in flight at once (default: 8 for emulators, 2 for AWS).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Seconds allowed for one request.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Largest reply body read, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Retries for throttling (503, RequestLimitExceeded) and connection errors.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Seed of the generated cases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How many cases.
    #[arg(long, default_value_t = 300)]
    pub cases: u64,
    /// Only valid or only invalid cases.
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    /// Only cases aimed at this rule id.
    #[arg(long, value_name = "ID")]
    pub rule: Option<String>,
    /// World file describing the endpoint's source images.
    #[arg(long, value_name = "FILE", conflicts_with = "discover")]
    pub world: Option<PathBuf>,
    /// Build the world from the endpoint's DescribeImages answer for these image ids.
    #[arg(long, value_name = "IMAGE_ID", num_args = 1.., conflicts_with = "setup")]
    pub discover: Vec<String>,
    /// Prepare source images on the endpoint itself (plain, encrypted, in a second Region,
    /// deregistered) and use what it reports as the world.
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
    /// Sign requests to an emulator with your AWS credentials instead of dummy ones.
    #[arg(long)]
    pub use_env_credentials: bool,
    /// Real AWS: let requests that create images go out (otherwise every request is a DryRun).
    #[arg(long, requires = "max_creates")]
    pub live: bool,
    /// With --live: at most this many requests that would create an image; later ones are DryRun.
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
    /// copy, deregistered sources) over this many generated request sequences.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub stateful: u32,
    /// Longest stateful sequence.
    #[arg(long, value_name = "STEPS", default_value_t = 8)]
    pub stateful_len: usize,
}

/// Whether a host is AWS's own (where requests cost money).
pub fn is_aws_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h.ends_with(".amazonaws.com") || h.ends_with(".amazonaws.com.cn") || h.ends_with(".api.aws")
}

fn env_nonempty(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// Runs `run` and returns the exit code.
pub fn run(oracle: Arc<Oracle>, args: RunArgs) -> Result<u8> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(run_async(oracle, args))
}

async fn run_async(oracle: Arc<Oracle>, args: RunArgs) -> Result<u8> {
    let mut world = match &args.world {
        Some(p) => World::load(p)?,
        None => World::default_world(),
    };
    let region =
        args.region.clone().or_else(|| env_nonempty("AWS_REGION")).or_else(|| env_nonempty("AWS_DEFAULT_REGION"));
    if let Some(r) = &region {
        world.region = r.clone();
    }
    if oracle.spec().partition_of(&world.region).is_none() {
        bail!(
            "Region {:?} is not one the spec knows (specs/copy_image.toml [[partition]]); pass --region with a known one",
            world.region
        );
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 3600.0) {
        bail!("--timeout {}: give seconds between 0 and 3600", args.timeout);
    }
    let endpoint = args.endpoint.clone().filter(|e| !e.is_empty()).or_else(|| env_nonempty("AWS_ENDPOINT_URL"));
    let (url, embedded) = match endpoint {
        Some(e) => (e, None),
        None => {
            let running = serve::bind(SocketAddr::from(([127, 0, 0, 1], 0)), oracle.clone(), world.clone())
                .await
                .context("cannot start the embedded endpoint")?;
            (running.url(), Some(running))
        }
    };
    let parsed = reqwest::Url::parse(&url).map_err(|e| anyhow!("--endpoint {url:?}: not a URL ({e})"))?;
    let host = parsed.host_str().filter(|_| matches!(parsed.scheme(), "http" | "https"));
    let Some(host) = host else { bail!("--endpoint {url:?}: needs an http:// or https:// URL with a host") };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        bail!("--endpoint: credentials in the URL are not supported (they would be sent as the Host and printed)");
    }
    let aws = is_aws_host(host);
    let port = parsed.port_or_known_default().unwrap_or(80);
    reachable(host, port).await.with_context(|| format!("cannot reach the endpoint {url}"))?;

    let (credentials, dummy) = if aws || args.use_env_credentials {
        match Credentials::from_process_env()? {
            Some(c) => (c, false),
            None => bail!(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials"
            ),
        }
    } else {
        (Credentials::dummy(), true)
    };
    if args.live && !aws {
        bail!("--live is for real AWS endpoints; {url} is not one");
    }
    let safety = Safety { force_dry_run: aws, max_creates: if args.live { args.max_creates.unwrap_or(0) } else { 0 } };
    let target = Target {
        endpoint: url.clone(),
        region: world.region.clone(),
        dialect: args.dialect,
        credentials,
        dummy_credentials: dummy,
        timeout: Duration::from_secs_f64(args.timeout),
        max_body: args.max_body,
        retries: args.retries,
        backoff: Duration::from_millis(200),
        safety,
        protocol: crate::run::Protocol::from_spec(oracle.spec()),
    };
    if !args.discover.is_empty() {
        world = discover(&target, &world.account.clone(), &args.discover).await?;
    }
    if args.setup {
        world = crate::run::setup::setup(&target, &world.account.clone(), &args.second_region).await?;
    }
    if let Some(path) = &args.world_out {
        let text = serde_json::to_string_pretty(&world)?;
        std::fs::write(path, text + "\n").with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let codes: Arc<dyn CodeMap> = match args.dialect {
        Dialect::Ec2Query => Arc::new(SameCodes),
        Dialect::JsonEnvelope => Arc::new(EnvelopeCodes::builtin()?),
    };
    let mut baseline = match &args.baseline {
        Some(dir) => Some(open_baseline(&oracle, dir, &world, &args)?),
        None => None,
    };
    // Rules of the spec's last phase only annotate a success; they explain no deviation.
    let annotations: Vec<String> = match oracle.spec().phases.last() {
        Some(last) => oracle.spec().rules.iter().filter(|r| r.phase == last.name).map(|r| r.id.clone()).collect(),
        None => vec![],
    };
    // Role images' ids and names, which snapshots show by role.
    let run_roles: std::collections::BTreeMap<String, String> = world
        .images
        .iter()
        .filter_map(|i| Some((i, i.role.clone()?)))
        .flat_map(|(i, role)| [Some((i.image_id.clone(), role.clone())), i.name.clone().map(|n| (n, role))])
        .flatten()
        .collect();
    let case_source: Box<dyn Iterator<Item = crate::generate::Case>> = match baseline.as_mut() {
        Some((_, cases)) => Box::new(std::mem::take(cases).into_iter()),
        None => Box::new(
            Generator::new(&oracle, world.clone(), args.seed, args.only, args.rule.as_deref())?
                .take(args.cases as usize),
        ),
    };
    let concurrency = args.concurrency.unwrap_or(if aws { 2 } else { 8 });
    let stateful_target = target.clone();
    let stateful_world = world.clone();
    let runner = Arc::new(Runner::new(oracle.clone(), target, world, codes).context("cannot build the HTTP client")?);

    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}: cannot create", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut sink: Box<dyn Sink> = match args.format {
        Format::Terminal => Box::new(Terminal::new(out, &url)),
        Format::Json => Box::new(Json::new(out)),
        Format::Junit => Box::new(Junit::new(out)),
        Format::Markdown => Box::new(Markdown::new(out, &url)),
    };
    let progress = if args.quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(args.cases)
    };
    let mut summary = Summary::default();
    // Cases that need a world the endpoint cannot be put in (an unauthorized caller) are not sent.
    let skipped = std::cell::Cell::new(0u64);
    let cases = case_source.filter(|c| {
        let keep = c.world.is_none();
        skipped.set(skipped.get() + u64::from(!keep));
        keep
    });
    {
        let mut stream = pin!(runner.run(cases, concurrency));
        while let Some(rec) = stream.next().await {
            summary.add(&rec);
            if let Some((b, _)) = baseline.as_mut() {
                b.add(&rec, &run_roles, &annotations);
            }
            sink.case(&rec)?;
            progress.inc(1);
        }
    }
    progress.finish_and_clear();
    summary.skipped += skipped.get();
    let mut gate = None;
    if let Some((b, _)) = &baseline {
        if args.update_baseline {
            let n = b.write()?;
            eprintln!(
                "copyimage-conformance: wrote {n} snapshot files to {}",
                args.baseline.as_ref().map_or(String::new(), |d| d.display().to_string())
            );
        }
        let cmp = b.compare()?;
        for d in &cmp.diffs {
            eprint!("{d}");
        }
        for (id, what) in &cmp.unaccepted {
            eprintln!("copyimage-conformance: case {id} deviates and accepted.toml does not accept it: {what}");
        }
        summary.baseline = Some(cmp.clone());
        gate = Some(cmp);
    }
    if args.stateful > 0 {
        let skip: std::collections::BTreeSet<String> = baseline
            .as_ref()
            .map(|(b, _)| b.accepted_properties().iter().map(|p| p.property.clone()).collect())
            .unwrap_or_default();
        let cfg = crate::run::stateful::StatefulConfig {
            sequences: args.stateful,
            max_len: args.stateful_len,
            seed: args.seed,
        };
        let oracle = oracle.clone();
        let report = tokio::task::spawn_blocking(move || {
            crate::run::stateful::check(&stateful_target, &oracle, &stateful_world, &cfg, &skip)
        })
        .await
        .context("the stateful checks stopped")?;
        summary.stateful = Some(report);
    }
    summary.retries = runner.counters.retries.load(Ordering::Relaxed);
    summary.requests = runner.counters.requests.load(Ordering::Relaxed);
    sink.finish(&summary)?;
    if let Some(running) = embedded {
        running.shutdown().await;
    }
    Ok(match gate {
        Some(cmp) if cmp.passes() && summary.stateful_passes() => crate::exit::OK,
        Some(_) => crate::exit::DEVIATIONS,
        None => summary.exit_code(),
    })
}

/// Opens a baseline and its corpus, rebased onto the run world. Without a corpus, one is
/// generated (only with --update-baseline).
fn open_baseline(
    oracle: &Oracle,
    dir: &std::path::Path,
    world: &World,
    args: &RunArgs,
) -> Result<(Baseline, Vec<crate::generate::Case>)> {
    let baseline = Baseline::open(dir)?;
    let path = dir.join("corpus.jsonl");
    let corpus = if path.exists() {
        Corpus::load(&path)?
    } else if args.update_baseline {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        let cases = Generator::new(oracle, world.clone(), args.seed, args.only, args.rule.as_deref())?
            .take(args.cases as usize)
            .collect();
        let corpus = Corpus { header: Header { version: 1, seed: args.seed, world: world.clone() }, cases };
        corpus.save(&path)?;
        eprintln!("copyimage-conformance: wrote a corpus of {} cases to {}", corpus.cases.len(), path.display());
        corpus
    } else {
        bail!("{}: no corpus; run once with --update-baseline to create the baseline", path.display());
    };
    let map = map_roles(&corpus.header.world, world);
    if !map.missing.is_empty() {
        eprintln!(
            "copyimage-conformance: the world has no image for role(s) {}; cases that need them are skipped",
            map.missing.join(", ")
        );
    }
    let mut cases = Vec::with_capacity(corpus.cases.len());
    let mut unmapped = 0u64;
    for mut c in corpus.cases {
        if crate::snapshot::corpus::rebase(&mut c, &map, &corpus.header.world) {
            cases.push(c);
        } else {
            unmapped += 1;
        }
    }
    if unmapped > 0 {
        eprintln!("copyimage-conformance: {unmapped} corpus cases skipped for want of an image role");
    }
    Ok((baseline, cases))
}

async fn reachable(host: &str, port: u16) -> Result<()> {
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => bail!("no connection within 5 s"),
    }
}

/// Runs `serve` until Ctrl-C.
pub fn serve(
    oracle: Arc<Oracle>,
    addr: SocketAddr,
    world: Option<PathBuf>,
    mutant: Option<serve::Mutant>,
) -> Result<u8> {
    let world = match world {
        Some(p) => World::load(&p)?,
        None => World::default_world(),
    };
    let endpoint = match mutant {
        Some(m) => serve::Endpoint::mutated(&oracle, world, m)?,
        None => serve::Endpoint::new(oracle, world),
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let running = serve::bind_endpoint(addr, endpoint).await.with_context(|| format!("cannot listen on {addr}"))?;
        match mutant {
            Some(m) => eprintln!(
                "copyimage-conformance: serving EC2 CopyImage on {} with the mutant {} (Ctrl-C stops)",
                running.url(),
                m.name()
            ),
            None => eprintln!("copyimage-conformance: serving EC2 CopyImage on {} (Ctrl-C stops)", running.url()),
        }
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        running.shutdown().await;
        Ok(crate::exit::OK)
    })
}
