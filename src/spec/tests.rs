//! Loading the built-in spec, and the errors a broken spec gets (file, key, message).

use super::*;

#[test]
fn builtin_spec_loads() {
    let spec = Spec::builtin().unwrap();
    assert!(spec.rules.len() >= 36);
    assert_eq!(spec.param("Name").unwrap().max_length, Some(128));
    assert_eq!(spec.partition_of("cn-north-1"), Some("aws-cn"));
}

fn broken(edit: impl Fn(String) -> String) -> String {
    Spec::parse(&edit(BUILTIN.to_owned()), "t.toml").unwrap_err().to_string()
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let e = broken(|s| s.replacen("[operation]\n", "[operation]\nfrobnicate = 1\n", 1));
    assert!(e.starts_with("t.toml: line "), "{e}");
    assert!(e.contains("frobnicate"), "{e}");
}

#[test]
fn duplicate_rule_id_is_refused() {
    let e = broken(|s| s.replace("id = \"R08-desc\"", "id = \"R07-name\""));
    assert_eq!(e, "t.toml: rule.R07-name: duplicate rule id");
}

#[test]
fn bad_regex_names_the_key() {
    let e = broken(|s| s.replace("pattern = '^[A-Za-z0-9()./_ -]*$'", "pattern = '^[a-'"));
    assert!(e.starts_with("t.toml: parameter.Name.pattern: not a valid regular expression"), "{e}");
}

#[test]
fn versions_are_checked() {
    let e = broken(|s| s.replace("names = [\"2016-11-15\"]", "names = [\"2016-11-15\", \"2014-10-01\"]"));
    assert_eq!(e, "t.toml: version.2016-11-15.names: 2014-10-01 is listed twice");
    let e = broken(|s| s.replacen("\"DryRun\", \"SourceRegion\"", "\"DryRun\", \"Frob\"", 1));
    assert_eq!(e, "t.toml: version.2013-02-01.members: Frob is not a parameter of the spec");
    let e = broken(|s| s.replace("version = \"2016-11-15\"", "version = \"2017-01-01\""));
    assert_eq!(e, "t.toml: operation.version: must be listed in a [[version]] row");
    let spec = Spec::builtin().unwrap();
    assert_eq!(spec.api_version("2014-10-01").unwrap().members.len(), 6);
    assert!(spec.api_version("2016-11-16").is_none());
}

#[test]
fn inferred_rules_name_their_alternatives() {
    let e = broken(|s| s.replacen("\nalternatives_note = ", "\nconfidence_note_x = ", 1));
    assert!(e.contains("confidence_note_x"), "{e}");
    // Drop R02-version's note: an inferred rule without one is refused.
    let e = broken(|s| {
        let rule = s.find("id = \"R02-version\"").unwrap();
        let at = rule + s[rule..].find("alternatives_note = ").unwrap();
        let end = at + s[at..].find('\n').unwrap();
        format!("{}{}", &s[..at], &s[end + 1..])
    });
    assert_eq!(
        e,
        "t.toml: rule.R02-version.alternatives_note: an inferred rule lists the answers a real AWS could plausibly give, or says why there are none"
    );
}

#[test]
fn rule_without_source_is_refused() {
    let e = broken(|s| s.replace("source = \"[timed]\"", "source = \" \""));
    assert_eq!(e, "t.toml: rule.R12-duration-range.source: every rule cites a source");
}

#[test]
fn success_outcome_must_be_200() {
    let e = broken(|s| {
        s.replace(
            "outcomes = [{ status = 200 }]\nmessage = \"(success: Copy",
            "outcomes = [{ status = 201 }]\nmessage = \"(success: Copy",
        )
    });
    assert!(e.contains("rule.R35-success.outcomes"), "{e}");
}

#[test]
fn likely_answers_are_checked() {
    let spec = Spec::builtin().unwrap();
    assert_eq!(spec.rule("R07-name").unwrap().likely, Some(Likely::Success));
    for r in spec.rules.iter().filter(|r| r.predicted && r.is_uncertain()) {
        assert!(r.likely.is_some(), "{} names no likely answer", r.id);
    }
    let e = broken(|s| s.replacen("likely = \"success\"", "likely = \"NoSuchCode\"", 1));
    assert!(e.ends_with(".likely: NoSuchCode is not among the rule's acceptable answers"), "{e}");
    let e = broken(|s| s.replace("likely_note = \"Spaces", "# \"Spaces"));
    assert!(e.contains("R07-name"), "{e}");
    let e = broken(|s| {
        s.replace(
            "confidence = \"documented\"\n\n[[rule]]\nid = \"R34",
            "confidence = \"documented\"\nlikely = \"success\"\nlikely_note = \"x\"\n\n[[rule]]\nid = \"R34",
        )
    });
    assert!(e.contains("only a predicted rule with more than one acceptable answer"), "{e}");
}

#[test]
fn rule_without_title_is_refused() {
    let e = broken(|s| s.replace("title = \"Description length\"", "title = \"  \""));
    assert_eq!(e, "t.toml: rule.R08-desc.title: every rule has a title for reports");
    let e = broken(|s| s.replace("title = \"Description length\"\n", ""));
    assert!(e.contains("missing field `title`"), "{e}");
}

#[test]
fn partition_of_answers_from_the_listed_regions() {
    let spec = Spec::builtin().unwrap();
    for p in &spec.partitions {
        for r in &p.regions {
            assert_eq!(spec.partition_of(r), Some(p.name.as_str()), "{r}");
        }
    }
    assert_eq!(spec.partition_of("us-east-1"), Some("aws"));
    for r in ["", "US-EAST-1", "us-east-1 ", "mars-north-1"] {
        assert_eq!(spec.partition_of(r), None, "{r:?}");
    }
}
