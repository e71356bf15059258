//! Reading `accepted.toml`: its entries checked against the spec and the stateful properties,
//! every error naming the file and the line of the entry at fault; and writing a draft of one
//! from a run's findings (`run --draft-accepted`) for a person to give the reasons.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{Accepted, AcceptedProperty, BaselineError};
use crate::spec::input::{Limit, read_text};
use crate::spec::{RuleIdError, Spec, closest};

/// How a draft's placeholder reason starts; a reason that still does is refused on loading.
const TODO: &str = "TODO";

/// The file as written, with the places of the names it gives.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    accept: Vec<RawAccepted>,
    #[serde(default)]
    accept_property: Vec<RawProperty>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccepted {
    rule: Spanned<String>,
    finding: Option<String>,
    reason: Spanned<String>,
    /// Where the accepted behaviour is shown (a link, a measurement); shown with the reason.
    evidence: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProperty {
    property: Spanned<String>,
    reason: String,
}

/// The entries of an `accepted.toml`.
pub(super) struct AcceptedFile {
    pub(super) accept: Vec<Accepted>,
    pub(super) accept_property: Vec<AcceptedProperty>,
}

/// Rules of the spec's last phase: they only annotate a success and explain no deviation.
pub fn annotation_rules(spec: &Spec) -> Vec<String> {
    match spec.phases.last() {
        Some(last) => spec.rules.iter().filter(|r| r.phase == last.name).map(|r| r.id.clone()).collect(),
        None => vec![],
    }
}

/// Reads `path` (no file: nothing accepted). Each `accept` entry must name a rule of `spec`
/// that can decide a case (not a success annotation), each `accept_property` a stateful
/// property.
pub(super) fn read(path: &Path, spec: &Spec) -> Result<AcceptedFile, BaselineError> {
    let text = match read_text(path, Limit::ACCEPTED) {
        Ok(text) => text,
        Err(e) if e.is_not_found() => return Ok(AcceptedFile { accept: vec![], accept_property: vec![] }),
        Err(e) => return Err(e.into()),
    };
    let line_of = |at: usize| 1 + text[..at.min(text.len())].matches('\n').count();
    let fail = |at: usize, message: String| BaselineError::Format {
        path: path.display().to_string(),
        line: line_of(at),
        message,
    };
    let raw: RawFile =
        toml::from_str(&text).map_err(|e| fail(e.span().map_or(0, |s| s.start), e.message().to_owned()))?;
    let annotations = annotation_rules(spec);
    let mut accept = Vec::with_capacity(raw.accept.len());
    for (i, a) in raw.accept.into_iter().enumerate() {
        let (at, given) = (a.rule.span().start, a.rule.into_inner());
        let rule = match spec.rule_id(&given) {
            Ok(id) => id.to_owned(),
            Err(RuleIdError::Unknown { suggestion, .. }) => {
                let hint = suggestion.map_or_else(String::new, |s| format!(" (did you mean {s}?)"));
                let message = format!(
                    "accept[{i}].rule {given:?}: no rule of the spec has this id{hint} (`copyimage-conformance rules` lists them)"
                );
                return Err(fail(at, message));
            }
            Err(e) => return Err(fail(at, format!("accept[{i}].rule: {e}"))),
        };
        if annotations.contains(&rule) {
            let message = format!(
                "accept[{i}].rule {rule:?}: a success annotation explains no deviation; name the rule that decides the case"
            );
            return Err(fail(at, message));
        }
        let reason = filled(i, a.reason, a.evidence).map_err(|(at, message)| fail(at, message))?;
        accept.push(Accepted { rule, finding: a.finding, reason });
    }
    let mut accept_property = Vec::with_capacity(raw.accept_property.len());
    for (i, p) in raw.accept_property.into_iter().enumerate() {
        let (at, property) = (p.property.span().start, p.property.into_inner());
        if !crate::run::properties::PROPERTIES.contains(&property.as_str()) {
            let hint = closest(&property, crate::run::properties::PROPERTIES.iter().copied())
                .map_or_else(String::new, |s| format!("; did you mean {s}?"));
            let message = format!(
                "accept_property[{i}]: no property named {property:?}; known: {}{hint}",
                crate::run::properties::PROPERTIES.join(", ")
            );
            return Err(fail(at, message));
        }
        accept_property.push(AcceptedProperty { property, reason: p.reason });
    }
    Ok(AcceptedFile { accept, accept_property })
}

/// An entry's reason, with its evidence when given: refused (with the place to point at) while
/// the reason is a draft's TODO or the evidence is left empty.
fn filled(i: usize, reason: Spanned<String>, evidence: Option<Spanned<String>>) -> Result<String, (usize, String)> {
    let (at, reason) = (reason.span().start, reason.into_inner());
    if reason.trim().is_empty() || reason.trim_start().starts_with(TODO) {
        return Err((
            at,
            format!(
                "accept[{i}].reason is not filled in: say why the target may deviate here (a draft's TODO does not load)"
            ),
        ));
    }
    match evidence {
        None => Ok(reason),
        Some(e) => {
            let (at, e) = (e.span().start, e.into_inner());
            if e.trim().is_empty() {
                return Err((
                    at,
                    format!("accept[{i}].evidence is empty: give a link or a measurement, or delete the line"),
                ));
            }
            Ok(format!("{reason} (evidence: {e})"))
        }
    }
}

/// One entry of a draft `accepted.toml`: the findings of one rule and kind, which one
/// `[[accept]]` entry covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftEntry {
    /// The deciding rule.
    pub rule: String,
    /// Its title.
    pub rule_title: String,
    /// The finding kind the entry names.
    pub kind: String,
    /// One comment line per finding: its title, what came, how many cases.
    pub findings: Vec<String>,
}

/// A draft `accepted.toml`: one `[[accept]]` per rule and finding kind, each finding's title as
/// a comment above it, its reason a TODO that [`read`] refuses until a person replaces it.
pub fn draft(entries: &[DraftEntry], target: &str) -> String {
    let mut s = format!(
        "# Draft of an accepted.toml, written by `run --draft-accepted` from the open findings of a\n\
         # run against {target}.\n\
         # For each entry: check the finding is a real difference of the target, not a bug to fix;\n\
         # write the reason and the evidence (a link, a measurement), or delete the entry. The file\n\
         # does not load as a baseline's accepted.toml while a reason starts with TODO or an\n\
         # evidence is empty.\n"
    );
    if entries.is_empty() {
        s.push_str("\n# The run had no open findings: nothing to accept.\n");
    }
    for e in entries {
        s.push_str(&format!("\n# {} ({})\n", e.rule, e.rule_title.replace('\n', " ")));
        for f in &e.findings {
            s.push_str(&format!("#   {}\n", f.replace('\n', " ")));
        }
        s.push_str("[[accept]]\n");
        s.push_str(&format!("rule = {}\n", toml_string(&e.rule)));
        s.push_str(&format!("finding = {}\n", toml_string(&e.kind)));
        s.push_str(&format!("reason = \"{TODO}: why {} may answer this way\"\n", e.rule));
        s.push_str("evidence = \"\"\n");
    }
    s
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rule: &str, kind: &str, findings: &[&str]) -> DraftEntry {
        DraftEntry {
            rule: rule.into(),
            rule_title: format!("title of {rule}"),
            kind: kind.into(),
            findings: findings.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    /// Reads `text` as an accepted.toml: its entries' rules and reasons, or the error.
    fn load(text: &str) -> Result<Vec<(String, String)>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accepted.toml");
        std::fs::write(&path, text).unwrap();
        let file = read(&path, &Spec::builtin().unwrap()).map_err(|e| e.to_string())?;
        Ok(file.accept.into_iter().map(|a| (a.rule, a.reason)).collect())
    }

    #[test]
    fn a_draft_has_one_entry_per_rule_and_kind_and_loads_only_when_filled_in() {
        let entries = [
            entry("R21-dryrun", "wrong_status", &["DryRunOperation comes with HTTP 400", "second \"finding\""]),
            entry("R07-name", "success_instead_of_error", &["success where AWS answers InvalidAMIName.Malformed"]),
        ];
        let text = draft(&entries, "http://127.0.0.1:5000/");
        assert_eq!(text.matches("[[accept]]").count(), 2, "{text}");
        assert!(
            text.contains("# R21-dryrun (title of R21-dryrun)\n#   DryRunOperation comes with HTTP 400\n#   second")
        );
        let e = load(&text).unwrap_err();
        assert!(
            e.ends_with(
                "accept[0].reason is not filled in: say why the target may deviate here (a draft's TODO does not load)"
            ),
            "{e}"
        );
        assert!(
            e.contains(&format!("accepted.toml:{}:", 1 + text[..text.find("reason =").unwrap()].matches('\n').count()))
        );
        let filled = text.replace("reason = \"TODO: why R21-dryrun may answer this way\"", "reason = \"a\"");
        let filled = filled.replace("reason = \"TODO: why R07-name may answer this way\"", "reason = \"b\"");
        assert!(load(&filled).unwrap_err().contains("accept[0].evidence is empty"));
        let filled =
            filled.replacen("evidence = \"\"", "evidence = \"docs/x.md\"", 1).replacen("evidence = \"\"\n", "", 1);
        let loaded = load(&filled).unwrap();
        assert_eq!(loaded, [("R21-dryrun".into(), "a (evidence: docs/x.md)".into()), ("R07-name".into(), "b".into())]);
    }

    #[test]
    fn rule_names_take_short_ids_and_suggest_for_typos() {
        let ok = load("[[accept]]\nrule = \"R07\"\nreason = \"short\"\n").unwrap();
        assert_eq!(ok, [("R07-name".into(), "short".into())]);
        let e = load("[[accept]]\nrule = \"R07-nmae\"\nreason = \"typo\"\n").unwrap_err();
        assert!(
            e.contains(
                "accepted.toml:2: accept[0].rule \"R07-nmae\": no rule of the spec has this id (did you mean R07-name?)"
            ),
            "{e}"
        );
        let e = load("[[accept]]\nrule = \"R16\"\nreason = \"which?\"\n").unwrap_err();
        assert!(e.contains("accept[0].rule: \"R16\" could be any of R16-tag-key, R16-tag-key-length"), "{e}");
    }
}
