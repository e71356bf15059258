//! A raw parameter map read as a CopyImage request: members, tag specifications, and keys the
//! operation does not know (misspelt, wrong letter case, bad list index).

use std::collections::HashMap;

use crate::oracle::key::{self, ACTION, VERSION};
use crate::world::Params;

const LIST: &str = "TagSpecification";
const RESOURCE_TYPE: &str = "ResourceType";
const TAG: &str = "Tag";
const KEY: &str = "Key";
const VALUE: &str = "Value";

/// A tag's (`Key`, `Value`).
pub type KeyValue<'p> = (Option<&'p str>, Option<&'p str>);

/// One `TagSpecification.N`.
#[derive(Debug, Default)]
pub struct TagSpec<'p> {
    /// `TagSpecification.N.ResourceType`.
    pub resource_type: Option<&'p str>,
    /// (M, the `Key` and `Value` of `Tag.M`), by M, each M once.
    // Sorted lists, not maps: a request's keys arrive nearly in order, and most have few tags.
    pub tags: Vec<(u32, KeyValue<'p>)>,
}

/// The request as the oracle reads it.
#[derive(Debug)]
pub struct Request<'p> {
    params: &'p Params,
    slots: [Option<&'p str>; key::SIMPLE.len()],
    /// Keys no member matches.
    pub unknown: Vec<&'p str>,
    /// Keys that match a member only when letter case is ignored, with the right spelling.
    pub case_variants: Vec<(&'p str, String)>,
    /// Keys with a list index that is not a positive decimal without leading zeros.
    pub bad_index: Vec<&'p str>,
    /// (N, `TagSpecification.N`), by N, each N once.
    pub tag_specs: Vec<(u32, TagSpec<'p>)>,
}

impl<'p> Request<'p> {
    /// Reads `params`; `simple_keys` are the spec's top-level member keys, used for the
    /// letter-case comparison of unknown keys.
    pub fn parse(params: &'p Params, simple_keys: &[String], index_ok: &IndexCheck) -> Self {
        let mut req = Request {
            params,
            slots: [None; key::SIMPLE.len()],
            unknown: Vec::new(),
            case_variants: Vec::new(),
            bad_index: Vec::new(),
            tag_specs: Vec::new(),
        };
        // Where each specification's entry is, for a key whose specification is not the last
        // one's: a scan of the entries for each of thousands of indexes was quadratic.
        let mut spec_at: HashMap<u32, usize> = HashMap::new();
        for (key, value) in params {
            let key = key.as_str();
            // No top-level key starts like a list key, so a list key skips the slot lookup.
            if !key.starts_with(LIST)
                && let Some(slot) = key::slot(key)
            {
                req.slots[slot] = Some(value);
                continue;
            }
            match parse_list_key(key, index_ok) {
                ListKey::Member { n, member } => {
                    // Keys in order put a specification's keys together: mostly the last one.
                    let at = match req.tag_specs.last() {
                        Some((last, _)) if *last == n => req.tag_specs.len() - 1,
                        _ => *spec_at.entry(n).or_insert_with(|| {
                            req.tag_specs.push((n, TagSpec::default()));
                            req.tag_specs.len() - 1
                        }),
                    };
                    let spec = &mut req.tag_specs[at].1;
                    match member {
                        ListMember::ResourceType => spec.resource_type = Some(value),
                        ListMember::TagKey(m) => tag_entry(&mut spec.tags, m).0 = Some(value),
                        ListMember::TagValue(m) => tag_entry(&mut spec.tags, m).1 = Some(value),
                    }
                }
                ListKey::BadIndex => req.bad_index.push(key),
                ListKey::NotList => match canonical_key(key, simple_keys) {
                    Some(canon) => req.case_variants.push((key, canon)),
                    None => req.unknown.push(key),
                },
            }
        }
        req.tag_specs.sort_by_key(|(n, _)| *n);
        for (_, spec) in &mut req.tag_specs {
            sort_tags(&mut spec.tags);
        }
        req
    }

    /// The value of a top-level key, exactly as sent.
    #[inline]
    pub fn get(&self, k: &str) -> Option<&'p str> {
        key::slot(k).and_then(|i| self.slots[i])
    }

    /// The value of the top-level key in `slot` (as [`key::slot`] gives it), exactly as sent.
    #[inline]
    pub fn at(&self, slot: Option<usize>) -> Option<&'p str> {
        slot.and_then(|i| self.slots[i])
    }

    /// The raw parameters.
    pub fn params(&self) -> &'p Params {
        self.params
    }

    /// Whether any `TagSpecification` key was sent.
    pub fn has_lists(&self) -> bool {
        !self.tag_specs.is_empty() || !self.bad_index.is_empty()
    }
}

/// The entry of tag M: the last one when it is M (a `Key` and its `Value` are neighbours in
/// key order), else a new one that `sort_tags` merges with any other entry of M.
fn tag_entry<'v, 'p>(tags: &'v mut Vec<(u32, KeyValue<'p>)>, m: u32) -> &'v mut KeyValue<'p> {
    if tags.last().is_none_or(|(last, _)| *last != m) {
        tags.push((m, (None, None)));
    }
    &mut tags.last_mut().expect("not empty").1
}

/// Sorts tags by M and merges the entries of one M in the order their keys came, the later
/// key's value winning, as one map entry per M would.
fn sort_tags(tags: &mut Vec<(u32, KeyValue<'_>)>) {
    if tags.is_sorted_by(|a, b| a.0 < b.0) {
        return;
    }
    tags.sort_by_key(|(m, _)| *m);
    tags.dedup_by(|later, kept| {
        if later.0 != kept.0 {
            return false;
        }
        kept.1.0 = later.1.0.or(kept.1.0);
        kept.1.1 = later.1.1.or(kept.1.1);
        true
    });
}

enum ListMember {
    ResourceType,
    TagKey(u32),
    TagValue(u32),
}

enum ListKey {
    Member { n: u32, member: ListMember },
    BadIndex,
    NotList,
}

/// The spec's list-index pattern, with the answers for short indexes worked out in advance.
#[derive(Debug)]
pub struct IndexCheck {
    pattern: regex::Regex,
    /// The answer for every string of one to three digits, by width then value.
    short: Vec<bool>,
}

const WIDTH_START: [usize; 4] = [0, 0, 10, 110];

impl IndexCheck {
    /// Precomputes the pattern's answer for every string of one to three digits.
    pub fn new(pattern: regex::Regex) -> Self {
        let mut short = Vec::with_capacity(1110);
        for width in 1..=3usize {
            for n in 0..10usize.pow(width as u32) {
                short.push(pattern.is_match(&format!("{n:0width$}")));
            }
        }
        IndexCheck { pattern, short }
    }

    /// The index `s` stands for, when it is one AWS certainly parses.
    #[inline]
    pub fn index(&self, s: &str) -> Option<u32> {
        let digit = |b: u8| b.is_ascii_digit().then(|| u32::from(b - b'0'));
        // The digits' value is the parsed index: no second parse.
        let (start, n) = match *s.as_bytes() {
            [a] => (WIDTH_START[1], digit(a)),
            [a, b] => (WIDTH_START[2], digit(a).zip(digit(b)).map(|(a, b)| a * 10 + b)),
            [a, b, c] => (WIDTH_START[3], digit(a).zip(digit(b)).zip(digit(c)).map(|((a, b), c)| a * 100 + b * 10 + c)),
            _ => (0, None),
        };
        match n {
            Some(n) => self.short[start + n as usize].then_some(n),
            None if self.pattern.is_match(s) => s.parse().ok(),
            None => None,
        }
    }
}

/// Reads `TagSpecification.N.ResourceType` and `TagSpecification.N.Tag.M.Key|Value`, N and M
/// without a dot; any other shape is no list key.
fn parse_list_key(key: &str, index_ok: &IndexCheck) -> ListKey {
    // Prefix by prefix, not split into segments: a tag-heavy request has hundreds of these keys.
    let Some((n, rest)) = key.strip_prefix(LIST).and_then(|k| k.strip_prefix('.')).and_then(split_dot) else {
        return ListKey::NotList;
    };
    let tag = match rest {
        RESOURCE_TYPE => None,
        _ => match rest.strip_prefix(TAG).and_then(|r| r.strip_prefix('.')).and_then(split_dot) {
            Some((m, what @ (KEY | VALUE))) => Some((m, what)),
            _ => return ListKey::NotList,
        },
    };
    let Some(n) = index_ok.index(n) else { return ListKey::BadIndex };
    let Some((m, what)) = tag else { return ListKey::Member { n, member: ListMember::ResourceType } };
    let Some(m) = index_ok.index(m) else { return ListKey::BadIndex };
    let member = if what == KEY { ListMember::TagKey(m) } else { ListMember::TagValue(m) };
    ListKey::Member { n, member }
}

/// `s.split_once('.')` by bytes: the indexes are a character or two, and `split_once` sets
/// up a searcher for each.
fn split_dot(s: &str) -> Option<(&str, &str)> {
    let dot = s.bytes().position(|b| b == b'.')?;
    Some((&s[..dot], &s[dot + 1..]))
}

/// The correctly spelled key when `key` differs from a known key only in ASCII letter case.
pub fn canonical_key(key: &str, simple_keys: &[String]) -> Option<String> {
    let segs: Vec<&str> = key.split('.').collect();
    let fix = |seg: &str, want: &str| seg.eq_ignore_ascii_case(want).then(|| want.to_owned());
    match segs.as_slice() {
        [one] => [ACTION, VERSION]
            .into_iter()
            .chain(simple_keys.iter().map(String::as_str))
            .find(|k| k.eq_ignore_ascii_case(one))
            .map(str::to_owned),
        [list, n, rt] => Some(format!("{}.{n}.{}", fix(list, LIST)?, fix(rt, RESOURCE_TYPE)?)),
        [list, n, tag, m, kv] => {
            let kv = fix(kv, KEY).or_else(|| fix(kv, VALUE))?;
            Some(format!("{}.{n}.{}.{m}.{kv}", fix(list, LIST)?, fix(tag, TAG)?))
        }
        _ => None,
    }
}

/// `params` with every case-variant key spelled right (the later key wins on a clash).
pub fn canonical_params(params: &Params, variants: &[(&str, String)]) -> Params {
    let mut out = params.clone();
    for (key, canon) in variants {
        if let Some(v) = out.remove(*key) {
            out.insert(canon.clone(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        ["Encrypted", "Name", "SourceImageId"].map(String::from).to_vec()
    }

    #[test]
    fn reads_lists_and_flags_odd_keys() {
        let re = IndexCheck::new(regex::Regex::new("^[1-9][0-9]*$").unwrap());
        let p: Params = [
            ("Name", "n"),
            ("TagSpecification.1.ResourceType", "image"),
            ("TagSpecification.1.Tag.2.Key", "k"),
            ("TagSpecification.0.ResourceType", "image"),
            ("TagSpecification.1.Tag.x.Value", "v"),
            ("encrypted", "true"),
            ("Foo", "1"),
            ("TagSpecification.1.Bar", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let k = keys();
        let r = Request::parse(&p, &k, &re);
        assert_eq!(r.tag_specs.len(), 1);
        assert_eq!(r.tag_specs[0].0, 1);
        assert_eq!(r.tag_specs[0].1.resource_type, Some("image"));
        assert_eq!(r.tag_specs[0].1.tags, vec![(2, (Some("k"), None))]);
        assert_eq!(r.bad_index, vec!["TagSpecification.0.ResourceType", "TagSpecification.1.Tag.x.Value"]);
        assert_eq!(r.case_variants, vec![("encrypted", "Encrypted".to_owned())]);
        assert_eq!(r.unknown, vec!["Foo", "TagSpecification.1.Bar"]);
    }

    #[test]
    fn an_index_is_what_the_pattern_and_a_parse_make_of_it() {
        let re = regex::Regex::new("^[1-9][0-9]*$").unwrap();
        let check = IndexCheck::new(re.clone());
        for s in ["1", "9", "10", "01", "0", "999", "099", "1000", "4294967296", "12a", "", "+1", "1.5"] {
            let want = if re.is_match(s) { s.parse::<u32>().ok() } else { None };
            assert_eq!(check.index(s), want, "{s:?}");
        }
    }

    #[test]
    fn keys_of_one_tag_merge_as_one_map_entry_would_even_apart() {
        // A pattern that lets `+2` and `2` both name tag 2; in key order they are apart.
        let re = IndexCheck::new(regex::Regex::new(r"^\+?[1-9][0-9]*$").unwrap());
        let p: Params = [
            ("TagSpecification.1.Tag.+2.Key", "a"),
            ("TagSpecification.1.Tag.+2.Value", "e"),
            ("TagSpecification.1.Tag.1.Key", "b"),
            ("TagSpecification.1.Tag.2.Key", "c"),
            ("TagSpecification.1.Tag.2.Value", "d"),
            ("TagSpecification.1.Tag.10.Value", "f"),
            ("TagSpecification.10.ResourceType", "x"),
            ("TagSpecification.2.ResourceType", "y"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let r = Request::parse(&p, &keys(), &re);
        let specs: Vec<u32> = r.tag_specs.iter().map(|(n, _)| *n).collect();
        assert_eq!(specs, [1, 2, 10]);
        let tags = &r.tag_specs[0].1.tags;
        assert_eq!(tags, &vec![(1, (Some("b"), None)), (2, (Some("c"), Some("d"))), (10, (None, Some("f")))]);
    }

    #[test]
    fn canonical_list_keys() {
        assert_eq!(
            canonical_key("tagspecification.1.tag.2.KEY", &keys()).as_deref(),
            Some("TagSpecification.1.Tag.2.Key")
        );
        assert_eq!(canonical_key("version", &keys()).as_deref(), Some("Version"));
        assert_eq!(canonical_key("Nome", &keys()), None);
    }
}
