//! The compact forms a copy's texts and its token's call take in a world: the texts packed
//! in one buffer, and the call's parameters as 64-bit hashes (one per parameter, or one digest
//! per list of keys the comparison leaves out), which is all the idempotency rules compare
//! (docs/memory.md gives the odds of a hash collision deciding a verdict).

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::Params;

/// A copy's name, description and tags in one buffer: a flags byte (name present,
/// description present), then each text as a LEB128 length and its bytes, the tags as key,
/// value, key, value in key order.
pub(super) fn pack_texts(name: Option<&str>, description: Option<&str>, tags: &BTreeMap<String, String>) -> Box<[u8]> {
    let texts = name.into_iter().chain(description).chain(tags.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
    let mut out = vec![u8::from(name.is_some()) | (u8::from(description.is_some()) << 1)];
    for text in texts {
        let mut len = text.len();
        while len >= 0x80 {
            out.push((len & 0x7f) as u8 | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(text.as_bytes());
    }
    out.into_boxed_slice()
}

/// What [`pack_texts`] packed.
pub(super) struct Texts<'a> {
    pub(super) name: Option<&'a str>,
    pub(super) description: Option<&'a str>,
    pub(super) tags: Vec<(&'a str, &'a str)>,
}

/// Reads a buffer [`pack_texts`] wrote.
pub(super) fn unpack_texts(packed: &[u8]) -> Texts<'_> {
    let (flags, mut rest) = packed.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
    let name = (flags & 1 != 0).then(|| next_text(&mut rest));
    let description = (flags & 2 != 0).then(|| next_text(&mut rest));
    let mut tags = vec![];
    while !rest.is_empty() {
        let k = next_text(&mut rest);
        tags.push((k, next_text(&mut rest)));
    }
    Texts { name, description, tags }
}

fn next_text<'a>(rest: &mut &'a [u8]) -> &'a str {
    let (mut len, mut shift) = (0usize, 0);
    while let Some((&b, tail)) = rest.split_first() {
        *rest = tail;
        len |= usize::from(b & 0x7f) << shift;
        shift += 7;
        if b < 0x80 {
            break;
        }
    }
    let (text, tail) = rest.split_at(len.min(rest.len()));
    *rest = tail;
    // Packed from `str`s, at char boundaries.
    std::str::from_utf8(text).unwrap_or_default()
}

/// A strong 64-bit hash of a name (SipHash with fixed keys: the same within a process, where
/// worlds live): a predicting world keeps it instead of the name.
pub(super) fn name_hash(name: &str) -> u64 {
    keyed(0, |h| name.hash(h))
}

/// The key a token is found by: the parameter is equal in every call the token's use is compared
/// with, so it is not hashed.
const TOKEN_KEY: &str = "ClientToken";

/// A call's parameters as the idempotency rules compare them: per parameter but the token, in
/// key order, the hash of its key, then the hash of the key and value together.
pub(super) fn hash_params(params: &Params) -> Box<[u64]> {
    params.iter().filter(|(k, _)| *k != TOKEN_KEY).flat_map(|(k, v)| [key_hash(k), pair_hash(k, v)]).collect()
}

/// A call's parameters as one comparison reads them when it leaves out the keys in `ignored`:
/// the hash of every other parameter but the token, key and value, in key order (a `str`
/// hashes with a terminator no UTF-8 text contains, so the sequence is unambiguous).
pub(super) fn digest_params<S: AsRef<str>>(params: &Params, ignored: &[S]) -> u64 {
    keyed(3, |h| {
        for (k, v) in params.iter().filter(|(k, _)| *k != TOKEN_KEY && !ignored.iter().any(|i| i.as_ref() == *k)) {
            (k, v).hash(h);
        }
    })
}

/// Whether two lists of keys leave out the same keys (their order and repeats aside).
pub(super) fn same_keys<A: AsRef<str>, B: AsRef<str>>(a: &[A], b: &[B]) -> bool {
    a.iter().all(|x| b.iter().any(|y| y.as_ref() == x.as_ref()))
        && b.iter().all(|y| a.iter().any(|x| x.as_ref() == y.as_ref()))
}

fn key_hash(key: &str) -> u64 {
    keyed(1, |h| key.hash(h))
}

fn pair_hash(key: &str, value: &str) -> u64 {
    keyed(2, |h| (key, value).hash(h))
}

fn keyed(domain: u8, write: impl FnOnce(&mut DefaultHasher)) -> u64 {
    let mut h = DefaultHasher::new();
    domain.hash(&mut h);
    write(&mut h);
    h.finish()
}

/// Whether `now` (with the token of `before`'s call) has the parameters [`hash_params`] hashed
/// into `before`, leaving out the keys in `ignored`.
pub(super) fn same_hashed(now: &Params, before: &[u64], ignored: &[&str]) -> bool {
    let skip: Vec<u64> = ignored.iter().map(|k| key_hash(k)).collect();
    let relevant = |k: &str| k != TOKEN_KEY && !ignored.contains(&k);
    let now = now.iter().filter(|(k, _)| relevant(k)).map(|(k, v)| pair_hash(k, v));
    let before = before.chunks_exact(2).filter(|kp| !skip.contains(&kp[0])).map(|kp| kp[1]);
    now.eq(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(kv: &[(&str, &str)]) -> Params {
        kv.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn texts_round_trip() {
        let long = "é".repeat(200);
        let tags: BTreeMap<String, String> = [("k".into(), String::new()), (long.clone(), "v".into())].into();
        for (name, description) in [(Some("n"), None), (None, Some(long.as_str())), (Some(""), Some("d")), (None, None)]
        {
            let packed = pack_texts(name, description, &tags);
            let t = unpack_texts(&packed);
            assert_eq!((t.name, t.description), (name, description));
            assert_eq!(t.tags, [("k", ""), (long.as_str(), "v")]);
        }
        assert!(unpack_texts(&pack_texts(None, None, &BTreeMap::new())).tags.is_empty());
    }

    #[test]
    fn hashed_params_compare_like_the_params() {
        let before = params(&[("ClientToken", "a"), ("DryRun", "true"), ("Name", "n"), ("Version", "1")]);
        let hashed = hash_params(&before);
        let same = params(&[("ClientToken", "a"), ("DryRun", "true"), ("Name", "n"), ("Version", "2")]);
        assert!(same_hashed(&same, &hashed, &["ClientToken", "Version"]));
        assert!(!same_hashed(&same, &hashed, &["ClientToken"]));
        assert_eq!(hashed.len(), 6, "the token is not hashed");
        let no_dry_run = params(&[("ClientToken", "a"), ("Name", "n"), ("Version", "1")]);
        assert!(!same_hashed(&no_dry_run, &hashed, &[]));
        assert!(same_hashed(&no_dry_run, &hashed, &["DryRun"]));
        // A value moved to another key is another call.
        let moved = params(&[("ClientToken", "a"), ("DryRun", "true"), ("Namf", "n"), ("Version", "1")]);
        assert!(!same_hashed(&moved, &hashed, &[]));
        assert_ne!(name_hash("a"), name_hash("b"));
    }

    #[test]
    fn digests_compare_like_the_params() {
        let before = params(&[("ClientToken", "a"), ("DryRun", "true"), ("Name", "n"), ("Version", "1")]);
        let ignored = ["ClientToken", "Version"];
        let digest = digest_params(&before, &ignored);
        let other_version = params(&[("ClientToken", "b"), ("DryRun", "true"), ("Name", "n"), ("Version", "2")]);
        assert_eq!(digest_params(&other_version, &ignored), digest);
        assert_ne!(digest_params(&other_version, &["ClientToken"]), digest_params(&before, &["ClientToken"]));
        let no_dry_run = params(&[("Name", "n"), ("Version", "1")]);
        assert_ne!(digest_params(&no_dry_run, &ignored), digest);
        assert_eq!(digest_params(&no_dry_run, &["Version", "DryRun"]), digest_params(&before, &["DryRun", "Version"]));
        // Key and value are kept apart: a value moved into its key is another call.
        let split = params(&[("Na", "men")]);
        assert_ne!(digest_params(&split, &ignored), digest_params(&params(&[("Nam", "en")]), &ignored));
        assert!(same_keys(&["a", "b", "a"], &["b", "a"]) && !same_keys(&["a"], &["a", "b"]));
    }
}
