//! `[[partition]]`: the AWS partitions with their Regions and endpoint DNS suffixes, and the
//! index that finds a Region's partition.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

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
