//! The terminal report: counts, the distinct findings first (each with the reproduction of its
//! shortest example), the rule table, skipped cases, stateful properties and one closing
//! verdict line. Text that may come from the server is escaped on the way out
//! (`report::escape`).

use std::io::{self, Write};

use crate::report::escape::{block, line};
use crate::report::{Finding, Shrunk, Sink, Summary};
use crate::run::CaseRecord;

/// How many findings not accepted are shown in full, reproduction included; the others get
/// a line each, so the report stays about two screens long against a buggy endpoint (the JSON,
/// HTML and markdown reports and `--emit-tests` have every finding's reproduction).
const IN_FULL: usize = 3;

/// The terminal report.
pub struct Terminal<W: Write> {
    out: W,
    endpoint: String,
}

impl<W: Write> Terminal<W> {
    /// A terminal report of a run against `endpoint`.
    pub fn new(out: W, endpoint: &str) -> Self {
        Terminal { out, endpoint: endpoint.to_owned() }
    }
}

impl<W: Write> Sink for Terminal<W> {
    fn case(&mut self, _: &CaseRecord) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let o = &mut self.out;
        header(o, &self.endpoint, s)?;
        findings(o, s)?;
        rules(o, s)?;
        skipped(o, s)?;
        stateful(o, s)?;
        baseline(o, s)?;
        if let Some(line) = s.interruption() {
            writeln!(o, "\n{line}")?;
        }
        writeln!(o, "\n{}", s.verdict_line())?;
        o.flush()
    }
}

fn header(o: &mut impl Write, endpoint: &str, s: &Summary) -> io::Result<()> {
    writeln!(o, "copyimage-conformance against {} ({})", line(endpoint), line(&s.dialect))?;
    if let Some(shards) = s.shards_line() {
        writeln!(o, "{shards}")?;
    }
    writeln!(
        o,
        "{} cases: {} conform ({:.1} %), {} deviations, {} unparseable, {} transport errors",
        s.cases,
        s.conforms,
        s.score(),
        s.deviations,
        s.unparseable,
        s.transport_errors
    )?;
    writeln!(
        o,
        "{} requests, {} retried; {} conforming cases with a different message; {} skipped",
        s.requests, s.retries, s.notes, s.skipped
    )?;
    if s.earlier_names > 0 {
        writeln!(o, "{}", s.earlier_names_line())?;
    }
    // The reason is the endpoint's own words: escaped like every text from the server.
    if let Some(unchecked) = s.earlier_unchecked_line() {
        writeln!(o, "{}", line(&unchecked))?;
    }
    Ok(())
}

/// The findings not accepted in full, then the accepted ones one line each.
fn findings(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    let open: Vec<&Finding> = s.open_findings().collect();
    let accepted = s.findings.len() - open.len();
    if s.findings.is_empty() {
        return writeln!(o, "\nFINDINGS: none");
    }
    writeln!(o, "\nFINDINGS: {} not accepted, {accepted} accepted", open.len())?;
    for (i, f) in open.iter().take(IN_FULL).enumerate() {
        open_finding(o, i + 1, f)?;
    }
    if open.len() > IN_FULL {
        writeln!(o, "\nmore findings not accepted (`--format json` has their reproductions):")?;
        for (i, f) in open.iter().enumerate().skip(IN_FULL) {
            let (rule, title, example) = (line(&f.key.rule), line(&f.title), line(&f.example));
            writeln!(o, "{:>3}. {rule}: {title} ({}, e.g. {example})", i + 1, cases(f.cases))?;
        }
    }
    if accepted > 0 {
        let by = s.accepted_file.as_deref().unwrap_or("the baseline");
        writeln!(o, "\naccepted by {}:", line(by))?;
        for (i, f) in s.findings.iter().filter(|f| f.accepted).enumerate() {
            writeln!(o, "{:>3}. {}: {} ({})", open.len() + i + 1, line(&f.key.rule), line(&f.title), cases(f.cases))?;
        }
    }
    Ok(())
}

fn open_finding(o: &mut impl Write, n: usize, f: &Finding) -> io::Result<()> {
    writeln!(o, "\n{n:>3}. {}", line(&f.title))?;
    writeln!(o, "     rule {} ({}): {}", line(&f.key.rule), line(&f.rule_title), line(&f.condition))?;
    writeln!(o, "     {}: {}", cases(f.cases), case_ids(f))?;
    writeln!(o, "     source {}; confidence {}", line(&f.source), confidence(f))?;
    if f.accepted_cases > 0 {
        let reason = f.accepted_reason.as_deref().unwrap_or_default();
        writeln!(o, "     {} of the {} cases accepted: {}", f.accepted_cases, f.cases, line(reason))?;
    }
    writeln!(o, "     example {}: {}", line(&f.example), line(&f.detail))?;
    if let Some(s) = &f.shrunk {
        writeln!(o, "     {}", shrunk(s))?;
    }
    // Indented continuation lines still paste into a shell as one command.
    writeln!(o, "     {}", block(&f.reproduction).replace('\n', "\n     "))?;
    if !f.boto3.is_empty() {
        writeln!(o, "     {}", block(&f.boto3).replace('\n', "\n     "))?;
    }
    Ok(())
}

/// What shrinking did, in a line: `minimal request: 412 -> 96 bytes (5 of 9 candidates kept, 9 requests)`.
pub(crate) fn shrunk(s: &Shrunk) -> String {
    format!(
        "minimal request: {} -> {} bytes ({} of {} candidates kept, {})",
        s.body_bytes.0,
        s.body_bytes.1,
        s.kept,
        s.tried,
        count(s.requests, "request")
    )
}

/// `1 case`, `2 cases`.
pub(crate) fn cases(n: u64) -> String {
    count(n, "case")
}

/// `n` and a noun, plural unless `n` is 1.
pub(crate) fn count(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// The rule's confidence in a word.
pub(crate) fn confidence(f: &Finding) -> String {
    f.confidence.map_or_else(|| "unknown".to_owned(), |c| c.to_string())
}

/// The first case ids of a finding, `...` when there are more.
pub(crate) fn case_ids(f: &Finding) -> String {
    let more = if f.cases > f.case_ids.len() as u64 { ", ..." } else { "" };
    format!("{}{more}", f.case_ids.join(", "))
}

fn rules(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    let id = s.rules.keys().map(|r| r.chars().count()).max().unwrap_or(0).max(4);
    let title = s.rules.values().map(|c| c.title.chars().count()).max().unwrap_or(0).max(5);
    writeln!(o, "\n{:<id$}  {:<title$} {:>6} {:>7} {:>7}", "rule", "title", "cases", "conform", "score")?;
    for (rule, c) in &s.rules {
        let pct = 100.0 * c.conforms as f64 / c.cases.max(1) as f64;
        writeln!(o, "{:<id$}  {:<title$} {:>6} {:>7} {pct:>6.1}%", line(rule), line(&c.title), c.cases, c.conforms)?;
    }
    writeln!(o, "(a case counts under every rule that decided it: the column sums to more than {} cases)", s.cases)
}

fn skipped(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    if s.skipped == 0 {
        return Ok(());
    }
    writeln!(o, "\nskipped: {} not sent", cases(s.skipped))?;
    for (reason, n) in &s.skipped_reasons {
        writeln!(o, "  {n:>4}  {}", line(reason))?;
    }
    Ok(())
}

fn stateful(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    let Some(st) = &s.stateful else { return Ok(()) };
    let total = crate::run::properties::PROPERTIES.len();
    let unchecked = &s.unchecked_properties;
    writeln!(
        o,
        "\nstateful properties: {} sequences; {} properties checked, {} failed, {} accepted (not checked)",
        st.sequences_run,
        total.saturating_sub(unchecked.len()),
        st.failures.len(),
        unchecked.len()
    )?;
    if !unchecked.is_empty() {
        let names: Vec<&str> = unchecked.iter().map(|u| u.property.as_str()).collect();
        writeln!(o, "  not checked: {}", line(&names.join(", ")))?;
    }
    if let Some(why) = &st.stopped {
        writeln!(o, "  stopped early: {}", line(why))?;
    }
    for f in &st.failures {
        writeln!(o, "\n  property {}: {}", line(&f.property), line(&f.detail))?;
        for step in &f.steps {
            writeln!(o, "    {}", line(step))?;
        }
        writeln!(o, "  reproduction script:")?;
        for l in f.script.lines() {
            writeln!(o, "    {}", block(l))?;
        }
    }
    Ok(())
}

fn baseline(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    let Some(b) = &s.baseline else { return Ok(()) };
    writeln!(
        o,
        "\nbaseline: {} snapshot files changed, {} deviations accepted, {} not accepted",
        b.changed.len(),
        b.accepted,
        b.unaccepted.len()
    )?;
    for f in &b.changed {
        writeln!(o, "  changed: {}", line(f))?;
    }
    Ok(())
}
