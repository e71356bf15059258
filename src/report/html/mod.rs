//! The HTML report (`--format html`): one self-contained file, inline style and no script, in
//! the terminal report's order: the verdict, endpoint, dialect and counts; the findings with
//! their reproductions; per-rule conformance bars; the baseline comparison with its diffs;
//! stateful failures with their shrunk sequences; skipped cases. Every piece of text that may
//! come from the server is escaped (`page::esc`).

pub(crate) mod page;

use std::io::{self, Write};

use serde_json::Value;

use crate::report::text::{case_ids, cases, confidence, shrunk};
use crate::report::{Finding, Sink, Status, Summary};
use crate::run::CaseRecord;
use page::{bar, esc, esc_block, percent};

/// The [`Finding`] fields the report lays out itself; any other field (a reproduction in
/// another form, say) is shown after them under its own name. `severity` and `example_len`
/// only order findings and choose their example (and let `merge` do the same).
const LAID_OUT: &[&str] = &[
    "severity",
    "example_len",
    // The example as data: its curl and boto3 forms show it to a person.
    "request",
    "setup",
    "expected",
    "boto3",
    "shrunk",
    "key",
    "title",
    "rule_title",
    "condition",
    "source",
    "confidence",
    "cases",
    "case_ids",
    "example",
    "detail",
    "reproduction",
    "accepted",
    "accepted_cases",
    "accepted_reason",
];

/// The HTML report.
pub struct Html<W: Write> {
    out: W,
    endpoint: String,
}

impl<W: Write> Html<W> {
    /// An HTML report of a run against `endpoint`.
    pub fn new(out: W, endpoint: &str) -> Self {
        Html { out, endpoint: endpoint.to_owned() }
    }
}

impl<W: Write> Sink for Html<W> {
    fn case(&mut self, _: &CaseRecord) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, s: &Summary) -> io::Result<()> {
        let o = &mut self.out;
        o.write_all(page::head(&format!("CopyImage conformance: {}", self.endpoint)).as_bytes())?;
        header(o, &self.endpoint, s)?;
        findings(o, s)?;
        rules(o, s)?;
        baseline(o, s)?;
        stateful(o, s)?;
        skipped(o, s)?;
        writeln!(o, "<footer>Written by copyimage-conformance {}.</footer>", env!("CARGO_PKG_VERSION"))?;
        o.write_all(page::foot().as_bytes())?;
        o.flush()
    }
}

/// The class of the verdict banner.
fn status_class(s: &Summary) -> &'static str {
    match s.status() {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Inconclusive => "inconclusive",
        Status::Interrupted => "interrupted",
    }
}

fn header(o: &mut impl Write, endpoint: &str, s: &Summary) -> io::Result<()> {
    writeln!(o, "<header id=\"summary\">\n<h1>CopyImage conformance</h1>")?;
    writeln!(
        o,
        "<p class=\"sub\">Endpoint <code>{}</code>, dialect <code>{}</code></p>",
        esc(endpoint),
        esc(&s.dialect)
    )?;
    writeln!(o, "<div class=\"verdict {}\" id=\"verdict\">{}</div>", status_class(s), esc(&s.verdict_line()))?;
    if let Some(line) = s.interruption() {
        writeln!(o, "<p><strong>{}</strong></p>", esc(&line))?;
    }
    let stats = [
        (s.cases, "cases"),
        (s.conforms, "conform"),
        (s.deviations, "deviations"),
        (s.unparseable, "unparseable"),
        (s.transport_errors, "transport errors"),
        (s.skipped, "skipped"),
    ];
    writeln!(o, "<div class=\"stats\">")?;
    writeln!(o, "<div class=\"stat\"><b>{:.1} %</b><span>score</span></div>", s.score())?;
    for (n, what) in stats {
        writeln!(o, "<div class=\"stat\"><b>{n}</b><span>{what}</span></div>")?;
    }
    writeln!(o, "</div>")?;
    let notes = match s.notes {
        0 => String::new(),
        n => format!("; {} conformed with a different message text", cases(n)),
    };
    writeln!(o, "<p class=\"meta\">{} requests, {} retried{notes}.</p>", s.requests, s.retries)?;
    if s.earlier_names > 0 {
        writeln!(o, "<p class=\"meta\">{}.</p>", esc(&s.earlier_names_line()))?;
    }
    if let Some(line) = s.earlier_unchecked_line() {
        writeln!(o, "<p class=\"meta\">{}</p>", esc(&line))?;
    }
    nav(o, s)?;
    writeln!(o, "</header>")
}

/// Links to the sections the report has.
fn nav(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    let sections = [
        ("findings", "Findings", true),
        ("rules", "Rules", true),
        ("baseline", "Baseline", s.baseline.is_some()),
        ("stateful", "Stateful properties", s.stateful.is_some()),
        ("skipped", "Skipped", s.skipped > 0),
    ];
    let links: Vec<String> = sections
        .iter()
        .filter(|(_, _, shown)| *shown)
        .map(|(id, name, _)| format!("<a href=\"#{id}\">{name}</a>"))
        .collect();
    writeln!(o, "<nav>{}</nav>", links.join(" · "))
}

fn findings(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    let open: Vec<&Finding> = s.open_findings().collect();
    writeln!(o, "<section id=\"findings\">")?;
    if s.findings.is_empty() {
        return writeln!(o, "<h2>Findings</h2>\n<p>None: every answer conformed.</p>\n</section>");
    }
    writeln!(o, "<h2>Findings not accepted ({})</h2>", open.len())?;
    if open.is_empty() {
        writeln!(o, "<p>None.</p>")?;
    }
    for (i, f) in open.iter().enumerate() {
        finding(o, i + 1, f)?;
    }
    let accepted: Vec<&Finding> = s.findings.iter().filter(|f| f.accepted).collect();
    if !accepted.is_empty() {
        let by = s.accepted_file.as_deref().unwrap_or("the baseline");
        writeln!(o, "<h2>Accepted by <code>{}</code> ({})</h2>", esc(by), accepted.len())?;
        for (i, f) in accepted.iter().enumerate() {
            finding(o, open.len() + i + 1, f)?;
        }
    }
    writeln!(o, "</section>")
}

fn finding(o: &mut impl Write, n: usize, f: &Finding) -> io::Result<()> {
    let (class, tag) =
        if f.accepted { ("finding accepted", "acc\">accepted") } else { ("finding", "open\">not accepted") };
    writeln!(o, "<article class=\"{class}\" id=\"finding-{n}\">")?;
    writeln!(o, "<h3><span class=\"tag {tag}</span>{n}. {}</h3>", esc(&f.title))?;
    writeln!(
        o,
        "<p class=\"meta\">Rule <code>{}</code> ({}): {}</p>",
        esc(&f.key.rule),
        esc(&f.rule_title),
        esc(&f.condition)
    )?;
    writeln!(o, "<p class=\"meta\">Confidence {}; source {}</p>", esc(&confidence(f)), esc(&f.source))?;
    writeln!(o, "<p class=\"meta\">{}: <span class=\"mono\">{}</span></p>", cases(f.cases), esc(&case_ids(f)))?;
    if f.accepted_cases > 0 {
        let reason = f.accepted_reason.as_deref().unwrap_or_default();
        writeln!(o, "<p class=\"meta\">{} of the {} accepted: {}</p>", f.accepted_cases, cases(f.cases), esc(reason))?;
    }
    writeln!(o, "<p>Example <code>{}</code>: {}</p>", esc(&f.example), esc(&f.detail))?;
    if let Some(s) = &f.shrunk {
        writeln!(o, "<p class=\"meta\">{}</p>", esc(&shrunk(s)))?;
    }
    writeln!(o, "<p class=\"label\">Reproduction (curl)</p>\n<pre>{}</pre>", esc_block(&f.reproduction))?;
    if !f.boto3.is_empty() {
        writeln!(o, "<p class=\"label\">Reproduction (boto3)</p>\n<pre>{}</pre>", esc_block(&f.boto3))?;
    }
    // Fields added to `Finding` later (other forms of reproduction) show without a change here.
    if let Ok(Value::Object(fields)) = serde_json::to_value(f) {
        for (name, value) in fields.iter().filter(|(k, _)| !LAID_OUT.contains(&k.as_str())) {
            extra(o, &name.replace('_', " "), value)?;
        }
    }
    writeln!(o, "</article>")
}

/// A field the report does not know by name: text as a block under its name, lists and
/// objects field by field.
fn extra(o: &mut impl Write, label: &str, value: &Value) -> io::Result<()> {
    match value {
        Value::Null => Ok(()),
        Value::String(text) => writeln!(o, "<p class=\"label\">{}</p>\n<pre>{}</pre>", esc(label), esc_block(text)),
        Value::Bool(_) | Value::Number(_) => {
            writeln!(o, "<p class=\"meta\">{}: {}</p>", esc(label), esc(&value.to_string()))
        }
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let lines: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            writeln!(o, "<p class=\"label\">{}</p>\n<pre>{}</pre>", esc(label), esc_block(&lines.join("\n")))
        }
        Value::Array(items) => items.iter().try_for_each(|v| extra(o, label, v)),
        Value::Object(fields) => {
            fields.iter().try_for_each(|(k, v)| extra(o, &format!("{label}: {}", k.replace('_', " ")), v))
        }
    }
}

fn rules(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    writeln!(o, "<section id=\"rules\">\n<h2>Conformance per rule</h2>")?;
    writeln!(
        o,
        "<table>\n<tr><th>rule</th><th>title</th><th class=\"num\">cases</th><th class=\"num\">conform</th><th>score</th></tr>"
    )?;
    for (rule, c) in &s.rules {
        writeln!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(rule),
            esc(&c.title),
            c.cases,
            c.conforms,
            bar(percent(c.conforms, c.cases))
        )?;
    }
    writeln!(o, "</table>")?;
    writeln!(o, "<p class=\"meta\">A case counts under every rule that decided it.</p>\n</section>")
}

fn baseline(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    let Some(b) = &s.baseline else { return Ok(()) };
    writeln!(o, "<section id=\"baseline\">\n<h2>Baseline</h2>")?;
    writeln!(
        o,
        "<p>{} snapshot files changed, {} deviations accepted, {} not accepted.</p>",
        b.changed.len(),
        b.accepted,
        b.unaccepted.len()
    )?;
    if !b.unaccepted.is_empty() {
        writeln!(o, "<table>\n<tr><th>case</th><th>not accepted</th></tr>")?;
        for (id, what) in &b.unaccepted {
            writeln!(o, "<tr><td><code>{}</code></td><td>{}</td></tr>", esc(id), esc(what))?;
        }
        writeln!(o, "</table>")?;
    }
    for (i, file) in b.changed.iter().enumerate() {
        writeln!(o, "<details open><summary>changed: <code>{}</code></summary>", esc(file))?;
        if let Some(diff) = b.diffs.get(i) {
            writeln!(o, "<pre class=\"diff\">{}</pre>", diff_lines(diff))?;
        }
        writeln!(o, "</details>")?;
    }
    writeln!(o, "</section>")
}

/// A unified diff with its added, removed and hunk lines marked for colour.
fn diff_lines(diff: &str) -> String {
    let mut out = String::new();
    for l in diff.lines() {
        let class = match l.as_bytes().first() {
            Some(b'+') if !l.starts_with("+++") => "add",
            Some(b'-') if !l.starts_with("---") => "del",
            Some(b'@') => "hunk",
            _ => "",
        };
        if class.is_empty() {
            out.push_str(&esc_block(l));
        } else {
            out.push_str(&format!("<span class=\"{class}\">{}</span>", esc_block(l)));
        }
        out.push('\n');
    }
    out
}

fn stateful(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    let Some(st) = &s.stateful else { return Ok(()) };
    let total = crate::run::properties::PROPERTIES.len();
    writeln!(o, "<section id=\"stateful\">\n<h2>Stateful properties</h2>")?;
    writeln!(
        o,
        "<p>{} sequences; {} properties checked, {} failed, {} accepted (not checked).</p>",
        st.sequences_run,
        total.saturating_sub(s.unchecked_properties.len()),
        st.failures.len(),
        s.unchecked_properties.len()
    )?;
    if let Some(why) = &st.stopped {
        writeln!(o, "<p><strong>Stopped early:</strong> {}</p>", esc(why))?;
    }
    for (i, f) in st.failures.iter().enumerate() {
        writeln!(o, "<article class=\"finding\" id=\"property-{}\">", i + 1)?;
        writeln!(o, "<h3><span class=\"tag open\">failed</span><code>{}</code></h3>", esc(&f.property))?;
        writeln!(o, "<p>{}</p>", esc(&f.detail))?;
        writeln!(o, "<p class=\"label\">Shrunk sequence ({} steps)</p>\n<ol class=\"mono\">", f.steps.len())?;
        for step in &f.steps {
            writeln!(o, "<li>{}</li>", esc(step))?;
        }
        writeln!(
            o,
            "</ol>\n<p class=\"label\">Reproduction script</p>\n<pre>{}</pre>\n</article>",
            esc_block(&f.script)
        )?;
    }
    if !s.unchecked_properties.is_empty() {
        writeln!(o, "<table>\n<tr><th>accepted (not checked)</th><th>why</th></tr>")?;
        for u in &s.unchecked_properties {
            writeln!(o, "<tr><td><code>{}</code></td><td>{}</td></tr>", esc(&u.property), esc(&u.reason))?;
        }
        writeln!(o, "</table>")?;
    }
    writeln!(o, "</section>")
}

fn skipped(o: &mut impl Write, s: &Summary) -> io::Result<()> {
    if s.skipped == 0 {
        return Ok(());
    }
    writeln!(o, "<section id=\"skipped\">\n<h2>Skipped: {} not sent</h2>", cases(s.skipped))?;
    writeln!(o, "<table>\n<tr><th>reason</th><th class=\"num\">cases</th></tr>")?;
    for (reason, n) in &s.skipped_reasons {
        writeln!(o, "<tr><td>{}</td><td class=\"num\">{n}</td></tr>", esc(reason))?;
    }
    writeln!(o, "</table>\n</section>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_added_to_a_finding_later_show_under_their_names_escaped() {
        let value = serde_json::json!({
            "minimal": {"curl": "curl -d 'Name=a'", "boto3_snippet": "ec2.copy_image(Name='</pre><script>')"},
            "steps": ["one", "two\u{1b}"],
            "budget_used": 12,
            "none": null,
        });
        let mut out = vec![];
        for (name, v) in value.as_object().unwrap() {
            extra(&mut out, name, v).unwrap();
        }
        let html = String::from_utf8(out).unwrap();
        assert!(html.contains("<p class=\"label\">minimal: boto3 snippet</p>\n<pre>ec2.copy_image(Name=&#39;&lt;/pre&gt;&lt;script&gt;&#39;)</pre>"), "{html}");
        assert!(html.contains("<p class=\"label\">minimal: curl</p>\n<pre>curl -d &#39;Name=a&#39;</pre>"), "{html}");
        assert!(html.contains("<pre>one\ntwo\\u{1b}</pre>"), "{html}");
        assert!(html.contains("budget_used: 12"), "{html}");
        assert!(!html.contains("none"), "{html}");
    }
}
