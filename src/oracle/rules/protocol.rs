//! Rules of the protocol phase: what is decided while the request is parsed, before any member
//! is read.

use super::{Hit, Level, Rule};
use crate::oracle::key;

/// Action names an operation other than CopyImage.
pub const ACTION: Rule = Rule {
    id: "R02-action",
    check: |c| match c.get(key::ACTION) {
        None => Hit::QUIET,
        Some(a) if a == c.lim.action => Hit::NEAR,
        Some(a) => Hit::on(Level::Fires, key::ACTION, Some(a)),
    },
};

/// Version is not a published API version.
pub const VERSION: Rule = Rule {
    id: "R02-version",
    check: |c| match c.get(key::VERSION) {
        None => Hit::QUIET,
        Some(v) if c.lim.api_version(v).is_some() => Hit::NEAR,
        Some(v) => Hit::on(Level::Fires, key::VERSION, Some(v)),
    },
};

/// A key no member matches, or a member the request's (older) Version does not know; one that
/// matches only when letter case is ignored is uncertain.
pub const UNKNOWN_PARAM: Rule = Rule {
    id: "R03-unknown-param",
    check: |c| {
        let req = c.req;
        if let Some(k) = req.unknown.first() {
            Hit::on(Level::Fires, *k, None)
        } else if let Some(k) = newer_member(c) {
            Hit::on(Level::Fires, k, None)
        } else if let Some((k, _)) = req.case_variants.first() {
            Hit::on(Level::Uncertain, *k, None)
        } else {
            Hit::near_if(req.has_lists())
        }
    },
};

/// A list index that is not a positive decimal without leading zeros. An index of digits only
/// (`0`, `01`) is uncertain: a parser that reads it as a number may accept it.
pub const LIST_INDEX: Rule = Rule {
    id: "R36-list-index",
    check: |c| {
        let bad = &c.req.bad_index;
        match bad.iter().find(|k| !digits_only_indexes(k)).or(bad.first()) {
            Some(k) if digits_only_indexes(k) => Hit::on(Level::Uncertain, *k, None),
            Some(k) => Hit::on(Level::Fires, *k, None),
            None => Hit::near_if(!c.req.tag_specs.is_empty()),
        }
    },
};

/// Whether every index of a list key (`TagSpecification.N...Tag.M...`) is made of digits.
fn digits_only_indexes(key: &str) -> bool {
    key.split('.')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .all(|(_, seg)| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
}

/// The first key (in key order) whose member the request's Version does not know. Only an
/// older Version than the default lacks members, so the default costs nothing.
fn newer_member<'p>(c: &super::Ctx<'p>) -> Option<&'p str> {
    let v = c.get(key::VERSION).filter(|v| *v != c.lim.version)?;
    let known = c.lim.api_version(v)?;
    c.req
        .params()
        .keys()
        .map(String::as_str)
        .filter(|k| *k != key::ACTION && *k != key::VERSION)
        .find(|k| (key::slot(k).is_some() || k.starts_with("TagSpecification")) && !known.knows(k))
}
