//! `--profile` and `AWS_PROFILE`: a named profile's keys, session token and Region, read from
//! the shared credentials file (`[NAME]`) and the config file (`[profile NAME]`) as the AWS
//! CLI reads them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Env, PlanError};
use crate::wire::{Credentials, WireError};

const KEY_ID: &str = "aws_access_key_id";
const SECRET: &str = "aws_secret_access_key";
const TOKEN: &str = "aws_session_token";
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
            credentials = keys(s, &name, path)?;
        }
    }
    let region = in_config.as_ref().and_then(|s| s.values.get(REGION)).filter(|r| !r.is_empty()).cloned();
    Ok(Some(Profile { name, explicit, credentials, region }))
}

/// A file's path: its variable, or `~/.aws/<name>`; `None` without either.
fn path(env: &Env, var: &str, name: &str) -> Option<PathBuf> {
    env.nonempty(var).map(PathBuf::from).or_else(|| env.nonempty("HOME").map(|h| Path::new(&h).join(".aws").join(name)))
}

/// One section of an INI file: the line of its first header and its keys (lower case).
struct Section {
    line: usize,
    values: HashMap<String, String>,
}

/// The section whose header `matches`, repeated headers merged as configparser does; `None`
/// when the file is absent or has no such section.
fn section(path: &Path, matches: impl Fn(&str) -> bool) -> Result<Option<Section>, PlanError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(WireError::CredentialsRead { path: path.to_owned(), source }.into()),
    };
    // The line's text is never quoted: it may hold a secret.
    let syntax = |line, reason| WireError::CredentialsSyntax { path: path.to_owned(), line, reason };
    let (mut found, mut inside, mut in_any, mut after_key) = (None::<Section>, false, false, false);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        // An indented line after a key continues its value (nested settings such as `s3 =`).
        if after_key && raw.starts_with([' ', '\t']) {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest.strip_suffix(']').ok_or_else(|| syntax(i + 1, "section header without `]`"))?;
            (inside, in_any, after_key) = (matches(name.trim()), true, false);
            if inside && found.is_none() {
                found = Some(Section { line: i + 1, values: HashMap::new() });
            }
            continue;
        }
        let (k, v) =
            line.split_once('=').ok_or_else(|| syntax(i + 1, "expected `key = value`, a `[section]` or a comment"))?;
        if !in_any {
            return Err(syntax(i + 1, "`key = value` before any `[section]`").into());
        }
        after_key = true;
        if let (true, Some(s)) = (inside, found.as_mut()) {
            s.values.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    Ok(found)
}

/// A section's static keys: `None` when it has none; an error when it has half a pair.
fn keys(s: &Section, profile: &str, path: &Path) -> Result<Option<Credentials>, PlanError> {
    let get = |k: &str| s.values.get(k).filter(|v| !v.is_empty()).cloned();
    let incomplete = |missing| WireError::ProfileIncomplete {
        profile: profile.to_owned(),
        path: path.to_owned(),
        line: s.line,
        missing,
    };
    match (get(KEY_ID), get(SECRET)) {
        (Some(id), Some(secret)) => Ok(Some(Credentials::new(id, secret, get(TOKEN)))),
        (Some(_), None) => Err(incomplete(SECRET).into()),
        (None, Some(_)) => Err(incomplete(KEY_ID).into()),
        (None, None) => Ok(None),
    }
}
