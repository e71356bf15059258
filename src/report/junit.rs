//! `--format junit`: one testcase per case, grouped by deciding rule. JUnit puts counts before
//! the cases, so this format keeps one short line per case until the end.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::report::{Sink, Summary};
use crate::run::CaseRecord;
use crate::verdict::Verdict;
use crate::wire::xml_escape::escape;

struct Entry {
    id: String,
    target: String,
    failure: Option<(&'static str, String)>,
    seconds: f64,
}

/// A JUnit XML report.
pub struct Junit<W: Write> {
    out: W,
    by_rule: BTreeMap<String, Vec<Entry>>,
}

impl<W: Write> Junit<W> {
    /// A JUnit report to `out`.
    pub fn new(out: W) -> Self {
        Junit { out, by_rule: BTreeMap::new() }
    }
}

impl<W: Write> Sink for Junit<W> {
    fn case(&mut self, rec: &CaseRecord) -> io::Result<()> {
        let rule = rec.result.prediction.rules.first().map_or_else(|| "none".to_owned(), |r| r.to_string());
        let v = rec.verdict();
        let failure = match v {
            Verdict::Conforms { .. } => None,
            Verdict::Deviation { .. } => Some(("deviation", format!("{v}\n\n{}", rec.result.curl))),
            Verdict::Unparseable { .. } => Some(("unparseable", format!("{v}\n\n{}", rec.result.curl))),
            Verdict::Transport { .. } => Some(("transport_error", v.to_string())),
        };
        let entry = Entry {
            id: rec.id.clone(),
            target: rec.target.clone(),
            failure,
            seconds: rec.result.elapsed_ms as f64 / 1000.0,
        };
        self.by_rule.entry(rule).or_default().push(entry);
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let o = &mut self.out;
        let failures = s.cases - s.conforms;
        writeln!(o, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            o,
            r#"<testsuites name="copyimage-conformance" tests="{}" failures="{failures}" errors="0">"#,
            s.cases
        )?;
        if let Some(line) = s.interruption() {
            // A comment may not hold `--`.
            writeln!(o, "  <!-- {} -->", line.replace("--", "- -"))?;
        }
        for (rule, entries) in &self.by_rule {
            let fails = entries.iter().filter(|e| e.failure.is_some()).count();
            writeln!(
                o,
                r#"  <testsuite name="{}" tests="{}" failures="{fails}" errors="0">"#,
                escape(rule),
                entries.len()
            )?;
            for e in entries {
                let name = escape(&format!("{} ({})", e.id, e.target));
                write!(o, r#"    <testcase classname="{}" name="{name}" time="{:.3}""#, escape(rule), e.seconds)?;
                match &e.failure {
                    None => writeln!(o, "/>")?,
                    Some((kind, text)) => {
                        let first = text.lines().next().unwrap_or_default();
                        writeln!(o, ">")?;
                        writeln!(
                            o,
                            r#"      <failure type="{kind}" message="{}">{}</failure>"#,
                            escape(first),
                            escape(text)
                        )?;
                        writeln!(o, "    </testcase>")?;
                    }
                }
            }
            writeln!(o, "  </testsuite>")?;
        }
        writeln!(o, "</testsuites>")?;
        o.flush()
    }
}
