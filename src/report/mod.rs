//! Reports: a summary folded from the stream of case records, and the formats that show it
//! (terminal, JSON, JUnit, Markdown, HTML). Every format leads with the distinct findings; the
//! per-case detail is in the JSON report.

pub(crate) mod escape;
mod findings;
pub(crate) mod html;
mod junit;
mod markdown;
pub mod merge;
pub mod pytest;
mod shard;
pub mod staged;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::report::text::{cases, count};
use crate::run::CaseRecord;
use crate::spec::Spec;
use crate::verdict::Verdict;

pub use findings::{Finding, FindingKey, Findings, Shrunk};
pub use html::Html;
pub use junit::Junit;
pub use markdown::Markdown;
pub use shard::{Merged, Shard, ShardBy, ShardError, Source};
pub use text::Terminal;

/// Counts for one rule: cases whose prediction it decided, and how many conformed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCount {
    /// The rule's title, from the spec.
    pub title: String,
    /// Cases the rule decided (a case decided by several rules counts under each).
    pub cases: u64,
    /// Of those, cases that conformed.
    pub conforms: u64,
}

/// A stateful property the baseline accepts as failing, so it is not checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unchecked {
    /// The property's name.
    pub property: String,
    /// Why the baseline accepts it.
    pub reason: String,
}

/// What a run came to.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// The wire dialect the run spoke (`ec2-query`, `json-envelope`).
    pub dialect: String,
    /// The endpoint tested.
    #[serde(default)]
    pub endpoint: String,
    /// What the cases came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The share of the run's cases this run sent (`--partition`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// Set on a summary merged from shard reports (`merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<Merged>,
    /// Cases sent.
    pub cases: u64,
    /// Cases that conformed.
    pub conforms: u64,
    /// Cases with a deviation.
    pub deviations: u64,
    /// Cases whose reply could not be read.
    pub unparseable: u64,
    /// Cases with no reply.
    pub transport_errors: u64,
    /// Conforming cases with a lesser finding (message text).
    pub notes: u64,
    /// Cases not sent because they need a world the endpoint cannot be put in.
    pub skipped: u64,
    /// The skipped cases by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped_reasons: BTreeMap<String, u64>,
    /// Requests sent again after throttling or a connection error.
    pub retries: u64,
    /// Requests sent in all, setup requests included.
    pub requests: u64,
    /// Requests refused for a Name an earlier run left on a long-lived endpoint, judged with
    /// that run's image in the mirror (the endpoint's DescribeImages showed it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub earlier_names: u64,
    /// Requests refused as a duplicate Name that could not be checked against the endpoint's
    /// own images (its DescribeImages failed): they stay findings.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub earlier_unchecked: u64,
    /// Why the first of those checks to fail in time did (at a concurrency above 1, which one
    /// that is may differ between runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earlier_unchecked_why: Option<String>,
    /// The distinct findings, those not accepted first (filled by [`Summary::close`]).
    pub findings: Vec<Finding>,
    /// Per deciding rule.
    pub rules: BTreeMap<String, RuleCount>,
    /// The baseline's `accepted.toml`, when the run had a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_file: Option<String>,
    /// The comparison with a baseline, when the run had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::snapshot::Comparison>,
    /// The stateful property checks, when the run made them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stateful: Option<crate::run::stateful::StatefulReport>,
    /// Stateful properties not checked because the baseline accepts them as failing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked_properties: Vec<Unchecked>,
    /// Set when Ctrl-C stopped the run: it ran part of its cases and phases.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// With `interrupted`: the cases the run was to send (or skip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned: Option<u64>,
    /// With `interrupted`: what did not run (cases, stateful checks, baseline steps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
    /// The deviating cases grouped so far, which [`Summary::close`] turns into `findings`.
    #[serde(skip)]
    pub fold: Findings,
}

impl Summary {
    /// Folds one case in; `accepted` is the baseline's reason when it accepts the case.
    pub fn add(&mut self, rec: &CaseRecord, accepted: Option<&str>) {
        self.cases += 1;
        let v = rec.verdict();
        match v {
            Verdict::Conforms { notes } => {
                self.conforms += 1;
                self.notes += u64::from(!notes.is_empty());
            }
            Verdict::Deviation { .. } => self.deviations += 1,
            Verdict::Unparseable { .. } => self.unparseable += 1,
            Verdict::Transport { .. } => self.transport_errors += 1,
        }
        for r in &rec.result.prediction.rules {
            // A rule seen before (nearly every one) needs no new key.
            let c = match self.rules.get_mut(&**r) {
                Some(c) => c,
                None => self.rules.entry(r.to_string()).or_default(),
            };
            c.cases += 1;
            c.conforms += u64::from(v.passes());
        }
        self.fold.add(rec, accepted);
    }

    /// Counts `n` cases not sent, for `reason`.
    pub fn skip(&mut self, reason: &str, n: u64) {
        self.skipped = self.skipped.saturating_add(n);
        let count = self.skipped_reasons.entry(reason.to_owned()).or_default();
        *count = count.saturating_add(n);
    }

    /// After the last case: the findings, titled, and the rules' titles, from `spec`.
    pub fn close(&mut self, spec: &Spec) {
        self.findings = self.fold.close(spec);
        for (id, count) in &mut self.rules {
            count.title = spec.rule(id).map(|r| r.title.clone()).unwrap_or_default();
        }
    }

    /// The findings the baseline does not accept (all of them without a baseline).
    pub fn open_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.accepted)
    }

    /// What the run came to, in one word: the one decision behind both the closing verdict
    /// line and the exit code.
    ///
    /// - `Fail` when something the endpoint answered is wrong: without a baseline, a deviation
    ///   or an unparseable reply; with one, a failing gate while every case was answered; or a
    ///   failing stateful property. This holds even when other cases got no answer.
    /// - else `Inconclusive` when the run could not judge it all: a case got no answer
    ///   (without a baseline; with one, when the gate also fails, since an unanswered case
    ///   changes its snapshot), the stateful checks stopped before their end, or a merge lacks
    ///   some shard's report.
    /// - else `Pass`. Before all of these, `Interrupted` when Ctrl-C stopped the run.
    pub fn status(&self) -> Status {
        // What did run may have passed, but the run as asked for did not happen.
        if self.interrupted {
            return Status::Interrupted;
        }
        let unanswered = self.transport_errors > 0;
        let (cases_wrong, cases_unjudged) = match &self.baseline {
            Some(gate) => (!gate.passes() && !unanswered, !gate.passes() && unanswered),
            None => (self.deviations > 0 || self.unparseable > 0, unanswered),
        };
        let stateful_failed = self.stateful.as_ref().is_some_and(|r| !r.failures.is_empty());
        let stateful_stopped = self.stateful.as_ref().is_some_and(|r| r.stopped.is_some());
        // A merge without every shard's report did not judge the missing shards' cases.
        let shards_missing = self.merged.as_ref().is_some_and(|m| !m.missing.is_empty());
        if cases_wrong || stateful_failed {
            Status::Fail
        } else if cases_unjudged || stateful_stopped || shards_missing {
            Status::Inconclusive
        } else {
            Status::Pass
        }
    }

    /// Whether the run passed: every case conformed (or the baseline's gate passed) and the
    /// stateful checks, if any, found nothing and ran to their end.
    pub fn passes(&self) -> bool {
        self.status() == Status::Pass
    }

    /// What the run learnt of an earlier run's images, in one line (see `earlier_names`).
    pub fn earlier_names_line(&self) -> String {
        let n = self.earlier_names;
        let requests = if n == 1 { "request was" } else { "requests were" };
        format!(
            "{n} {requests} refused for a Name an earlier run left on the endpoint (its DescribeImages \
             shows the image): judged with that image known"
        )
    }

    /// The duplicate-Name refusals the run could not check, in one line (see
    /// `earlier_unchecked`); `None` when there were none.
    pub fn earlier_unchecked_line(&self) -> Option<String> {
        let n = self.earlier_unchecked;
        if n == 0 {
            return None;
        }
        let requests = if n == 1 { "request" } else { "requests" };
        let why = self.earlier_unchecked_why.as_deref().unwrap_or("no reason kept");
        Some(format!(
            "{n} {requests} refused as a duplicate Name could not be checked for an earlier run's image, \
             so they stay findings: {why}"
        ))
    }

    /// The run's verdict in one line: `PASS: ...`, `FAIL: ...` or `INTERRUPTED: ...`.
    pub fn verdict_line(&self) -> String {
        if self.interrupted {
            return "INTERRUPTED: the run did not finish; what ran is reported above".to_owned();
        }
        let accepted: Vec<&Finding> = self.findings.iter().filter(|f| f.accepted).collect();
        let by = self.accepted_file.as_deref().unwrap_or("the baseline");
        let accepted_words = match accepted.len() {
            0 => String::new(),
            n => format!("; {n} accepted by {by} ({})", cases(accepted.iter().map(|f| f.cases).sum())),
        };
        let open: Vec<&Finding> = self.open_findings().collect();
        let status = self.status();
        if status == Status::Pass {
            return format!("PASS: {}{accepted_words}", count(open.len() as u64, "finding"));
        }
        let mut why = vec![];
        if let Some(m) = &self.merged
            && !m.missing.is_empty()
        {
            let list: Vec<String> = m.missing.iter().map(u32::to_string).collect();
            why.push(format!("no report of shard {} of {}", list.join(", "), m.count));
        }
        if self.transport_errors > 0 {
            why.push(format!("{} got no answer", cases(self.transport_errors)));
        }
        if !open.is_empty() {
            let n = open.iter().map(|f| f.cases).sum();
            why.push(format!("{} not accepted ({})", count(open.len() as u64, "finding"), cases(n)));
        }
        if let Some(gate) = &self.baseline
            && !gate.changed.is_empty()
        {
            why.push(format!("{} changed", count(gate.changed.len() as u64, "snapshot file")));
        }
        if let Some(st) = &self.stateful {
            if !st.failures.is_empty() {
                let n = st.failures.len();
                why.push(if n == 1 {
                    "1 stateful property failed".to_owned()
                } else {
                    format!("{n} stateful properties failed")
                });
            }
            if st.stopped.is_some() {
                why.push("the stateful checks stopped early".to_owned());
            }
        }
        let word = if status == Status::Inconclusive { "INCONCLUSIVE" } else { "FAIL" };
        format!("{word}: {}{accepted_words}", why.join(", "))
    }

    /// For an interrupted run, the line that says how far it got and what did not run.
    pub fn interruption(&self) -> Option<String> {
        if !self.interrupted {
            return None;
        }
        let done = self.cases + self.skipped;
        let planned = self.planned.unwrap_or(done);
        let not_run = if self.not_run.is_empty() { "nothing".to_owned() } else { self.not_run.join("; ") };
        Some(format!("interrupted after {done} of {planned} cases; not run: {not_run}"))
    }

    /// For a shard or a merge of shards, the line that says which cases of the run it holds.
    pub fn shards_line(&self) -> Option<String> {
        let list = |ks: &[u32]| ks.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        match (&self.shard, &self.merged) {
            (Some(s), _) => Some(format!(
                "shard {} of {} ({}): this run sent its share of the cases; `merge` combines the shards' JSON reports",
                s.index, s.count, s.by
            )),
            (None, Some(m)) if m.missing.is_empty() => {
                Some(format!("merged from shards {} of {} ({})", list(&m.present), m.count, m.by))
            }
            (None, Some(m)) => Some(format!(
                "merged from shards {} of {} ({}); no report of shard {}",
                list(&m.present),
                m.count,
                m.by,
                list(&m.missing)
            )),
            (None, None) => None,
        }
    }

    /// Share of cases that conformed, in percent.
    pub fn score(&self) -> f64 {
        if self.cases == 0 { 100.0 } else { 100.0 * self.conforms as f64 / self.cases as f64 }
    }
}

/// What a run came to (see [`Summary::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Everything asked for was judged, and passed.
    Pass,
    /// Something the endpoint answered is wrong.
    Fail,
    /// Nothing judged was wrong, but not everything could be judged.
    Inconclusive,
    /// Ctrl-C stopped the run.
    Interrupted,
}

impl Status {
    /// The exit code a run with this status ends with (see [`crate::exit`]).
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Interrupted => crate::exit::INTERRUPTED,
            Status::Fail => crate::exit::DEVIATIONS,
            Status::Inconclusive => crate::exit::INCONCLUSIVE,
            Status::Pass => crate::exit::OK,
        }
    }
}

/// The report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Text for a terminal: counts, per-rule scores and the worst deviations with `curl`
    /// reproductions.
    Terminal,
    /// JSON: `{"cases": [...], "summary": {...}}`.
    Json,
    /// JUnit XML, one testcase per case grouped by rule.
    Junit,
    /// Markdown, for a CI job summary.
    Markdown,
    /// One self-contained HTML file: no script, nothing loaded from elsewhere.
    Html,
}

impl Format {
    /// Whether the report writes every case's record (with its `curl` reproduction), not
    /// only the findings, which take theirs from a case that does not conform.
    pub fn writes_every_case(self) -> bool {
        self == Format::Json
    }
}

/// A report in `format` to `out`; `endpoint` is the URL tested, which some formats name.
pub fn sink(format: Format, out: Box<dyn Write>, endpoint: &str) -> Box<dyn Sink> {
    match format {
        Format::Terminal => Box::new(Terminal::new(out, endpoint)),
        Format::Json => Box::new(Json::new(out)),
        Format::Junit => Box::new(Junit::new(out)),
        Format::Markdown => Box::new(Markdown::new(out, endpoint)),
        Format::Html => Box::new(Html::new(out, endpoint)),
    }
}

/// A report format: sees each case as it completes, then the summary.
pub trait Sink {
    /// One case, in case order.
    fn case(&mut self, rec: &CaseRecord) -> io::Result<()>;
    /// The end of the run.
    fn finish(&mut self, summary: &Summary) -> io::Result<()>;
}

/// `--format json`: `{"cases": [...], "summary": {...}}`, cases written as they complete so
/// memory does not grow with the run.
pub struct Json<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> Json<W> {
    /// A JSON report to `out`.
    pub fn new(out: W) -> Self {
        Json { out, first: true }
    }
}

impl<W: Write> Sink for Json<W> {
    fn case(&mut self, rec: &CaseRecord) -> io::Result<()> {
        self.out.write_all(if self.first { b"{\"cases\": [\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut self.out, rec)?;
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.out.write_all(if self.first { b"{\"cases\": [" } else { b"\n" })?;
        self.out.write_all(b"],\n\"summary\": ")?;
        serde_json::to_writer_pretty(&mut self.out, summary)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

/// Whether a count is zero: left out of the JSON report then.
fn is_zero(n: &u64) -> bool {
    *n == 0
}
