//! `targets` and `matrix`: the emulators described in `targets/*.toml` listed, started,
//! stopped, reset and gated against their baselines, and the conformance matrix of every
//! target's committed baseline.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use copyimage_conformance::targets::{self, Target, matrix, server};
use copyimage_conformance::{InputLimit, Oracle, Spec, exit, read_text};

/// What `targets` does.
#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// The targets: what each is, its baseline and its working directory.
    List {
        /// Directory of target descriptions.
        #[arg(long, value_name = "DIR", default_value = targets::DEFAULT_DIR)]
        targets: PathBuf,
    },
    /// Install the target's packages into its venv (if not yet there), without starting it.
    Install(Named),
    /// Install (if needed) and start a target on a free loopback port; prints its URL.
    Start(Named),
    /// Stop the target's server by its PID.
    Stop(Named),
    /// Drop every resource the running target holds.
    Reset(Named),
    /// Install, start, run the target's baseline corpus against it, compare, stop. Extra
    /// arguments after `--` go to `run` (e.g. `-- --update-baseline`).
    Gate {
        /// The target.
        #[command(flatten)]
        named: Named,
        /// More `run` flags.
        #[arg(last = true, value_name = "RUN_FLAGS")]
        extra: Vec<String>,
    },
}

/// A target by name.
#[derive(Debug, Args)]
pub struct Named {
    /// Its name (the stem of its description file).
    pub name: String,
    /// Working directory instead of the description's `dir` (venv, PID, URL, log).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Directory of target descriptions.
    #[arg(long, value_name = "DIR", default_value = targets::DEFAULT_DIR)]
    pub targets: PathBuf,
}

impl Named {
    fn load(&self) -> Result<Target> {
        let mut t = targets::find(&self.targets, &self.name)?;
        if let Some(dir) = &self.dir {
            t.dir.clone_from(dir);
        }
        Ok(t)
    }
}

/// Flags of `matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Directory of target descriptions.
    #[arg(long, value_name = "DIR", default_value = targets::DEFAULT_DIR)]
    pub targets: PathBuf,
    /// Rewrite the generated block of this Markdown file (between its matrix markers) instead
    /// of printing the matrix.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["format", "out"])]
    pub update: Option<PathBuf>,
    /// Output format: Markdown (the README's block) or one self-contained HTML page, the
    /// matrix first and then what deviates in each target.
    #[arg(long, value_enum, default_value_t = MatrixFormat::Markdown)]
    pub format: MatrixFormat,
    /// Write the matrix to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Formats of `matrix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MatrixFormat {
    /// Markdown, as the README holds it.
    Markdown,
    /// One HTML file: no script, nothing loaded from elsewhere, every link an anchor in it.
    Html,
}

/// Runs `targets ...` and returns the exit code.
pub fn run(spec: Arc<Spec>, cmd: TargetsCommand) -> Result<u8> {
    let mut err = std::io::stderr();
    match cmd {
        TargetsCommand::List { targets } => {
            for t in targets::load_all(&targets)? {
                println!("{:12} {}  (baseline {}, dir {})", t.name, t.about, t.baseline.display(), t.dir.display());
            }
        }
        TargetsCommand::Start(named) => {
            let t = named.load()?;
            let server = server::start(&t, &self_exe()?, &mut err)?;
            println!("{}", server.url);
        }
        TargetsCommand::Install(named) => server::install(&named.load()?, &mut err)?,
        TargetsCommand::Stop(named) => server::stop(&named.load()?, &mut err),
        TargetsCommand::Reset(named) => {
            let t = named.load()?;
            let url = server::reset(&t)?;
            eprintln!("{}: {url} reset", t.name);
        }
        TargetsCommand::Gate { named, extra } => return gate(spec, &named.load()?, extra),
    }
    Ok(exit::OK)
}

fn self_exe() -> Result<PathBuf> {
    std::env::current_exe().context("cannot tell where this program is")
}

/// The gate: `run` against the target's server with its baseline, then a closing line that CI
/// counts, `gate NAME: passed` or `gate NAME: failed`.
fn gate(spec: Arc<Spec>, t: &Target, extra: Vec<String>) -> Result<u8> {
    let started = Instant::now();
    let mut server = server::start(t, &self_exe()?, &mut std::io::stderr())?;
    let world = t.dir.join("world.json");
    let mut argv: Vec<String> =
        ["copyimage-conformance", "run", "--quiet", "--endpoint", &server.url, "--world-out"].map(str::to_owned).into();
    argv.push(world.display().to_string());
    argv.extend(["--baseline".to_owned(), t.baseline.display().to_string()]);
    argv.extend(t.run.iter().cloned());
    argv.extend(extra);
    let result = super::Cli::try_parse_from(&argv)
        .map_err(|e| anyhow::anyhow!("{}: run flags: {}", t.file.display(), e.to_string().trim()))
        .and_then(|cli| match cli.command {
            super::Command::Run(args) => super::run::run(Arc::new(Oracle::new(spec)?), *args),
            _ => bail!("{}: run flags do not make a run", t.file.display()),
        });
    // A server that dies mid-run shows as transport errors; say why, so nobody hunts for a
    // regression in the snapshots' diff.
    if let Some(why) = server.gone(t) {
        eprintln!("{}: {why}", t.name);
    }
    // Stopped whatever happened, as the old script's trap did.
    server.stop(t);
    let code = result?;
    let verdict = if code == exit::OK { "passed" } else { "failed" };
    println!("gate {}: {verdict} (exit {code}, {:.0} s)", t.name, started.elapsed().as_secs_f64());
    Ok(code)
}

/// Runs `matrix` and returns the exit code.
pub fn matrix(spec: &Spec, args: MatrixArgs) -> Result<u8> {
    let mut columns = vec![];
    for t in targets::load_all(&args.targets)? {
        columns.push(matrix::column(&t, spec)?);
    }
    let text = match args.format {
        MatrixFormat::Markdown => matrix::render(&columns),
        MatrixFormat::Html => matrix::render_html(&columns, spec),
    };
    match (&args.update, &args.out) {
        (None, None) => print!("{text}"),
        (None, Some(path)) => {
            std::fs::write(path, &text).with_context(|| format!("{}: cannot write", path.display()))?;
            eprintln!("matrix: {} written", path.display());
        }
        (Some(path), _) => {
            let readme = read_text(path, InputLimit::README)?;
            let Some(new) = matrix::splice(&readme, &text) else {
                bail!("{}: no {} ... {} block to replace", path.display(), matrix::BEGIN, matrix::END);
            };
            std::fs::write(path, new).with_context(|| format!("{}: cannot write", path.display()))?;
            eprintln!("matrix: {} updated", path.display());
        }
    }
    Ok(exit::OK)
}
