//! `--partition K/N`: which share of a run's cases one machine sends, so that N machines
//! together send the whole run once, and what a shard's report says of its share.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How cases are dealt to shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShardBy {
    /// Round robin on the case's position: case `i` (from 0) goes to shard `i mod N + 1`, so
    /// the shards' sizes differ by at most one.
    Count,
    /// By a stable hash (64-bit FNV-1a) of the case id: a case keeps its shard when cases are
    /// added to or removed from a corpus.
    Hash,
}

/// One shard of N: `index` from 1 to `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, from 1.
    pub index: u32,
    /// How many shards.
    pub count: u32,
    /// How cases are dealt.
    pub by: ShardBy,
}

/// What a run's cases came from: the same for every shard of one run, so that merging can tell
/// shards of one run from reports of others.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The seed of the generated cases (and of the stateful sequences).
    pub seed: u64,
    /// Cases asked for (`--cases`), before any partition; a corpus run sends its corpus instead.
    pub cases: u64,
    /// `--only`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
    /// `--rule`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The baseline directory whose stored corpus the run sent, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corpus: Option<String>,
    /// Stateful sequences asked for (`--stateful`), before any partition.
    #[serde(default)]
    pub stateful: u32,
}

/// What a summary merged from shard reports says of its shards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merged {
    /// How many shards the run was split into.
    pub count: u32,
    /// How they were dealt.
    pub by: ShardBy,
    /// The shards whose reports were merged.
    pub present: Vec<u32>,
    /// The shards with no report: the merged run did not send their cases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<u32>,
}

/// A `--partition` value that names no shard.
#[derive(Debug, thiserror::Error)]
#[error("--partition {given:?}: {why}; give K/N (or count:K/N, hash:K/N) with 1 <= K <= N, e.g. 2/3")]
pub struct ShardError {
    /// The value given.
    pub given: String,
    /// What is wrong with it.
    pub why: String,
}

/// The most shards a run may be split into: more than any CI matrix runs (GitHub Actions
/// runs at most 256 jobs of one), few enough that a merged summary lists its missing shards.
pub const MAX_SHARDS: u32 = 10_000;

impl Shard {
    /// Why this shard, read back from a report, names none (`None` when it names one): what
    /// [`Shard::parse`] refuses.
    pub fn invalid(&self) -> Option<String> {
        if self.count == 0 || self.count > MAX_SHARDS {
            return Some(format!("N must be between 1 and {MAX_SHARDS}"));
        }
        (self.index == 0 || self.index > self.count).then(|| format!("K must be between 1 and N ({})", self.count))
    }

    /// Reads `K/N`, `count:K/N` or `hash:K/N`.
    pub fn parse(given: &str) -> Result<Shard, ShardError> {
        let err = |why: &str| ShardError { given: given.to_owned(), why: why.to_owned() };
        let (by, rest) = match given.split_once(':') {
            Some(("count", rest)) => (ShardBy::Count, rest),
            Some(("hash", rest)) => (ShardBy::Hash, rest),
            Some((other, _)) => return Err(err(&format!("unknown scheme {other:?} (count or hash)"))),
            None => (ShardBy::Count, given),
        };
        let (k, n) = rest.split_once('/').ok_or_else(|| err("no '/'"))?;
        let number = |s: &str, what: &str| s.parse::<u32>().map_err(|_| err(&format!("{what} {s:?} is not a number")));
        let shard = Shard { index: number(k, "K")?, count: number(n, "N")?, by };
        match shard.invalid() {
            Some(why) => Err(err(&why)),
            None => Ok(shard),
        }
    }

    /// Whether this shard sends the case at `position` (from 0, in the run's order) with `id`.
    pub fn keeps(&self, position: u64, id: &str) -> bool {
        self.slot(position, id) == self.index - 1
    }

    /// Which shard (from 0) sends the case at `position` with `id`, under this shard's scheme.
    pub fn slot(&self, position: u64, id: &str) -> u32 {
        let slot = match self.by {
            ShardBy::Count => position % u64::from(self.count),
            ShardBy::Hash => fnv1a(id.as_bytes()) % u64::from(self.count),
        };
        // Below `count`, a u32.
        slot as u32
    }
}

impl fmt::Display for ShardBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShardBy::Count => "count",
            ShardBy::Hash => "hash",
        })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.by, self.index, self.count)
    }
}

/// 64-bit FNV-1a: fixed by its definition, so shards stay the same across versions and
/// machines (std's hasher is not promised to).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_parse_and_print() {
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 2, count: 3, by: ShardBy::Count });
        assert_eq!(Shard::parse("10000/10000").unwrap().count, MAX_SHARDS);
        assert_eq!(Shard::parse("count:1/1").unwrap().to_string(), "count:1/1");
        assert_eq!(Shard::parse("hash:3/3").unwrap().to_string(), "hash:3/3");
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        for (given, why) in [
            ("0/3", "K must be between 1 and N (3)"),
            ("4/3", "K must be between 1 and N (3)"),
            ("1/0", "N must be between 1 and 10000"),
            ("1/10001", "N must be between 1 and 10000"),
            ("1/4000000000", "N must be between 1 and 10000"),
            ("3", "no '/'"),
            ("a/3", "K \"a\" is not a number"),
            ("1/-3", "N \"-3\" is not a number"),
            ("mod:1/3", "unknown scheme \"mod\""),
        ] {
            let e = Shard::parse(given).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--partition {given:?}: {why}")), "{e}");
        }
    }

    #[test]
    fn every_case_lands_in_exactly_one_shard() {
        for by in [ShardBy::Count, ShardBy::Hash] {
            for count in [1, 2, 3, 7] {
                for position in 0..500u64 {
                    let id = format!("{position:06}");
                    let owners = (1..=count).filter(|&index| Shard { index, count, by }.keeps(position, &id)).count();
                    assert_eq!(owners, 1, "{by} {position} of {count}");
                }
            }
        }
    }

    #[test]
    fn hashing_is_fixed_and_spreads_cases() {
        // FNV-1a's published test vector: the hash must never change between versions.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let shard = |index| Shard { index, count: 3, by: ShardBy::Hash };
        let sizes: Vec<usize> =
            (1..=3).map(|k| (0..3000u64).filter(|p| shard(k).keeps(*p, &format!("{p:06}"))).count()).collect();
        assert!(sizes.iter().all(|&n| (800..1200).contains(&n)), "{sizes:?}");
    }
}
