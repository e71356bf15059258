//! What a successful copy does to the world: a new image, encrypted or not, with the tags it
//! carries. The generator, the runner and the embedded endpoint all record copies this way.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::oracle::{Oracle, Prediction, key};
use crate::world::{Params, World};

/// Whether `p` makes a copy: a plain success (not a dry run, not a replay).
pub fn copies(p: &Prediction) -> bool {
    p.ok && p.codes.is_empty() && p.image_id.is_none()
}

/// Adds a copy to the world when the prediction is a plain success (not a dry run, not a
/// replay). The copy is encrypted when asked or when its source is.
pub fn record_if_copied(oracle: &Oracle, world: &mut World, params: &Params, p: &Prediction, image_id: &str) {
    if !copies(p) {
        return;
    }
    record_copy(oracle, world, params, image_id);
}

/// Adds a copy an endpoint made, whatever was predicted (a success where an error was also
/// acceptable): encrypted when asked or when its source is, with the tags it carries.
pub fn record_copy(oracle: &Oracle, world: &mut World, params: &Params, image_id: &str) {
    let lim = oracle.limits();
    let source_encrypted = match (params.get(key::SOURCE_IMAGE_ID), params.get(key::SOURCE_REGION)) {
        (Some(id), Some(r)) => world.image(id, r).is_some_and(|i| i.encrypted),
        _ => false,
    };
    let encrypted = lim.is_true(params.get(key::ENCRYPTED).map(String::as_str)) || source_encrypted;
    let tags = copy_tags(oracle, world, params);
    // The two comparisons the idempotency rules make (rules/idempotency.rs): a token's call
    // is kept as one digest for each instead of a hash per parameter (docs/memory.md).
    world.record_copy_compared(params, image_id, encrypted, [&lim.idem_ignored, &lim.idem_ignored_or_uncertain]);
    if !tags.is_empty() {
        world.set_image_tags(image_id, tags);
    }
}

/// The tags a copy carries (`[ref]` 5.4): with `CopyImageTags=true` the source's user-defined
/// tags (not `aws:` ones; of another account's image only `ec2:SharedTag/` ones), then the
/// `TagSpecification`s of ResourceType `image`, which win on a clash (inferred: the merge is
/// not documented).
fn copy_tags(oracle: &Oracle, world: &World, params: &Params) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    if oracle.limits().is_true(params.get(key::COPY_IMAGE_TAGS).map(String::as_str))
        && let (Some(id), Some(r)) = (params.get(key::SOURCE_IMAGE_ID), params.get(key::SOURCE_REGION))
        && let Some(src) = world.image(id, r)
    {
        let foreign = world.owner_of(&src) != world.account;
        for (k, v) in &src.tags {
            let keep = if foreign { k.starts_with("ec2:SharedTag/") } else { !k.starts_with("aws:") };
            if keep {
                tags.insert(k.clone(), v.clone());
            }
        }
    }
    for (k, rt) in params {
        let Some(n) = k.strip_prefix("TagSpecification.").and_then(|r| r.strip_suffix(".ResourceType")) else {
            continue;
        };
        if rt != "image" {
            continue;
        }
        let prefix = ["TagSpecification.", n, ".Tag."].concat();
        // One buffer for every tag's value key: `format!` per tag cost more than the lookups.
        let mut value_key = String::with_capacity(prefix.len() + 12);
        let from = (Bound::Included(prefix.as_str()), Bound::Unbounded);
        for (tk, tv) in params.range::<str, _>(from) {
            let Some(m) = tk.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".Key")) else {
                if !tk.starts_with(&prefix) {
                    break;
                }
                continue;
            };
            value_key.clear();
            value_key.extend([&prefix, m, ".Value"]);
            let value = params.get(&value_key).cloned().unwrap_or_default();
            tags.insert(tv.clone(), value);
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_carry_source_and_specified_tags() {
        let o = Oracle::builtin().unwrap();
        let mut w = World::default_world();
        let p: Params = [
            ("Name", "tagged-copy"),
            ("SourceImageId", "ami-0a1b2c3d4e5f60718"),
            ("SourceRegion", "us-east-1"),
            ("CopyImageTags", "true"),
            ("TagSpecification.1.ResourceType", "image"),
            ("TagSpecification.1.Tag.1.Key", "env"),
            ("TagSpecification.1.Tag.1.Value", "prod"),
            ("TagSpecification.2.ResourceType", "snapshot"),
            ("TagSpecification.2.Tag.1.Key", "only-on-snapshots"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let pred = o.predict(&w, &p);
        record_if_copied(&o, &mut w, &p, &pred, "ami-44444444444444444");
        let copy = w.image("ami-44444444444444444", "us-east-1").unwrap();
        // The source has env=test and team=conformance; the specification wins on env.
        let want: BTreeMap<String, String> =
            [("env", "prod"), ("team", "conformance")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        assert_eq!(copy.tags, want);
    }
}
