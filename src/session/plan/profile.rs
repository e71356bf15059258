//! `--profile` and `AWS_PROFILE`: a named profile's keys, session token and Region, read from
//! the shared credentials file (`[NAME]`) and the config file (`[profile NAME]`) as the AWS
//! CLI reads them.

use std::path::{Path, PathBuf};

use super::{Env, PlanError};
use crate::spec::input::{Limit, read_text};
use crate::wire::{Credentials, Redactor, WireError, ini};

const REGION: &str = "region";

/// A profile found in the credentials or config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// Given with `--profile`: its keys win over the key variables, as with the AWS CLI's
    /// `--profile`; from `AWS_PROFILE`, the key variables win.
    pub explicit: bool,
    /// Its static keys (credentials file first, then config file), if it has any.
    pub credentials: Option<Credentials>,
    /// Its Region, from the config file.
    pub region: Option<String>,
}

/// The profile `--profile` (`flag`) or else `AWS_PROFILE` names, read from
/// `${AWS_SHARED_CREDENTIALS_FILE:-~/.aws/credentials}` and `${AWS_CONFIG_FILE:-~/.aws/config}`;
/// `None` when no profile is named. A named profile in neither file is an error naming both.
pub fn resolve(flag: Option<&str>, env: &Env) -> Result<Option<Profile>, PlanError> {
    let (name, explicit) = match (flag.filter(|f| !f.is_empty()), env.nonempty("AWS_PROFILE")) {
        (Some(flag), _) => (flag.to_owned(), true),
        (None, Some(var)) => (var, false),
        (None, None) => return Ok(None),
    };
    let credentials_file = path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config_file = path(env, "AWS_CONFIG_FILE", "config");
    let in_credentials = match &credentials_file {
        Some(p) => section(p, |s| s == name)?,
        None => None,
    };
    // The config file writes `[profile NAME]`, except for the default profile.
    let in_config = match &config_file {
        Some(p) => section(p, |s| {
            s.strip_prefix("profile ").is_some_and(|n| n.trim() == name) || (name == "default" && s == "default")
        })?,
        None => None,
    };
    if in_credentials.is_none() && in_config.is_none() {
        let files = [credentials_file, config_file].into_iter().flatten().map(|p| p.display().to_string());
        let files = files.collect::<Vec<_>>();
        return Err(PlanError::ProfileNotFound {
            profile: name,
            files: if files.is_empty() {
                "no file (neither HOME nor the file variables are set)".into()
            } else {
                files.join(" or ")
            },
        });
    }
    let mut credentials = None;
    for (found, path) in [(&in_credentials, &credentials_file), (&in_config, &config_file)] {
        if let (Some(s), Some(path), None) = (found, path, &credentials) {
            credentials = s.credentials(&name, path)?;
        }
    }
    let region = in_config.as_ref().and_then(|s| s.values.get(REGION)).filter(|r| !r.is_empty()).cloned();
    Ok(Some(Profile { name, explicit, credentials, region }))
}

/// The credentials the environment gives, as the AWS CLI picks them: a `--profile`'s keys;
/// else the key variables; else `AWS_PROFILE`'s keys (or the default profile's in the
/// credentials file). `Ok(None)` when there are none. What it finds is held for the process's
/// last redactor ([`Redactor::hold`]).
pub fn env_credentials(profile: Option<&Profile>, env: &Env) -> Result<Option<Credentials>, WireError> {
    let found = match profile {
        Some(p) if p.explicit => Ok(p.credentials.clone()),
        Some(p) => {
            // Only the key variables: the profile is already read, from both files.
            let keys = Credentials::from_env(&|k| env.var(k).filter(|_| super::CREDENTIAL_VARS.contains(&k)))?;
            Ok(keys.or_else(|| p.credentials.clone()))
        }
        None => Credentials::from_env(&|k| env.var(k)),
    }?;
    // Whatever the process signs with, the redactor of its last error message knows.
    if let Some(credentials) = &found {
        Redactor::hold(credentials);
    }
    Ok(found)
}

/// A file's path: its variable, or `~/.aws/<name>`; `None` without either.
fn path(env: &Env, var: &str, name: &str) -> Option<PathBuf> {
    env.nonempty(var).map(PathBuf::from).or_else(|| env.nonempty("HOME").map(|h| Path::new(&h).join(".aws").join(name)))
}

/// The section of the file at `path` whose header `matches`; `None` when the file is absent or
/// has no such section.
fn section(path: &Path, matches: impl Fn(&str) -> bool) -> Result<Option<ini::Section>, PlanError> {
    let text = match read_text(path, Limit::CREDENTIALS) {
        Ok(text) => text,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(WireError::CredentialsRead { path: path.to_owned(), source: e.into_io() }.into()),
    };
    Ok(ini::section(&text, path, matches)?)
}
