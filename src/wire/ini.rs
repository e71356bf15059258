//! The INI files the AWS CLI reads (`~/.aws/credentials`, `~/.aws/config`): one section's keys,
//! read as botocore's configparser does, and the static key pair it may hold.

use std::collections::HashMap;
use std::path::Path;

use super::{Credentials, WireError};

/// The key of the access key id.
pub const KEY_ID: &str = "aws_access_key_id";
/// The key of the secret access key.
pub const SECRET: &str = "aws_secret_access_key";
/// The key of the session token.
pub const TOKEN: &str = "aws_session_token";

/// One section of an INI file: where its first header is, and its keys (lower-cased) with
/// their values.
pub struct Section {
    /// The line of its first header (a repeated section merges into it).
    pub line: usize,
    /// Its keys, lower-cased, and their trimmed values; a later value wins.
    pub values: HashMap<String, String>,
}

impl Section {
    /// The section's static keys: `None` when it has neither key; an error naming `profile`,
    /// `path` and the section's line when it has half a pair. Empty values count as absent.
    pub fn credentials(&self, profile: &str, path: &Path) -> Result<Option<Credentials>, WireError> {
        let get = |k: &str| self.values.get(k).filter(|v| !v.is_empty()).cloned();
        let incomplete = |missing| WireError::ProfileIncomplete {
            profile: profile.to_owned(),
            path: path.to_owned(),
            line: self.line,
            missing,
        };
        match (get(KEY_ID), get(SECRET)) {
            (Some(id), Some(secret)) => Ok(Some(Credentials::new(id, secret, get(TOKEN)))),
            (Some(_), None) => Err(incomplete(SECRET)),
            (None, Some(_)) => Err(incomplete(KEY_ID)),
            (None, None) => Ok(None),
        }
    }
}

/// The section of `text` (the file at `path`) whose header `matches`, repeated headers merged
/// as configparser does; `None` when it has no such section. Errors name the file and line,
/// never the line's text: it may hold a secret.
pub fn section(text: &str, path: &Path, matches: impl Fn(&str) -> bool) -> Result<Option<Section>, WireError> {
    let syntax = |line, reason| WireError::CredentialsSyntax { path: path.to_owned(), line, reason };
    let (mut found, mut inside, mut in_any, mut after_key) = (None::<Section>, false, false, false);
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        // An indented line after a key continues its value (nested settings such as `s3 =`);
        // none of the keys read here span lines.
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
            return Err(syntax(i + 1, "`key = value` before any `[section]`"));
        }
        after_key = true;
        if let (true, Some(s)) = (inside, found.as_mut()) {
            s.values.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    Ok(found)
}
