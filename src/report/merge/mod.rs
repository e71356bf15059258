//! `merge`: shard reports (`run --partition K/N --format json`) read back and combined into one
//! [`Summary`], the one the unsplit run would have made: counts and rules added up, findings
//! grouped across shards by their key, baseline comparisons and stateful checks joined.
//!
//! Reports of different runs (another seed, case count, corpus, dialect, number of shards or
//! scheme), a shard given twice, and files that are not shard reports are refused, naming the
//! file. A shard with no report is not an error: the merged summary lists it as missing and
//! its status is at best inconclusive, so a CI merge job that runs after a failed shard job
//! still reports what the other shards found.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

mod stream;

pub use stream::{Records, Spool};

use super::findings::order;
use super::{Finding, Format, Merged, Shard, Summary, sink};
use crate::run::stateful::StatefulReport;
use crate::snapshot::Comparison;
use crate::wire::{Redacting, Redactor};

/// A shard report that cannot be merged, or reports that do not make one run.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No report was given.
    #[error("merge: give the shard reports (run --partition K/N --format json) to merge")]
    Empty,
    /// A file cannot be read.
    #[error("{path}: cannot read")]
    Read {
        /// The file.
        path: String,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// A file is not a JSON report.
    #[error("{path}: not a report of `run --format json`: {message}")]
    Json {
        /// The file.
        path: String,
        /// What is wrong, with its line and column.
        message: String,
    },
    /// A report of a run without `--partition`.
    #[error("{path}: summary.shard is absent: not a shard report (run with --partition K/N)")]
    NotAShard {
        /// The file.
        path: String,
    },
    /// A report that is not of the same run as the first.
    #[error("{path}: summary.{field} is {found}, but {first} has {expected}: not a shard of the same run")]
    Mismatch {
        /// The file.
        path: String,
        /// The summary's field that differs.
        field: &'static str,
        /// Its value in this file.
        found: String,
        /// The first file.
        first: String,
        /// Its value there.
        expected: String,
    },
    /// A report whose shard names none (hand-edited, or of another tool).
    #[error("{path}: summary.shard is {shard}: {why}")]
    BadShard {
        /// The file.
        path: String,
        /// The shard, as `K/N`.
        shard: String,
        /// What is wrong with it.
        why: String,
    },
    /// An input that cannot be read twice could not be copied to read it again.
    #[error("{path}: cannot copy it to a temporary file (a pipe is read twice for a JSON report)")]
    Spool {
        /// The input.
        path: String,
        /// Why not.
        #[source]
        source: io::Error,
    },
    /// A report whose case records, read again to write them, are not what they were.
    #[error("{path}: changed since merge first read it (its case records are not what they were): merge again")]
    Changed {
        /// The file.
        path: String,
    },
    /// A report's reader thread ended without finishing (it panicked).
    #[error("{path}: its case records could not be read to the end")]
    ReaderLost {
        /// The file.
        path: String,
    },
    /// The same shard given twice.
    #[error("{path}: shard {shard} again (also {other}): each shard's report is merged once")]
    Overlap {
        /// The file.
        path: String,
        /// The shard.
        shard: String,
        /// The file that gave it first.
        other: String,
    },
}

/// Shard reports read and merged: what `merge` writes and the exit code it ends with.
#[derive(Debug)]
pub struct MergedRun {
    summary: Summary,
    reports: Vec<ShardReport>,
}

impl MergedRun {
    /// Reads the shard reports at `paths` and merges them; `with_cases` notes how each
    /// report's case records will be had again, for a JSON report that holds them all.
    pub fn read(paths: &[PathBuf], with_cases: bool) -> Result<Self, MergeError> {
        let reports = paths.iter().map(|p| read(p, with_cases)).collect::<Result<Vec<_>, _>>()?;
        let summary = merge(&reports)?;
        Ok(MergedRun { summary, reports })
    }

    /// Writes the merged report in `format` to `out`, with the credentials this process holds
    /// redacted (each shard redacted its own when it wrote its report).
    pub fn write(&self, format: Format, out: Box<dyn Write>) -> io::Result<()> {
        let out = Box::new(Redacting::new(out, Redactor::from_process_env()));
        write(format, out, &self.summary, &self.reports)
    }

    /// The exit code, by the rules of `run` (see `Summary::status`).
    pub fn exit_code(&self) -> u8 {
        self.summary.status().exit_code()
    }

    /// The merged run's closing verdict line.
    pub fn verdict_line(&self) -> String {
        self.summary.verdict_line()
    }
}

/// One shard's report, read back: its summary, and how its case records are had again when a
/// JSON report is written.
#[derive(Debug)]
pub struct ShardReport {
    /// The file it came from, as messages name it.
    pub path: String,
    /// The file it came from.
    pub file: PathBuf,
    /// Its shard.
    pub shard: Shard,
    /// Its summary.
    pub summary: Summary,
    /// Its case records: skipped, or how they are read again.
    pub records: Records,
    /// The copy of an input that cannot be read twice (a pipe), where its case records are
    /// read again; removed with the report.
    pub spool: Option<Spool>,
}

impl ShardReport {
    /// Where its case records are read again: its spool, or the file it came from.
    pub fn records_file(&self) -> &Path {
        self.spool.as_ref().map_or(&self.file, Spool::path)
    }
}

/// Reads a shard report as a stream; `with_cases` notes its case records' order and number
/// (each is parsed, one at a time; a pipe is copied to a spool file to read them again),
/// otherwise they are skipped.
pub fn read(path: &Path, with_cases: bool) -> Result<ShardReport, MergeError> {
    let name = path.display().to_string();
    let (summary, records, spool) = stream::first_read(path, with_cases)?;
    let Some(shard) = summary.shard else { return Err(MergeError::NotAShard { path: name }) };
    if let Some(why) = shard.invalid() {
        return Err(MergeError::BadShard { path: name, shard: format!("{}/{}", shard.index, shard.count), why });
    }
    Ok(ShardReport { path: name, file: path.to_owned(), shard, summary, records, spool })
}

/// Checks that the reports are shards of one run, each once.
fn check(reports: &[ShardReport]) -> Result<(), MergeError> {
    let first = reports.first().ok_or(MergeError::Empty)?;
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    for r in reports {
        let differs = |field: &'static str, found: String, expected: String| {
            (found != expected).then(|| MergeError::Mismatch {
                path: r.path.clone(),
                field,
                found,
                first: first.path.clone(),
                expected,
            })
        };
        let (s, f) = (&r.summary, &first.summary);
        let scheme = |r: &ShardReport| format!("{} shards by {}", r.shard.count, r.shard.by);
        let mismatch = differs("shard", scheme(r), scheme(first))
            .or_else(|| differs("source", show(&s.source), show(&f.source)))
            .or_else(|| differs("dialect", show(&s.dialect), show(&f.dialect)))
            .or_else(|| differs("accepted_file", show(&s.accepted_file), show(&f.accepted_file)));
        if let Some(e) = mismatch {
            return Err(e);
        }
        if let Some(other) = seen.insert(r.shard.index, &r.path) {
            return Err(MergeError::Overlap {
                path: r.path.clone(),
                shard: format!("{}/{}", r.shard.index, r.shard.count),
                other: other.to_owned(),
            });
        }
    }
    Ok(())
}

/// A value as compact JSON, for the messages that say how two reports differ.
fn show<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Merges shard reports of one run into one summary. Counts add up saturating: shard reports
/// are files a user may edit, and a sum that wrapped past 2^64 could turn deviations into none.
pub fn merge(reports: &[ShardReport]) -> Result<Summary, MergeError> {
    check(reports)?;
    let first = &reports[0];
    let (count, by) = (first.shard.count, first.shard.by);
    let present: BTreeSet<u32> = reports.iter().map(|r| r.shard.index).collect();
    let mut out = Summary {
        dialect: first.summary.dialect.clone(),
        endpoint: endpoints(reports),
        source: first.summary.source.clone(),
        accepted_file: first.summary.accepted_file.clone(),
        unchecked_properties: first.summary.unchecked_properties.clone(),
        merged: Some(Merged {
            count,
            by,
            present: present.iter().copied().collect(),
            missing: (1..=count).filter(|k| !present.contains(k)).collect(),
        }),
        ..Summary::default()
    };
    // The lowest shard's reason, whatever order the reports come in.
    out.earlier_unchecked_why = reports
        .iter()
        .filter(|r| r.summary.earlier_unchecked_why.is_some())
        .min_by_key(|r| r.shard.index)
        .and_then(|r| r.summary.earlier_unchecked_why.clone());
    let mut findings: BTreeMap<super::findings::FindingKey, Finding> = BTreeMap::new();
    for r in reports {
        let s = &r.summary;
        out.cases = out.cases.saturating_add(s.cases);
        out.conforms = out.conforms.saturating_add(s.conforms);
        out.deviations = out.deviations.saturating_add(s.deviations);
        out.unparseable = out.unparseable.saturating_add(s.unparseable);
        out.transport_errors = out.transport_errors.saturating_add(s.transport_errors);
        out.notes = out.notes.saturating_add(s.notes);
        out.retries = out.retries.saturating_add(s.retries);
        out.requests = out.requests.saturating_add(s.requests);
        out.earlier_names = out.earlier_names.saturating_add(s.earlier_names);
        out.earlier_unchecked = out.earlier_unchecked.saturating_add(s.earlier_unchecked);
        for (reason, n) in &s.skipped_reasons {
            out.skip(reason, *n);
        }
        for (rule, c) in &s.rules {
            let m = out.rules.entry(rule.clone()).or_default();
            m.title.clone_from(&c.title);
            (m.cases, m.conforms) = (m.cases.saturating_add(c.cases), m.conforms.saturating_add(c.conforms));
        }
        for f in &s.findings {
            match findings.get_mut(&f.key) {
                Some(m) => join_finding(m, f),
                None => drop(findings.insert(f.key.clone(), f.clone())),
            }
        }
        if let Some(b) = &s.baseline {
            join_comparison(out.baseline.get_or_insert_with(Comparison::default), b);
        }
        if let Some(st) = &s.stateful {
            join_stateful(out.stateful.get_or_insert_with(StatefulReport::default), st, &r.shard);
        }
        if s.interrupted {
            out.interrupted = true;
            out.not_run.extend(s.not_run.iter().map(|n| format!("shard {}: {n}", r.shard.index)));
        }
        let planned = out.planned.get_or_insert(0);
        *planned = planned.saturating_add(s.planned.unwrap_or(s.cases.saturating_add(s.skipped)));
    }
    if !out.interrupted {
        out.planned = None;
    }
    if let Some(b) = &mut out.baseline {
        b.changed.sort();
        b.changed.dedup();
        b.unaccepted.sort();
    }
    out.findings = findings.into_values().collect();
    order(&mut out.findings);
    Ok(out)
}

/// The endpoint the shards tested: one URL when they all name the same.
fn endpoints(reports: &[ShardReport]) -> String {
    let all: BTreeSet<&str> = reports.iter().map(|r| r.summary.endpoint.as_str()).collect();
    let first = reports[0].summary.endpoint.as_str();
    match all.len() {
        1 => first.to_owned(),
        n => format!("{first} and {} other endpoint(s), one per shard", n - 1),
    }
}

/// Adds another shard's cases of the same finding: counts added, the shortest example kept,
/// the first case ids in id order.
fn join_finding(m: &mut Finding, f: &Finding) {
    m.cases = m.cases.saturating_add(f.cases);
    m.accepted_cases = m.accepted_cases.saturating_add(f.accepted_cases);
    m.accepted = m.accepted_cases == m.cases;
    if m.accepted_reason.is_none() {
        m.accepted_reason.clone_from(&f.accepted_reason);
    }
    m.severity = m.severity.max(f.severity);
    let limit = m.case_ids.len().max(f.case_ids.len());
    // In the order the merged records take (`000999` before `1000000`), as one run lists them.
    let mut ids: Vec<String> = m.case_ids.iter().chain(&f.case_ids).cloned().collect();
    ids.sort_by(|a, b| stream::id_order(a).cmp(&stream::id_order(b)));
    ids.dedup();
    ids.truncate(limit);
    m.case_ids = ids;
    if f.example_len < m.example_len {
        m.example.clone_from(&f.example);
        m.example_len = f.example_len;
        m.detail.clone_from(&f.detail);
        m.reproduction.clone_from(&f.reproduction);
    }
}

/// Adds another shard's baseline comparison.
fn join_comparison(m: &mut Comparison, c: &Comparison) {
    m.changed.extend(c.changed.iter().cloned());
    m.accepted = m.accepted.saturating_add(c.accepted);
    m.unaccepted.extend(c.unaccepted.iter().cloned());
}

/// Adds another shard's stateful checks: a property's first failure is kept.
fn join_stateful(m: &mut StatefulReport, st: &StatefulReport, shard: &Shard) {
    m.sequences_run = m.sequences_run.saturating_add(st.sequences_run);
    for f in &st.failures {
        if m.failure(&f.property).is_none() {
            m.failures.push(f.clone());
        }
    }
    if let Some(why) = &st.stopped {
        let line = format!("shard {}: {why}", shard.index);
        m.stopped = Some(m.stopped.take().map_or(line.clone(), |s| format!("{s}; {line}")));
    }
}

/// Writes the merged report in `format`: JSON holds every shard's case records (by case id)
/// and the merged summary, as a run's JSON report does.
pub fn write(format: Format, out: Box<dyn Write>, summary: &Summary, reports: &[ShardReport]) -> io::Result<()> {
    if format != Format::Json {
        return sink(format, out, &summary.endpoint).finish(summary);
    }
    let mut out = out;
    out.write_all(b"{\"cases\": [")?;
    let written = stream::write_cases(&mut out, reports)?;
    out.write_all(if written == 0 { b"" } else { b"\n" })?;
    out.write_all(b"],\n\"summary\": ")?;
    serde_json::to_writer_pretty(&mut out, summary)?;
    out.write_all(b"}\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ShardBy;
    use crate::report::findings::FindingKey;
    use crate::run::stateful::PropertyFailure;

    fn finding(cases: u64, ids: &[&str], example: &str, len: usize) -> Finding {
        Finding {
            key: FindingKey {
                rule: "R21-dryrun".into(),
                kind: "wrong_status".into(),
                observed_code: Some("DryRunOperation".into()),
                observed_status: Some(400),
                expected_code: Some("DryRunOperation".into()),
                expected_status: 412,
            },
            title: "t".into(),
            rule_title: "Dry run".into(),
            condition: String::new(),
            source: String::new(),
            confidence: None,
            cases,
            case_ids: ids.iter().map(|s| (*s).to_owned()).collect(),
            example: example.into(),
            example_len: len,
            detail: format!("detail of {example}"),
            reproduction: format!("curl {example}"),
            request: Default::default(),
            setup: vec![],
            expected: vec![],
            boto3: String::new(),
            shrunk: None,
            accepted: false,
            accepted_cases: 0,
            accepted_reason: None,
            severity: 2,
        }
    }

    fn report(index: u32, summary: Summary) -> ShardReport {
        let shard = Shard { index, count: 2, by: ShardBy::Count };
        ShardReport {
            path: format!("s{index}.json"),
            file: format!("s{index}.json").into(),
            shard,
            summary: Summary { shard: Some(shard), ..summary },
            records: Records::Skipped,
            spool: None,
        }
    }

    #[test]
    fn a_finding_of_two_shards_adds_up_and_keeps_the_shortest_example() {
        let one = Summary {
            cases: 7,
            deviations: 3,
            findings: vec![finding(3, &["000004", "000010"], "000010", 90)],
            ..Summary::default()
        };
        let two = Summary {
            cases: 6,
            deviations: 2,
            findings: vec![finding(2, &["000001", "000007"], "000007", 40)],
            ..Summary::default()
        };
        let m = merge(&[report(2, two), report(1, one)]).unwrap();
        assert_eq!((m.cases, m.deviations, m.findings.len()), (13, 5, 1));
        let f = &m.findings[0];
        assert_eq!((f.cases, f.example.as_str(), f.reproduction.as_str()), (5, "000007", "curl 000007"));
        assert_eq!(f.case_ids, ["000001", "000004"]);
        assert_eq!(m.merged.as_ref().unwrap().present, [1, 2]);
        assert_eq!(m.status(), super::super::Status::Fail);
    }

    #[test]
    fn unchecked_duplicate_names_add_up_with_the_lowest_shards_reason() {
        let one = Summary {
            earlier_names: 1,
            earlier_unchecked: 2,
            earlier_unchecked_why: Some("DescribeImages: UnauthorizedOperation".into()),
            ..Summary::default()
        };
        let two = Summary {
            earlier_unchecked: 1,
            earlier_unchecked_why: Some("DescribeImages: timed out after 10s".into()),
            ..Summary::default()
        };
        let m = merge(&[report(2, two), report(1, one)]).unwrap();
        assert_eq!((m.earlier_names, m.earlier_unchecked), (1, 3));
        assert_eq!(m.earlier_unchecked_why.as_deref(), Some("DescribeImages: UnauthorizedOperation"));
        assert!(m.earlier_unchecked_line().unwrap().starts_with("3 requests refused as a duplicate Name"));
    }

    #[test]
    fn baselines_and_stateful_checks_join() {
        let failure = |p: &str, d: &str| PropertyFailure {
            property: p.into(),
            detail: d.into(),
            steps: vec![],
            script: String::new(),
        };
        let st = |failures, stopped: Option<&str>| StatefulReport {
            sequences_run: 3,
            failures,
            stopped: stopped.map(Into::into),
        };
        let cmp = |changed: &[&str], accepted| Comparison {
            changed: changed.iter().map(|c| (*c).to_owned()).collect(),
            accepted,
            ..Comparison::default()
        };
        let one = Summary {
            baseline: Some(cmp(&["R07-name.snap"], 2)),
            stateful: Some(st(vec![failure("mismatch-error", "first")], None)),
            ..Summary::default()
        };
        let two = Summary {
            baseline: Some(cmp(&["R07-name.snap", "valid.snap"], 1)),
            stateful: Some(st(
                vec![failure("mismatch-error", "second"), failure("describe-tags", "x")],
                Some("no answer"),
            )),
            ..Summary::default()
        };
        let m = merge(&[report(1, one), report(2, two)]).unwrap();
        let b = m.baseline.unwrap();
        assert_eq!((b.changed, b.accepted), (vec!["R07-name.snap".to_owned(), "valid.snap".to_owned()], 3));
        let s = m.stateful.unwrap();
        assert_eq!(s.sequences_run, 6);
        assert_eq!(s.failures.iter().map(|f| f.detail.as_str()).collect::<Vec<_>>(), ["first", "x"]);
        assert_eq!(s.stopped.as_deref(), Some("shard 2: no answer"));
    }
}
