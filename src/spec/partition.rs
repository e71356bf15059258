//! `[[partition]]`: the AWS partitions with their Regions and endpoint DNS suffixes, the index
//! that finds a Region's partition, and the host suffixes that make an endpoint AWS's.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use super::Spec;

/// `[[partition]]`: the Regions and endpoint DNS suffixes of one AWS partition.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// Partition name (`aws`, `aws-cn`, ...).
    pub name: String,
    /// DNS suffixes of its endpoints (`amazonaws.com`, `api.aws`, ...): a host under one is
    /// AWS's own.
    pub dns_suffixes: Vec<String>,
    /// Region codes.
    pub regions: Vec<String>,
}

/// Each Region's partition (the first that lists it), by position in the spec's list: the
/// oracle asks for every request.
#[derive(Clone, Debug, Default)]
pub(super) struct RegionIndex(HashMap<String, usize, BuildHasherDefault<Fnv>>);

impl RegionIndex {
    /// The index of `partitions`.
    pub(super) fn new(partitions: &[Partition]) -> Self {
        let mut index = HashMap::default();
        for (i, p) in partitions.iter().enumerate() {
            for r in &p.regions {
                index.entry(r.clone()).or_insert(i);
            }
        }
        RegionIndex(index)
    }

    /// The position of `region`'s partition.
    pub(super) fn get(&self, region: &str) -> Option<usize> {
        self.0.get(region).copied()
    }
}

/// FNV-1a for the short Region names the oracle looks up on every request: SipHash's
/// set-up cost was most of each lookup, and the keys come from the spec, not from peers.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// Host suffixes of AWS's own endpoints, derived from the spec's partitions (one list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsHosts {
    // Lower case, each with its leading dot, so that `notamazonaws.com` does not match.
    suffixes: Vec<String>,
}

impl AwsHosts {
    /// The suffixes of every partition in `spec`, deduplicated.
    pub fn from_spec(spec: &Spec) -> Self {
        let mut suffixes: Vec<String> = spec
            .partitions
            .iter()
            .flat_map(|p| &p.dns_suffixes)
            .map(|s| s.trim_matches('.').to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .map(|s| format!(".{s}"))
            .collect();
        suffixes.sort();
        suffixes.dedup();
        AwsHosts { suffixes }
    }

    /// The suffix `host` is under (with its leading dot), if any. Case and a trailing dot do
    /// not matter; a bare suffix (`amazonaws.com`) is no endpoint and does not match.
    pub fn suffix_of(&self, host: &str) -> Option<&str> {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        self.suffixes.iter().find(|suffix| h.ends_with(suffix.as_str())).map(String::as_str)
    }

    /// The suffixes, lower case, each with its leading dot.
    pub fn suffixes(&self) -> &[String] {
        &self.suffixes
    }

    /// Whether `host` is under one of the suffixes.
    pub fn contains(&self, host: &str) -> bool {
        self.suffix_of(host).is_some()
    }
}
