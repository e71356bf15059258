//! The conformance matrix as an HTML page: the matrix first (rules down, targets across, each
//! cell coloured by its score and linked to that target's row below), the stateful
//! properties, then one section per target with what deviates in each snapshot file, an
//! example case, and the reasons its `accepted.toml` gives.
//!
//! Every link is an anchor in the page itself; snapshot text (which quotes servers) is
//! escaped as the run report escapes it.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{Column, PropertyState, is_rule, property_state, total};
use crate::report::html::page::{anchor, bar, esc, foot, head, score_class};
use crate::run::properties::PROPERTIES;
use crate::spec::Spec;

/// The anchor of a target's section.
fn target_id(c: &Column) -> String {
    anchor(&["target", &c.target.name])
}

/// The anchor of one snapshot file's row in a target's section.
fn row_id(c: &Column, stem: &str) -> String {
    anchor(&["target", &c.target.name, stem])
}

/// The matrix page: a whole HTML document; `spec` gives the rules' titles.
pub fn render_html(columns: &[Column], spec: &Spec) -> String {
    let mut s = head("CopyImage conformance matrix");
    s.push_str("<header id=\"summary\">\n<h1>CopyImage conformance matrix</h1>\n");
    s.push_str(
        "<p class=\"sub\">Each target's committed baseline, as its gate (<code>copyimage-conformance \
         targets gate NAME</code>) records it: per rule, the stored cases aimed at it, conforming of \
         all. A cell links to what deviates for that target below; <code>—</code>: no such case in \
         that corpus.</p>\n</header>\n",
    );
    matrix(&mut s, columns, spec);
    properties(&mut s, columns);
    for c in columns {
        target(&mut s, c, spec);
    }
    s.push_str("<footer>Written by <code>copyimage-conformance matrix --format html</code>.</footer>\n");
    s.push_str(foot());
    s
}

fn title(spec: &Spec, stem: &str) -> String {
    if is_rule(stem) { spec.rule(stem).map(|r| r.title.clone()).unwrap_or_default() } else { String::new() }
}

fn matrix(s: &mut String, columns: &[Column], spec: &Spec) {
    let rows: BTreeSet<&String> = columns.iter().flat_map(|c| c.scores.keys()).collect();
    s.push_str("<section id=\"matrix\">\n<h2>Conformance per rule and target</h2>\n<table class=\"matrix\">\n");
    s.push_str("<tr><th>rule</th><th>title</th>");
    for c in columns {
        let _ = write!(s, "<th class=\"num\"><a href=\"#{}\">{}</a></th>", target_id(c), esc(&c.target.name));
    }
    s.push_str("</tr>\n");
    for row in &rows {
        let _ = write!(s, "<tr><td><code>{}</code></td><td>{}</td>", esc(row), esc(&title(spec, row)));
        for c in columns {
            match c.scores.get(*row) {
                Some(score) => {
                    let _ = write!(
                        s,
                        "<td class=\"cell {}\"><a href=\"#{}\">{}/{}</a></td>",
                        score_class(score.percent()),
                        row_id(c, row),
                        score.conform,
                        score.cases
                    );
                }
                None => s.push_str("<td class=\"none\">—</td>"),
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("<tr><th>all</th><th></th>");
    for c in columns {
        let t = total(c);
        let _ = write!(
            s,
            "<td class=\"cell {}\"><a href=\"#{}\"><strong>{:.1} %</strong></a></td>",
            score_class(t.percent()),
            target_id(c),
            t.percent()
        );
    }
    s.push_str("</tr>\n</table>\n</section>\n");
}

fn properties(s: &mut String, columns: &[Column]) {
    s.push_str("<section id=\"properties\">\n<h2>Stateful properties</h2>\n");
    s.push_str(
        "<p class=\"meta\"><em>holds</em>: the gate checks it and it passes; <em>fails</em>: the \
         baseline's accepted.toml lists it; <em>not run</em>: the gate runs no sequences.</p>\n",
    );
    s.push_str("<table class=\"matrix\">\n<tr><th>property</th>");
    for c in columns {
        let _ = write!(s, "<th class=\"num\"><a href=\"#{}\">{}</a></th>", target_id(c), esc(&c.target.name));
    }
    s.push_str("</tr>\n");
    for p in PROPERTIES {
        let _ = write!(s, "<tr><td><code>{}</code></td>", esc(p));
        for c in columns {
            let state = property_state(c, p);
            let class = match state {
                PropertyState::Holds => "cell s-full",
                PropertyState::Fails => "cell s-low",
                PropertyState::NotRun => "none",
            };
            let word = state.word();
            match state {
                PropertyState::Fails => {
                    let id = anchor(&["target", &c.target.name, "property", p]);
                    let _ = write!(s, "<td class=\"{class}\"><a href=\"#{id}\">{word}</a></td>");
                }
                _ => {
                    let _ = write!(s, "<td class=\"{class}\">{word}</td>");
                }
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n</section>\n");
}

fn target(s: &mut String, c: &Column, spec: &Spec) {
    let t = total(c);
    let _ = write!(
        s,
        "<section id=\"{}\">\n<h2>{}</h2>\n<p class=\"sub\">{}. Baseline <code>{}</code>: {} of {} stored cases \
         conform.</p>\n{}\n",
        target_id(c),
        esc(&c.target.name),
        esc(&c.target.about),
        esc(&c.target.baseline.display().to_string()),
        t.conform,
        t.cases,
        bar(t.percent())
    );
    s.push_str("<table>\n<tr><th>rule</th><th>score</th><th>what deviates</th></tr>\n");
    for (stem, score) in &c.scores {
        let _ = write!(
            s,
            "<tr id=\"{}\"><td><code>{}</code><div class=\"meta\">{}</div></td><td>{}\
             <div class=\"meta\">{} of {} conform</div></td><td>",
            row_id(c, stem),
            esc(stem),
            esc(&title(spec, stem)),
            bar(score.percent()),
            score.conform,
            score.cases
        );
        deviations(s, c, stem);
        s.push_str("</td></tr>\n");
    }
    s.push_str("</table>\n");
    for (p, reason) in &c.property_reasons {
        let id = anchor(&["target", &c.target.name, "property", p]);
        let _ = writeln!(
            s,
            "<p id=\"{id}\"><span class=\"tag open\">fails</span><code>{}</code>: {}</p>",
            esc(p),
            esc(reason)
        );
    }
    s.push_str("</section>\n");
}

/// A verdict cut to one readable line for a summary (the whole of it is in the details).
fn short(verdict: &str) -> String {
    const MAX: usize = 100;
    match verdict.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &verdict[..at]),
        None => verdict.to_owned(),
    }
}

/// The deviations of one snapshot file, each with its example, then the accepted reasons.
fn deviations(s: &mut String, c: &Column, stem: &str) {
    let found = c.deviations.get(stem).map(Vec::as_slice).unwrap_or_default();
    if found.is_empty() {
        s.push_str("every case conforms");
    }
    for d in found {
        let _ = write!(
            s,
            "<details><summary><strong>{}</strong> × {}</summary><pre>case {}\n{}\nresponse: {}\nverdict: {}</pre></details>",
            d.cases,
            esc(&short(&d.verdict)),
            esc(&d.example),
            esc(&d.request),
            esc(&d.response),
            esc(&d.verdict)
        );
    }
    for reason in c.accepted.get(stem).map(Vec::as_slice).unwrap_or_default() {
        let _ = write!(s, "<p class=\"meta\"><span class=\"tag acc\">accepted</span>{}</p>", esc(reason));
    }
}
