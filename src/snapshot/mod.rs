//! Snapshot baselines: a stored corpus, each case's normalized response in insta-format files,
//! and the deviations accepted for a target, so a gate fails only on change.
//!
//! A baseline directory holds `corpus.jsonl` (a header with the world the corpus was made
//! for, then one case per line), one `<target>.snap` per case target, and `accepted.toml`.
//! Every file is written whole or not at all (a temporary file renamed into place), with the
//! credentials the process holds redacted.

mod accepted;
pub mod corpus;
mod normalize;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::run::CaseRecord;
use crate::spec::Spec;
use crate::spec::input::{InputError, Limit, read_text};
use crate::verdict::Verdict;
use crate::wire::Redactor;
pub use accepted::{DraftEntry, annotation_rules, draft as draft_accepted};
pub use corpus::{Corpus, map_roles};
pub use normalize::render_case;

/// A baseline that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A file is malformed.
    #[error("{path}:{line}: {message}")]
    Format {
        /// The file.
        path: String,
        /// Line number (from 1), 0 when unknown.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> BaselineError {
    BaselineError::Io { path: path.display().to_string(), message: e.to_string() }
}

impl From<InputError> for BaselineError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Read { path, cause } => BaselineError::Io { path, message: cause.to_string() },
            InputError::TooLarge { path, limit } => BaselineError::Io { path, message: format!("larger than {limit}") },
            InputError::LineTooLong { path, line, limit } => {
                BaselineError::Format { path, line, message: format!("longer than {limit}") }
            }
        }
    }
}

/// Writes `bytes` to `path` whole or not at all: into a temporary file of the same directory,
/// synced, then renamed over `path`; an interrupted run leaves no half-written file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BaselineError> {
    use std::io::Write;
    let name = path.file_name().map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    match written.and_then(|()| fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(io_err(path, e))
        }
    }
}

/// One accepted deviation: cases decided by `rule` (and, if given, with this finding) do not
/// fail the gate.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    /// A deciding rule id.
    pub rule: String,
    /// The finding kind (`success_instead_of_error`, `wrong_code`, ..., or `unparseable`,
    /// `transport_error`); any when absent.
    pub finding: Option<String>,
    /// Why the gap is accepted for this target.
    // Required so every accepted gap in accepted.toml says why; people read it, the gate does not.
    #[allow(dead_code)]
    pub reason: String,
}

/// A stateful property the target is known to fail: it is not checked (and so cannot fail
/// the gate).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptedProperty {
    /// The property name (see `run::properties::PROPERTIES`).
    pub property: String,
    /// Why the gap is accepted for this target.
    // Required so every accepted property in accepted.toml says why; people read it, the gate
    // does not.
    #[allow(dead_code)]
    pub reason: String,
}

/// The kinds of a verdict a rule of `accepted.toml` can name.
pub fn finding_kinds(v: &Verdict) -> Vec<String> {
    match v {
        Verdict::Conforms { .. } => vec![],
        Verdict::Deviation { findings } => findings
            .iter()
            .map(|f| {
                serde_json::to_value(f).ok().and_then(|j| j["finding"].as_str().map(str::to_owned)).unwrap_or_default()
            })
            .collect(),
        other => vec![other.kind().to_owned()],
    }
}

/// The outcome of comparing a run with its baseline.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Comparison {
    /// Snapshot files whose content changed (or appeared, or went away).
    pub changed: Vec<String>,
    /// Non-conforming cases covered by `accepted.toml`.
    pub accepted: u64,
    /// Non-conforming cases not covered: `(case id, what)`.
    pub unaccepted: Vec<(String, String)>,
    /// Unified diffs of the changed files, for people.
    #[serde(skip)]
    pub diffs: Vec<String>,
}

impl Comparison {
    /// Whether the gate passes.
    pub fn passes(&self) -> bool {
        self.changed.is_empty() && self.unaccepted.is_empty()
    }
}

/// A baseline directory being checked or rewritten.
pub struct Baseline {
    dir: PathBuf,
    accepted: Vec<Accepted>,
    accepted_properties: Vec<AcceptedProperty>,
    rendered: BTreeMap<String, String>,
    accepted_count: u64,
    unaccepted: Vec<(String, String)>,
    redactor: Redactor,
    only: Option<BTreeSet<String>>,
}

const HEADER_SOURCE: &str = "copyimage-conformance";

impl Baseline {
    /// Opens a baseline directory (it may not exist yet when it is about to be written); the
    /// entries of its `accepted.toml` must name rules of `spec`.
    pub fn open(dir: &Path, spec: &Spec) -> Result<Self, BaselineError> {
        let file = accepted::read(&dir.join("accepted.toml"), spec)?;
        Ok(Baseline {
            dir: dir.to_owned(),
            accepted: file.accept,
            accepted_properties: file.accept_property,
            rendered: BTreeMap::new(),
            accepted_count: 0,
            unaccepted: vec![],
            redactor: Redactor::none(),
            only: None,
        })
    }

    /// Redacts what is recorded (and so what is compared and written) with `redactor`.
    pub fn redact_with(&mut self, redactor: Redactor) {
        self.redactor = redactor;
    }

    /// The accepted deviations of its `accepted.toml`, in file order.
    pub fn accepted(&self) -> &[Accepted] {
        &self.accepted
    }

    /// Compares only these cases with the files on disk (one shard of the corpus, with
    /// `--partition`): the other cases' entries are left out of the files before comparing.
    pub fn only_cases(&mut self, ids: BTreeSet<String>) {
        self.only = Some(ids);
    }

    /// A snapshot body as this baseline compares it: whole, or only the cases it runs.
    fn comparable(&self, body: &str) -> String {
        match &self.only {
            Some(ids) => keep_cases(body, ids),
            None => body.to_owned(),
        }
    }

    /// The stateful properties accepted as failing.
    pub fn accepted_properties(&self) -> &[AcceptedProperty] {
        &self.accepted_properties
    }

    /// Records one case's normalized response. `annotations` are rule ids that only annotate
    /// a success (the spec's last phase): they never explain a deviation.
    pub fn add(&mut self, rec: &CaseRecord, roles: &BTreeMap<String, String>, annotations: &[String]) {
        let text = self.rendered.entry(file_stem(&rec.target)).or_default();
        text.push_str(&self.redactor.text(&render_case(rec, roles)));
        let v = rec.verdict();
        if v.passes() {
            return;
        }
        if self.accepting(rec, annotations).is_some() {
            self.accepted_count += 1;
        } else {
            self.unaccepted.push((rec.id.clone(), format!("[{}] {v}", rec.result.prediction.rule_ids().join(", "))));
        }
    }

    /// The entry of `accepted.toml` that accepts a non-conforming case, if one does.
    /// `annotations` are rule ids that only annotate a success: they never explain a deviation.
    pub fn accepting(&self, rec: &CaseRecord, annotations: &[String]) -> Option<&Accepted> {
        let v = rec.verdict();
        if v.passes() {
            return None;
        }
        // The case's most serious finding is the one an entry must name.
        let kind = finding_kinds(v).into_iter().next();
        self.accepted.iter().find(|a| {
            !annotations.contains(&a.rule)
                && rec.result.prediction.has_rule(&a.rule)
                && a.finding.as_ref().is_none_or(|f| kind.as_ref() == Some(f))
        })
    }

    /// Compares what was recorded with the files on disk.
    pub fn compare(&self) -> Result<Comparison, BaselineError> {
        let mut cmp =
            Comparison { accepted: self.accepted_count, unaccepted: self.unaccepted.clone(), ..Default::default() };
        let on_disk = self.snap_files()?;
        for (stem, body) in &self.rendered {
            let path = self.dir.join(format!("{stem}.snap"));
            let old = match read_text(&path, Limit::SNAPSHOT) {
                Ok(t) => self.comparable(snap_body(&t)),
                Err(e) if e.is_not_found() => String::new(),
                Err(e) => return Err(e.into()),
            };
            if &old != body {
                cmp.changed.push(format!("{stem}.snap"));
                let diff = similar::TextDiff::from_lines(&old, body);
                cmp.diffs.push(
                    diff.unified_diff()
                        .context_radius(2)
                        .header(&format!("{} (baseline)", path.display()), &format!("{} (this run)", path.display()))
                        .to_string(),
                );
            }
        }
        for stem in on_disk.iter().filter(|s| !self.rendered.contains_key(*s)) {
            if self.only.is_some() {
                let path = self.dir.join(format!("{stem}.snap"));
                let text = read_text(&path, Limit::SNAPSHOT)?;
                if self.comparable(snap_body(&text)).is_empty() {
                    continue;
                }
            }
            cmp.changed.push(format!("{stem}.snap"));
            cmp.diffs
                .push(format!("{}: no case of this target ran\n", self.dir.join(format!("{stem}.snap")).display()));
        }
        Ok(cmp)
    }

    /// Rewrites the snapshot files from what was recorded (and removes ones no case used); each
    /// file is replaced whole.
    pub fn write(&self) -> Result<usize, BaselineError> {
        fs::create_dir_all(&self.dir).map_err(|e| io_err(&self.dir, e))?;
        for stem in self.snap_files()?.iter().filter(|s| !self.rendered.contains_key(*s)) {
            let path = self.dir.join(format!("{stem}.snap"));
            fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
        }
        for (stem, body) in &self.rendered {
            let path = self.dir.join(format!("{stem}.snap"));
            let text = format!("---\nsource: {HEADER_SOURCE}\nexpression: cases aimed at {stem}\n---\n{body}");
            write_atomic(&path, text.as_bytes())?;
        }
        Ok(self.rendered.len())
    }

    fn snap_files(&self) -> Result<Vec<String>, BaselineError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(io_err(&self.dir, e)),
        };
        let mut out = vec![];
        for e in entries {
            let e = e.map_err(|e| io_err(&self.dir, e))?;
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".snap") {
                out.push(stem.to_owned());
            }
        }
        out.sort();
        Ok(out)
    }
}

/// The body of an insta `.snap` file (after the `---` header).
fn snap_body(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("---\n") else { return text };
    match rest.find("\n---\n") {
        Some(i) => &rest[i + 5..],
        None => text,
    }
}

/// The entries of a snapshot body (each from its `- case ID` line) whose case is in `ids`.
fn keep_cases(body: &str, ids: &BTreeSet<String>) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in body.split_inclusive('\n') {
        if let Some(id) = line.strip_prefix("- case ") {
            keep = ids.contains(id.trim_end());
        }
        if keep {
            out.push_str(line);
        }
    }
    out
}

/// A target name as a file stem.
fn file_stem(target: &str) -> String {
    target.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}
