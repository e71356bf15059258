//! Why flags and environment do not make a run: each refusal names the flag, variable or
//! file at fault.

use crate::report::ShardError;
use crate::spec::RuleIdError;
use crate::wire::WireError;
use crate::world::WorldError;

/// Flags or environment that do not make a run.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The world file cannot be used.
    #[error(transparent)]
    World(#[from] WorldError),
    /// The Region is in none of the spec's partitions.
    #[error(
        "Region {region:?} is not one the spec knows (specs/copy_image.toml [[partition]]); pass --region with a known one"
    )]
    UnknownRegion {
        /// The Region asked for.
        region: String,
    },
    /// `--timeout` out of range.
    #[error("--timeout {seconds}: give seconds between 0 and 3600")]
    Timeout {
        /// The seconds given.
        seconds: f64,
    },
    /// `--endpoint` does not parse as a URL.
    #[error("--endpoint {url:?}: not a URL ({reason})")]
    NotAUrl {
        /// The endpoint given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// `--endpoint` is not http(s) or has no host.
    #[error("--endpoint {url:?}: needs an http:// or https:// URL with a host")]
    NoHost {
        /// The endpoint given.
        url: String,
    },
    /// `--endpoint` carries a user name or password.
    #[error("--endpoint: credentials in the URL are not supported (they would be sent as the Host and printed)")]
    CredentialsInUrl,
    /// `--live` for an endpoint that is not AWS's.
    #[error("--live is for real AWS endpoints; {url} is not one")]
    LiveNotAws {
        /// The endpoint, or "the embedded endpoint".
        url: String,
    },
    /// `--endpoint` has a query string or fragment, which every request would carry.
    // The URL is not repeated: a query string may hold a presigned token.
    #[error("--endpoint: a query string or fragment is not allowed (it would be sent, and signed, with every request)")]
    QueryInUrl,
    /// `--endpoint`'s host is written with percent escapes, which hide what it names.
    #[error("--endpoint {url:?}: percent-encoded host; write the host plainly")]
    PercentEncodedHost {
        /// The endpoint given.
        url: String,
    },
    /// `--not-aws` for a host under one of AWS's own DNS suffixes.
    #[error("--not-aws: {host} is under {suffix}, one of AWS's own domains (specs/copy_image.toml [[partition]])")]
    NotAwsOnAws {
        /// The endpoint's host.
        host: String,
        /// The AWS suffix it is under.
        suffix: String,
    },
    /// `--setup` on AWS without `--live`: setup creates resources, none of them a DryRun.
    #[error(
        "--setup creates images, volumes and snapshots on {url}, which is AWS's: add --live and --max-creates to allow it"
    )]
    SetupNeedsLive {
        /// The endpoint.
        url: String,
    },
    /// `--max-creates` without `--live`, where it would be ignored.
    #[error("--max-creates only counts with --live; without --live every request is a DryRun")]
    MaxCreatesWithoutLive,
    /// `--live` without `--max-creates`: a live run needs a budget of creating requests.
    // The command line refuses this while parsing flags; library callers meet it here.
    #[error("--live needs --max-creates: at most how many requests may create an image")]
    LiveWithoutMaxCreates,
    /// `--partition` names no shard.
    #[error(transparent)]
    Partition(#[from] ShardError),
    /// `--partition` with `--update-baseline`, which would write one shard's share as the
    /// whole baseline.
    #[error(
        "--partition with --update-baseline: a shard sees only its share of the corpus; update the baseline from an unsplit run"
    )]
    PartitionUpdate,
    /// A numeric flag out of its range.
    #[error("{flag} {value}: out of range; give {range}")]
    OutOfRange {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: u64,
        /// The allowed range, in words.
        range: &'static str,
    },
    /// `--setup` without an endpoint: the embedded endpoint starts with its world's images and
    /// does not take the calls that would prepare them.
    #[error(
        "--setup needs --endpoint (or --endpoint-url): it prepares source images on the endpoint under test, and the embedded endpoint is set up already"
    )]
    SetupNeedsEndpoint,
    /// `--rule` names no single rule.
    #[error("--rule: {0}")]
    Rule(RuleIdError),
    /// The named profile is in neither the credentials nor the config file.
    #[error("profile `{profile}` not found in {files}")]
    ProfileNotFound {
        /// The profile asked for.
        profile: String,
        /// The files searched.
        files: String,
    },
    /// The credentials or config file cannot be read, or the profile's keys are incomplete.
    #[error(transparent)]
    Profile(#[from] WireError),
    /// A credential variable holds a control character (a pasted newline), which no signed
    /// request can carry.
    // Only the variable's name is shown: its value is a secret.
    #[error("{var} contains a control character (a newline?); it cannot be sent in a signed request")]
    ControlCharacter {
        /// The variable.
        var: &'static str,
    },
}
