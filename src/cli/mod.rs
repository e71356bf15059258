//! The command line (the binary's, not the library's): flags, and the glue from each subcommand to
//! the library's public API.

mod cleanup;
mod merge;
mod run;
mod serve;
mod targets;

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Deserialize;

use copyimage_conformance::{
    GenerateError, Generator, InputLimit, Mutant, Only, Oracle, Params, Picker, RuleFormat, Spec, World, exit,
    list_mutants, read_text, read_text_from,
};

/// Tells, with evidence, whether an endpoint behaves like AWS EC2 CopyImage.
#[derive(Debug, Parser)]
#[command(name = "copyimage-conformance", version, about, long_about = None)]
pub struct Cli {
    /// Rules spec to use instead of the built-in specs/copy_image.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Predict the outcome of one request: reads {"world": {...}, "params": {...}} as JSON.
    Predict {
        /// Read the case from this file instead of standard input.
        #[arg(long, value_name = "FILE")]
        case: Option<PathBuf>,
    },
    /// Generate cases with their predictions, one JSON object per line.
    Gen {
        /// Seed: the same seed gives the same cases, byte for byte.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// How many cases.
        #[arg(long, default_value_t = 100)]
        count: u64,
        /// Only valid or only invalid cases.
        #[arg(long, value_enum)]
        only: Option<OnlyArg>,
        /// Only cases aimed at this rule id, or a unique start of one (`R07`), or `valid`, `multi`.
        #[arg(long, value_name = "ID")]
        rule: Option<String>,
        /// World file (source images, tokens); the built-in one by default.
        #[arg(long, value_name = "FILE")]
        world: Option<PathBuf>,
    },
    /// Print the rule table: id, phase, confidence, title, when it fires, its answer, source.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
        /// Only this rule, in full: its id, or a unique start of it (`R07` for `R07-name`).
        #[arg(long, value_name = "ID")]
        id: Option<String>,
    },
    /// Send generated cases to an endpoint and judge every response (the embedded reference
    /// endpoint when no --endpoint is given).
    Run(Box<run::RunArgs>),
    /// Combine the JSON reports of a run's shards (`run --partition K/N`) into one report, with
    /// run's formats and exit codes.
    Merge(merge::MergeArgs),
    /// Serve the embedded reference endpoint (EC2 Query and the JSON envelope) until Ctrl-C.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// World file: the source images the endpoint starts with.
        #[arg(long, value_name = "FILE")]
        world: Option<PathBuf>,
        /// Plant this known fault in the endpoint (see --list-mutants).
        #[arg(long, value_enum, value_name = "NAME")]
        mutant: Option<Mutant>,
        /// Print the mutants, with the stage each breaks and the fault it plants, and exit.
        #[arg(long)]
        list_mutants: bool,
        /// Which acceptable outcome to answer: the prediction's first (`primary`), or any of
        /// them, drawn from --seed (`any`: a plausible AWS making other undocumented choices).
        #[arg(long, value_enum, default_value_t = copyimage_conformance::Answer::Primary)]
        answer: copyimage_conformance::Answer,
        /// Seed of `--answer any`: the same seed and request order give the same answers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Undo a journaled run: deregister the images its journal records (or that carry its
    /// run-id tag), delete their snapshots and its volumes. Safe to repeat.
    Cleanup(cleanup::CleanupArgs),
    /// Emulators described in targets/*.toml: list, start, stop, reset, or gate one against
    /// its baseline.
    Targets {
        /// What to do.
        #[command(subcommand)]
        action: targets::TargetsCommand,
    },
    /// The conformance matrix of every target's committed baseline, as Markdown or as an HTML page.
    Matrix(targets::MatrixArgs),
    /// Measure generation plus prediction on one core.
    Bench {
        /// How long to measure.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Seed for the generated cases.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Formats of the rule table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// Aligned text for a terminal.
    Table,
    /// A Markdown table.
    Markdown,
    /// The rules as JSON.
    Json,
}

impl From<RulesFormat> for RuleFormat {
    fn from(f: RulesFormat) -> Self {
        match f {
            RulesFormat::Table => RuleFormat::Table,
            RulesFormat::Markdown => RuleFormat::Markdown,
            RulesFormat::Json => RuleFormat::Json,
        }
    }
}

/// Which cases to produce (the library's [`Only`], as a flag value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnlyArg {
    /// Valid requests only.
    Valid,
    /// Requests aimed at a rule (or several).
    Invalid,
}

impl From<OnlyArg> for Only {
    fn from(o: OnlyArg) -> Self {
        match o {
            OnlyArg::Valid => Only::Valid,
            OnlyArg::Invalid => Only::Invalid,
        }
    }
}

/// Runs the command line and returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let spec = Arc::new(match &cli.spec {
        Some(path) => Spec::load(path)?,
        None => Spec::builtin()?,
    });
    match cli.command {
        Command::Predict { case } => predict(spec, case),
        Command::Gen { seed, count, only, rule, world } => {
            let rule = rule.map(|r| spec.rule_target(&r).map_err(|e| anyhow!("--rule: {e}"))).transpose()?;
            gen_cases(spec, seed, count, only.map(Only::from), rule, world)
        }
        Command::Rules { format, id } => {
            let text = match id {
                Some(given) => {
                    let id = spec.rule_id(&given).map_err(|e| anyhow!("--id: {e}"))?;
                    spec.rule_entry(id, format.into()).ok_or_else(|| anyhow!("--id: no rule {id:?}"))??
                }
                None => spec.rule_table(format.into())?,
            };
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(exit::OK)
        }
        Command::Bench { seconds, seed } => bench(spec, seconds, seed),
        Command::Targets { action } => targets::run(spec, action),
        Command::Matrix(args) => targets::matrix(&spec, args),
        Command::Run(args) => run::run(Arc::new(Oracle::new(spec)?), *args),
        Command::Cleanup(args) => cleanup::run(&spec, args),
        Command::Merge(args) => merge::run(args),
        Command::Serve { list_mutants: true, .. } => {
            std::io::stdout().lock().write_all(list_mutants().as_bytes())?;
            Ok(exit::OK)
        }
        Command::Serve { addr, world, mutant, answer, seed, .. } => {
            let picker = Picker { answer, seed };
            serve::serve(Arc::new(Oracle::new(spec)?), addr, world, mutant, picker)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PredictInput {
    #[serde(default)]
    world: Option<World>,
    params: serde_json::Map<String, serde_json::Value>,
}

/// Reads a `{"world", "params"}` case, its world checked against the spec; `origin` names it
/// in errors.
fn parse_case(text: &str, origin: &str, spec: &Spec) -> Result<(World, Params)> {
    let input: PredictInput = serde_json::from_str(text).map_err(|e| anyhow!("{origin}: {e}"))?;
    if let Some(w) = &input.world {
        w.validate(spec, origin).map_err(|e| anyhow!("{}: world.{}", e.origin, e.message))?;
    }
    let mut params = Params::new();
    for (k, v) in input.params {
        match v {
            serde_json::Value::String(s) => {
                params.insert(k, s);
            }
            other => bail!("{origin}: params.{k}: expected a string (wire values are text), found {other}"),
        }
    }
    Ok((input.world.unwrap_or_else(World::default_world), params))
}

fn predict(spec: Arc<Spec>, case: Option<PathBuf>) -> Result<u8> {
    let oracle = Oracle::new(spec)?;
    let (text, origin) = match &case {
        Some(p) => (read_text(p, InputLimit::CASE)?, p.display().to_string()),
        None => (read_text_from(std::io::stdin().lock(), "stdin", InputLimit::CASE, 0)?, "stdin".to_owned()),
    };
    let (world, params) = parse_case(&text, &origin, oracle.spec())?;
    let p = oracle.predict(&world, &params);
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &p)?;
    writeln!(out)?;
    Ok(exit::OK)
}

fn gen_cases(
    spec: Arc<Spec>,
    seed: u64,
    count: u64,
    only: Option<Only>,
    rule: Option<String>,
    world: Option<PathBuf>,
) -> Result<u8> {
    let oracle = Oracle::new(spec)?;
    let world_name = world.as_ref().map_or_else(|| "the built-in world".to_owned(), |p| p.display().to_string());
    let world = World::load_checked(world.as_deref(), oracle.spec())?;
    let generator = Generator::new(&oracle, world, seed, only, rule.as_deref()).map_err(|e| match e {
        GenerateError::NoCopyableImage => anyhow::Error::new(e).context(world_name.clone()),
        other => other.into(),
    })?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for case in generator.take(count as usize) {
        serde_json::to_writer(&mut out, &case.with_context(|| world_name.clone())?)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(exit::OK)
}

fn bench(spec: Arc<Spec>, seconds: f64, seed: u64) -> Result<u8> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0) {
        bail!("--seconds {seconds}: give seconds between 0 and 3600");
    }
    let oracle = Oracle::new(spec)?;
    let mut generator = Generator::new(&oracle, World::default_world(), seed, None, None)?;
    // Warm up caches and the allocator before timing.
    for _ in 0..2_000 {
        std::hint::black_box(generator.next_case()?);
    }
    let budget = Duration::from_secs_f64(seconds);
    let (start, on_cpu) = (Instant::now(), thread_on_cpu());
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..1_000 {
            std::hint::black_box(generator.next_case()?);
        }
        n += 1_000;
    }
    let secs = start.elapsed().as_secs_f64();
    print!("generate+predict: {n} cases in {secs:.2} s on one thread = {:.0} cases/s", n as f64 / secs);
    // The wall clock also counts time the thread was not running (other processes, or the
    // host taking a virtual machine's core away); the thread's own CPU time does not.
    match on_cpu.zip(thread_on_cpu()).map(|(a, b)| b.saturating_sub(a).as_secs_f64()).filter(|s| *s > 0.0) {
        Some(cpu) => println!(" ({cpu:.2} s on the CPU = {:.0} cases per CPU-second)", n as f64 / cpu),
        None => println!(),
    }
    Ok(exit::OK)
}

/// How long this thread has run on a CPU (Linux's schedstat), when the kernel tells.
fn thread_on_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}
