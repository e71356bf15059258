//! Violations of the protocol rules: a wrong Action or Version, unknown keys, bad list indexes.

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use super::{CLEAR_TAGS, kv, v};
use crate::generate::oneof::one_of;
use crate::generate::strategy::{Inputs, Violation};
use crate::oracle::key;

/// Violates `rules::ACTION`.
pub(super) fn action(_: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    Some(
        prop::sample::select(vec!["CopyImages", "", "Copy_Image", "copyimage"])
            .prop_map(move |a| v(rule, true, vec![kv("Action", a)]))
            .boxed(),
    )
}

/// Violates `rules::VERSION`.
pub(super) fn version(_: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    Some(
        prop::sample::select(vec!["banana", "", "2014-01-01", "2016-11-16"])
            .prop_map(move |x| v(rule, true, vec![kv("Version", x)]))
            .boxed(),
    )
}

/// Violates `rules::UNKNOWN_PARAM`.
pub(super) fn unknown_param(_: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    Some(
        one_of!(
            prop::sample::select(vec![
                "Foo",
                "Nmae",
                "SourceImageID2",
                "Tags",
                "TagSpecification.1.Foo",
                "X-Amz-Nothing"
            ])
            .prop_map(move |k| v(rule, true, vec![kv(k, "1")])),
            prop::sample::select(vec![key::NAME, key::SOURCE_IMAGE_ID, key::SOURCE_REGION]).prop_map(move |k| v(
                rule,
                false,
                vec![(k.to_owned(), None), kv(&k.to_lowercase(), "placeholder")]
            )),
        )
        .boxed(),
    )
}

/// Violates `rules::LIST_INDEX`.
pub(super) fn list_index(_: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    Some(
        prop::sample::select(vec!["0", "01", "x", "-1", ""])
            .prop_map(move |n| {
                // A digits-only index may be read as a number: uncertain (R36).
                let certain = n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit());
                v(
                    rule,
                    certain,
                    vec![
                        (CLEAR_TAGS.into(), None),
                        kv(&format!("TagSpecification.{n}.ResourceType"), "image"),
                        kv(&format!("TagSpecification.{n}.Tag.1.Key"), "k"),
                    ],
                )
            })
            .boxed(),
    )
}
