//! Targets: the endpoints users run (moto, moto-ext, LocalStack, the embedded one), each
//! described by a small TOML file in `targets/` that says how to install, start, check, reset
//! and stop it and which baseline it is gated against.
//!
//! [`server`] acts on a description (pip install, a server on a free loopback port, its
//! readiness check); [`matrix`] reads every target's committed baseline into one table.

pub mod matrix;
pub mod server;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::spec::input::{Limit, read_text};

/// The directory of target descriptions, relative to the repository root.
pub const DEFAULT_DIR: &str = "targets";

/// A target description that cannot be used, or a server that would not behave.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A file or directory could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A description is not valid TOML for a target.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Line number (from 1), 0 when unknown.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A field of a description has a value that cannot work.
    #[error("{path}: {field}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The field, as a TOML path (`start.command`).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// No description has this name.
    #[error("no target named {name:?} in {dir}; known: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The directory searched.
        dir: String,
        /// The names that exist.
        known: String,
    },
    /// Installing, starting, checking, resetting or stopping a server failed.
    #[error("{target}: {message}")]
    Server {
        /// The target's name.
        target: String,
        /// What happened, with the end of the server's log when there is one.
        message: String,
    },
    /// A baseline could not be read for the matrix.
    #[error(transparent)]
    Baseline(#[from] crate::snapshot::BaselineError),
}

pub(crate) fn io_err(path: &Path, e: impl std::fmt::Display) -> TargetError {
    TargetError::Io { path: path.display().to_string(), message: e.to_string() }
}

/// One target, as its description file gives it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The name (the file's stem): what `targets start NAME` takes.
    pub name: String,
    /// One line on what it is, with its pinned version.
    pub about: String,
    /// Working directory for the venv, PID, URL and log files, relative to the repository root.
    pub dir: PathBuf,
    /// The baseline directory its gate compares with.
    pub baseline: PathBuf,
    /// Flags added to `run` by the gate (e.g. `--setup`, `--stateful 30`).
    #[serde(default)]
    pub run: Vec<String>,
    /// How to install it; absent when nothing needs installing.
    pub install: Option<Install>,
    /// How to start it.
    pub start: Start,
    /// How to tell that it is up.
    pub ready: Ready,
    /// How to drop every resource it holds without a restart; absent when it cannot.
    pub reset: Option<Reset>,
    /// How to stop it.
    #[serde(default)]
    pub stop: Stop,
    /// Where the file came from (set when loaded).
    #[serde(skip)]
    pub file: PathBuf,
}

/// Installation into a virtual environment with pip.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// The Python that creates the venv (`python3`).
    #[serde(default = "default_python")]
    pub python: String,
    /// pip requirement specifiers, pinned, installed in one resolver run.
    pub packages: Vec<String>,
}

fn default_python() -> String {
    "python3".to_owned()
}

/// The start command. Arguments and environment values may name `{port}` (a free loopback
/// port), `{dir}` (the working directory, absolute), `{venv}` (`{dir}/venv`) and `{self}`
/// (this program).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Start {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Seconds to wait for the readiness check to pass.
    #[serde(default = "default_start_timeout")]
    pub timeout_seconds: f64,
}

fn default_start_timeout() -> f64 {
    60.0
}

/// The readiness check: a GET on the server that must answer as given.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// The path to GET (`/moto-api/`).
    pub path: String,
    /// The HTTP status it must answer; any status when absent.
    pub status: Option<u16>,
    /// A regular expression the body must match, when given.
    pub body: Option<String>,
    /// A path to GET once the check passes, waiting for any answer, so that a server that
    /// loads a service on its first request has done so before the run's timeouts apply.
    pub warmup: Option<String>,
}

/// The reset request.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    /// `GET` or `POST`.
    #[serde(default = "default_method")]
    pub method: String,
    /// The path (`/moto-api/reset`).
    pub path: String,
    /// The status that means success.
    #[serde(default = "default_status")]
    pub status: u16,
}

fn default_method() -> String {
    "POST".to_owned()
}

fn default_status() -> u16 {
    200
}

/// How to stop: SIGTERM to the server's process group, then SIGKILL after the timeout.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stop {
    /// Seconds between SIGTERM and SIGKILL.
    #[serde(default = "default_stop_timeout")]
    pub timeout_seconds: f64,
}

impl Default for Stop {
    fn default() -> Self {
        Stop { timeout_seconds: default_stop_timeout() }
    }
}

fn default_stop_timeout() -> f64 {
    10.0
}

const PLACEHOLDERS: &[&str] = &["{port}", "{dir}", "{venv}", "{self}"];

impl Target {
    /// Reads and checks one description; `path`'s stem must be the target's name.
    pub fn load(path: &Path) -> Result<Self, TargetError> {
        let text = read_text(path, Limit::TARGET).map_err(|e| io_err(path, e.reason()))?;
        let mut target: Target = toml::from_str(&text).map_err(|e| TargetError::Parse {
            path: path.display().to_string(),
            line: e.span().map_or(0, |s| 1 + text[..s.start].matches('\n').count()),
            message: e.message().to_owned(),
        })?;
        target.file = path.to_owned();
        target.validate()?;
        Ok(target)
    }

    fn invalid(&self, field: &str, message: impl Into<String>) -> TargetError {
        TargetError::Invalid { path: self.file.display().to_string(), field: field.to_owned(), message: message.into() }
    }

    fn validate(&self) -> Result<(), TargetError> {
        let stem = self.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if self.name != stem {
            return Err(self.invalid("name", format!("{:?} differs from the file name's {stem:?}", self.name)));
        }
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(self.invalid("name", "give lower-case letters, digits and '-'"));
        }
        for (field, path) in [("dir", &self.dir), ("baseline", &self.baseline)] {
            if path.as_os_str().is_empty() || path.is_absolute() {
                return Err(self.invalid(field, "give a path relative to the repository root"));
            }
        }
        if let Some(install) = &self.install {
            if install.packages.is_empty() || install.packages.iter().any(|p| p.trim().is_empty()) {
                return Err(self.invalid("install.packages", "give one or more pip requirements"));
            }
            if let Some(p) = install.packages.iter().find(|p| !p.contains("==") && !p.contains('<')) {
                return Err(self.invalid("install.packages", format!("{p:?} is not pinned (== or <)")));
            }
        }
        if self.start.command.is_empty() || self.start.command[0].is_empty() {
            return Err(self.invalid("start.command", "give the program and its arguments"));
        }
        let texts = self.start.command.iter().chain(self.start.env.values());
        for text in texts {
            self.check_placeholders(text)?;
        }
        check_seconds(self, "start.timeout_seconds", self.start.timeout_seconds)?;
        check_seconds(self, "stop.timeout_seconds", self.stop.timeout_seconds)?;
        if !self.ready.path.starts_with('/') {
            return Err(self.invalid("ready.path", "give a path starting with '/'"));
        }
        if self.ready.warmup.as_ref().is_some_and(|w| !w.starts_with('/')) {
            return Err(self.invalid("ready.warmup", "give a path starting with '/'"));
        }
        if let Some(body) = &self.ready.body {
            regex::Regex::new(body).map_err(|e| self.invalid("ready.body", e.to_string()))?;
        }
        if let Some(reset) = &self.reset {
            if reset.method != "GET" && reset.method != "POST" {
                return Err(self.invalid("reset.method", "give GET or POST"));
            }
            if !reset.path.starts_with('/') {
                return Err(self.invalid("reset.path", "give a path starting with '/'"));
            }
        }
        Ok(())
    }

    fn check_placeholders(&self, text: &str) -> Result<(), TargetError> {
        let mut rest = text;
        while let Some(i) = rest.find('{') {
            let Some(len) = rest[i..].find('}') else { break };
            let word = &rest[i..i + len + 1];
            if !PLACEHOLDERS.contains(&word) {
                return Err(
                    self.invalid("start", format!("unknown placeholder {word}; known: {}", PLACEHOLDERS.join(" ")))
                );
            }
            if word == "{venv}" && self.install.is_none() {
                return Err(self.invalid("start", "{venv} needs an [install] section"));
            }
            rest = &rest[i + len + 1..];
        }
        Ok(())
    }

    /// The stateful sequences its gate runs (`--stateful N` in `run`), 0 when none.
    pub fn stateful(&self) -> u32 {
        let at = self.run.iter().position(|a| a == "--stateful");
        at.and_then(|i| self.run.get(i + 1)).and_then(|n| n.parse().ok()).unwrap_or(0)
    }
}

fn check_seconds(t: &Target, field: &str, s: f64) -> Result<(), TargetError> {
    if s.is_finite() && s > 0.0 && s <= 600.0 {
        Ok(())
    } else {
        Err(t.invalid(field, format!("{s}: give seconds between 0 and 600")))
    }
}

/// Every description in `dir`, sorted by name.
pub fn load_all(dir: &Path) -> Result<Vec<Target>, TargetError> {
    let entries = fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
    let mut out = vec![];
    for entry in entries {
        let path = entry.map_err(|e| io_err(dir, e))?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            out.push(Target::load(&path)?);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The description named `name` in `dir`.
pub fn find(dir: &Path, name: &str) -> Result<Target, TargetError> {
    let all = load_all(dir)?;
    let known = all.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ");
    all.into_iter().find(|t| t.name == name).ok_or_else(|| TargetError::Unknown {
        name: name.to_owned(),
        dir: dir.display().to_string(),
        known,
    })
}

#[cfg(test)]
mod tests;
