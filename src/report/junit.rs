//! `--format junit`: what a CI interface shows best. One testcase per distinct finding (named
//! by its title, class the deciding rule, the case ids in the failure text), one passing
//! testcase per rule whose cases all conform, skipped cases and unchecked stateful properties
//! as `<skipped>`, failed stateful properties as failures.

use std::io::{self, Write};

use crate::report::text::{case_ids, cases};
use crate::report::{Sink, Summary};
use crate::run::CaseRecord;
use crate::wire::xml_escape::escape;

/// A JUnit XML report.
pub struct Junit<W: Write> {
    out: W,
}

impl<W: Write> Junit<W> {
    /// A JUnit report to `out`.
    pub fn new(out: W) -> Self {
        Junit { out }
    }
}

/// One testcase: its class and name, and how it did.
struct TestCase {
    class: String,
    name: String,
    status: Status,
}

enum Status {
    Passed,
    Failed { kind: &'static str, message: String, text: String },
    Skipped { message: String },
}

impl<W: Write> Sink for Junit<W> {
    fn case(&mut self, _: &CaseRecord) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let suites =
            [("findings", findings(s)), ("rules", rules(s)), ("skipped", skipped(s)), ("stateful", stateful(s))];
        let o = &mut self.out;
        let all = || suites.iter().flat_map(|(_, cases)| cases);
        let fails = |c: &&TestCase| matches!(c.status, Status::Failed { .. });
        writeln!(o, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            o,
            r#"<testsuites name="copyimage-conformance" tests="{}" failures="{}" errors="0">"#,
            all().count(),
            all().filter(fails).count()
        )?;
        // A comment may not hold `--`.
        writeln!(o, "  <!-- {} -->", s.verdict_line().replace("--", "- -"))?;
        if let Some(line) = s.interruption() {
            writeln!(o, "  <!-- {} -->", line.replace("--", "- -"))?;
        }
        for (name, cases) in &suites {
            if cases.is_empty() {
                continue;
            }
            let skips = cases.iter().filter(|c| matches!(c.status, Status::Skipped { .. })).count();
            writeln!(
                o,
                r#"  <testsuite name="{name}" tests="{}" failures="{}" errors="0" skipped="{skips}">"#,
                cases.len(),
                cases.iter().filter(fails).count()
            )?;
            for c in cases {
                write!(o, r#"    <testcase classname="{}" name="{}""#, escape(&c.class), escape(&c.name))?;
                match &c.status {
                    Status::Passed => writeln!(o, "/>")?,
                    Status::Failed { kind, message, text } => writeln!(
                        o,
                        ">\n      <failure type=\"{kind}\" message=\"{}\">{}</failure>\n    </testcase>",
                        escape(message),
                        escape(text)
                    )?,
                    Status::Skipped { message } => {
                        writeln!(o, ">\n      <skipped message=\"{}\"/>\n    </testcase>", escape(message))?
                    }
                }
            }
            writeln!(o, "  </testsuite>")?;
        }
        writeln!(o, "</testsuites>")?;
        o.flush()
    }
}

/// A finding the baseline accepts passes with a `<skipped>` saying why.
fn findings(s: &Summary) -> Vec<TestCase> {
    s.findings
        .iter()
        .map(|f| {
            let result = if f.accepted {
                Status::Skipped { message: format!("accepted: {}", f.accepted_reason.as_deref().unwrap_or_default()) }
            } else {
                Status::Failed {
                    kind: "finding",
                    message: format!("{} ({})", f.title, cases(f.cases)),
                    text: format!(
                        "rule {} ({}): {}\nsource {}\ncases: {}\nexample {}: {}\n\n{}",
                        f.key.rule,
                        f.rule_title,
                        f.condition,
                        f.source,
                        case_ids(f),
                        f.example,
                        f.detail,
                        f.reproduction
                    ),
                }
            };
            TestCase { class: f.key.rule.clone(), name: f.title.clone(), status: result }
        })
        .collect()
}

fn rules(s: &Summary) -> Vec<TestCase> {
    s.rules
        .iter()
        .filter(|(_, c)| c.conforms == c.cases)
        .map(|(rule, c)| TestCase {
            class: rule.clone(),
            name: format!("{}: every case conforms ({})", c.title, cases(c.cases)),
            status: Status::Passed,
        })
        .collect()
}

fn skipped(s: &Summary) -> Vec<TestCase> {
    s.skipped_reasons
        .iter()
        .map(|(reason, n)| TestCase {
            class: "skipped".to_owned(),
            name: format!("{reason} ({} not sent)", cases(*n)),
            status: Status::Skipped { message: reason.clone() },
        })
        .collect()
}

fn stateful(s: &Summary) -> Vec<TestCase> {
    let Some(st) = &s.stateful else { return vec![] };
    let mut out: Vec<TestCase> = crate::run::properties::PROPERTIES
        .iter()
        .map(|p| {
            let result = if let Some(f) = st.failure(p) {
                let text = format!("{}\n\n{}\n\n{}", f.detail, f.steps.join("\n"), f.script);
                Status::Failed { kind: "property", message: f.detail.clone(), text }
            } else if let Some(u) = s.unchecked_properties.iter().find(|u| u.property == *p) {
                Status::Skipped { message: format!("accepted (not checked): {}", u.reason) }
            } else {
                Status::Passed
            };
            TestCase { class: "stateful".to_owned(), name: (*p).to_owned(), status: result }
        })
        .collect();
    if let Some(why) = &st.stopped {
        let message = format!("stopped early: {why}");
        out.push(TestCase {
            class: "stateful".to_owned(),
            name: "the checks ran to their end".to_owned(),
            status: Status::Failed { kind: "stopped", message: message.clone(), text: message },
        });
    }
    out
}
