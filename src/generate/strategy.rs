//! proptest strategies: valid CopyImage requests built from the spec's limits and the world's
//! images, and the edits that turn one into a violation (the violations themselves, one per
//! rule, are in `violate`).

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use crate::generate::draw::{ALNUM_TABLE, AsciiTable, Draw, TEXT, fill, outpost_arn};
use crate::oracle::{Limits, key};
use crate::world::Params;

pub use crate::generate::inputs::{Inputs, choose};
pub use crate::generate::oneof::OneOf;

/// One change to a request: set a key, or remove it (`None`). A key ending in `.*` removes
/// every key with that prefix.
pub type Edit = (String, Option<String>);

/// A violation aimed at one rule: the edits, and whether AWS certainly rejects it (false
/// where the spec says the outcome is uncertain).
#[derive(Clone, Debug)]
pub struct Violation {
    /// The rule aimed at.
    pub rule: &'static str,
    /// The changes to a valid request.
    pub edits: Vec<Edit>,
    /// Whether the rule fires for certain.
    // Only the property tests read it: a certain violation must never be predicted a success.
    #[cfg_attr(not(test), allow(dead_code))]
    pub certain: bool,
}

/// Applies edits to params.
pub fn apply(params: &mut Params, edits: impl IntoIterator<Item = Edit>) {
    let mut run: Vec<(String, String)> = Vec::new();
    for (k, v) in edits {
        let Some(v) = v else {
            set_all(params, &mut run);
            match k.strip_suffix('*') {
                Some(prefix) => params.retain(|key, _| !key.starts_with(prefix)),
                None => drop(params.remove(&k)),
            }
            continue;
        };
        run.push((k, v));
    }
    set_all(params, &mut run);
}

/// Sets a run of keys in order (a later value wins), emptying `run`.
fn set_all(params: &mut Params, run: &mut Vec<(String, String)>) {
    // A long run (a request with dozens of tags) is sorted and merged in one pass rather
    // than inserted key by key; collecting keeps the last value of a repeated key, and
    // `append` lets the run's values win, as the inserts would.
    if run.len() >= 16 {
        let mut merged: Params = run.drain(..).collect();
        if merged.len() < params.len() {
            params.append(&mut merged);
        } else {
            add_missing(&mut merged, std::mem::take(params));
            *params = merged;
        }
    } else {
        for (k, v) in run.drain(..) {
            params.insert(k, v);
        }
    }
}

/// Puts into `many` each key of `few` it lacks: what `few.append(&mut many)` makes (`many`'s
/// values win), with a few entry inserts where `append` rebuilds the whole tree (a request's
/// dozen keys meeting a hundred tags).
fn add_missing(many: &mut Params, few: Params) {
    for (k, v) in few {
        many.entry(k).or_insert(v);
    }
}

/// Valid requests: a copyable source image, a fresh name, and any mix of optional members
/// within their limits. `dry_run` allows `DryRun=true`.
pub fn valid(i: &Inputs, dry_run: bool) -> BoxedStrategy<Params> {
    let l = i.lim.clone();
    assert!(!i.copyable.is_empty(), "the world has no image a minimal request copies successfully");
    let name_ok = i.alpha.name_ok.clone();
    let name_table = AsciiTable::new(&name_ok);
    let tag_keys = TagKeys::new();
    // The tag-count boundary: exactly as many tags as one resource may carry, built once.
    let mut full_tags = Params::new();
    full_tags.insert("TagSpecification.1.ResourceType".to_owned(), "image".to_owned());
    for m in 1..=l.tags_per_resource {
        full_tags.insert(format!("TagSpecification.1.Tag.{m}.Key"), format!("key-{m}"));
        full_tags.insert(format!("TagSpecification.1.Tag.{m}.Value"), format!("value-{m}"));
    }
    (choose(&i.copyable), any::<[u64; 4]>())
        .prop_map(move |((id, region, encrypted), words)| {
            let mut d = Draw::new(&words);
            let b = |v: bool| if v { l.bool_true.clone() } else { l.bool_false.clone() };
            let mut p = Params::new();
            let n = d.len(l.name_min, l.name_max);
            let seed = d.seed();
            let name = name_table.as_ref().map_or_else(|| fill(&name_ok, n, seed), |t| t.fill_after("", n, seed));
            p.insert(key::NAME.into(), name);
            p.insert(key::SOURCE_IMAGE_ID.into(), id);
            if d.chance(30) {
                let n = d.len(0, l.desc_max);
                p.insert(key::DESCRIPTION.into(), fill(TEXT, n, d.seed()));
            }
            if d.chance(30) {
                // 16 and up: short tokens are no boundary of any rule, and would collide
                // across the cases of one run against a stateful endpoint.
                let n = d.len(16.min(l.token_certain()), l.token_certain());
                p.insert(key::CLIENT_TOKEN.into(), ALNUM_TABLE.fill_after("", n, d.seed()));
            }
            if d.chance(30) {
                // An encrypted source cannot be copied unencrypted: that is a violation, not a valid case.
                let on = d.chance(50) || encrypted;
                p.insert(key::ENCRYPTED.into(), b(on));
                if on && d.chance(50) {
                    p.insert(key::KMS_KEY_ID.into(), "alias/aws/ebs".into());
                }
            }
            if d.chance(20) {
                let on = d.chance(50);
                p.insert(key::COPY_IMAGE_TAGS.into(), b(on));
            }
            if dry_run && d.chance(15) {
                p.insert(key::DRY_RUN.into(), l.bool_true.clone());
            } else if d.chance(10) {
                p.insert(key::DRY_RUN.into(), l.bool_false.clone());
            }
            if d.chance(5) {
                // Raw requests may spell out the protocol keys; the right values change nothing.
                p.insert(key::ACTION.into(), l.action.clone());
                p.insert(key::VERSION.into(), l.version.clone());
            }
            if d.chance(20) {
                let steps = (l.duration_max - l.duration_min) / l.duration_step;
                let dur = match d.take(4) {
                    0 => l.duration_min,
                    1 => l.duration_max,
                    _ => l.duration_min + l.duration_step * d.take(steps as u64 + 1) as i64,
                };
                p.insert(key::DURATION.into(), dur.to_string());
            } else if d.chance(10) {
                let seed = d.seed();
                p.insert(key::OUTPOST.into(), outpost_arn(&region, seed));
                // Outposts keep no unencrypted snapshots: Encrypted=false there is uncertain
                // (R30), so a valid Outpost copy asks for encryption (no draw: seeds keep).
                if p.get(key::ENCRYPTED) == Some(&l.bool_false) {
                    p.insert(key::ENCRYPTED.into(), l.bool_true.clone());
                }
            }
            p.insert(key::SOURCE_REGION.into(), region); // Moved in, now the Outpost ARN has read it.
            if d.chance(3) {
                // The tags win, as `extend`'s would.
                let mut tagged = full_tags.clone();
                add_missing(&mut tagged, std::mem::take(&mut p));
                p = tagged;
            } else if d.chance(25) {
                add_tag_specs(&mut p, &mut d, &l, &tag_keys);
            }
            p
        })
        .boxed()
}

/// The wire keys and tag-key prefixes `add_tag_specs` writes, formatted once per strategy
/// rather than per case.
struct TagKeys {
    /// `TagSpecification.N.ResourceType`, N = 1, 2.
    resource_type: [String; 2],
    /// The `Key` and `Value` keys of `TagSpecification.N.Tag.M`, N = 1, 2, M = 1 to 3.
    tag: [[(String, String); 3]; 2],
    /// The tag-key prefixes `aws{M}-` and `k{M}-`, M = 1 to 3.
    prefix: [(String, String); 3],
}

impl TagKeys {
    fn new() -> Self {
        TagKeys {
            resource_type: std::array::from_fn(|i| format!("TagSpecification.{}.ResourceType", i + 1)),
            tag: std::array::from_fn(|i| {
                std::array::from_fn(|j| {
                    let (n, m) = (i + 1, j + 1);
                    (format!("TagSpecification.{n}.Tag.{m}.Key"), format!("TagSpecification.{n}.Tag.{m}.Value"))
                })
            }),
            prefix: std::array::from_fn(|j| (format!("aws{}-", j + 1), format!("k{}-", j + 1))),
        }
    }
}

/// One or two tag specifications (distinct resource types), each with one to three tags.
fn add_tag_specs(p: &mut Params, d: &mut Draw<'_>, l: &Limits, keys: &TagKeys) {
    let types = &l.resource_types;
    let first = d.take(types.len() as u64) as usize;
    let count = if types.len() > 1 && d.chance(40) { 2 } else { 1 };
    for n in 1..=count {
        let rt = &types[(first + n - 1) % types.len()];
        p.insert(keys.resource_type[n - 1].clone(), rt.clone());
        for m in 1..=(1 + d.take(3) as usize) {
            // A numbered prefix keeps keys unique within the specification; `aws1-` sits just
            // outside the reserved `aws:` prefix.
            let (aws, plain) = &keys.prefix[m - 1];
            let prefix = if d.chance(10) { aws } else { plain };
            let klen = d.len(prefix.len(), l.tag_key_max);
            let vlen = d.len(0, l.tag_value_max);
            let k = ALNUM_TABLE.fill_after(prefix, klen - prefix.len(), d.seed());
            let (key, value) = &keys.tag[n - 1][m - 1];
            p.insert(key.clone(), k);
            p.insert(value.clone(), fill(TEXT, vlen, d.seed()));
        }
    }
}

/// Any one violation, drawn evenly over the rules.
pub fn any_violation(list: &[(&'static str, BoxedStrategy<Violation>)]) -> BoxedStrategy<Violation> {
    OneOf::new(list.iter().map(|(_, s)| s.clone()).collect()).boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str, v: &str) -> Edit {
        (k.to_owned(), Some(v.to_owned()))
    }

    #[test]
    fn a_long_run_of_sets_ends_as_key_by_key_inserts() {
        let mut small = Params::new();
        small.insert("Name".into(), "old".into());
        small.insert("Tag.3".into(), "gone".into());
        // A request with more keys than the run: the run is merged into it the other way.
        let mut large = small.clone();
        large.extend((0..40).map(|i| (format!("Other.{i}"), format!("o{i}"))));
        for start in [small, large] {
            // Twenty sets (a batched run) with a repeated key and an overwritten one, then a
            // removal and a short run.
            let mut edits: Vec<Edit> = (0..18).map(|i| set(&format!("Tag.{i}"), &format!("v{i}"))).collect();
            edits.push(set("Tag.5", "later"));
            edits.push(set("Name", "new"));
            edits.push(("Tag.7".into(), None));
            edits.push(set("Tag.9", "short"));
            let mut batched = start.clone();
            apply(&mut batched, edits.clone());
            let mut one_by_one = start;
            for (k, v) in edits {
                match v {
                    Some(v) => drop(one_by_one.insert(k, v)),
                    None => drop(one_by_one.remove(&k)),
                }
            }
            assert_eq!(batched, one_by_one);
            assert_eq!(batched["Tag.5"], "later");
            assert_eq!(batched["Name"], "new");
            assert!(!batched.contains_key("Tag.7"));
        }
    }
}
