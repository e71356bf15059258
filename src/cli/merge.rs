//! `merge`: the JSON reports of a run's shards (`run --partition K/N`) combined into one
//! report, in `run`'s formats and with `run`'s exit codes.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;

use copyimage_conformance::{MergedRun, ReportBefore, ReportFormat, Staged};

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
    match &args.output {
        Some(path) => staged(path, |out| merged.write(args.format.into(), out))?,
        None => merged.write(args.format.into(), Box::new(BufWriter::new(std::io::stdout())))?,
    }
    if let Some(path) = &args.junit {
        staged(path, |out| merged.write(ReportFormat::Junit, out))?;
    }
    if args.output.is_some() {
        eprintln!("{}", merged.verdict_line());
    }
    Ok(merged.exit_code())
}

/// Writes a report to `path` by way of a file beside it, renamed into place once whole: a JSON
/// report reads the shards again as it writes, so a failure half-way (or `--output` naming one
/// of the shards) leaves no half-written report and the file that was there untouched.
fn staged(path: &Path, write: impl FnOnce(Box<dyn Write>) -> std::io::Result<()>) -> Result<()> {
    let cannot = || format!("{}: cannot create", path.display());
    let (staged, out) = Staged::create(path, ReportBefore::Kept).with_context(cannot)?;
    write(out).with_context(|| format!("{}", path.display()))?;
    staged.commit().with_context(cannot)
}
