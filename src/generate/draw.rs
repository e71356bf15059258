//! What the strategies draw from: alphabets, strings expanded from one seed, lengths with
//! their ends drawn often, and `Draw`, successive small choices from a few random words.

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use crate::oracle::Limits;

/// Characters a strategy draws from, split by how the spec's Name pattern treats them.
#[derive(Clone, Debug)]
pub struct Alphabets {
    /// Certainly allowed in a Name.
    pub name_ok: Vec<char>,
    /// Allowed only by the model's wider set.
    pub name_uncertain: Vec<char>,
    /// Allowed by neither.
    pub name_bad: Vec<char>,
}

impl Alphabets {
    /// Sorts printable ASCII (and a few non-ASCII letters) by the spec's patterns.
    pub fn from_limits(lim: &Limits) -> Self {
        let mut a = Alphabets { name_ok: vec![], name_uncertain: vec![], name_bad: vec![] };
        let candidates = (0x20u8..0x7f).map(char::from).chain(['é', '名', '\u{7f}', '\t', '\n']);
        for c in candidates {
            let s = c.to_string();
            if lim.name_re.is_match(&s) {
                a.name_ok.push(c);
            } else if lim.name_re_uncertain.as_ref().is_some_and(|re| re.is_match(&s)) {
                a.name_uncertain.push(c);
            } else {
                a.name_bad.push(c);
            }
        }
        a
    }
}

/// ASCII letters and digits.
pub(crate) const ALNUM: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w',
    'x', 'y', 'z', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T',
    'U', 'V', 'W', 'X', 'Y', 'Z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
];
/// Free text for descriptions and tag values: printable, with a space and non-ASCII letters.
pub(crate) const TEXT: &[char] =
    &['a', 'b', 'z', 'Q', '0', '9', ' ', '-', '_', '.', ':', '/', '=', '+', '@', 'é', 'ß', '名', '&', '%'];
/// Lower-case hexadecimal digits.
pub(crate) const HEX: &[char] = &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'];

/// The eight-byte words a seed expands to, one per eight characters.
fn words(mut seed: u64) -> impl Iterator<Item = [u8; 8]> {
    std::iter::from_fn(move || {
        // splitmix64: cheap and well spread; one draw gives eight characters.
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Some((z ^ (z >> 31)).to_le_bytes())
    })
}

/// An ASCII alphabet as `fill` reads it: the character each byte of a word picks, worked
/// out once, so that a hot caller's strings cost one table lookup per character.
pub(crate) struct AsciiTable([u8; 256]);

impl AsciiTable {
    /// The table of `alphabet`; `None` when a character is outside ASCII or there are none.
    pub(crate) const fn new(alphabet: &[char]) -> Option<Self> {
        if alphabet.is_empty() {
            return None;
        }
        let mut table = [0u8; 256];
        let mut b = 0;
        while b < 256 {
            // The same multiply-shift as `fill`'s `pick`.
            let c = alphabet[(b * alphabet.len()) >> 8];
            if !c.is_ascii() {
                return None;
            }
            table[b] = c as u8;
            b += 1;
        }
        Some(AsciiTable(table))
    }

    /// `prefix`, then `fill(alphabet, len, seed)`: the same characters, from the table.
    pub(crate) fn fill_after(&self, prefix: &str, len: usize, seed: u64) -> String {
        let mut bytes = Vec::with_capacity(prefix.len() + len);
        bytes.extend_from_slice(prefix.as_bytes());
        let mut words = words(seed).map(|word| word.map(|b| self.0[usize::from(b)]));
        // Whole words as arrays, so each copy is eight bytes known in advance, not a memcpy call.
        for _ in 0..len / 8 {
            bytes.extend_from_slice(&words.next().expect("endless"));
        }
        if !len.is_multiple_of(8) {
            bytes.extend_from_slice(&words.next().expect("endless")[..len % 8]);
        }
        String::from_utf8(bytes).expect("a str and ASCII characters")
    }
}

/// [`ALNUM`]'s table.
pub(crate) const ALNUM_TABLE: AsciiTable = match AsciiTable::new(ALNUM) {
    Some(t) => t,
    None => panic!("ALNUM is ASCII"),
};

/// A string of `len` characters from `alphabet`, expanded from one seed so a long string
/// costs one draw.
pub(crate) fn fill(alphabet: &[char], len: usize, seed: u64) -> String {
    // Multiply-shift maps a byte onto the alphabet without a division per character.
    let pick = |b: u8| alphabet[(usize::from(b) * alphabet.len()) >> 8];
    let mut words = words(seed);
    let mut left = len;
    // An OR over the whole alphabet (no early exit) compiles to a few vector instructions.
    if alphabet.iter().fold(0, |acc, &c| acc | u32::from(c)) < 0x80 {
        // Bytes, eight at a time: pushing chars one by one was the generator's costliest loop.
        let mut bytes = Vec::with_capacity(len);
        while left > 0 {
            let word = words.next().expect("endless");
            let n = left.min(8);
            bytes.extend(word[..n].iter().map(|&b| pick(b) as u8));
            left -= n;
        }
        return String::from_utf8(bytes).expect("ASCII characters");
    }
    // Characters outside ASCII: each pushed as it is picked. Bytes copied from a table of
    // encodings, then checked as UTF-8, cost more: the check goes byte by byte (and branch by
    // branch) through text that mixes in such characters, the descriptions and tag values.
    let mut s = String::with_capacity(len);
    while left > 0 {
        let word = words.next().expect("endless");
        let n = left.min(8);
        s.extend(word[..n].iter().map(|&b| pick(b)));
        left -= n;
    }
    s
}

/// Strings of a drawn length from `alphabet`.
pub(crate) fn text(alphabet: Vec<char>, len: impl Strategy<Value = usize> + 'static) -> BoxedStrategy<String> {
    (len, any::<u64>()).prop_map(move |(n, seed)| fill(&alphabet, n, seed)).boxed()
}

/// Lengths in `lo..=hi`, with both ends drawn often.
pub(crate) fn len_in(lo: usize, hi: usize) -> BoxedStrategy<usize> {
    any::<u64>().prop_map(move |w| Draw::new(&[w]).len(lo, hi)).boxed()
}

/// A string containing at least one character from `must`, the rest from `rest`.
pub(crate) fn with_one_of(must: Vec<char>, rest: Vec<char>, len: BoxedStrategy<usize>) -> BoxedStrategy<String> {
    (len, any::<u64>(), any::<prop::sample::Index>(), any::<prop::sample::Index>())
        .prop_map(move |(n, seed, at, pick)| {
            let mut chars: Vec<char> = fill(&rest, n.max(1), seed).chars().collect();
            let i = at.index(chars.len());
            chars[i] = *pick.get(&must);
            chars.into_iter().collect()
        })
        .boxed()
}

/// An Outpost ARN in `region`.
pub(crate) fn outpost_arn(region: &str, seed: u64) -> String {
    format!("arn:aws:outposts:{region}:123456789012:outpost/op-{}", fill(HEX, 17, seed))
}

/// Successive small choices taken from a few random words. Zero words give the simplest
/// choices (no optional member, shortest lengths), so proptest shrinks toward them.
pub(crate) struct Draw<'a> {
    words: &'a [u64],
    at: usize,
    cur: u64,
}

impl<'a> Draw<'a> {
    /// Choices from `words`, which must not be empty.
    pub(crate) fn new(words: &'a [u64]) -> Self {
        Draw { words, at: 1, cur: words[0] }
    }

    /// A number below `n`; 0 when the words are zero.
    pub(crate) fn take(&mut self, n: u64) -> u64 {
        if n <= 1 {
            return 0;
        }
        if self.cur < n && self.at < self.words.len() {
            self.cur = self.cur.wrapping_add(self.words[self.at].rotate_left(17));
            self.at += 1;
        }
        let r = self.cur % n;
        self.cur /= n;
        r
    }

    /// True with `percent` chance; false when the words are zero.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.take(100) >= 100 - percent
    }

    /// A length in `lo..=hi`, the ends drawn often.
    pub(crate) fn len(&mut self, lo: usize, hi: usize) -> usize {
        match self.take(10) {
            6 | 7 => lo,
            8 | 9 => hi,
            _ => lo + self.take((hi - lo + 1) as u64) as usize,
        }
    }

    /// A seed for `fill`.
    pub(crate) fn seed(&mut self) -> u64 {
        let s = self.words[self.at % self.words.len()] ^ self.cur.rotate_left(29) ^ self.at as u64;
        self.at += 1;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fill` as it was first written: one char at a time.
    fn char_by_char(alphabet: &[char], len: usize, mut seed: u64) -> String {
        let mut s = String::new();
        while s.chars().count() < len {
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            for b in (z ^ (z >> 31)).to_le_bytes().into_iter().take(len - s.chars().count()) {
                s.push(alphabet[(usize::from(b) * alphabet.len()) >> 8]);
            }
        }
        s
    }

    #[test]
    fn every_path_of_fill_draws_the_characters_one_at_a_time_would() {
        let wide: Vec<char> = ('a'..='z').chain(['é', '名', '\u{1F600}']).collect();
        let widest: Vec<char> = ('a'..='z').chain('A'..='Z').chain(['é', 'ß']).collect();
        for alphabet in [ALNUM, HEX, TEXT, &wide, &widest] {
            for (len, seed) in [(0, 1), (1, 2), (7, 3), (8, 4), (9, 5), (255, 6), (300, u64::MAX)] {
                assert_eq!(fill(alphabet, len, seed), char_by_char(alphabet, len, seed), "{alphabet:?} {len}");
            }
        }
        let odd: Vec<char> = "ab()./_ -'@XYZ019".chars().collect();
        for alphabet in [ALNUM, HEX, &odd] {
            let table = AsciiTable::new(alphabet).expect("ASCII");
            for (len, seed) in [(0, 1), (1, 2), (7, 3), (8, 4), (9, 5), (255, 6), (300, u64::MAX)] {
                assert_eq!(table.fill_after("", len, seed), fill(alphabet, len, seed), "{alphabet:?} {len}");
                assert_eq!(table.fill_after("k1-", len, seed), format!("k1-{}", fill(alphabet, len, seed)));
            }
        }
        assert!(AsciiTable::new(TEXT).is_none() && AsciiTable::new(&[]).is_none());
    }
}
