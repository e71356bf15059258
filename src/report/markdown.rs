//! The Markdown report for a CI job summary, in the terminal report's order: counts (skipped
//! and dialect included), the findings, the rule table, skipped cases, stateful properties and
//! the verdict. Text that may come from the server is escaped (`report::escape`).

use std::io::{self, Write};

use crate::report::escape::{block, cell, line};
use crate::report::text::{case_ids, cases, confidence, shrunk};
use crate::report::{Sink, Summary};
use crate::run::CaseRecord;

/// The Markdown report.
pub struct Markdown<W: Write> {
    out: W,
    endpoint: String,
}

impl<W: Write> Markdown<W> {
    /// A Markdown report of a run against `endpoint`.
    pub fn new(out: W, endpoint: &str) -> Self {
        Markdown { out, endpoint: endpoint.to_owned() }
    }
}

impl<W: Write> Sink for Markdown<W> {
    fn case(&mut self, _: &CaseRecord) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let o = &mut self.out;
        writeln!(o, "## CopyImage conformance: `{}`\n", line(&self.endpoint))?;
        writeln!(o, "Dialect `{}`.\n", line(&s.dialect))?;
        if let Some(shards) = s.shards_line() {
            writeln!(o, "{shards}.\n")?;
        }
        writeln!(o, "| cases | conform | deviations | unparseable | transport errors | skipped | score |")?;
        writeln!(o, "|---:|---:|---:|---:|---:|---:|---:|")?;
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {:.1} % |",
            s.cases,
            s.conforms,
            s.deviations,
            s.unparseable,
            s.transport_errors,
            s.skipped,
            s.score()
        )?;
        findings(o, s)?;
        writeln!(o, "\n### Rules\n\n| rule | title | cases | conform | score |\n|---|---|---:|---:|---:|")?;
        for (rule, c) in &s.rules {
            let pct = 100.0 * c.conforms as f64 / c.cases.max(1) as f64;
            writeln!(o, "| {} | {} | {} | {} | {pct:.1} % |", cell(rule), cell(&c.title), c.cases, c.conforms)?;
        }
        writeln!(o, "\nA case counts under every rule that decided it.")?;
        if s.skipped > 0 {
            writeln!(o, "\n### Skipped\n\n| reason | cases |\n|---|---:|")?;
            for (reason, n) in &s.skipped_reasons {
                writeln!(o, "| {} | {n} |", cell(reason))?;
            }
        }
        stateful(o, s)?;
        if let Some(line) = s.interruption() {
            writeln!(o, "\n**{line}**")?;
        }
        writeln!(o, "\n**{}**", line(&s.verdict_line()))?;
        o.flush()
    }
}

fn findings(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    let open: Vec<_> = s.open_findings().collect();
    if open.is_empty() && s.findings.is_empty() {
        return writeln!(o, "\n### Findings\n\nNone.");
    }
    writeln!(o, "\n### Findings not accepted ({})\n", open.len())?;
    for (i, f) in open.iter().enumerate() {
        writeln!(o, "{}. **{}**  ", i + 1, line(&f.title))?;
        writeln!(
            o,
            "   `{}` ({}): {}; {} ({}); source {}; confidence {}.",
            line(&f.key.rule),
            line(&f.rule_title),
            line(&f.condition),
            cases(f.cases),
            line(&case_ids(f)),
            line(&f.source),
            confidence(f)
        )?;
        writeln!(o, "   Example {}: {}.", line(&f.example), line(&f.detail))?;
        if let Some(s) = &f.shrunk {
            writeln!(o, "   {}.", shrunk(s))?;
        }
        writeln!(o, "   ```sh\n   {}\n   ```", block(&f.reproduction).replace('\n', "\n   "))?;
        if !f.boto3.is_empty() {
            writeln!(o, "   ```python\n   {}\n   ```", block(&f.boto3).replace('\n', "\n   "))?;
        }
    }
    let accepted: Vec<_> = s.findings.iter().filter(|f| f.accepted).collect();
    if !accepted.is_empty() {
        let by = s.accepted_file.as_deref().unwrap_or("the baseline");
        writeln!(o, "\n### Accepted by `{}` ({})\n", line(by), accepted.len())?;
        writeln!(o, "| rule | finding | cases | reason |\n|---|---|---:|---|")?;
        for f in accepted {
            let reason = f.accepted_reason.as_deref().unwrap_or_default();
            writeln!(o, "| {} | {} | {} | {} |", cell(&f.key.rule), cell(&f.title), f.cases, cell(reason))?;
        }
    }
    Ok(())
}

fn stateful(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    let Some(st) = &s.stateful else { return Ok(()) };
    let total = crate::run::properties::PROPERTIES.len();
    writeln!(
        o,
        "\n### Stateful properties\n\n{} sequences; {} properties checked, {} failed.",
        st.sequences_run,
        total.saturating_sub(s.unchecked_properties.len()),
        st.failures.len()
    )?;
    for u in &s.unchecked_properties {
        writeln!(o, "\n- `{}` accepted (not checked): {}", line(&u.property), line(&u.reason))?;
    }
    if let Some(why) = &st.stopped {
        writeln!(o, "\nStopped early: {}", line(why))?;
    }
    for f in &st.failures {
        writeln!(o, "\n- **{}**: {}", line(&f.property), line(&f.detail))?;
        writeln!(
            o,
            "  ```sh\n{}\n  ```",
            f.script.lines().map(|l| format!("  {}", block(l))).collect::<Vec<_>>().join("\n")
        )?;
    }
    Ok(())
}
