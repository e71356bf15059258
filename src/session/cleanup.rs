//! `cleanup` resolved: the journal read, the endpoint and Region (the flags', else the
//! journal's), credentials as `run` takes them (the environment's on AWS), then
//! [`crate::run::cleanup`].

use std::path::PathBuf;
use std::time::Duration;

use crate::report::escape;
use crate::run::cleanup::{CleanupError, Done, Fate};
use crate::run::journal::{self, JournalError};
use crate::run::{Dialect, Protocol, Safety, Target};
use crate::spec::Spec;
use crate::wire::{Credentials, Redactor, WireError};

use super::plan::{env_credentials, resolve_profile};
use super::safety::AwsHosts;
use super::{Env, NoCredentials};

/// What the user asked `cleanup` for.
#[derive(Clone, Debug)]
pub struct CleanupFlags {
    /// The journal of the run to undo.
    pub journal: PathBuf,
    /// The endpoint; the journal's when `None`.
    pub endpoint: Option<String>,
    /// The Region of resources the journal does not place; the journal's when `None`.
    pub region: Option<String>,
    /// Sign with the environment's credentials off AWS too.
    pub use_env_credentials: bool,
    /// The named profile of the shared credentials and config files (`--profile`), ahead of
    /// `AWS_PROFILE`, whose keys sign the calls (as `run --profile` takes them).
    pub profile: Option<String>,
}

/// Why `cleanup` could not run.
#[derive(Debug, thiserror::Error)]
pub enum CleanupSessionError {
    /// The journal cannot be read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The endpoint does not parse as an http(s) URL with a host.
    #[error("--endpoint {url:?}: needs an http:// or https:// URL with a host")]
    NoHost {
        /// The endpoint.
        url: String,
    },
    /// The environment's credentials are unusable.
    #[error(transparent)]
    Credentials(#[from] WireError),
    /// AWS needs real credentials, and the environment has none.
    #[error(transparent)]
    NoCredentials(#[from] NoCredentials),
    /// The named profile cannot be read.
    #[error(transparent)]
    Profile(#[from] super::PlanError),
    /// The cleanup itself could not run.
    #[error(transparent)]
    Cleanup(#[from] CleanupError),
}

/// Undoes the journal's run; `tell` gets each resource's fate as it is decided.
pub async fn cleanup(
    spec: &Spec,
    flags: CleanupFlags,
    env: &Env,
    tell: &mut dyn FnMut(&Done),
) -> Result<Vec<Done>, CleanupSessionError> {
    let mut journal = journal::read(&flags.journal)?;
    if let Some(region) = flags.region {
        journal.region = region;
    }
    let endpoint = flags.endpoint.unwrap_or_else(|| journal.endpoint.clone());
    let host = reqwest::Url::parse(&endpoint)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .and_then(|u| u.host_str().map(str::to_owned))
        .ok_or_else(|| CleanupSessionError::NoHost { url: endpoint.clone() })?;
    let aws = AwsHosts::from_spec(spec).contains(&host);
    // Deleting is a mutating call: on AWS, only with the account's own credentials.
    let profile = resolve_profile(flags.profile.as_deref(), env)?;
    let signs = aws || flags.use_env_credentials;
    // Read once: they sign, or (signing with the dummy ones) are only redacted, as `run` does
    // with the credentials the process holds.
    let held = match env_credentials(profile.as_ref(), env) {
        Ok(held) => held,
        Err(e) if signs => return Err(e.into()),
        Err(_) => None,
    };
    let (credentials, dummy) =
        if signs { (held.clone().ok_or(NoCredentials)?, false) } else { (Credentials::dummy(), true) };
    let target = Target {
        endpoint,
        region: journal.region.clone(),
        dialect: Dialect::Ec2Query,
        credentials,
        dummy_credentials: dummy,
        timeout: Duration::from_secs(30),
        max_body: 8 << 20,
        retries: 3,
        backoff: Duration::from_millis(200),
        // No DryRun forcing and no journal: cleanup deletes only what the journal names.
        safety: Safety::default(),
        protocol: Protocol::from_spec(spec),
    };
    let redactor = Redactor::new(held.as_ref());
    let mut told = |d: &Done| tell(&shown(&redactor, d));
    let done = crate::run::cleanup::cleanup(&target, &journal, &mut told).await?;
    Ok(done.iter().map(|d| shown(&redactor, d)).collect())
}

/// `done` as it may be shown: what the endpoint said (an image id its tag search gave, the
/// reason a call failed) redacted, since a server may echo a request's signature or token,
/// and one line of text without control characters, which could drive the user's terminal.
fn shown(redactor: &Redactor, done: &Done) -> Done {
    let clean = |text: &str| escape::line(&redactor.text(text)).into_owned();
    let fate = match &done.fate {
        Fate::Failed(why) => Fate::Failed(clean(why)),
        other => other.clone(),
    };
    Done { id: clean(&done.id), fate, ..done.clone() }
}
