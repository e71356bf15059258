//! The journal of live calls: JSON Lines that `cleanup` reads to undo a run.
//!
//! The first line names the run (its id, endpoint and Region). Before every live mutating call
//! an `intent` line (the action, its Region and parameters) is written, flushed and synced;
//! after it a `result` line with the ids the call returned, or its error. A crash between the
//! two leaves an intent without a result, and the run-id tag on the resource lets `cleanup`
//! find it. Credentials travel in headers, never in parameters, but a result line quotes the
//! server's words, which may echo them: every line is redacted before it is written.
//!
//! Once a write fails the journal refuses every later intent: no live call goes out without
//! its entry, and the session ends the run with the error.

use std::collections::BTreeMap;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::spec::input::{Limit, read_text};
use crate::wire::Redactor;
use crate::world::Params;

/// The tag key every live resource carries; its value is the run id.
pub const TAG_KEY: &str = "copyimage-conformance:run-id";

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Entry {
    /// The first line: the run and where it went.
    Run {
        /// The run id, also the value of every resource's [`TAG_KEY`] tag.
        run_id: String,
        /// The endpoint URL.
        endpoint: String,
        /// The Region requests were signed for unless an intent says otherwise.
        region: String,
    },
    /// Written (and synced) before a live call.
    Intent {
        /// The run id.
        run_id: String,
        /// The call's number in the run, from 1; its result carries the same.
        seq: u64,
        /// The API action, e.g. `CopyImage`.
        action: String,
        /// The Region the call is signed for (where its resources are).
        region: String,
        /// The request's parameters.
        params: Params,
    },
    /// Written after the call answered (or failed).
    Result {
        /// The run id.
        run_id: String,
        /// The intent's number.
        seq: u64,
        /// The API action.
        action: String,
        /// The HTTP status, if an answer came.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// The ids the answer returned: `ImageId`, `SnapshotId`, `VolumeId`.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        ids: BTreeMap<String, String>,
        /// The error, if the call failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// What a live call came to, for its `result` line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// The ids returned, by name (`ImageId`, `SnapshotId`, `VolumeId`).
    pub ids: BTreeMap<String, String>,
    /// The error, if the call failed.
    pub error: Option<String>,
}

/// Why the journal cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file exists: it may be an earlier run's journal, the only record of what that run
    /// created.
    #[error(
        "{}: the file exists; a run's journal is only written to a new file (an earlier run's journal \
         is what `cleanup --journal` needs to undo it)",
        path.display()
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be created.
    #[error("{}: cannot create the journal", path.display())]
    Create {
        /// The file.
        path: PathBuf,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// A line cannot be written: the call it announces is not made.
    #[error("{}: cannot write the journal, so no further live call is made", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// An earlier write failed: no live call is made any more.
    #[error("{}: an earlier write to the journal failed, so no further live call is made", path.display())]
    Broken {
        /// The file.
        path: PathBuf,
    },
    /// The file cannot be read.
    #[error("{}: cannot read the journal", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// A line is not a journal entry.
    #[error("{}:{line}: not a journal entry: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// An open journal, shared by every phase of a run.
pub struct Journal {
    run_id: String,
    path: PathBuf,
    file: Mutex<File>,
    seq: AtomicU64,
    broken: AtomicBool,
    /// What every line is redacted with.
    redactor: Redactor,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("run_id", &self.run_id).field("path", &self.path).finish()
    }
}

/// A new run id: `cic-<unix seconds>-<8 random hex digits>`.
pub fn new_run_id() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // RandomState is seeded from the OS once per process; mixing in the time and pid keeps two
    // ids of one process apart too.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    format!("cic-{secs}-{:08x}", h.finish() as u32)
}

/// The journal file a live run writes when `--journal` is not given, in the current directory.
pub fn default_path(run_id: &str) -> PathBuf {
    PathBuf::from(format!("copyimage-conformance-{run_id}.journal.jsonl"))
}

impl Journal {
    /// Creates `path`, which must not exist, and writes the run's first line; every line is
    /// redacted with `redactor`.
    pub fn create(
        path: &Path,
        run_id: &str,
        endpoint: &str,
        region: &str,
        redactor: Redactor,
    ) -> Result<Journal, JournalError> {
        let file = File::options().write(true).create_new(true).open(path).map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => JournalError::Exists { path: path.to_owned() },
            _ => JournalError::Create { path: path.to_owned(), source },
        })?;
        let journal = Journal {
            run_id: run_id.to_owned(),
            path: path.to_owned(),
            file: Mutex::new(file),
            seq: AtomicU64::new(0),
            broken: AtomicBool::new(false),
            redactor,
        };
        let first = Entry::Run { run_id: run_id.to_owned(), endpoint: endpoint.to_owned(), region: region.to_owned() };
        journal.write(&first)?;
        Ok(journal)
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a write has failed (the run must end).
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }

    /// Records, flushed and synced, that `action` is about to be sent; returns its number for
    /// [`Journal::result`]. An error means the call must not be made.
    pub fn intent(&self, action: &str, region: &str, params: &Params) -> Result<u64, JournalError> {
        if self.is_broken() {
            return Err(JournalError::Broken { path: self.path.clone() });
        }
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let entry = Entry::Intent {
            run_id: self.run_id.clone(),
            seq,
            action: action.to_owned(),
            region: region.to_owned(),
            params: params.clone(),
        };
        self.write(&entry)?;
        Ok(seq)
    }

    /// Records what call `seq` came to. A failure marks the journal broken, so the next
    /// intent fails and the run ends.
    pub fn result(&self, seq: u64, action: &str, answer: Answer) -> Result<(), JournalError> {
        let Answer { status, ids, error } = answer;
        self.write(&Entry::Result { run_id: self.run_id.clone(), seq, action: action.to_owned(), status, ids, error })
    }

    /// Adds the run-id tag to a request's `TagSpecification` for each resource type: to the
    /// specification of that type if the request has one, else as a new one.
    pub fn tag(&self, params: &mut Params, resource_types: &[&str]) {
        for rt in resource_types {
            tag_params(params, rt, TAG_KEY, &self.run_id);
        }
    }

    fn write(&self, entry: &Entry) -> Result<(), JournalError> {
        let json = serde_json::to_string(entry).map_err(|e| self.fail(e.into()))?;
        // Masks stand in for whole escaped runs, so the line stays JSON that `cleanup` reads.
        let mut line = self.redactor.text(&json).into_owned();
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .and_then(|()| file.sync_data())
            .map_err(|e| self.fail(e))
    }

    fn fail(&self, source: io::Error) -> JournalError {
        self.broken.store(true, Ordering::SeqCst);
        JournalError::Write { path: self.path.clone(), source }
    }
}

/// Adds tag `key=value` to the `TagSpecification` of `resource_type` in `params`.
fn tag_params(params: &mut Params, resource_type: &str, key: &str, value: &str) {
    let spec_of = |k: &str| -> Option<u64> { k.strip_prefix("TagSpecification.")?.split('.').next()?.parse().ok() };
    let existing = params
        .iter()
        .find(|(k, v)| k.ends_with(".ResourceType") && spec_of(k).is_some() && v.as_str() == resource_type)
        .and_then(|(k, _)| spec_of(k));
    let n = match existing {
        Some(n) => n,
        None => {
            let n = params.keys().filter_map(|k| spec_of(k)).max().unwrap_or(0) + 1;
            params.insert(format!("TagSpecification.{n}.ResourceType"), resource_type.to_owned());
            n
        }
    };
    let prefix = format!("TagSpecification.{n}.Tag.");
    let m = params
        .keys()
        .filter_map(|k| k.strip_prefix(&prefix)?.split('.').next()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    params.insert(format!("{prefix}{m}.Key"), key.to_owned());
    params.insert(format!("{prefix}{m}.Value"), value.to_owned());
}

/// A journal as read: the run's first line, then its intents and results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Read {
    /// The run id.
    pub run_id: String,
    /// The endpoint the run went to.
    pub endpoint: String,
    /// The run's Region.
    pub region: String,
    /// The lines after the first, in order.
    pub entries: Vec<Entry>,
}

/// Reads a journal: a `run` line, then intents and results of that run. A line that is not
/// one names the file and the line, except a last line without its newline, which a crash
/// cut short while writing it: that one is left out.
pub fn read(path: &Path) -> Result<Read, JournalError> {
    let text = read_text(path, Limit::JOURNAL)
        .map_err(|e| JournalError::Read { path: path.to_owned(), source: e.into_io() })?;
    let malformed = |line: usize, reason: String| JournalError::Malformed { path: path.to_owned(), line, reason };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut read: Option<Read> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let entry: Entry = match serde_json::from_str(line) {
            Ok(e) => e,
            Err(_) if i + 1 == lines.len() && !line.ends_with('\n') => break,
            Err(e) => return Err(malformed(i + 1, e.to_string())),
        };
        match (&mut read, entry) {
            (None, Entry::Run { run_id, endpoint, region }) => {
                read = Some(Read { run_id, endpoint, region, entries: vec![] });
            }
            (None, _) => return Err(malformed(i + 1, "the first entry must be the run's (\"kind\":\"run\")".into())),
            (Some(_), Entry::Run { .. }) => return Err(malformed(i + 1, "a second run entry".into())),
            (Some(r), entry) => {
                if entry.run_id() != r.run_id {
                    let reason = format!("run id {:?}, not the journal's {:?}", entry.run_id(), r.run_id);
                    return Err(malformed(i + 1, reason));
                }
                r.entries.push(entry);
            }
        }
    }
    read.ok_or_else(|| malformed(1, "empty: no run entry".into()))
}

impl Entry {
    /// The run the entry belongs to.
    pub fn run_id(&self) -> &str {
        match self {
            Entry::Run { run_id, .. } | Entry::Intent { run_id, .. } | Entry::Result { run_id, .. } => run_id,
        }
    }
}

#[cfg(test)]
mod tests;
