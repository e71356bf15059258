//! Tests of the journal: its lines, the run-id tag on requests, a failing disk, and reading a
//! journal back (malformed lines, a line cut short by a crash).

use super::*;

fn params(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn run_ids_have_the_documented_shape_and_differ() {
    let a = new_run_id();
    let b = new_run_id();
    assert_ne!(a, b);
    let parts: Vec<&str> = a.split('-').collect();
    assert_eq!(parts.len(), 3, "{a}");
    assert_eq!(parts[0], "cic");
    assert!(parts[1].parse::<u64>().is_ok(), "{a}");
    assert!(parts[2].len() == 8 && parts[2].chars().all(|c| c.is_ascii_hexdigit()), "{a}");
    assert_eq!(default_path("cic-1-0a").to_str(), Some("copyimage-conformance-cic-1-0a.journal.jsonl"));
}

#[test]
fn intents_come_before_results_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let j = Journal::create(&path, "cic-1-00000001", "http://127.0.0.1:5000", "us-east-1", Redactor::none()).unwrap();
    let p = params(&[("Name", "n"), ("SourceImageId", "ami-1")]);
    let seq = j.intent("CopyImage", "us-east-1", &p).unwrap();
    assert_eq!(seq, 1);
    // Synced before the call: the line is on disk now.
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().nth(1).unwrap().contains(r#""kind":"intent""#), "{text}");
    let ids = BTreeMap::from([("ImageId".to_owned(), "ami-2".to_owned())]);
    j.result(seq, "CopyImage", Answer { status: Some(200), ids, error: None }).unwrap();
    let second = j.intent("RegisterImage", "us-west-2", &Params::new()).unwrap();
    assert_eq!(second, 2);

    let read = read(&path).unwrap();
    assert_eq!((read.run_id.as_str(), read.region.as_str()), ("cic-1-00000001", "us-east-1"));
    assert_eq!(read.entries.len(), 3);
    assert!(
        matches!(&read.entries[0], Entry::Intent { seq: 1, action, params, .. } if action == "CopyImage" && *params == p)
    );
    assert!(
        matches!(&read.entries[1], Entry::Result { seq: 1, ids, status: Some(200), .. } if ids["ImageId"] == "ami-2")
    );
    assert!(matches!(&read.entries[2], Entry::Intent { seq: 2, region, .. } if region == "us-west-2"));
}

#[test]
fn a_result_that_echoes_credentials_is_written_redacted_and_reads_back() {
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+journal/secret";
    const TOKEN: &str = "IQoJb3JpZ2luX2Vj/journal+token==";
    let credentials = crate::wire::Credentials::new("AKIDJOURNAL", SECRET, Some(TOKEN.to_owned()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let j =
        Journal::create(&path, "cic-1-00000001", "http://x", "us-east-1", Redactor::new(Some(&credentials))).unwrap();
    let seq = j.intent("CopyImage", "us-east-1", &params(&[("Name", "n")])).unwrap();
    // What a hostile server's message quotes: the token bare and after its header name, the
    // secret JSON-escaped by the line itself, a signature.
    let error = format!(
        "InvalidParameterValue: the token {TOKEN} is bad; x-amz-security-token: {TOKEN}; key \"{SECRET}\"; \
         Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    j.result(seq, "CopyImage", Answer { status: Some(400), ids: BTreeMap::new(), error: Some(error) }).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for secret in [SECRET, TOKEN, "0123456789abcdef0123456789abcdef"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(!text.contains(&serde_json::to_string(SECRET).unwrap().trim_matches('"').to_owned()), "{text}");
    let read = read(&path).unwrap();
    let Entry::Result { error: Some(error), .. } = &read.entries[1] else { panic!("{text}") };
    assert!(error.starts_with("InvalidParameterValue: the token *** is bad"), "{error}");
}

#[test]
fn an_existing_file_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("earlier.jsonl");
    std::fs::write(&path, "an earlier run's journal\n").unwrap();
    let e = Journal::create(&path, "cic-1-00000001", "http://x", "us-east-1", Redactor::none()).unwrap_err();
    assert!(matches!(&e, JournalError::Exists { path: p } if *p == path), "{e:?}");
    assert!(e.to_string().contains("the file exists"), "{e}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "an earlier run's journal\n");
}

#[test]
fn a_failed_write_refuses_every_later_intent() {
    // Writes to /dev/full fail with "no space left on device".
    let path = Path::new("/dev/full");
    if !path.exists() {
        eprintln!("skipped: no /dev/full on this system");
        return;
    }
    // Made by hand: `create` refuses a file that exists.
    let journal = Journal {
        run_id: "cic-1-00000001".into(),
        path: path.to_owned(),
        file: Mutex::new(File::create(path).unwrap()),
        seq: AtomicU64::new(0),
        broken: AtomicBool::new(false),
        redactor: Redactor::none(),
    };
    let e = journal.intent("CopyImage", "us-east-1", &Params::new()).unwrap_err();
    assert_eq!(e.to_string(), "/dev/full: cannot write the journal, so no further live call is made");
    assert!(journal.is_broken());
    let e = journal.intent("CopyImage", "us-east-1", &Params::new()).unwrap_err();
    assert!(matches!(e, JournalError::Broken { .. }), "{e:?}");
}

#[test]
fn the_tag_joins_a_specification_of_its_type_or_starts_one() {
    let mut p = params(&[
        ("TagSpecification.1.ResourceType", "snapshot"),
        ("TagSpecification.1.Tag.1.Key", "a"),
        ("TagSpecification.1.Tag.1.Value", "b"),
        ("TagSpecification.3.ResourceType", "image"),
    ]);
    tag_params(&mut p, "image", TAG_KEY, "cic-1");
    tag_params(&mut p, "snapshot", TAG_KEY, "cic-1");
    tag_params(&mut p, "volume", TAG_KEY, "cic-1");
    assert_eq!(p["TagSpecification.3.Tag.1.Key"], TAG_KEY);
    assert_eq!(p["TagSpecification.3.Tag.1.Value"], "cic-1");
    assert_eq!(p["TagSpecification.1.Tag.2.Key"], TAG_KEY);
    assert_eq!(p["TagSpecification.1.Tag.2.Value"], "cic-1");
    assert_eq!(p["TagSpecification.4.ResourceType"], "volume");
    assert_eq!(p["TagSpecification.4.Tag.1.Value"], "cic-1");
    assert_eq!(p.len(), 4 + 4 + 3);
    let mut empty = Params::new();
    tag_params(&mut empty, "image", TAG_KEY, "cic-2");
    assert_eq!(
        empty,
        params(&[
            ("TagSpecification.1.ResourceType", "image"),
            ("TagSpecification.1.Tag.1.Key", TAG_KEY),
            ("TagSpecification.1.Tag.1.Value", "cic-2"),
        ])
    );
}

fn read_text(text: &str) -> Result<Read, JournalError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    std::fs::write(&path, text).unwrap();
    read(&path)
}

const RUN: &str = r#"{"kind":"run","run_id":"cic-1-a","endpoint":"http://e","region":"us-east-1"}"#;

#[test]
fn malformed_lines_are_named_by_line() {
    let e = read_text(&format!("{RUN}\nnot json\n")).unwrap_err();
    assert!(e.to_string().contains("j.jsonl:2: not a journal entry: "), "{e}");
    let intent = r#"{"kind":"intent","run_id":"cic-1-a","seq":1,"action":"CopyImage","region":"r","params":{}}"#;
    let e = read_text(&format!("{intent}\n")).unwrap_err();
    assert!(e.to_string().contains("j.jsonl:1: not a journal entry: the first entry must be the run's"), "{e}");
    let other = intent.replace("cic-1-a", "cic-2-b");
    let e = read_text(&format!("{RUN}\n{other}\n")).unwrap_err();
    assert!(e.to_string().contains(r#"j.jsonl:2: not a journal entry: run id "cic-2-b", not the journal's"#), "{e}");
    let e = read_text("").unwrap_err();
    assert!(e.to_string().contains("j.jsonl:1: not a journal entry: empty"), "{e}");
    let e = read_text(&format!("{RUN}\n{{\"kind\":\"result\"}}\n")).unwrap_err();
    assert!(e.to_string().contains("j.jsonl:2: "), "{e}");
}

#[test]
fn a_last_line_cut_short_by_a_crash_is_left_out() {
    let intent = r#"{"kind":"intent","run_id":"cic-1-a","seq":1,"action":"CopyImage","region":"r","params":{}}"#;
    let read = read_text(&format!("{RUN}\n{intent}\n{{\"kind\":\"res")).unwrap();
    assert_eq!(read.entries.len(), 1);
    // The same text with its newline is a whole line, and malformed.
    assert!(read_text(&format!("{RUN}\n{intent}\n{{\"kind\":\"res\n")).is_err());
}
