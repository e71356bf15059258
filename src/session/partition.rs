//! Which of a run's cases one shard sends (`--partition K/N`): cases dealt to shards in groups
//! that must meet the same endpoint.
//!
//! A case carries the requests it was generated to depend on (a replayed ClientToken, a
//! reused Name) as its own setup steps, so a case never needs another case's request. But the
//! runner predicts each request against a mirror of what the endpoint holds, so a case whose
//! Name or ClientToken an earlier case of the run also used is predicted (and answered) as a
//! duplicate or a replay: with the earlier case in another shard, it would be judged under
//! another rule. Cases that share a Name or a ClientToken are therefore one group, and a
//! group goes where its first case would go; the shards stay disjoint, and together they are
//! the whole run.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::generate::Case;
use crate::oracle::key;
use crate::report::Shard;

/// Whether shard `shard` sends each case of `cases` (in run order), by position.
pub(super) fn members<C: Borrow<Case>>(shard: Shard, cases: impl Iterator<Item = C>) -> Vec<bool> {
    let mut groups = Groups::default();
    for (position, case) in cases.enumerate() {
        let case = case.borrow();
        groups.add(shard.slot(position as u64, &case.id), case);
    }
    groups.members(shard)
}

/// Union-find over case positions, joined by the Names and ClientTokens they send.
#[derive(Default)]
struct Groups {
    /// Each case's parent; a root's parent is itself, and a root is its group's first case.
    parent: Vec<usize>,
    /// Each case's shard (from 0) if it went alone.
    slot: Vec<u32>,
    /// A Name's or ClientToken's first case (by a hash of the value: a collision only joins
    /// two groups, which keeps the shards correct).
    first: HashMap<u64, usize>,
}

impl Groups {
    fn add(&mut self, slot: u32, case: &Case) {
        let position = self.parent.len();
        self.parent.push(position);
        self.slot.push(slot);
        let steps = case.setup.iter().map(|s| &s.params).chain([&case.params]);
        for params in steps {
            for k in [key::NAME, key::CLIENT_TOKEN] {
                // An empty Name or token makes no copy and replays nothing.
                let Some(value) = params.get(k).filter(|v| !v.is_empty()) else { continue };
                let mut h = DefaultHasher::new();
                (k, value).hash(&mut h);
                match self.first.get(&h.finish()) {
                    Some(&other) => self.join(other, position),
                    None => drop(self.first.insert(h.finish(), position)),
                }
            }
        }
    }

    fn root(&mut self, mut p: usize) -> usize {
        while self.parent[p] != p {
            self.parent[p] = self.parent[self.parent[p]];
            p = self.parent[p];
        }
        p
    }

    /// Joins two groups under the earlier root, so a group's root stays its first case.
    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        let (keep, child) = if ra <= rb { (ra, rb) } else { (rb, ra) };
        self.parent[child] = keep;
    }

    fn members(mut self, shard: Shard) -> Vec<bool> {
        let roots: Vec<usize> = (0..self.parent.len()).map(|p| self.root(p)).collect();
        roots.into_iter().map(|r| self.slot[r] == shard.index - 1).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Generator;
    use crate::oracle::Oracle;
    use crate::report::ShardBy;
    use crate::world::World;

    fn cases(n: usize) -> Vec<Case> {
        let o = Oracle::builtin().unwrap();
        Generator::new(&o, World::default_world(), 5, None, None).unwrap().take(n).collect::<Result<_, _>>().unwrap()
    }

    fn names_and_tokens(c: &Case) -> Vec<String> {
        let steps = c.setup.iter().map(|s| &s.params).chain([&c.params]);
        steps
            .flat_map(|p| [key::NAME, key::CLIENT_TOKEN].map(|k| p.get(k).filter(|v| !v.is_empty()).cloned()))
            .flatten()
            .collect()
    }

    #[test]
    fn shards_are_disjoint_whole_and_keep_cases_sharing_a_name_or_token_together() {
        let all = cases(600);
        for by in [ShardBy::Count, ShardBy::Hash] {
            let shards: Vec<Vec<bool>> =
                (1..=3).map(|index| members(Shard { index, count: 3, by }, all.iter())).collect();
            for p in 0..all.len() {
                assert_eq!(shards.iter().filter(|s| s[p]).count(), 1, "{by}: case {p} in exactly one shard");
            }
            let shard_of = |p: usize| shards.iter().position(|s| s[p]).unwrap();
            let mut seen: HashMap<String, usize> = HashMap::new();
            let mut shared = 0;
            for (p, c) in all.iter().enumerate() {
                for v in names_and_tokens(c) {
                    if let Some(&q) = seen.get(&v) {
                        shared += 1;
                        assert_eq!(shard_of(p), shard_of(q), "{by}: cases {q} and {p} both send {v:?}");
                    }
                    seen.entry(v).or_insert(p);
                }
            }
            // Replays and reused Names inside a case, and world names reused across cases.
            assert!(shared > 20, "{shared}");
            let sizes: Vec<usize> = shards.iter().map(|s| s.iter().filter(|k| **k).count()).collect();
            assert!(sizes.iter().all(|&n| n > 120), "{by}: {sizes:?}");
        }
    }

    #[test]
    fn a_case_that_shares_nothing_goes_where_its_position_says() {
        let all = cases(120);
        let mut users: HashMap<String, std::collections::BTreeSet<usize>> = HashMap::new();
        for (p, c) in all.iter().enumerate() {
            for v in names_and_tokens(c) {
                users.entry(v).or_default().insert(p);
            }
        }
        let alone: Vec<usize> =
            (0..all.len()).filter(|&p| names_and_tokens(&all[p]).iter().all(|v| users[v].len() == 1)).collect();
        assert!(alone.len() > 60, "{}", alone.len());
        let kept = members(Shard { index: 2, count: 3, by: ShardBy::Count }, all.iter());
        for p in alone {
            assert_eq!(kept[p], p % 3 == 1, "case {p}");
        }
    }
}
