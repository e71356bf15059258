//! Violations that need the world: a dry run, and source images that are missing, unavailable,
//! not shared, from the Marketplace, encrypted, in another partition, or a Name in use.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Just};

use super::{kv, v};
use crate::generate::draw::{HEX, fill, outpost_arn};
use crate::generate::oneof::OneOf;
use crate::generate::strategy::{Inputs, Violation, choose};
use crate::oracle::key;

/// Violates `rules::DRY_RUN`.
pub(super) fn dry_run(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let t = i.lim.bool_true.clone();
    Some(Just(v(rule, true, vec![kv(key::DRY_RUN, t)])).boxed())
}

/// Violates `rules::AMI_NOT_FOUND`.
pub(super) fn ami_not_found(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let (home, images) = (i.partition_regions.clone(), &i.copyable);
    let mut options =
        vec![any::<u64>().prop_map(|s| vec![kv(key::SOURCE_IMAGE_ID, format!("ami-{}", fill(HEX, 17, s)))]).boxed()];
    // A real image, asked for in a Region it is not in: only where the partition has one.
    if another_region_exists(images, &home) {
        options.push(
            (choose(images), prop::sample::select(home))
                .prop_filter("another Region than the image's", |((_, r, _), other)| r != other)
                .prop_map(|((id, _, _), other)| vec![kv(key::SOURCE_IMAGE_ID, id), kv(key::SOURCE_REGION, other)])
                .boxed(),
        );
    }
    Some(OneOf::new(options).prop_map(move |e| v(rule, true, e)).boxed())
}

/// Whether some copyable image has another Region of `home` than its own, so a filter for
/// "another Region than the image's" can pass. A single-Region partition has none, and a
/// filter that can never pass makes proptest give up.
fn another_region_exists(images: &[(String, String, bool)], home: &[String]) -> bool {
    images.iter().any(|(_, r, _)| home.iter().any(|other| other != r))
}

/// Violates `rules::AMI_UNAVAILABLE`, when the world has an image that is not available.
pub(super) fn ami_unavailable(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    pick(&i.unavailable, rule)
}

/// Violates `rules::STORAGE_PERMISSION`, when the world has another account's image whose
/// storage is not shared.
pub(super) fn storage_permission(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    pick(&i.storage_denied, rule)
}

/// Violates `rules::MARKETPLACE`, when the world has another account's image with billing
/// products.
pub(super) fn marketplace(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    pick(&i.marketplace, rule)
}

/// A copy of one of `list`'s images; none when the list is empty.
fn pick(list: &Arc<[(String, String)]>, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    if list.is_empty() {
        return None;
    }
    Some(
        choose(list)
            .prop_map(move |(id, r)| v(rule, true, vec![kv(key::SOURCE_IMAGE_ID, id), kv(key::SOURCE_REGION, r)]))
            .boxed(),
    )
}

/// Violates `rules::UNENCRYPT`, when the world has an encrypted copyable image.
pub(super) fn unencrypt(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    if i.encrypted.is_empty() {
        return None;
    }
    let f = i.lim.bool_false.clone();
    Some(
        choose(&i.encrypted)
            .prop_map(move |(id, r)| {
                v(
                    rule,
                    true,
                    vec![
                        kv(key::SOURCE_IMAGE_ID, id),
                        kv(key::SOURCE_REGION, r),
                        kv(key::ENCRYPTED, f.clone()),
                        (key::KMS_KEY_ID.into(), None),
                    ],
                )
            })
            .boxed(),
    )
}

/// Violates `rules::UNSUPPORTED_PAIR`.
pub(super) fn unsupported_pair(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let (foreign, home, images) = (i.foreign_regions.clone(), i.partition_regions.clone(), &i.copyable);
    let mut options = vec![];
    if !foreign.is_empty() {
        options.push(prop::sample::select(foreign).prop_map(|r| vec![kv(key::SOURCE_REGION, r)]).boxed());
    }
    // An Outpost in another Region than the source image: only where the partition has one.
    if another_region_exists(images, &home) {
        options.push(
            (choose(images), prop::sample::select(home), any::<u64>())
                .prop_filter("another Region than the image's", |((_, r, _), other, _)| r != other)
                .prop_map(|((id, r, _), other, s)| {
                    vec![
                        kv(key::SOURCE_IMAGE_ID, id),
                        kv(key::SOURCE_REGION, r),
                        kv(key::OUTPOST, outpost_arn(&other, s)),
                        (key::AZ.into(), None),
                        (key::AZ_ID.into(), None),
                        (key::DURATION.into(), None),
                    ]
                })
                .boxed(),
        );
    }
    if options.is_empty() {
        return None;
    }
    Some(OneOf::new(options).prop_map(move |e| v(rule, true, e)).boxed())
}

/// Violates `rules::NAME_DUPLICATE`, when the caller owns a named image in the destination
/// Region.
pub(super) fn name_duplicate(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    if i.taken_names.is_empty() {
        return None;
    }
    // Names from other Regions are the boundary: the same name, no clash.
    let names: Vec<(String, bool)> = i
        .taken_names
        .iter()
        .map(|n| (n.clone(), true))
        .chain(i.other_region_names.iter().map(|n| (n.clone(), false)))
        .collect();
    Some(prop::sample::select(names).prop_map(move |(n, _)| v(rule, false, vec![kv(key::NAME, n)])).boxed())
}
