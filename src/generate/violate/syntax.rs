//! Violations of the syntax rules about single members: each limit crossed, on both sides
//! of its boundary where the spec draws one.

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Just};

use super::{kv, v};
use crate::generate::draw::{ALNUM, HEX, TEXT, fill, len_in, outpost_arn, text, with_one_of};
use crate::generate::oneof::{OneOf, one_of};
use crate::generate::strategy::{Inputs, Violation};
use crate::oracle::key;

/// Violates `rules::MISSING`.
pub(super) fn missing(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    let req = l.required.clone();
    let unsure = l.required_uncertain.clone();
    Some(
        (prop::sample::subsequence(req, 1..=3), any::<bool>())
            .prop_map(move |(keys, empty)| {
                // Leaving out only a member AWS has let through (Name) is uncertain.
                let certain = empty || keys.iter().any(|k| !unsure.contains(k));
                v(rule, certain, keys.into_iter().map(|k| (k, empty.then(String::new))).collect())
            })
            .boxed(),
    )
}

/// Violates `rules::BOOL`.
pub(super) fn bool(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    let bools = l.booleans.clone();
    Some(
        (
            prop::sample::select(bools),
            OneOf::weighted(vec![
                (
                    3,
                    prop::sample::select(vec!["yes", "1", "0", "no", "", "t", "on", " true"])
                        .prop_map(|s| (s, true))
                        .boxed(),
                ),
                (1, prop::sample::select(vec!["TRUE", "False", "True"]).prop_map(|s| (s, false)).boxed()),
            ]),
        )
            .prop_map(move |(k, (val, certain))| v(rule, certain, vec![kv(&k, val)]))
            .boxed(),
    )
}

/// Violates `rules::LONG`.
pub(super) fn long(_: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    Some(
        prop::sample::select(vec!["fifteen", "15.0", "1e3", " 15", "", "0x0f"])
            .prop_map(move |x| v(rule, true, vec![kv(key::DURATION, x)]))
            .boxed(),
    )
}

/// Violates `rules::NAME`.
pub(super) fn name(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    let (ok, unc, bad) = (i.alpha.name_ok.clone(), i.alpha.name_uncertain.clone(), i.alpha.name_bad.clone());
    Some(
        one_of!(
            text(ok.clone(), 0..l.name_min).prop_map(move |n| v(rule, true, vec![kv(key::NAME, n)])),
            text(ok.clone(), prop_oneof![Just(l.name_max + 1), (l.name_max + 1)..=(l.name_max * 2)])
                .prop_map(move |n| v(rule, true, vec![kv(key::NAME, n)])),
            with_one_of(bad, ok.clone(), len_in(l.name_min, l.name_max)).prop_map(move |n| v(
                rule,
                true,
                vec![kv(key::NAME, n)]
            )),
            with_one_of(unc, ok, len_in(l.name_min, l.name_max)).prop_map(move |n| v(
                rule,
                false,
                vec![kv(key::NAME, n)]
            )),
        )
        .boxed(),
    )
}

/// Violates `rules::DESCRIPTION`.
pub(super) fn description(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    Some(
        text(TEXT.to_vec(), one_of!(Just(l.desc_max + 1), (l.desc_max + 1)..=(l.desc_max * 2)))
            .prop_map(move |d| v(rule, true, vec![kv(key::DESCRIPTION, d)]))
            .boxed(),
    )
}

/// Violates `rules::AMI_ID_MALFORMED`.
pub(super) fn ami_id_malformed(_: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    Some(
        one_of!(
            prop::sample::select(vec![
                "foo-123",
                "ami-ZZZ",
                "ami-",
                "AMI-0123abcd",
                "ami-0123456789ABCDEF0",
                "ami_0123abcd",
                " ami-0123abcd"
            ])
            .prop_map(str::to_owned),
            (prop::sample::select(vec![7usize, 9, 16, 18]), any::<u64>())
                .prop_map(|(n, s)| format!("ami-{}", fill(HEX, n, s))),
        )
        .prop_map(move |id| v(rule, true, vec![kv(key::SOURCE_IMAGE_ID, id)]))
        .boxed(),
    )
}

/// Violates `rules::REGION`.
pub(super) fn region(_: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    Some(
        prop::sample::select(vec![
            "xx-nowhere-9",
            "us-east-10",
            "US-EAST-1",
            "us-east-1 ",
            "useast1",
            "fips-us-east-1",
            "aws-global",
        ])
        .prop_map(move |r| v(rule, true, vec![kv(key::SOURCE_REGION, r)]))
        .boxed(),
    )
}

/// Violates `rules::DEST_EXCLUSIVE`.
pub(super) fn dest_exclusive(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let region = i.region.clone();
    Some(
        (prop::sample::subsequence(vec![key::OUTPOST, key::AZ, key::AZ_ID], 2..=3), any::<u64>())
            .prop_map(move |(keys, seed)| {
                v(
                    rule,
                    true,
                    keys.into_iter()
                        .map(|k| {
                            let val = if k == key::OUTPOST {
                                outpost_arn(&region, seed)
                            } else {
                                format!("{}-lz-1a", "us-east-1")
                            };
                            kv(k, val)
                        })
                        .collect(),
                )
            })
            .boxed(),
    )
}

/// Violates `rules::DURATION_RANGE`.
pub(super) fn duration_range(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    let (lo, hi, st) = (l.duration_min, l.duration_max, l.duration_step);
    Some(
        one_of!(
            Just(0i64),
            Just(lo - 1),
            Just(lo + 1),
            Just(lo - st),
            Just(hi + st),
            Just(hi + 1),
            Just(-lo),
            (lo..hi).prop_filter("not a multiple", move |d| d % st != 0),
        )
        .prop_map(move |d| v(rule, true, vec![kv(key::DURATION, d.to_string())]))
        .boxed(),
    )
}

/// Violates `rules::DURATION_DEST`.
pub(super) fn duration_dest(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let lo = i.lim.duration_min;
    let region = i.region.clone();
    Some(
        (prop::sample::select(vec![key::OUTPOST, key::AZ, key::AZ_ID]), any::<u64>())
            .prop_map(move |(k, seed)| {
                let val = if k == key::OUTPOST { outpost_arn(&region, seed) } else { "us-east-1-bos-1a".to_owned() };
                v(rule, true, vec![kv(key::DURATION, lo.to_string()), kv(k, val)])
            })
            .boxed(),
    )
}

/// Violates `rules::KMS_DEPENDENCY`.
pub(super) fn kms_dependency(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    let f = l.bool_false.clone();
    Some(
        (
            any::<bool>(),
            prop::sample::select(vec![
                "alias/my-key",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
                "arn:aws:kms:us-east-1:012345678910:alias/x",
            ]),
        )
            .prop_map(move |(explicit, k)| {
                v(rule, true, vec![kv(key::KMS_KEY_ID, k), (key::ENCRYPTED.into(), explicit.then(|| f.clone()))])
            })
            .boxed(),
    )
}

/// Violates `rules::TOKEN_LENGTH`.
pub(super) fn token_length(i: &Inputs, rule: &'static str) -> Option<BoxedStrategy<Violation>> {
    let l = &i.lim;
    let (certain, max) = (l.token_certain(), l.token_max);
    Some(
        one_of!(
            text(ALNUM.to_vec(), prop_oneof![Just(max + 1), (max + 1)..=(max * 2)]).prop_map(move |t| v(
                rule,
                true,
                vec![kv(key::CLIENT_TOKEN, t)]
            )),
            text(ALNUM.to_vec(), prop_oneof![Just(certain + 1), Just(max), (certain + 1)..=max]).prop_map(move |t| v(
                rule,
                false,
                vec![kv(key::CLIENT_TOKEN, t)]
            )),
        )
        .boxed(),
    )
}
