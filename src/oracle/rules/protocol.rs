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

/// Version is not an API version AWS knows.
pub const VERSION: Rule = Rule {
    id: "R02-version",
    check: |c| match c.get(key::VERSION) {
        None => Hit::QUIET,
        Some(v) if c.lim.known_versions.iter().any(|k| k == v) => Hit::NEAR,
        Some(v) => Hit::on(Level::Fires, key::VERSION, Some(v)),
    },
};

/// A key no member matches; one that matches only when letter case is ignored is uncertain.
pub const UNKNOWN_PARAM: Rule = Rule {
    id: "R03-unknown-param",
    check: |c| {
        let req = c.req;
        if let Some(k) = req.unknown.first() {
            Hit::on(Level::Fires, k, None)
        } else if let Some((k, _)) = req.case_variants.first() {
            Hit::on(Level::Uncertain, k, None)
        } else {
            Hit::near_if(req.has_lists())
        }
    },
};

/// A list index that is not a positive decimal without leading zeros.
pub const LIST_INDEX: Rule = Rule {
    id: "R36-list-index",
    check: |c| match c.req.bad_index.first() {
        Some(k) => Hit::on(Level::Fires, k, None),
        None => Hit::near_if(!c.req.tag_specs.is_empty()),
    },
};
