//! Rules of the syntax phase about `TagSpecification` lists: resource types, tag keys and
//! values, how many tags, and gaps in the numbering.

use super::{Hit, Level, Rule, chars};
use crate::oracle::request::Request;

/// A tag specification without a ResourceType (or an empty one).
pub const TAG_RT_MISSING: Rule = Rule {
    id: "R14-tag-rt-missing",
    check: |c| {
        let mut hit = Hit::QUIET;
        for (n, s) in &c.req.tag_specs {
            hit = hit.max(match s.resource_type {
                None | Some("") => Hit::on(Level::Fires, format!("TagSpecification.{n}.ResourceType"), None),
                Some(_) => Hit::NEAR,
            });
        }
        hit
    },
};

/// A ResourceType CopyImage does not tag.
pub const TAG_RT_BAD: Rule = Rule {
    id: "R15-tag-rt-bad",
    check: |c| {
        let mut hit = Hit::QUIET;
        for (n, s) in &c.req.tag_specs {
            if let Some(rt) = s.resource_type.filter(|rt| !rt.is_empty()) {
                hit = hit.max(if c.lim.resource_types.iter().any(|v| v == rt) {
                    Hit::NEAR
                } else {
                    Hit::on(Level::Fires, format!("TagSpecification.{n}.ResourceType"), Some(rt))
                });
            }
        }
        hit
    },
};

/// A typed tag specification without any tag.
pub const TAG_SPEC_EMPTY: Rule = Rule {
    id: "R38-tagspec-empty",
    check: |c| {
        let mut hit = Hit::QUIET;
        for (n, s) in &c.req.tag_specs {
            let typed = s.resource_type.is_some_and(|rt| c.lim.resource_types.iter().any(|v| v == rt));
            if typed {
                hit = hit.max(match s.tags.len() {
                    0 => Hit::on(Level::Uncertain, format!("TagSpecification.{n}"), None),
                    1 => Hit::NEAR,
                    _ => Hit::QUIET,
                });
            }
        }
        hit
    },
};

/// A tag key that is absent, empty, or starts with the reserved prefix.
pub const TAG_KEY: Rule = Rule {
    id: "R16-tag-key",
    check: |c| {
        let forbidden = &c.lim.tag_key_forbidden;
        let mut hit = Hit::QUIET;
        for (n, s) in &c.req.tag_specs {
            for (m, (k, _)) in &s.tags {
                let param = || format!("TagSpecification.{n}.Tag.{m}.Key");
                hit = hit.max(match k {
                    None | Some("") => Hit::on(Level::Fires, param(), *k),
                    Some(k) if !forbidden.is_empty() && k.starts_with(forbidden) => {
                        Hit::on(Level::Fires, param(), Some(k))
                    }
                    Some(k) if forbidden.len() > 1 && k.starts_with(&forbidden[..forbidden.len() - 1]) => Hit::NEAR,
                    Some(_) => Hit::QUIET,
                });
            }
        }
        hit
    },
};

/// A tag key that is too long.
pub const TAG_KEY_LENGTH: Rule =
    Rule { id: "R16-tag-key-length", check: |c| tag_len_check(c.req, c.lim.tag_key_max, "Key") };

/// A tag value that is too long.
pub const TAG_VALUE: Rule = Rule { id: "R17-tag-value", check: |c| tag_len_check(c.req, c.lim.tag_value_max, "Value") };

/// More tags for one resource type than a resource may carry.
pub const TAG_COUNT: Rule = Rule {
    id: "R18-tag-count",
    check: |c| {
        // A request has a few specifications at most: a list beats a map.
        let mut per_type: Vec<(&str, usize)> = Vec::new();
        for (_, s) in &c.req.tag_specs {
            let rt = s.resource_type.unwrap_or("");
            match per_type.iter_mut().find(|(t, _)| *t == rt) {
                Some((_, n)) => *n += s.tags.len(),
                None => per_type.push((rt, s.tags.len())),
            }
        }
        let most = per_type.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let limit = c.lim.tags_per_resource;
        if most > limit { Hit::FIRES } else { Hit::near_if(most == limit) }
    },
};

/// List indexes that do not run 1, 2, 3, ... (uncertain).
pub const LIST_GAP: Rule = Rule {
    id: "R37-list-gap",
    check: |c| {
        let req = c.req;
        let contiguous = |keys: &mut dyn Iterator<Item = u32>| keys.enumerate().all(|(i, k)| k as usize == i + 1);
        let mut hit = Hit::QUIET;
        if !contiguous(&mut req.tag_specs.iter().map(|(n, _)| *n)) {
            hit = Hit::on(Level::Uncertain, "TagSpecification", None);
        }
        for (n, s) in &req.tag_specs {
            if !contiguous(&mut s.tags.iter().map(|(m, _)| *m)) {
                hit = hit.max(Hit::on(Level::Uncertain, format!("TagSpecification.{n}.Tag"), None));
            }
        }
        if hit.level == Level::Quiet {
            hit = Hit::near_if(req.tag_specs.len() > 1 || req.tag_specs.iter().any(|(_, s)| s.tags.len() > 1));
        }
        hit
    },
};

fn tag_len_check<'a>(req: &Request<'a>, max: usize, what: &str) -> Hit<'a> {
    let mut hit = Hit::QUIET;
    for (n, s) in &req.tag_specs {
        for (m, t) in &s.tags {
            let picked = if what == "Key" { t.0 } else { t.1 };
            if let Some(v) = picked {
                // Fewer bytes than the limit means fewer characters too: no count needed.
                let len = if v.len() < max { v.len() } else { chars(v) };
                hit = hit.max(if len > max {
                    Hit::on(Level::Fires, format!("TagSpecification.{n}.Tag.{m}.{what}"), Some(v))
                } else {
                    Hit::near_if(len == max)
                });
            }
        }
    }
    hit
}
