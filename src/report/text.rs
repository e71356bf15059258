//! The terminal summary and the Markdown report for a CI job summary. Text that may come from
//! the server is escaped on the way out (`report::escape`).

use std::io::{self, Write};

use crate::report::escape::{block, cell, line};
use crate::report::{Sink, Summary};
use crate::run::CaseRecord;

/// The terminal report: counts, per-rule conformance, and the worst deviations with a `curl`
/// reproduction each.
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
        writeln!(o, "copyimage-conformance against {}", line(&self.endpoint))?;
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
        writeln!(o, "\n{:<22} {:>7} {:>9} {:>8}", "rule", "cases", "conform", "score")?;
        for (rule, c) in &s.rules {
            let pct = 100.0 * c.conforms as f64 / c.cases.max(1) as f64;
            writeln!(o, "{:<22} {:>7} {:>9} {pct:>7.1}%", line(rule), c.cases, c.conforms)?;
        }
        if let Some(b) = &s.baseline {
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
            for (id, what) in &b.unaccepted {
                writeln!(o, "  not accepted: case {} {}", line(id), line(what))?;
            }
        }
        if let Some(st) = &s.stateful {
            writeln!(
                o,
                "\nstateful properties: {} sequences, {} properties failed",
                st.sequences_run,
                st.failures.len()
            )?;
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
        }
        if !s.worst.is_empty() {
            writeln!(o, "\nworst deviations (of {}):", s.cases - s.conforms)?;
            for w in &s.worst {
                writeln!(o, "\n  case {} [{}]", line(&w.id), line(&w.rules.join(", ")))?;
                writeln!(o, "    expected: {}", line(&w.expected))?;
                writeln!(o, "    got:      {}", line(&w.got))?;
                writeln!(o, "    finding:  {}", line(&w.finding))?;
                writeln!(o, "    reproduce: {}", block(&w.curl))?;
            }
        }
        if let Some(line) = s.interruption() {
            writeln!(o, "\n{line}")?;
        }
        o.flush()
    }
}

/// The Markdown report: a summary table, per-rule scores and the worst deviations.
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
        writeln!(o, "| cases | conform | deviations | unparseable | transport errors | score |")?;
        writeln!(o, "|---:|---:|---:|---:|---:|---:|")?;
        writeln!(
            o,
            "| {} | {} | {} | {} | {} | {:.1} % |\n",
            s.cases,
            s.conforms,
            s.deviations,
            s.unparseable,
            s.transport_errors,
            s.score()
        )?;
        writeln!(o, "| rule | cases | conform | score |\n|---|---:|---:|---:|")?;
        for (rule, c) in &s.rules {
            let pct = 100.0 * c.conforms as f64 / c.cases.max(1) as f64;
            writeln!(o, "| {} | {} | {} | {pct:.1} % |", cell(rule), c.cases, c.conforms)?;
        }
        if let Some(st) = &s.stateful {
            writeln!(
                o,
                "\n### Stateful properties\n\n{} sequences, {} properties failed.",
                st.sequences_run,
                st.failures.len()
            )?;
            for f in &st.failures {
                writeln!(o, "\n- **{}**: {}", line(&f.property), line(&f.detail))?;
                writeln!(
                    o,
                    "  ```sh\n{}\n  ```",
                    f.script.lines().map(|l| format!("  {}", block(l))).collect::<Vec<_>>().join("\n")
                )?;
            }
        }
        if !s.worst.is_empty() {
            writeln!(o, "\n### Worst deviations\n")?;
            for w in &s.worst {
                writeln!(
                    o,
                    "- **case {}** ({}): expected {}, got {}. {}",
                    line(&w.id),
                    line(&w.rules.join(", ")),
                    line(&w.expected),
                    line(&w.got),
                    line(&w.finding)
                )?;
                writeln!(o, "  ```sh\n  {}\n  ```", block(&w.curl))?;
            }
        }
        if let Some(line) = s.interruption() {
            writeln!(o, "\n**{line}**")?;
        }
        o.flush()
    }
}
