//! Reports: a summary folded from the stream of case records, and the formats that show it
//! (terminal, JSON, JUnit, Markdown).

mod escape;
mod junit;
mod text;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::run::CaseRecord;
use crate::verdict::Verdict;

pub use junit::Junit;
pub use text::{Markdown, Terminal};

/// How many deviations a report shows in full, worst first.
pub const WORST: usize = 20;

/// Counts for one rule: cases whose prediction it decided, and how many conformed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleCount {
    /// Cases the rule decided.
    pub cases: u64,
    /// Of those, cases that conformed.
    pub conforms: u64,
}

/// A deviation kept for the report.
#[derive(Clone, Debug, Serialize)]
pub struct Worst {
    /// Case id.
    pub id: String,
    /// The deciding rules.
    pub rules: Vec<String>,
    /// What was expected, in words.
    pub expected: String,
    /// What came, in words.
    pub got: String,
    /// What differs.
    pub finding: String,
    /// A `curl` command that sends the request again.
    pub curl: String,
    severity: u8,
}

/// What a run came to.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
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
    /// Requests sent again after throttling or a connection error.
    pub retries: u64,
    /// Requests sent in all, setup requests included.
    pub requests: u64,
    /// Per deciding rule.
    pub rules: BTreeMap<String, RuleCount>,
    /// The worst deviations, most serious first.
    pub worst: Vec<Worst>,
    /// The comparison with a baseline, when the run had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::snapshot::Comparison>,
    /// The stateful property checks, when the run made them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stateful: Option<crate::run::stateful::StatefulReport>,
    /// Set when Ctrl-C stopped the run: it ran part of its cases and phases.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// With `interrupted`: the cases the run was to send (or skip).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned: Option<u64>,
    /// With `interrupted`: what did not run (cases, stateful checks, baseline steps).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<String>,
}

fn outcome_words(rec: &crate::run::StepRecord) -> String {
    match (&rec.reply, rec.status) {
        (Some(crate::wire::Reply::Success { image_id, .. }), Some(s)) => {
            format!("HTTP {s} success {}", image_id.as_deref().unwrap_or("(no imageId)"))
        }
        (Some(crate::wire::Reply::Error { code, .. }), Some(s)) => format!("HTTP {s} {code}"),
        (Some(crate::wire::Reply::Unparseable { .. }), Some(s)) => format!("HTTP {s} unparseable body"),
        _ => "no response".into(),
    }
}

fn expected_words(p: &crate::oracle::Prediction) -> String {
    p.outcomes.iter().map(ToString::to_string).collect::<Vec<_>>().join(" or ")
}

impl Summary {
    /// Folds one case in.
    pub fn add(&mut self, rec: &CaseRecord) {
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
            let c = self.rules.entry(r.to_string()).or_default();
            c.cases += 1;
            c.conforms += u64::from(v.passes());
        }
        if !v.passes() {
            let severity = match v {
                Verdict::Deviation { findings } => findings.iter().map(|f| f.severity()).max().unwrap_or(0),
                Verdict::Unparseable { .. } => 3,
                _ => 0,
            };
            let worst = Worst {
                id: rec.id.clone(),
                rules: rec.result.prediction.rule_ids().into_iter().map(str::to_owned).collect(),
                expected: expected_words(&rec.result.prediction),
                got: outcome_words(&rec.result),
                finding: v.to_string(),
                curl: rec.result.curl.clone(),
                severity,
            };
            let at = self.worst.partition_point(|w| w.severity >= severity);
            if at < WORST {
                self.worst.insert(at, worst);
                self.worst.truncate(WORST);
            }
        }
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

    /// Share of cases that conformed, in percent.
    pub fn score(&self) -> f64 {
        if self.cases == 0 { 100.0 } else { 100.0 * self.conforms as f64 / self.cases as f64 }
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
}

/// A report in `format` to `out`; `endpoint` is the URL tested, which some formats name.
pub fn sink(format: Format, out: Box<dyn Write>, endpoint: &str) -> Box<dyn Sink> {
    match format {
        Format::Terminal => Box::new(Terminal::new(out, endpoint)),
        Format::Json => Box::new(Json::new(out)),
        Format::Junit => Box::new(Junit::new(out)),
        Format::Markdown => Box::new(Markdown::new(out, endpoint)),
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
