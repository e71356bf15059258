//! Shrinking a failing sequence: proptest's simplification, then deleting steps one by one,
//! then plainer parameters for its copies, checking only the failing property meanwhile.

use std::collections::BTreeMap;

use proptest::strategy::ValueTree;

use super::ops::Op;
use super::script::failure;
use super::session::Session;
use super::trace::{Failed, Trace, failing};
use super::{PropertyFailure, Stop};
use crate::oracle::key;
use crate::world::Params;

/// proptest's shrinking attempts per failing property; each attempt sends a whole sequence
/// again.
const MAX_SHRINK_ITERS: u32 = 256;

/// Attempts at simplifying the parameters of the shrunk sequence's copies, per property.
const MAX_SIMPLIFY_ITERS: u32 = 256;

/// Members a valid copy needs; every other one may be left out.
const REQUIRED: [&str; 3] = [key::NAME, key::SOURCE_IMAGE_ID, key::SOURCE_REGION];

/// The prefix of every TagSpecification member.
const TAG_SPEC: &str = "TagSpecification.";

impl Session<'_> {
    /// Shrinks a sequence that fails `property`: proptest's simplification (deleting steps,
    /// then simplifying each step's parameters), then deleting single steps until none can
    /// go, then simplifying the copies' parameters member by member (the strategy draws them
    /// from a few random words, so proptest alone rarely makes them plain). Only `property`
    /// is checked meanwhile, so another failure cannot mask it.
    pub(super) fn shrink(
        &mut self,
        mut tree: Box<dyn ValueTree<Value = Vec<Op>>>,
        property: &'static str,
        ops: Vec<Op>,
        first: Trace,
    ) -> (Option<PropertyFailure>, Option<Stop>) {
        let only = |p: &str| p == property;
        let Some((trace, failed)) = failing(first, property) else { return (None, None) };
        let mut best = (ops, trace, failed);
        let mut stop = None;
        let mut iters = 0;
        let mut more = tree.simplify();
        while more && iters < MAX_SHRINK_ITERS {
            iters += 1;
            let ops = tree.current();
            match self.run(&ops, &only) {
                Err(why) => {
                    stop = Some(why);
                    break;
                }
                Ok(t) => match failing(t, property) {
                    Some((t, f)) => {
                        best = (ops, t, f);
                        more = tree.simplify();
                    }
                    None => more = tree.complicate(),
                },
            }
        }
        // Steps after the failing one were not run.
        best.0.truncate(best.2.step);
        'deleting: while stop.is_none() {
            let mut deleted = false;
            let mut i = 0;
            while i < best.0.len() && best.0.len() > 1 {
                let mut fewer = best.0.clone();
                fewer.remove(i);
                match self.run(&fewer, &only) {
                    Err(why) => {
                        stop = Some(why);
                        break 'deleting;
                    }
                    Ok(t) => match failing(t, property) {
                        Some((t, f)) => {
                            fewer.truncate(f.step);
                            best = (fewer, t, f);
                            deleted = true;
                        }
                        None => i += 1,
                    },
                }
            }
            if !deleted {
                break;
            }
        }
        if stop.is_none()
            && let Err(why) = self.simplify_params(&mut best, property)
        {
            stop = Some(why);
        }
        let (_, trace, failed) = best;
        (Some(failure(&self.target.endpoint, &trace, failed)), stop)
    }

    /// Replaces each copy's parameters by simpler ones while the sequence still fails
    /// `property`, until no simpler version does (or the attempts run out).
    fn simplify_params(&mut self, best: &mut (Vec<Op>, Trace, Failed), property: &'static str) -> Result<(), Stop> {
        let only = |p: &str| p == property;
        let mut left = MAX_SIMPLIFY_ITERS;
        let mut changed = true;
        while changed {
            changed = false;
            let mut i = 0;
            while i < best.0.len() {
                let (Op::Copy(params) | Op::CopyDeregistered(_, params)) = &best.0[i] else {
                    i += 1;
                    continue;
                };
                let mut simplified = false;
                for candidate in self.simpler(params) {
                    if left == 0 {
                        return Ok(());
                    }
                    left -= 1;
                    let mut ops = best.0.clone();
                    if let Op::Copy(p) | Op::CopyDeregistered(_, p) = &mut ops[i] {
                        *p = candidate;
                    }
                    if let Some((t, f)) = failing(self.run(&ops, &only)?, property) {
                        ops.truncate(f.step);
                        *best = (ops, t, f);
                        simplified = true;
                        break;
                    }
                }
                // A simplified step is tried again from its new parameters.
                if simplified {
                    changed = true;
                } else {
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// Simpler versions of a copy's parameters that are still a valid copy, the boldest
    /// first: a TagSpecification or a tag left out, an optional member left out, a shorter
    /// key, value, Name or Description, the first copyable source.
    fn simpler(&self, p: &Params) -> Vec<Params> {
        let mut out: Vec<Params> = vec![];
        let specs = tag_specs(p);
        for n in 0..specs.len() {
            let mut fewer = specs.clone();
            fewer.remove(n);
            out.push(with_tag_specs(p, &fewer));
        }
        for (n, spec) in specs.iter().enumerate() {
            for m in 0..spec.tags.len() {
                let mut fewer = specs.clone();
                fewer[n].tags.remove(m);
                out.push(with_tag_specs(p, &fewer));
            }
        }
        for k in p.keys() {
            if !REQUIRED.contains(&k.as_str()) && k != key::CLIENT_TOKEN && !k.starts_with(TAG_SPEC) {
                let mut fewer = p.clone();
                fewer.remove(k);
                out.push(fewer);
            }
        }
        for (n, spec) in specs.iter().enumerate() {
            for (m, (k, v)) in spec.tags.iter().enumerate() {
                if let Some(short) = k.as_deref().and_then(shorter_key)
                    && !spec.tags.iter().any(|(other, _)| other.as_deref() == Some(short.as_str()))
                {
                    let mut plainer = specs.clone();
                    plainer[n].tags[m].0 = Some(short);
                    out.push(with_tag_specs(p, &plainer));
                }
                if v.as_deref().is_some_and(|v| !v.is_empty()) {
                    let mut plainer = specs.clone();
                    plainer[n].tags[m].1 = Some(String::new());
                    out.push(with_tag_specs(p, &plainer));
                }
            }
        }
        for k in [key::DESCRIPTION, key::NAME] {
            if let Some(v) = p.get(k)
                && v.chars().count() > 1
            {
                let mut plainer = p.clone();
                plainer.insert(k.to_owned(), v.chars().take(v.chars().count() / 2).collect());
                out.push(plainer);
            }
        }
        if let Some((id, region, _)) = self.first_source.as_ref()
            && p.get(key::SOURCE_IMAGE_ID) != Some(id)
        {
            let mut plainer = p.clone();
            plainer.insert(key::SOURCE_IMAGE_ID.into(), id.clone());
            plainer.insert(key::SOURCE_REGION.into(), region.clone());
            out.push(plainer);
        }
        out.retain(|c| c != p && self.valid_copy(c));
        out
    }

    /// Whether the oracle predicts a plain success for a copy with these parameters (and a
    /// Name and ClientToken of its own).
    fn valid_copy(&self, p: &Params) -> bool {
        let (params, _) = self.fresh(p, &format!("{}probe", self.nonce));
        let prediction = self.oracle.predict(&self.model, &params);
        prediction.ok && prediction.codes.is_empty() && prediction.image_id.is_none()
    }
}

/// A tag as a request spells it: its Key and Value members, either possibly absent.
pub(super) type Tag = (Option<String>, Option<String>);

/// One TagSpecification: its ResourceType and its tags, in index order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct TagSpec {
    /// Its ResourceType.
    pub(super) resource_type: Option<String>,
    /// Its tags.
    pub(super) tags: Vec<Tag>,
}

/// A request's TagSpecifications, in index order (indexes compared as numbers).
pub(super) fn tag_specs(p: &Params) -> Vec<TagSpec> {
    let mut by_n: BTreeMap<u64, (Option<String>, BTreeMap<u64, Tag>)> = BTreeMap::new();
    for (k, v) in p.range(TAG_SPEC.to_owned()..) {
        let Some(rest) = k.strip_prefix(TAG_SPEC) else { break };
        let parts: Vec<&str> = rest.split('.').collect();
        let num = |s: &str| s.parse::<u64>().ok();
        match parts.as_slice() {
            [n, "ResourceType"] if num(n).is_some() => {
                by_n.entry(num(n).unwrap_or_default()).or_default().0 = Some(v.clone());
            }
            [n, "Tag", m, field @ ("Key" | "Value")] if num(n).is_some() && num(m).is_some() => {
                let spec = by_n.entry(num(n).unwrap_or_default()).or_default();
                let tag = spec.1.entry(num(m).unwrap_or_default()).or_default();
                if *field == "Key" {
                    tag.0 = Some(v.clone());
                } else {
                    tag.1 = Some(v.clone());
                }
            }
            _ => {}
        }
    }
    by_n.into_values()
        .map(|(resource_type, tags)| TagSpec { resource_type, tags: tags.into_values().collect() })
        .collect()
}

/// `p` with its TagSpecifications replaced by `specs`, numbered from 1 without gaps.
fn with_tag_specs(p: &Params, specs: &[TagSpec]) -> Params {
    let mut out: Params =
        p.iter().filter(|(k, _)| !k.starts_with(TAG_SPEC)).map(|(k, v)| (k.clone(), v.clone())).collect();
    for (n, spec) in specs.iter().enumerate() {
        let n = n + 1;
        if let Some(rt) = &spec.resource_type {
            out.insert(format!("{TAG_SPEC}{n}.ResourceType"), rt.clone());
        }
        for (m, (k, v)) in spec.tags.iter().enumerate() {
            let m = m + 1;
            if let Some(k) = k {
                out.insert(format!("{TAG_SPEC}{n}.Tag.{m}.Key"), k.clone());
            }
            if let Some(v) = v {
                out.insert(format!("{TAG_SPEC}{n}.Tag.{m}.Value"), v.clone());
            }
        }
    }
    out
}

/// A shorter tag key: the generator's numbered prefix (`k1-`), else the first half.
fn shorter_key(k: &str) -> Option<String> {
    let short = match k.find('-') {
        Some(i) if i + 1 < k.len() => k[..=i].to_owned(),
        _ => k.chars().take(k.chars().count() / 2).collect(),
    };
    (!short.is_empty() && short != k).then_some(short)
}
