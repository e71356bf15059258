//! Reading `accepted.toml`: its entries checked against the spec and the stateful properties,
//! every error naming the file and the line of the entry at fault.

use std::fs;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::{Accepted, AcceptedProperty, BaselineError, io_err};
use crate::spec::Spec;

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
    reason: String,
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
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(AcceptedFile { accept: vec![], accept_property: vec![] });
        }
        Err(e) => return Err(io_err(path, e)),
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
        let (at, rule) = (a.rule.span().start, a.rule.into_inner());
        if spec.rule(&rule).is_none() {
            let message = format!(
                "accept[{i}].rule {rule:?}: no rule of the spec has this id (`copyimage-conformance rules` lists them)"
            );
            return Err(fail(at, message));
        }
        if annotations.contains(&rule) {
            let message = format!(
                "accept[{i}].rule {rule:?}: a success annotation explains no deviation; name the rule that decides the case"
            );
            return Err(fail(at, message));
        }
        accept.push(Accepted { rule, finding: a.finding, reason: a.reason });
    }
    let mut accept_property = Vec::with_capacity(raw.accept_property.len());
    for (i, p) in raw.accept_property.into_iter().enumerate() {
        let (at, property) = (p.property.span().start, p.property.into_inner());
        if !crate::run::properties::PROPERTIES.contains(&property.as_str()) {
            let message = format!(
                "accept_property[{i}]: no property named {property:?}; known: {}",
                crate::run::properties::PROPERTIES.join(", ")
            );
            return Err(fail(at, message));
        }
        accept_property.push(AcceptedProperty { property, reason: p.reason });
    }
    Ok(AcceptedFile { accept, accept_property })
}
