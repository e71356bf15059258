//! Tests of the reports: findings grouped and titled, accepted findings marked, the verdict
//! line, and the terminal, Markdown, JUnit and HTML output of a small synthetic run (insta).

use super::findings::FindingKey;
use super::*;
use crate::oracle::Oracle;
use crate::run::StepRecord;
use crate::run::stateful::{PropertyFailure, StatefulReport};
use crate::snapshot::Comparison;
use crate::verdict::{SameCodes, judge};
use crate::wire::Reply;
use crate::world::{Params, World};

const SOURCE: [(&str, &str); 2] = [("SourceImageId", "ami-0a1b2c3d4e5f60718"), ("SourceRegion", "us-east-1")];

/// A case sent with `extra` on top of a valid request and answered with `status` and `reply`.
fn record(id: &str, extra: &[(&str, &str)], status: u16, reply: Reply) -> CaseRecord {
    let oracle = Oracle::builtin().unwrap();
    let mut params: Params = SOURCE.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    params.insert("Name".into(), "copy-1".into());
    for (k, v) in extra {
        params.insert((*k).to_owned(), (*v).to_owned());
    }
    let prediction = oracle.predict(&World::default_world(), &params);
    let verdict = judge(&prediction, status, &reply, None, None, &SameCodes);
    let curl = format!(
        "curl -sS -X POST 'http://127.0.0.1:8080/' \\\n  --data-binary '{}'",
        crate::wire::form_body("CopyImage", "2016-11-15", &params)
    );
    CaseRecord {
        id: id.to_owned(),
        target: prediction.rules.first().map_or_else(|| "valid".to_owned(), |r| r.to_string()),
        setup: vec![],
        result: StepRecord {
            params,
            prediction,
            status: Some(status),
            reply: Some(reply),
            verdict,
            attempts: 1,
            elapsed_ms: 3,
            curl,
            nonce: None,
        },
    }
}

fn success() -> Reply {
    Reply::Success { image_id: Some("ami-0123456789abcdef0".into()), request_id: None }
}

fn error(code: &str) -> Reply {
    Reply::Error { code: code.into(), message: Some("m".into()), request_id: None }
}

/// A Name of `len` characters: too short below 3, too long above 128.
fn name(len: usize) -> String {
    "n".repeat(len)
}

fn short_name(id: &str, len: usize) -> CaseRecord {
    record(id, &[("Name", &name(len))], 200, success())
}

fn dry_run_400(id: &str) -> CaseRecord {
    record(id, &[("DryRun", "true")], 400, error("DryRunOperation"))
}

fn summary_of(records: &[(CaseRecord, Option<&str>)]) -> Summary {
    let mut s = Summary { dialect: "ec2-query".into(), ..Summary::default() };
    for (rec, accepted) in records {
        s.add(rec, *accepted);
    }
    s.close(Oracle::builtin().unwrap().spec());
    s
}

#[test]
fn the_same_bug_in_thirty_cases_is_one_finding() {
    let records: Vec<_> = (0..30).map(|i| (short_name(&format!("{i:06}"), 130 + (i * 7) % 30), None)).collect();
    let s = summary_of(&records);
    assert_eq!(s.deviations, 30);
    assert_eq!(s.findings.len(), 1, "{:#?}", s.findings);
    let f = &s.findings[0];
    assert_eq!(f.cases, 30);
    assert_eq!(f.key.rule, "R07-name");
    assert_eq!(f.key.kind, "success_instead_of_error");
    assert_eq!(f.case_ids, ["000000", "000001", "000002", "000003", "000004"]);
    // The shortest request is the example: the only Name of 130 characters.
    assert_eq!(f.example, "000000");
    assert!(f.reproduction.contains(&format!("Name={}&", name(130))), "{}", f.reproduction);
    assert_eq!(f.rule_title, "Name length and characters");
    assert!(!f.accepted && f.accepted_cases == 0);
}

#[test]
fn two_bugs_are_two_findings_the_more_serious_first() {
    let mut records: Vec<_> = (0..5).map(|i| (dry_run_400(&format!("d{i}")), None)).collect();
    records.push((short_name("n0", 1), None));
    records.push((record("ok", &[], 200, success()), None));
    let s = summary_of(&records);
    let titles: Vec<&str> = s.findings.iter().map(|f| f.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "success where AWS answers InvalidAMIName.Malformed (400)",
            "DryRunOperation comes with HTTP 400; AWS answers 412"
        ]
    );
    assert_eq!(s.findings.iter().map(|f| f.cases).collect::<Vec<_>>(), [1, 5]);
    assert_eq!(s.findings[1].key.rule, "R21-dryrun");
}

#[test]
fn titles_say_what_is_wrong_in_words() {
    let key = |kind: &str, observed: Option<&str>, status: Option<u16>, expected: Option<&str>, want: u16| {
        FindingKey {
            rule: "R".into(),
            kind: kind.into(),
            observed_code: observed.map(Into::into),
            observed_status: status,
            expected_code: expected.map(Into::into),
            expected_status: want,
        }
        .title()
    };
    let nf = Some("InvalidAMIID.NotFound");
    let mal = Some("InvalidAMIID.Malformed");
    assert_eq!(
        key("wrong_code", nf, Some(400), mal, 400),
        "InvalidAMIID.NotFound (HTTP 400) where AWS answers InvalidAMIID.Malformed (400)"
    );
    assert_eq!(
        key("error_instead_of_success", nf, Some(400), None, 200),
        "InvalidAMIID.NotFound (HTTP 400) where AWS succeeds"
    );
    assert_eq!(key("wrong_status", None, Some(201), None, 200), "success comes with HTTP 201; AWS answers 200");
    assert_eq!(
        key("unparseable", None, Some(500), Some("InvalidRegion"), 400),
        "unreadable reply (HTTP 500) where AWS answers InvalidRegion (400)"
    );
    assert_eq!(key("transport_error", None, None, None, 200), "no reply where AWS succeeds");
    assert_eq!(
        key("some_new_kind", None, Some(302), None, 200),
        "some new kind: success with HTTP 302 where AWS succeeds"
    );
}

#[test]
fn a_finding_is_accepted_only_when_every_case_of_it_is() {
    let why = Some("moto ignores Name limits");
    let s = summary_of(&[
        (short_name("a", 1), why),
        (short_name("b", 2), why),
        (dry_run_400("c"), why),
        (dry_run_400("d"), None),
    ]);
    let (open, accepted): (Vec<&Finding>, Vec<&Finding>) = s.findings.iter().partition(|f| !f.accepted);
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].key.rule.as_str(), open[0].accepted_cases, open[0].cases), ("R21-dryrun", 1, 2));
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].accepted_reason.as_deref(), why);
    // Findings not accepted come first whatever their severity.
    assert_eq!(s.findings[0].key.rule, "R21-dryrun");
}

#[test]
fn the_verdict_line_names_what_fails() {
    let mut s = summary_of(&[(dry_run_400("a"), None), (dry_run_400("b"), None)]);
    assert_eq!(s.verdict_line(), "FAIL: 1 finding not accepted (2 cases)");
    s.stateful = Some(StatefulReport { sequences_run: 1, failures: vec![], stopped: Some("no answer".into()) });
    assert_eq!(s.verdict_line(), "FAIL: 1 finding not accepted (2 cases), the stateful checks stopped early");
    let mut s = summary_of(&[(dry_run_400("a"), Some("known")), (record("ok", &[], 200, success()), None)]);
    s.baseline = Some(Comparison { accepted: 1, ..Comparison::default() });
    s.accepted_file = Some("snapshots/moto/accepted.toml".into());
    assert_eq!(s.verdict_line(), "PASS: 0 findings; 1 accepted by snapshots/moto/accepted.toml (1 case)");
    s.baseline = Some(Comparison { changed: vec!["R21-dryrun.snap".into()], ..Comparison::default() });
    assert!(s.verdict_line().starts_with("FAIL: 1 snapshot file changed;"), "{}", s.verdict_line());
    s.interrupted = true;
    assert!(s.verdict_line().starts_with("INTERRUPTED:"));
}

#[test]
fn unanswered_cases_make_the_verdict_inconclusive_unless_something_is_wrong() {
    let mut s = summary_of(&[(record("ok", &[], 200, success()), None)]);
    s.transport_errors = 2;
    assert_eq!(s.status(), Status::Inconclusive);
    assert_eq!(s.verdict_line(), "INCONCLUSIVE: 2 cases got no answer");
    let mut s = summary_of(&[(dry_run_400("a"), None)]);
    s.transport_errors = 1;
    assert_eq!(s.status(), Status::Fail);
    assert_eq!(s.verdict_line(), "FAIL: 1 case got no answer, 1 finding not accepted (1 case)");
}

/// A small run with every section: two open findings, an accepted one, conforming cases,
/// skipped cases, a stateful failure and an unchecked property.
fn synthetic() -> Summary {
    let why = Some("the endpoint ignores Description limits (docs/emulators.md#d2)");
    let long_description = "d".repeat(256);
    let mut records = vec![(record("000000", &[], 200, success()), None)];
    records.extend((1..4).map(|i| (dry_run_400(&format!("{i:06}")), None)));
    records.push((short_name("000004", 2), None));
    records.push((record("000005", &[("Description", &long_description)], 200, success()), why));
    let mut s = summary_of(&records);
    s.skip("R22-authz: needs a caller without permission to copy", 2);
    s.requests = 6;
    s.accepted_file = Some("snapshots/x/accepted.toml".into());
    s.baseline =
        Some(Comparison { accepted: 1, unaccepted: vec![("000001".into(), "x".into())], ..Comparison::default() });
    let failure = PropertyFailure {
        property: "replay-same-image-id".into(),
        detail: "step 2: replay returned ami-2, expected ami-1".into(),
        steps: vec!["1. CopyImage ClientToken=t -> ami-1".into(), "2. CopyImage ClientToken=t -> ami-2".into()],
        script: "curl one\ncurl two".into(),
    };
    s.stateful = Some(StatefulReport { sequences_run: 4, failures: vec![failure], stopped: None });
    s.unchecked_properties = vec![Unchecked { property: "describe-tags".into(), reason: "tags are dropped".into() }];
    s
}

/// A writer into a buffer the test keeps a handle on, for sinks that own their writer.
struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn render(format: Format, s: &Summary) -> String {
    let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut sink: Box<dyn Sink> = match format {
        Format::Terminal => Box::new(Terminal::new(Shared(buf.clone()), "http://127.0.0.1:8080/")),
        Format::Markdown => Box::new(Markdown::new(Shared(buf.clone()), "http://127.0.0.1:8080/")),
        Format::Junit => Box::new(Junit::new(Shared(buf.clone()))),
        Format::Json => Box::new(Json::new(Shared(buf.clone()))),
        Format::Html => Box::new(Html::new(Shared(buf.clone()), "http://127.0.0.1:8080/")),
    };
    sink.finish(s).unwrap();
    drop(sink);
    String::from_utf8(buf.take()).unwrap()
}

#[test]
fn terminal_report_leads_with_findings_and_ends_with_the_verdict() {
    let text = render(Format::Terminal, &synthetic());
    insta::assert_snapshot!("terminal", text);
    let findings = text.find("FINDINGS:").unwrap();
    assert!(findings < text.find("rule ").unwrap());
    assert!(text.trim_end().ends_with("FAIL: 2 findings not accepted (4 cases), 1 stateful property failed; 1 accepted by snapshots/x/accepted.toml (1 case)"), "{text}");
}

#[test]
fn markdown_report() {
    insta::assert_snapshot!("markdown", render(Format::Markdown, &synthetic()));
}

#[test]
fn html_report_has_every_section_in_the_terminal_order() {
    let mut s = synthetic();
    if let Some(b) = s.baseline.as_mut() {
        b.changed = vec!["R21-dryrun.snap".into()];
        b.diffs = vec!["--- a\n+++ b\n@@ -1 +1 @@\n-  verdict: conforms\n+  verdict: <b>x</b>".into()];
    }
    let html = render(Format::Html, &s);
    // The style sheet is left out of the snapshot: what it pins is the structure and the text.
    let (head, rest) = html.split_once("<style>").unwrap();
    insta::assert_snapshot!("html", format!("{head}<style>…{}", rest.split_once("</style>").unwrap().1));
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("no {needle} in {html}"));
    let order = ["id=\"verdict\"", "id=\"finding-1\"", "id=\"finding-3\"", "id=\"rules\"", "id=\"baseline\""];
    let order =
        order.iter().chain(&["id=\"stateful\"", "id=\"skipped\"", "</html>"]).map(|n| at(n)).collect::<Vec<_>>();
    assert!(order.is_sorted(), "{order:?}");
    assert!(html.contains("<div class=\"verdict fail\" id=\"verdict\">FAIL: 2 findings not accepted"), "{html}");
    assert!(html.contains("<span class=\"del\">-  verdict: conforms</span>"), "{html}");
    assert!(html.contains("<span class=\"add\">+  verdict: &lt;b&gt;x&lt;/b&gt;</span>"), "{html}");
    assert!(html.contains("<li>2. CopyImage ClientToken=t -&gt; ami-2</li>"), "{html}");
    assert_eq!(html.matches("class=\"fill ").count(), s.rules.len());
}

#[test]
fn junit_report() {
    let xml = render(Format::Junit, &synthetic());
    insta::assert_snapshot!("junit", xml);
    let mut reader = quick_xml::Reader::from_str(&xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("junit is not well-formed: {e}"),
        }
    }
}

#[test]
fn json_summary_lists_the_findings() {
    let text = render(Format::Json, &synthetic());
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let findings = v["summary"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    assert_eq!(findings[0]["title"], "success where AWS answers InvalidAMIName.Malformed (400)");
    assert_eq!(findings[2]["accepted"], true);
    assert_eq!(v["summary"]["dialect"], "ec2-query");
    assert_eq!(v["summary"]["rules"]["R21-dryrun"]["title"], "Dry run");
}

#[test]
fn past_three_open_findings_the_terminal_report_gives_one_line_each() {
    let bugs: [(&str, &str); 7] = [
        ("Name", "n"),
        ("Description", &"d".repeat(256)),
        ("SourceRegion", "mars-1"),
        ("SourceImageId", "ami-123"),
        ("ClientToken", &"t".repeat(129)),
        ("Encrypted", "yes"),
        ("SnapshotCopyCompletionDurationMinutes", "7"),
    ];
    let records: Vec<_> =
        bugs.iter().enumerate().map(|(i, b)| (record(&format!("{i:06}"), &[*b], 200, success()), None)).collect();
    let s = summary_of(&records);
    assert_eq!(s.open_findings().count(), 7, "{:#?}", s.findings);
    let text = render(Format::Terminal, &s);
    assert_eq!(text.matches("\n     curl ").count(), 3, "{text}");
    assert!(text.contains("\nmore findings not accepted (`--format json` has their reproductions):\n  4. "), "{text}");
    assert!(text.contains("\n  7. "), "{text}");
}

/// A whole report of `records` in `format`: each case, then the summary folded from them.
fn report_of(format: Format, records: &[CaseRecord]) -> String {
    let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut out = sink(format, Box::new(Shared(buf.clone())), "http://127.0.0.1:8080/");
    for rec in records {
        out.case(rec).unwrap();
    }
    out.finish(&summary_of(&records.iter().map(|r| (r.clone(), None)).collect::<Vec<_>>())).unwrap();
    drop(out);
    String::from_utf8(buf.take()).unwrap()
}

#[test]
fn only_a_report_that_writes_every_case_shows_a_conforming_cases_reproduction() {
    let every: Vec<CaseRecord> = vec![
        record("000000", &[], 200, success()),
        dry_run_400("000001"),
        short_name("000002", 2),
        record("000003", &[("DryRun", "true")], 412, error("DryRunOperation")),
    ];
    assert!(every.iter().any(|r| r.verdict().passes()) && every.iter().any(|r| !r.verdict().passes()));
    // What a runner that builds reproductions only for failing requests gives.
    let failing: Vec<CaseRecord> = every
        .iter()
        .cloned()
        .map(|mut r| {
            if r.verdict().passes() {
                r.result.curl.clear();
            }
            r
        })
        .collect();
    for format in [Format::Terminal, Format::Json, Format::Junit, Format::Markdown, Format::Html] {
        let same = report_of(format, &every) == report_of(format, &failing);
        assert_eq!(same, !format.writes_every_case(), "{format:?}");
    }
}

#[test]
fn a_run_says_which_duplicate_name_refusals_it_could_not_check() {
    let mut s = synthetic();
    assert!(!render(Format::Json, &s).contains("earlier_unchecked"), "left out when there are none");
    assert!(!render(Format::Terminal, &s).contains("could not be checked"));
    (s.earlier_unchecked, s.earlier_unchecked_why) =
        (2, Some("DescribeImages: UnauthorizedOperation: no\n\u{1b}[2J".into()));
    let line = "2 requests refused as a duplicate Name could not be checked for an earlier run's image, so they \
                stay findings: DescribeImages: UnauthorizedOperation: no\\n\\u{1b}[2J";
    let text = render(Format::Terminal, &s);
    assert!(text.contains(line), "the endpoint's words on one line, escaped: {text}");
    assert!(!text.contains('\u{1b}'));
    let html = render(Format::Html, &s);
    assert!(html.contains("could not be checked for an earlier run") && html.contains("UnauthorizedOperation: no"));
    let json = render(Format::Json, &s);
    assert!(json.contains("\"earlier_unchecked\": 2") && json.contains("\"earlier_unchecked_why\": \"DescribeImages"));
}
