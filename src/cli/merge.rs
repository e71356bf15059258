//! `merge`: the JSON reports of a run's shards (`run --partition K/N`) combined into one
//! report, in `run`'s formats and with `run`'s exit codes.

use std::fs::{self, File};
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
///
/// A link to a regular file is followed (its target is replaced). Where no file can be made
/// beside it (a read-only directory), or the whole report cannot be renamed onto it (a
/// single-file bind mount), it is written in place, as before reports were staged.
fn staged(path: &Path, write: impl FnOnce(Box<dyn Write>) -> std::io::Result<()>) -> Result<()> {
    let followed = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
        && fs::metadata(path).is_ok_and(|m| m.is_file());
    let target = if followed { fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()) } else { path.to_owned() };
    let staging = stageable(&target).then(|| Partial::create(&target)).flatten();
    let Some((partial, file)) = staging else {
        let file = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
        return write(Box::new(BufWriter::new(file))).with_context(|| format!("{}", path.display()));
    };
    let copy = file.try_clone().with_context(|| format!("{}: cannot create", path.display()))?;
    write(Box::new(BufWriter::new(copy))).with_context(|| format!("{}", path.display()))?;
    partial.finish(&file, &target).with_context(|| format!("{}: cannot create", path.display()))
}

/// Whether `path` is written by way of a partial file: a new file or a regular one. Anything
/// else (`/dev/stdout`, a FIFO) is opened and written in place, as it always was: renaming
/// onto it would replace the device with a file.
fn stageable(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(m) => m.file_type().is_file(),
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// A partial report's file beside its target, removed unless it was renamed into place.
struct Partial(PathBuf);

impl Partial {
    /// A new partial file beside `target`; `None` where none can be made.
    fn create(target: &Path) -> Option<(Partial, File)> {
        let name = target.file_name()?.to_string_lossy().into_owned();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = target.with_file_name(format!(".{name}.{}-{nanos}.partial", std::process::id()));
        let file = fs::OpenOptions::new().write(true).create_new(true).open(&path).ok()?;
        Some((Partial(path), file))
    }

    /// Puts the finished report, written to `file`, in place of `target`: synced, with the
    /// permissions the file there had, renamed onto it or, where that cannot be, copied in.
    fn finish(self, file: &File, target: &Path) -> std::io::Result<()> {
        file.sync_all()?;
        if let Ok(old) = fs::metadata(target) {
            let _ = fs::set_permissions(&self.0, old.permissions());
        }
        if fs::rename(&self.0, target).is_err() {
            fs::copy(&self.0, target)?;
        }
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        // Gone already once renamed.
        let _ = fs::remove_file(&self.0);
    }
}
