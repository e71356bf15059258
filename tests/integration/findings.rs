//! Findings an emulator author can act on: a planted fault leads the terminal report as one
//! finding named in words, the run ends with one verdict line, and the README's excerpt of
//! `make run` is real output.

use crate::{run, serve_for_test_with, stdout};

/// `127.0.0.1:PORT` for any port, so runs on different ports compare equal.
fn without_ports(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let (head, tail) = rest.split_at(at + "127.0.0.1:".len());
        out.push_str(head);
        out.push_str("PORT");
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

#[test]
fn a_planted_fault_leads_the_report_as_one_finding_and_the_run_fails() {
    let serve = serve_for_test_with(&["--mutant", "dry-run-status-400"]);
    let o = run(&["run", "--quiet", "--endpoint", &serve.url, "--rule", "R21-dryrun", "--cases", "12"], "");
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    let findings = text.find("\nFINDINGS: 1 not accepted, 0 accepted\n").unwrap_or_else(|| panic!("{text}"));
    let first = text[findings..].lines().nth(3).unwrap_or_default();
    assert_eq!(first, "  1. DryRunOperation comes with HTTP 400; AWS answers 412", "{text}");
    assert!(findings < text.find("\nrule ").unwrap(), "findings come before the rule table: {text}");
    let last = text.trim_end().lines().last().unwrap();
    assert!(last.starts_with("FAIL: 1 finding not accepted ("), "{text}");
}

#[test]
fn the_readme_shows_the_start_and_end_of_a_real_make_run() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let begin = readme.find("<!-- make-run:begin -->\n```text\n").expect("README.md has a make-run excerpt");
    let excerpt = &readme[begin..].split_once("```text\n").unwrap().1;
    let excerpt = without_ports(excerpt.split_once("```\n").unwrap().0);
    let (head, tail) = excerpt.split_once("...\n").expect("the excerpt elides the middle with a `...` line");
    // `make run` is the default run; a debug build prints the same report.
    let o = run(&["run", "--quiet"], "");
    assert_eq!(o.status.code(), Some(0));
    let real = without_ports(&stdout(&o));
    assert!(real.starts_with(head), "README.md's make-run excerpt does not start like a real run:\n{real}");
    assert!(real.ends_with(tail), "README.md's make-run excerpt does not end like a real run:\n{real}");
}
