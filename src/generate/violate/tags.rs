//! Violations of the tag rules: resource types, tag keys and values, tag counts, gaps in the
//! numbering. Each clears the base request's tags first, so it is the only tag violation.

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Just};

use super::{CLEAR_TAGS, kv, v};
use crate::generate::draw::{ALNUM, TEXT, text};
use crate::generate::oneof::one_of;
use crate::generate::strategy::{Inputs, Violation};

/// Violates `rules::TAG_RT_MISSING`.
pub(super) fn tag_rt_missing(_: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    Some(
        any::<bool>()
            .prop_map(move |empty| {
                let mut e = vec![
                    (CLEAR_TAGS.into(), None),
                    kv("TagSpecification.1.Tag.1.Key", "k"),
                    kv("TagSpecification.1.Tag.1.Value", "v"),
                ];
                e.push(("TagSpecification.1.ResourceType".into(), empty.then(String::new)));
                v(rule, true, e)
            })
            .boxed(),
    )
}

/// Violates `rules::TAG_RT_BAD`.
pub(super) fn tag_rt_bad(_: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    Some(
        prop::sample::select(vec!["instance", "volume", "Image", "IMAGE", "snapshots", "ami"])
            .prop_map(move |rt| {
                v(
                    rule,
                    true,
                    vec![
                        (CLEAR_TAGS.into(), None),
                        kv("TagSpecification.1.ResourceType", rt),
                        kv("TagSpecification.1.Tag.1.Key", "k"),
                        kv("TagSpecification.1.Tag.1.Value", "v"),
                    ],
                )
            })
            .boxed(),
    )
}

/// Violates `rules::TAG_SPEC_EMPTY`.
pub(super) fn tag_spec_empty(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    Some(
        prop::sample::select(l.resource_types.clone())
            .prop_map(move |rt| {
                v(rule, false, vec![(CLEAR_TAGS.into(), None), kv("TagSpecification.1.ResourceType", rt)])
            })
            .boxed(),
    )
}

/// Violates `rules::TAG_KEY`.
pub(super) fn tag_key(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    let forbidden = l.tag_key_forbidden.clone();
    Some(
        one_of!(
            Just(Some(String::new())),
            Just(None),
            text(ALNUM.to_vec(), 0..20usize).prop_map(move |s| Some(format!("{forbidden}{s}"))),
        )
        .prop_map(move |k| {
            let mut e = vec![
                (CLEAR_TAGS.into(), None),
                kv("TagSpecification.1.ResourceType", "image"),
                kv("TagSpecification.1.Tag.1.Value", "v"),
            ];
            e.push(("TagSpecification.1.Tag.1.Key".into(), k));
            v(rule, true, e)
        })
        .boxed(),
    )
}

/// Violates `rules::TAG_KEY_LENGTH`.
pub(super) fn tag_key_length(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    Some(
        text(ALNUM.to_vec(), one_of!(Just(l.tag_key_max + 1), (l.tag_key_max + 1)..=(l.tag_key_max * 2)))
            .prop_map(move |k| {
                v(
                    rule,
                    true,
                    vec![
                        (CLEAR_TAGS.into(), None),
                        kv("TagSpecification.1.ResourceType", "image"),
                        kv("TagSpecification.1.Tag.1.Key", k),
                        kv("TagSpecification.1.Tag.1.Value", "v"),
                    ],
                )
            })
            .boxed(),
    )
}

/// Violates `rules::TAG_VALUE`.
pub(super) fn tag_value(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    Some(
        text(TEXT.to_vec(), one_of!(Just(l.tag_value_max + 1), (l.tag_value_max + 1)..=(l.tag_value_max * 2)))
            .prop_map(move |val| {
                v(
                    rule,
                    true,
                    vec![
                        (CLEAR_TAGS.into(), None),
                        kv("TagSpecification.1.ResourceType", "image"),
                        kv("TagSpecification.1.Tag.1.Key", "k"),
                        kv("TagSpecification.1.Tag.1.Value", val),
                    ],
                )
            })
            .boxed(),
    )
}

/// Violates `rules::TAG_COUNT`.
pub(super) fn tag_count(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    let most = l.tags_per_resource;
    // The keys and values of every tag a draw may need, written once: a draw has dozens.
    let tags: Vec<(String, String, String)> = (1..=most + 10)
        .map(|m| {
            (format!("TagSpecification.1.Tag.{m}.Key"), format!("key-{m}"), format!("TagSpecification.1.Tag.{m}.Value"))
        })
        .collect();
    // The tags in the order of their keys (`Tag.1.`, `Tag.10.`, ..., `Tag.2.`): the edits then
    // come sorted, and `apply` merges them without sorting. The keys are distinct, so their
    // order does not change the request.
    let mut in_key_order: Vec<usize> = (0..tags.len()).collect();
    in_key_order.sort_by(|&a, &b| tags[a].0.cmp(&tags[b].0));
    Some(
        one_of!(Just(most + 1), (most + 1)..=(most + 10))
            .prop_map(move |n| {
                let mut e = Vec::with_capacity(2 + 2 * n);
                e.extend([(CLEAR_TAGS.into(), None), kv("TagSpecification.1.ResourceType", "image")]);
                for (key, name, value) in in_key_order.iter().filter(|&&i| i < n).map(|&i| &tags[i]) {
                    e.push((key.clone(), Some(name.clone())));
                    e.push(kv(value, "v"));
                }
                v(rule, true, e)
            })
            .boxed(),
    )
}

/// Violates `rules::LIST_GAP`.
pub(super) fn list_gap(_: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    Some(
        prop::sample::select(vec![(1u32, 3u32), (2, 1), (1, 2)])
            .prop_map(move |(n, m)| {
                v(
                    rule,
                    false,
                    vec![
                        (CLEAR_TAGS.into(), None),
                        kv(&format!("TagSpecification.{n}.ResourceType"), "image"),
                        kv(&format!("TagSpecification.{n}.Tag.{m}.Key"), "k"),
                        kv(&format!("TagSpecification.{n}.Tag.{m}.Value"), "v"),
                    ],
                )
            })
            .boxed(),
    )
}
