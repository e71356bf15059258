//! The command line: flags, and the glue from each subcommand to the library stages.

pub mod run;
pub mod serve;
pub mod targets;

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Deserialize;

use crate::exit;
use crate::generate::{Generator, Only};
use crate::oracle::Oracle;
use crate::spec::{self, Spec};
use crate::world::{Params, World};

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
        only: Option<Only>,
        /// Only cases aimed at this rule id (or `valid`, `multi`).
        #[arg(long, value_name = "ID")]
        rule: Option<String>,
        /// World file (source images, tokens); the built-in one by default.
        #[arg(long, value_name = "FILE")]
        world: Option<PathBuf>,
    },
    /// Print the rule table: id, phase, outcome, confidence, source.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
    },
    /// Send generated cases to an endpoint and judge every response (the embedded reference
    /// endpoint when no --endpoint is given).
    Run(Box<run::RunArgs>),
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
        mutant: Option<crate::serve::Mutant>,
        /// Print the mutants, with the stage each breaks and the fault it plants, and exit.
        #[arg(long)]
        list_mutants: bool,
    },
    /// Emulators described in targets/*.toml: list, start, stop, reset, or gate one against
    /// its baseline.
    Targets {
        /// What to do.
        #[command(subcommand)]
        action: targets::TargetsCommand,
    },
    /// The conformance matrix of every target's committed baseline, as Markdown.
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

/// Runs the command line and returns the exit code.
pub fn run(cli: Cli) -> Result<u8> {
    let spec = Arc::new(spec::load_or_builtin(cli.spec.as_ref())?);
    match cli.command {
        Command::Predict { case } => predict(spec, case),
        Command::Gen { seed, count, only, rule, world } => gen_cases(spec, seed, count, only, rule, world),
        Command::Rules { format } => {
            let mut out = std::io::stdout().lock();
            out.write_all(render_rules(&spec, format)?.as_bytes())?;
            Ok(exit::OK)
        }
        Command::Bench { seconds, seed } => bench(spec, seconds, seed),
        Command::Targets { action } => targets::run(spec, action),
        Command::Matrix(args) => targets::matrix(args),
        Command::Run(args) => run::run(Arc::new(Oracle::new(spec)?), *args),
        Command::Serve { list_mutants: true, .. } => {
            std::io::stdout().lock().write_all(crate::serve::mutant::list().as_bytes())?;
            Ok(exit::OK)
        }
        Command::Serve { addr, world, mutant, .. } => serve::serve(Arc::new(Oracle::new(spec)?), addr, world, mutant),
    }
}

fn load_world(path: Option<&PathBuf>) -> Result<World> {
    Ok(match path {
        Some(p) => World::load(p)?,
        None => World::default_world(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PredictInput {
    #[serde(default)]
    world: Option<World>,
    params: serde_json::Map<String, serde_json::Value>,
}

/// Reads a `{"world", "params"}` case; `origin` names it in errors.
pub fn parse_case(text: &str, origin: &str) -> Result<(World, Params)> {
    let input: PredictInput = serde_json::from_str(text).map_err(|e| anyhow!("{origin}: {e}"))?;
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
        Some(p) => (
            std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?,
            p.display().to_string(),
        ),
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("stdin: cannot read")?;
            (s, "stdin".to_owned())
        }
    };
    let (world, params) = parse_case(&text, &origin)?;
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
    let world = load_world(world.as_ref())?;
    let generator = Generator::new(&oracle, world, seed, only, rule.as_deref())?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for case in generator.take(count as usize) {
        serde_json::to_writer(&mut out, &case)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(exit::OK)
}

/// The rule table in the chosen format.
pub fn render_rules(spec: &Spec, format: RulesFormat) -> Result<String> {
    let outcome = |r: &spec::Rule| r.outcomes.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | ");
    let mut s = String::new();
    match format {
        RulesFormat::Json => s = serde_json::to_string_pretty(&spec.rules)? + "\n",
        RulesFormat::Markdown => {
            s.push_str("| id | phase | when | outcome | confidence | source |\n|---|---|---|---|---|---|\n");
            for r in &spec.rules {
                let predicted = if r.predicted { String::new() } else { " (not predicted)".into() };
                let uncertain = if r.uncertain_also.is_some() { " (or success, when uncertain)" } else { "" };
                s.push_str(&format!(
                    "| {} | {} | {} | {}{}{} | {} | {} |\n",
                    r.id,
                    r.phase,
                    r.condition.replace('|', "\\|"),
                    outcome(r),
                    uncertain,
                    predicted,
                    r.confidence,
                    r.source.replace('|', "\\|")
                ));
            }
        }
        RulesFormat::Table => {
            let w = spec.rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
            let rows: Vec<(String, String, String, String)> = spec
                .rules
                .iter()
                .map(|r| {
                    let mut o = outcome(r);
                    if r.uncertain_also.is_some() {
                        o.push_str(" | success?");
                    }
                    if !r.predicted {
                        o.push_str("  [not predicted]");
                    }
                    (r.id.clone(), r.phase.clone(), o, r.confidence.to_string())
                })
                .collect();
            let ow = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
            s.push_str(&format!("{:w$}  {:13}  {:ow$}  {:10}  source\n", "rule", "phase", "outcome", "confidence"));
            for (r, row) in spec.rules.iter().zip(rows) {
                s.push_str(&format!("{:w$}  {:13}  {:ow$}  {:10}  {}\n", row.0, row.1, row.2, row.3, r.source));
            }
        }
    }
    Ok(s)
}

fn bench(spec: Arc<Spec>, seconds: f64, seed: u64) -> Result<u8> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0) {
        bail!("--seconds {seconds}: give seconds between 0 and 3600");
    }
    let oracle = Oracle::new(spec)?;
    let mut generator = Generator::new(&oracle, World::default_world(), seed, None, None)?;
    // Warm up caches and the allocator before timing.
    for _ in 0..2_000 {
        std::hint::black_box(generator.next_case());
    }
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..1_000 {
            std::hint::black_box(generator.next_case());
        }
        n += 1_000;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("generate+predict: {n} cases in {secs:.2} s on one thread = {:.0} cases/s", n as f64 / secs);
    Ok(exit::OK)
}
