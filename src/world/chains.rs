//! `Chains`: lookups of positions by key that hold no copy of the key. A 64-bit hash of the key
//! leads to the last position recorded with it, and each position links to the previous one
//! with the same hash; the caller compares the real keys, so a hash collision costs a
//! comparison, never a wrong answer. A position keeps its hash folded to 32 bits (4 bytes a
//! position less): keys whose folded hashes collide share one chain, which costs the same.

use hashbrown::HashTable;

use super::segmented::Segmented;

/// The end of a chain.
const END: u32 = u32::MAX;

/// Positions by key hash, each linked to the previous position with the same hash.
#[derive(Clone, Debug, Default)]
pub(super) struct Chains {
    /// The last (highest) position recorded under each folded hash, found by `keys` of it.
    heads: HashTable<u32>,
    /// Per position, the folded hash it is linked under (anything for a position under none).
    keys: Segmented<u32>,
    /// Per position, the previous position under the same hash (`END` for none, or for a
    /// position recorded without a key).
    prev: Segmented<u32>,
}

/// A stable 64-bit hash of a string key: the same in every run and process. Eight bytes a
/// step: the keys are names and ids of tens of bytes, looked up on every prediction, and a
/// multiply per byte (FNV) was a visible share of it. Only lookups use it: equal hashes are
/// always followed by a comparison of the keys.
pub(super) fn hash(key: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes = key.as_bytes();
    // The length first, spread (so that a trailing NUL is no padding), then each word by a
    // step that loses nothing (odd multiply, xor-shift), then the tail and a full mix.
    let mut h = (0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        h = (h ^ u64::from_le_bytes(w.try_into().expect("eight bytes"))).wrapping_mul(K);
        h ^= h >> 32;
    }
    let tail = words.remainder().iter().enumerate().fold(0u64, |t, (i, &b)| t | u64::from(b) << (8 * i));
    h ^= tail;
    // MurmurHash3's finaliser: every output bit depends on every input bit.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// FNV-1a of the key with ASCII letters lowered, without building the lowered string. A
/// lean world keeps it as a token's identity when letter case is ignored (see
/// `copies::TokenKey`), so it is a hash of its own, not [`hash`] of the lowered key.
pub(super) fn hash_lower(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A key's hash folded to what a position keeps.
fn fold(key: u64) -> u32 {
    (key ^ (key >> 32)) as u32
}

/// The hash `heads` finds a folded hash by: spread over 64 bits, since the table takes its
/// probe tags from the top bits.
fn spread(folded: u32) -> u64 {
    u64::from(folded).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Chains {
    /// Positions recorded so far (linked or not).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.prev.len()
    }

    /// The bytes its vectors and table hold, for a test that bounds them per position.
    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        self.heads.capacity() * (size_of::<u32>() + 1) + self.keys.heap_bytes() + self.prev.heap_bytes()
    }

    fn head(&self, key: u64) -> Option<u32> {
        let k = fold(key);
        self.heads.find(spread(k), |&p| self.keys[p as usize] == k).copied()
    }

    /// Makes `pos` (recorded under `key` in `keys`) the head of `key`'s chain, or ends the chain.
    fn set_head(&mut self, key: u64, pos: Option<u32>) {
        let (keys, k) = (&self.keys, fold(key));
        match (self.heads.find_entry(spread(k), |&p| keys[p as usize] == k), pos) {
            (Ok(mut e), Some(p)) => *e.get_mut() = p,
            (Ok(e), None) => {
                e.remove();
            }
            (Err(_), Some(p)) => {
                self.heads.insert_unique(spread(k), p, |&q| spread(keys[q as usize]));
            }
            (Err(_), None) => {}
        }
    }

    /// Records the next position, under `key` when there is one.
    pub(super) fn push(&mut self, key: Option<u64>) {
        let at = self.prev.len() as u32;
        self.keys.push(key.map_or(0, fold));
        let prev = match key {
            Some(h) => {
                let before = self.head(h);
                self.set_head(h, Some(at));
                before.unwrap_or(END)
            }
            None => END,
        };
        self.prev.push(prev);
    }

    /// The positions under `key`, highest first (some may belong to other keys of the same hash).
    pub(super) fn under(&self, key: u64) -> impl Iterator<Item = usize> + '_ {
        let mut at = self.head(key).unwrap_or(END);
        std::iter::from_fn(move || {
            (at != END).then(|| {
                let here = at;
                at = self.prev[here as usize];
                here as usize
            })
        })
    }

    /// The lowest position under `key` that `is` accepts.
    pub(super) fn first(&self, key: u64, is: impl Fn(usize) -> bool) -> Option<usize> {
        self.under(key).filter(|&i| is(i)).last()
    }

    /// Takes position `pos` out of the chain of `key`; it stays recorded, under no key.
    pub(super) fn unlink(&mut self, key: u64, pos: usize) {
        let pos = pos as u32;
        let Some(head) = self.head(key) else { return };
        let after = self.prev[pos as usize];
        if head == pos {
            self.set_head(key, (after != END).then_some(after));
        } else {
            let mut at = head;
            while at != END {
                let next = self.prev[at as usize];
                if next == pos {
                    self.prev[at as usize] = after;
                    break;
                }
                at = next;
            }
        }
        self.prev[pos as usize] = END;
    }

    /// Puts an unlinked position `pos` into the chain of `key`, in order.
    pub(super) fn link(&mut self, key: u64, pos: usize) {
        let pos = pos as u32;
        self.keys[pos as usize] = fold(key);
        match self.head(key) {
            None => {
                self.set_head(key, Some(pos));
                self.prev[pos as usize] = END;
            }
            Some(head) if head < pos => {
                self.set_head(key, Some(pos));
                self.prev[pos as usize] = head;
            }
            Some(head) => {
                // Walk down to the last position above `pos`; `pos` goes right after it.
                let mut at = head;
                while self.prev[at as usize] != END && self.prev[at as usize] > pos {
                    at = self.prev[at as usize];
                }
                self.prev[pos as usize] = self.prev[at as usize];
                self.prev[at as usize] = pos;
            }
        }
    }

    /// Forgets the last position, recorded under `key` (the key it is linked under, if any).
    pub(super) fn pop(&mut self, key: Option<u64>) {
        let Some(prev) = self.prev.pop() else { return };
        let at = self.prev.len() as u32;
        if let Some(h) = key
            && self.head(h) == Some(at)
        {
            self.set_head(h, (prev != END).then_some(prev));
        }
        self.keys.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(c: &Chains, key: u64) -> Vec<usize> {
        c.under(key).collect()
    }

    #[test]
    fn chains_link_unlink_and_pop_in_order() {
        let mut c = Chains::default();
        for k in [1, 2, 1, 1, 2] {
            c.push(Some(k));
        }
        c.push(None);
        assert_eq!(all(&c, 1), [3, 2, 0]);
        assert_eq!(c.first(1, |i| i > 0), Some(2));
        c.unlink(1, 2);
        assert_eq!(all(&c, 1), [3, 0]);
        c.link(1, 2);
        assert_eq!(all(&c, 1), [3, 2, 0]);
        c.unlink(2, 4);
        c.link(2, 4);
        c.unlink(1, 0);
        assert_eq!(all(&c, 1), [3, 2]);
        c.link(7, 0);
        assert_eq!(all(&c, 7), [0]);
        c.pop(None);
        c.pop(Some(2));
        c.pop(Some(1));
        assert_eq!((all(&c, 1), all(&c, 2), c.len()), (vec![2], vec![1], 3));
    }

    #[test]
    fn keys_whose_folded_hashes_collide_share_a_chain() {
        // 1 << 32 and 1 fold alike: each key's positions are all found, among the other's.
        let mut c = Chains::default();
        for k in [1 << 32, 1, 1 << 32, 2] {
            c.push(Some(k));
        }
        assert_eq!((all(&c, 1), all(&c, 1 << 32), all(&c, 2)), (vec![2, 1, 0], vec![2, 1, 0], vec![3]));
        c.unlink(1, 1);
        c.pop(Some(2));
        c.pop(Some(1 << 32));
        assert_eq!((all(&c, 1 << 32), all(&c, 2)), (vec![0], vec![]));
    }

    #[test]
    fn hashes_are_stable_and_lowering_matches() {
        assert_eq!(hash_lower(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash_lower("AbC-1"), hash_lower("abc-1"));
        assert_eq!(hash(""), 0x292f_3a10_75f4_cce4);
        assert_ne!(hash_lower("abc"), hash_lower("abd"));
        // Every byte of every position counts, in the folded bits too: no two of these keys
        // (one byte changed anywhere, or one longer) share a folded hash.
        let mut keys = vec![String::new()];
        for len in 1..=40 {
            let base = "x".repeat(len);
            keys.push(base.clone());
            for at in 0..len {
                for c in ['y', '\0', 'X'] {
                    let mut k: Vec<char> = base.chars().collect();
                    k[at] = c;
                    keys.push(k.into_iter().collect());
                }
            }
        }
        let folded: std::collections::HashSet<u32> = keys.iter().map(|k| fold(hash(k))).collect();
        assert_eq!(folded.len(), keys.len());
    }
}
