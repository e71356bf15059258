//! The HTML reports (`run --format html`, `matrix --format html`): one self-contained file
//! that loads nothing, has every section a person looks for, keeps a hostile server's text as
//! text, and whose links all land on anchors in the page. scripts/browser-test loads the same
//! pages in a real Chromium.

use copyimage_conformance::exit;

use crate::fake::{self, Mode};
use crate::{run, serve_for_test_with, stderr, stdout};

/// An error whose code and message carry markup meant to end the `<pre>` and `<code>` it is
/// shown in and run a script, a link to elsewhere, and terminal escape sequences.
const HOSTILE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error>\
    <Code>Evil&lt;/pre&gt;&lt;/code&gt;&lt;script&gt;alert(1)&lt;/script&gt;\u{1b}[2J\u{9b}31m</Code>\
    <Message>&lt;/p&gt;&lt;img src=\"https://evil.example/x.png\" onerror=alert(2)&gt;\u{1b}]0;t\u{7}</Message>\
    </Error></Errors><RequestID>&lt;a href=\"http://evil.example/\"&gt;</RequestID></Response>";

/// The elements an HTML page never leaves open: every start tag but the void ones is closed,
/// in order. Text cannot open a tag, since every `<` in it is escaped.
fn balanced(html: &str) -> Result<(), String> {
    const VOID: &[&str] = &["meta", "br", "hr", "!doctype"];
    let mut open: Vec<String> = vec![];
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').ok_or("a `<` never closed")? + start;
        let tag = &rest[start + 1..end];
        let name = tag.trim_start_matches('/').split([' ', '\n']).next().unwrap_or("").to_ascii_lowercase();
        if let Some(closing) = tag.strip_prefix('/') {
            let closing = closing.trim().to_ascii_lowercase();
            match open.pop() {
                Some(o) if o == closing => {}
                other => return Err(format!("</{closing}> closes {other:?}")),
            }
        } else if !VOID.contains(&name.as_str()) {
            open.push(name);
        }
        rest = &rest[end + 1..];
        // A style sheet's text is not markup.
        if open.last().is_some_and(|t| t == "style") {
            rest = &rest[rest.find("</style>").ok_or("an unclosed <style>")?..];
        }
    }
    if open.is_empty() { Ok(()) } else { Err(format!("left open: {open:?}")) }
}

/// Every attribute value of `name` in `html` (`name="..."`).
fn attributes<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let value = &html[i + needle.len()..];
            &value[..value.find('"').unwrap()]
        })
        .collect()
}

/// The page loads nothing and runs nothing: no element that fetches or executes, no `src`,
/// every link an anchor that exists in the page, and a policy that forbids the rest.
fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for tag in ["<script", "<link", "<img", "<iframe", "<object", "<embed", "<base", "<form", "@import", "url("] {
        assert!(!lower.contains(tag), "{tag} in the page");
    }
    assert!(attributes(html, "src").is_empty());
    assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""), "no content security policy");
    let ids = attributes(html, "id");
    for href in attributes(html, "href") {
        let target = href.strip_prefix('#').unwrap_or_else(|| panic!("a link out of the page: {href}"));
        assert!(ids.contains(&target), "#{target} has no anchor");
    }
    balanced(html).unwrap();
}

fn report(url: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["run", "--quiet", "--endpoint", url, "--format", "html"];
    args.extend(extra);
    let o = run(&args, "");
    (o.status.code(), stdout(&o))
}

#[test]
fn a_run_report_is_one_page_with_the_verdict_findings_bars_and_stateful_checks() {
    let serve = serve_for_test_with(&["--mutant", "dry-run-status-400"]);
    let (code, html) = report(&serve.url, &["--stateful", "3"]);
    assert_eq!(code, Some(exit::DEVIATIONS.into()), "{html}");
    assert!(html.starts_with("<!DOCTYPE html>\n") && html.ends_with("</html>\n"));
    assert!(html.contains("<div class=\"verdict fail\" id=\"verdict\">FAIL: "), "{html}");
    let finding = &html[html.find("id=\"finding-1\"").unwrap()..];
    let finding = &finding[..finding.find("</article>").unwrap()];
    assert!(finding.contains("DryRunOperation comes with HTTP 400; AWS answers 412"), "{finding}");
    assert!(finding.contains("<code>R21-dryrun</code>") && finding.contains("<pre>curl -sS"), "{finding}");
    // One bar per rule row, its width the rule's score.
    let rows = html.matches("<tr><td><code>R").count();
    assert!(rows > 20, "{rows} rule rows");
    assert_eq!(html.matches("<span class=\"fill ").count(), rows);
    assert!(html.contains("style=\"width:100.0%\""), "{html}");
    assert!(html.contains("<section id=\"stateful\">") && html.contains("<section id=\"skipped\">"));
    assert_self_contained(&html);
}

#[test]
fn a_passing_run_says_pass_and_a_baseline_run_shows_its_comparison() {
    let serve = serve_for_test_with(&[]);
    let (code, html) = report(&serve.url, &["--cases", "40"]);
    assert_eq!(code, Some(exit::OK.into()), "{html}");
    assert!(html.contains("<div class=\"verdict pass\" id=\"verdict\">PASS: 0 findings</div>"), "{html}");
    assert!(html.contains("<p>None: every answer conformed.</p>"));
    assert_self_contained(&html);

    let baseline = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/embedded");
    let (code, html) = report(&serve.url, &["--baseline", baseline]);
    assert_eq!(code, Some(exit::OK.into()), "{html}");
    assert!(html.contains("<section id=\"baseline\">\n<h2>Baseline</h2>\n<p>0 snapshot files changed"), "{html}");
    assert_self_contained(&html);
}

#[test]
fn a_hostile_reply_stays_text_in_the_html_report() {
    let f = fake::start(Mode::Raw(400, HOSTILE));
    let (code, html) = report(&f.url, &["--rule", "R09-amiid-malformed", "--cases", "3"]);
    assert_eq!(code, Some(exit::DEVIATIONS.into()), "{html}");
    assert_self_contained(&html);
    assert!(html.contains("Evil&lt;/pre&gt;&lt;/code&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    // Escape sequences are shown, not sent: no control character but layout in the file.
    assert!(html.contains(r"\u{1b}[2J\u{9b}31m"), "{html}");
    let controls: Vec<char> = html.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\t')).collect();
    assert_eq!(controls, Vec::<char>::new());
    assert_eq!(html.matches("<pre").count(), html.matches("</pre>").count());
}

#[test]
fn the_matrix_page_leads_with_the_matrix_and_links_each_cell_to_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("matrix.html");
    let o = run(&["matrix", "--format", "html", "--out", out.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(exit::OK.into()), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.find("<section").unwrap() == html.find("<section id=\"matrix\">").unwrap(), "the matrix comes first");
    for target in ["embedded", "moto", "moto-ext", "localstack"] {
        assert!(html.contains(&format!("<th class=\"num\"><a href=\"#target--{target}\">{target}</a></th>")));
        assert!(html.contains(&format!("<section id=\"target--{target}\">")), "{target} has no section");
    }
    // Moto's R07-name cell links to its row, which says what deviates and why it is accepted.
    assert!(html.contains("<a href=\"#target--moto--R07-name\">"), "no cell link");
    let row = &html[html.find("<tr id=\"target--moto--R07-name\">").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("success, expected InvalidAMIName.Malformed") && row.contains("accepted"), "{row}");
    assert_self_contained(&html);
    // The same page on standard output without --out.
    let o = run(&["matrix", "--format", "html"], "");
    assert_eq!(stdout(&o), html);
}

#[test]
fn the_matrix_update_flag_is_markdown_only() {
    let o = run(&["matrix", "--format", "html", "--update", "README.md"], "");
    assert_eq!(o.status.code(), Some(exit::SETUP_ERROR.into()));
    assert!(stderr(&o).contains("--update"), "{}", stderr(&o));
}

#[test]
fn a_snapshot_deviates_by_the_last_verdict_of_each_case() {
    let text = "---\nsource: x\n---\n\
        - case 000001\n  request: Name=a\n    response: 200 success\n    verdict: success, expected X\n\
        - case 000002\n  request: Name=b\n    response: 200 success\n    verdict: conforms\n\
        - case 000003\n  setup 0: Name=c\n    response: 200 success\n    verdict: conforms\n  \
        request: Name=c\n    response: 400 Y\n    verdict: wrong code Y, expected Z\n\
        - case 000004\n  request: Name=d\n    response: 200 success\n    verdict: success, expected X\n\
        - case 000005\n  request: Name=e\n";
    let found = copyimage_conformance::targets::matrix::snapshot_deviations(text);
    let got: Vec<(&str, u64, &str, &str, &str)> = found
        .iter()
        .map(|d| (d.verdict.as_str(), d.cases, d.example.as_str(), d.request.as_str(), d.response.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("success, expected X", 2, "000001", "request: Name=a", "200 success"),
            ("wrong code Y, expected Z", 1, "000003", "request: Name=c", "400 Y"),
            ("no verdict recorded", 1, "000005", "request: Name=e", ""),
        ]
    );
    let score = copyimage_conformance::targets::matrix::score_snapshot(text);
    assert_eq!(score.cases - score.conform, found.iter().map(|d| d.cases).sum::<u64>());
}
