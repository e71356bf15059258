//! `merge`: the JSON reports of a run's shards (`run --partition K/N`) combined into one
//! report, in `run`'s formats and with `run`'s exit codes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use copyimage_conformance::{MergedRun, ReportFormat};

use super::run::Format;

/// Flags of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' reports, each written by `run --partition K/N --format json --output FILE`.
    /// Every shard once; a missing shard makes the merged verdict at best INCONCLUSIVE (exit 3).
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write a JUnit XML report to this file (for a CI test-results view).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Runs `merge` and returns the exit code.
pub fn run(args: MergeArgs) -> Result<u8> {
    let merged = MergedRun::read(&args.reports, args.format == Format::Json)?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(create(path)?),
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    merged.write(args.format.into(), out)?;
    if let Some(path) = &args.junit {
        merged.write(ReportFormat::Junit, Box::new(create(path)?)).with_context(|| format!("{}", path.display()))?;
    }
    if args.output.is_some() {
        eprintln!("{}", merged.verdict_line());
    }
    Ok(merged.exit_code())
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    let file = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    Ok(BufWriter::new(file))
}
