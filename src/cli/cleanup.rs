//! `cleanup`: the command line of `copyimage_conformance::cleanup`, one line per resource.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use copyimage_conformance::{CleanedUp, CleanupFlags, Env, Fate, Spec, cleanup, exit};

/// `cleanup`'s flags.
#[derive(Debug, clap::Args)]
pub struct CleanupArgs {
    /// The journal a run wrote (--journal, or copyimage-conformance-<run id>.journal.jsonl).
    #[arg(long, value_name = "FILE")]
    pub journal: PathBuf,
    /// The endpoint; the one the journal names by default.
    #[arg(long, visible_alias = "endpoint-url", value_name = "URL")]
    pub endpoint: Option<String>,
    /// The Region of resources whose call the journal does not place; the journal's by default.
    #[arg(long)]
    pub region: Option<String>,
    /// Sign with your AWS credentials off AWS too (on AWS they are always used).
    #[arg(long)]
    pub use_env_credentials: bool,
    /// Sign with this profile of the shared credentials and config files, as `run --profile`
    /// does (its keys win over the key variables; `AWS_PROFILE` names one otherwise).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// Runs `cleanup`: 0 when every resource is gone (now or before), 1 when some could not be
/// deleted, 2 when the journal cannot be read or the endpoint not used.
pub fn run(spec: &Spec, args: CleanupArgs) -> Result<u8> {
    let flags = CleanupFlags {
        journal: args.journal,
        endpoint: args.endpoint,
        region: args.region,
        use_env_credentials: args.use_env_credentials,
        profile: args.profile,
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let mut out = std::io::stdout().lock();
    let mut written: std::io::Result<()> = Ok(());
    let mut tell = |done: &CleanedUp| {
        if written.is_ok() {
            written = writeln!(out, "{done}");
        }
    };
    let done = runtime.block_on(cleanup(spec, flags, &Env::from_process(), &mut tell))?;
    written?;
    let count = |f: fn(&Fate) -> bool| done.iter().filter(|d| f(&d.fate)).count();
    let (deleted, gone, failed) =
        (count(|f| *f == Fate::Deleted), count(|f| *f == Fate::AlreadyGone), count(|f| matches!(f, Fate::Failed(_))));
    writeln!(out, "cleanup: {deleted} deleted, {gone} already gone, {failed} failed")?;
    Ok(if failed == 0 { exit::OK } else { exit::DEVIATIONS })
}
