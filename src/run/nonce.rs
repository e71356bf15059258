//! The per-run nonce that keeps runs against one long-lived endpoint apart: the Names and
//! ClientTokens a run sends are its generated ones with every letter and digit rotated by a
//! per-run key, so an earlier run's copies and tokens never meet this run's requests.
//!
//! The rotation keeps each value's length and the class of each character (a character
//! AWS certainly allows in a Name, one it may allow, anything else), so a Name that is too
//! long, too short or carries a bad character stays so; two values equal in one run stay
//! equal and two different ones stay different. Moving the punctuation of the first class
//! too widens the room of a short Name, so two runs rarely send the same one.
//! Snapshots undo it ([`Nonce::undo`]), so baselines compare across runs.
//!
//! What no rotation can rule out: because it keeps a value's length, two runs' nonces can map
//! two different short Names onto one sent Name (there are 67^3 Names of 3 characters), and
//! the later copy then meets the earlier one's Name. The runner learns such a Name from the
//! endpoint when it is refused (see `earlier`).

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::splitmix64;
use crate::world::{ImageState, Params, World};

/// The characters a Name certainly may carry (the built-in spec's Name `pattern`; a test
/// keeps the two in step): the first class the rotation moves. A nonce is written with its
/// letters and digits.
const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz()./_- ";
/// Letters and digits: the characters a nonce is written with.
const NONCE_CHARS: usize = 62;
/// The characters only the model allows in a Name (the spec's `pattern_uncertain` less its
/// `pattern`): the second class.
const UNCERTAIN: &[u8] = b"[]'@";
/// Characters in a nonce's text.
const LEN: usize = 8;

/// One run's key: eight letters or digits, none of them `0` (a shift of 0 would leave a
/// character as it was).
#[derive(Clone, Debug)]
pub struct Nonce {
    text: String,
    /// How far each class turns at each of the text's characters, forward and back: worked
    /// out once, as every Name and ClientToken of a run is turned.
    forward: Turns,
    back: Turns,
    /// The forward turns as byte maps, made on the first forward rotation: the run's nonce turns
    /// every Name and ClientToken it sends, a nonce read back from a record only undoes a few.
    forward_maps: OnceLock<Box<ByteMaps>>,
}

// Everything else is worked out from the text.
impl PartialEq for Nonce {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Nonce {}

/// Per character of a nonce's text, every byte's turn: a byte of neither class, and any byte
/// of a character outside ASCII, maps to itself.
type ByteMaps = [[u8; 256]; LEN];

/// The byte maps of `turns`.
fn byte_maps(turns: &Turns) -> Box<ByteMaps> {
    let mut maps = Box::new([[0u8; 256]; LEN]);
    for (map, &(certain, uncertain)) in maps.iter_mut().zip(&turns.at[..turns.count]) {
        for (b, to) in map.iter_mut().enumerate() {
            *to = turn_byte(b as u8, certain, uncertain);
        }
    }
    maps
}

/// The turns of the two classes at each character of a nonce's text, and how many there are.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Turns {
    at: [(usize, usize); LEN],
    count: usize,
}

impl Turns {
    /// The turns of `text`, forward or back: a turn back is the turn forward by the rest of
    /// the class.
    fn of(text: &str, forward: bool) -> Self {
        let mut at = [(0, 0); LEN];
        let mut count = 0;
        for (turn, shift) in at.iter_mut().zip(text.chars().filter_map(position)) {
            let by = |n: usize| if forward { shift % n } else { (n - shift % n) % n };
            *turn = (by(ALPHABET.len()), by(UNCERTAIN.len()));
            count += 1;
        }
        Turns { at, count }
    }
}

/// Each byte's position in `class`, `u8::MAX` for a byte not in it. Every character of every
/// rotated value is looked up, so the lookup is a table, not a search.
const fn positions(class: &[u8]) -> [u8; 256] {
    let mut at = [u8::MAX; 256];
    let mut i = 0;
    while i < class.len() {
        at[class[i] as usize] = i as u8;
        i += 1;
    }
    at
}

const ALPHABET_AT: [u8; 256] = positions(ALPHABET);
const UNCERTAIN_AT: [u8; 256] = positions(UNCERTAIN);

/// The position of `c` in the class whose [`positions`] are `at`.
fn position_in(at: &[u8; 256], c: char) -> Option<usize> {
    let p = at[usize::from(u8::try_from(c).ok()?)];
    (p != u8::MAX).then_some(usize::from(p))
}

/// The position of a character of the first class.
fn position(c: char) -> Option<usize> {
    position_in(&ALPHABET_AT, c)
}

impl Nonce {
    /// A fresh nonce from the clock and the process id: runs that follow each other, or run
    /// side by side, get different ones.
    pub fn fresh() -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        // Fold the 128-bit count of nanoseconds and the pid into one seed.
        // A count of the nonces made so far keeps two made in the same nanosecond apart.
        static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let made = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut x = (nanos as u64) ^ ((nanos >> 64) as u64) ^ (u64::from(std::process::id()) << 32) ^ splitmix64(made);
        let mut text = String::with_capacity(LEN);
        for _ in 0..LEN {
            x = splitmix64(x);
            // 1..=61: never the identity shift.
            text.push(char::from(ALPHABET[1 + (x % (NONCE_CHARS as u64 - 1)) as usize]));
        }
        Nonce::of(text)
    }

    fn of(text: String) -> Self {
        Nonce { forward: Turns::of(&text, true), back: Turns::of(&text, false), forward_maps: OnceLock::new(), text }
    }

    /// The nonce written as `text` (as records keep it); `None` unless it is eight letters or
    /// digits without `0`.
    pub fn parse(text: &str) -> Option<Self> {
        let ok =
            text.chars().count() == LEN && text.chars().all(|c| position(c).is_some_and(|p| p > 0 && p < NONCE_CHARS));
        ok.then(|| Nonce::of(text.to_owned()))
    }

    /// Its text.
    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `value` with every character of a class turned by the nonce: the i-th character by the
    /// position of the nonce's (i mod 8)-th, forward or back.
    ///
    /// Works on the bytes in place: only ASCII bytes (the classes' characters) are replaced, by
    /// ASCII bytes, so the text stays UTF-8; a character of several bytes counts once, at its
    /// first byte.
    fn rotate(&self, value: String, forward: bool) -> String {
        let Turns { at: turns, count } = if forward { &self.forward } else { &self.back };
        let count = *count;
        if count == 0 {
            return String::new();
        }
        let maps = forward.then(|| self.forward_maps.get_or_init(|| byte_maps(&self.forward)));
        let mut bytes = value.into_bytes();
        let mut at = 0;
        for b in &mut bytes {
            // A continuation byte belongs to the character its first byte began.
            if *b & 0xc0 == 0x80 {
                continue;
            }
            *b = match maps {
                Some(maps) => maps[at][usize::from(*b)],
                None => turn_byte(*b, turns[at].0, turns[at].1),
            };
            at = if at + 1 == count { 0 } else { at + 1 };
        }
        String::from_utf8(bytes).expect("ASCII bytes replaced by ASCII bytes keep the text UTF-8")
    }

    /// The value as this run sends it.
    #[cfg(test)]
    pub fn apply(&self, value: &str) -> String {
        self.rotate(value.to_owned(), true)
    }

    /// The generated value back from the one sent.
    pub fn undo(&self, value: &str) -> String {
        self.rotate(value.to_owned(), false)
    }

    /// The request as this run sends it: `ClientToken`, and `Name` unless it is in `kept`;
    /// with the record of what was rotated, when anything was.
    pub fn params(&self, mut out: Params, kept: &HashSet<String>) -> (Params, Option<Rotation>) {
        let mut keys = vec![];
        for key in [NAME, TOKEN] {
            if let Some(v) = out.get_mut(key)
                && !(key == NAME && kept.contains(v.as_str()))
            {
                *v = self.rotate(std::mem::take(v), true);
                keys.push(key.to_owned());
            }
        }
        let rotation = (!keys.is_empty()).then(|| Rotation { nonce: self.text.clone(), keys });
        (out, rotation)
    }
}

/// Which of a request's values a nonce rotated: what a record needs to give the generated
/// request back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// The nonce's text.
    pub nonce: String,
    /// The keys whose values it rotated.
    pub keys: Vec<String>,
}

impl Rotation {
    /// Whether it rotated the request's Name.
    pub fn rotated_name(&self) -> bool {
        self.keys.iter().any(|k| k == NAME)
    }

    /// The (sent, generated) pairs of the rotated values in `sent`.
    pub fn pairs(&self, sent: &Params) -> Vec<(String, String)> {
        let Some(nonce) = Nonce::parse(&self.nonce) else { return vec![] };
        self.keys.iter().filter_map(|k| sent.get(k)).map(|v| (v.clone(), nonce.undo(v))).collect()
    }

    /// The request as generated, from the one sent.
    pub fn generated(&self, sent: &Params) -> Params {
        let mut out = sent.clone();
        if let Some(nonce) = Nonce::parse(&self.nonce) {
            for k in &self.keys {
                if let Some(v) = out.get_mut(k) {
                    *v = nonce.rotate(std::mem::take(v), false);
                }
            }
        }
        out
    }

    /// `text` (a message, a verdict) with the sent values written as generated: where a
    /// message quotes a value (`Value (x)`, `'x'`, `"x"`, `[x]`), and where it stands on its own
    /// (`Standing`): a value of at least three letters or digits (`ALONE_MIN`) wherever no
    /// letter or digit touches it, so that it does not rewrite words (`expected`); one of three
    /// characters or more with fewer letters and digits only between spaces (`AMI name a-b is`),
    /// and never when a space is its own edge; one of punctuation alone only so, and only when
    /// the text quotes it nowhere. A shorter value is undone only where it is quoted: standing
    /// alone, it cannot be told from the text's own (`<p>` in an HTML error page is the
    /// one-letter Name `p` in a run whose nonce sent it so).
    pub fn undo_text(&self, sent: &Params, text: &str) -> String {
        let mut out = text.to_owned();
        for (from, to) in self.pairs(sent) {
            // An empty value is everywhere, and one the rotation left alone needs nothing.
            if from.is_empty() || from == to {
                continue;
            }
            // A value rotated into punctuation (`v` sent as `)`) stands alone next to the
            // message's own brackets: only its quoted form says which `)` it is.
            let quoted = QUOTES.iter().fold(None::<String>, |done, (open, close)| {
                let (quoted_from, quoted_to) = (format!("{open}{from}{close}"), format!("{open}{to}{close}"));
                let base = done.as_deref().unwrap_or(&out);
                base.contains(&quoted_from).then(|| base.replace(&quoted_from, &quoted_to)).or(done)
            });
            let alone = (quoted.is_none() || from.chars().any(|c| c.is_ascii_alphanumeric()))
                .then(|| Standing::of(&from))
                .flatten();
            if let Some(q) = quoted {
                out = q;
            }
            // Rotation keeps a value's length, so no undone value holds a sent one.
            if let Some(standing) = alone {
                out = replace_standalone(&out, &from, &to, standing);
            }
        }
        out
    }
}

/// The fewest letters and digits of a rotated value undone wherever no letter or digit touches
/// it. Fewer are often in a text by chance (`p`, `en`, `h1` in an HTML page, `id ` in
/// `The image id '[ami-…]'`), and which text a nonce turns them into changes from run to run:
/// undone there, a snapshot would change with the nonce. Three random letters or digits stand
/// alone in a reply by chance about once in 10^5 cases. Punctuation and spaces count for
/// nothing: a space at a value's edge meets the word test by itself, and `'`, `.` or `)`
/// follow words in every message.
const ALONE_MIN: usize = 3;

/// Where a rotated value is undone unquoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    /// Wherever no letter or digit touches it: a value of `ALONE_MIN` letters and digits or more.
    Alone,
    /// Only between whitespace or the text's ends: a value of `ALONE_MIN` characters or more,
    /// fewer of them letters or digits, with no whitespace at its own edges.
    BetweenSpaces,
}

impl Standing {
    /// Where `value` is undone unquoted; `None`: nowhere.
    fn of(value: &str) -> Option<Self> {
        let alnum = value.chars().filter(char::is_ascii_alphanumeric).count();
        let spaced_edge = value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace);
        if alnum >= ALONE_MIN {
            Some(Standing::Alone)
        } else if value.chars().count() >= ALONE_MIN && !spaced_edge {
            Some(Standing::BetweenSpaces)
        } else {
            None
        }
    }

    /// Whether `c`, the character beside an occurrence (`None` at the text's ends), lets it
    /// stand.
    fn allows(self, c: Option<char>) -> bool {
        match self {
            Standing::Alone => !c.is_some_and(|c| c.is_ascii_alphanumeric()),
            Standing::BetweenSpaces => c.is_none_or(char::is_whitespace),
        }
    }
}

/// How EC2 messages quote a value: `Value (x) for parameter`, `'x'`, `"x"`, `[x]`.
const QUOTES: [(&str, &str); 4] = [("(", ")"), ("'", "'"), ("\"", "\""), ("[", "]")];

/// `text` with each occurrence of `from` that stands as `standing` says replaced by `to`.
/// Occurrences that overlap one that does not stand are looked at too (`a.a` stands at the
/// end of `xa.a.a`, not at its start).
fn replace_standalone(text: &str, from: &str, to: &str, standing: Standing) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut rest, mut from_at) = (0, 0);
    while let Some(found) = text[from_at..].find(from) {
        let at = from_at + found;
        let end = at + from.len();
        if standing.allows(text[..at].chars().next_back()) && standing.allows(text[end..].chars().next()) {
            out.push_str(&text[rest..at]);
            out.push_str(to);
            (rest, from_at) = (end, end);
        } else {
            // The next occurrence may start inside this one: one character on.
            from_at = at + text[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    out.push_str(&text[rest..]);
    out
}

/// `b` turned: by `certain` places within the first class, by `uncertain` within the second,
/// itself when it is in neither.
fn turn_byte(b: u8, certain: usize, uncertain: usize) -> u8 {
    let (p, q) = (ALPHABET_AT[usize::from(b)], UNCERTAIN_AT[usize::from(b)]);
    if p != u8::MAX {
        turned(ALPHABET, p, certain)
    } else if q != u8::MAX {
        turned(UNCERTAIN, q, uncertain)
    } else {
        b
    }
}

/// The character of `class` `by` places after the one at `p` (both less than its length),
/// round to its start.
fn turned(class: &[u8], p: u8, by: usize) -> u8 {
    let to = usize::from(p) + by;
    class[if to >= class.len() { to - class.len() } else { to }]
}

const NAME: &str = "Name";
const TOKEN: &str = "ClientToken";

/// The Names a run sends as generated: those of the caller's images in the endpoint's Region
/// when the run starts. A case that reuses one aims at the duplicate-name rule, and such a
/// copy is refused in every run alike, so it changes nothing a later run sees.
pub fn kept_names(world: &World) -> HashSet<String> {
    world
        .images
        .iter()
        .filter(|i| {
            i.region == world.region && world.owner_of(i) == world.account && i.state != ImageState::Deregistered
        })
        .filter_map(|i| i.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_occurrence_that_overlaps_one_that_does_not_stand_is_still_undone() {
        let standing = Standing::of("ab.ab").unwrap();
        assert_eq!(replace_standalone("xab.ab.ab", "ab.ab", "CD.CD", standing), "xab.CD.CD");
        assert_eq!(replace_standalone("xab.ab.abx", "ab.ab", "CD.CD", standing), "xab.ab.abx", "none stands");
        assert_eq!(
            replace_standalone("ab.ab.ab", "ab.ab", "CD.CD", standing),
            "CD.CD.ab",
            "the first, then no overlap"
        );
        assert_eq!(replace_standalone("é ab.ab, ab.ab", "ab.ab", "CD.CD", standing), "é CD.CD, CD.CD");
    }

    #[test]
    fn the_class_tables_agree_with_the_classes() {
        for c in (0..=255u8).map(char::from).chain(['é', '名', '\u{1F600}']) {
            let search = |class: &[u8]| u8::try_from(c).ok().and_then(|b| class.iter().position(|&a| a == b));
            assert_eq!(position(c), search(ALPHABET), "{c:?}");
            assert_eq!(position_in(&UNCERTAIN_AT, c), search(UNCERTAIN), "{c:?}");
        }
    }

    #[test]
    fn rotation_keeps_length_and_classes_and_undoes() {
        let n = Nonce::parse("Zz9aB1cD").unwrap();
        for v in ["my-copy", "ab", &"x".repeat(129), "name with [brackets] @ it's", "", "ééé", "token-123"] {
            let sent = n.apply(v);
            assert_eq!(sent.chars().count(), v.chars().count(), "{v}");
            for (a, b) in v.chars().zip(sent.chars()) {
                assert_eq!(position(a).is_some(), position(b).is_some(), "{v} -> {sent}");
                assert_eq!(
                    position_in(&UNCERTAIN_AT, a).is_some(),
                    position_in(&UNCERTAIN_AT, b).is_some(),
                    "{v} -> {sent}"
                );
                if position(a).is_some() {
                    assert_ne!(a, b, "every character a Name certainly allows moves");
                }
            }
            assert_eq!(n.undo(&sent), v);
        }
        assert_eq!(n.apply("a-b"), "2xk");
        assert_eq!(n.apply("ééé"), "ééé");
    }

    /// The rotation character by character, as the nonce defines it: the i-th character turned
    /// by the nonce's (i mod 8)-th.
    fn rotated_by_chars(n: &Nonce, value: &str, forward: bool) -> String {
        let shifts: Vec<usize> = n.text.chars().filter_map(position).collect();
        let turn = |class: &[u8], p: usize, shift: usize| {
            let (len, shift) = (class.len(), shift % class.len());
            char::from(class[if forward { (p + shift) % len } else { (p + len - shift) % len }])
        };
        value
            .chars()
            .zip(shifts.iter().cycle())
            .map(|(c, &shift)| match (position(c), position_in(&UNCERTAIN_AT, c)) {
                (Some(p), _) => turn(ALPHABET, p, shift),
                (None, Some(p)) => turn(UNCERTAIN, p, shift),
                (None, None) => c,
            })
            .collect()
    }

    #[test]
    fn the_rotation_in_place_is_the_rotation_by_characters() {
        let n = Nonce::parse("Zz9aB1cD").unwrap();
        let all: String = (0u8..0x80).map(char::from).collect();
        let values =
            ["", "a", "my-copy", "é-a名b\u{1F600}c[d]'e@f", "\u{1F600}\u{1F600}xyz", all.as_str(), "ééé ééé (x)"];
        for v in values.iter().map(|v| v.to_string()).chain([all.repeat(3), "名a".repeat(20)]) {
            for forward in [true, false] {
                assert_eq!(n.rotate(v.clone(), forward), rotated_by_chars(&n, &v, forward), "{v:?} {forward}");
            }
        }
    }

    #[test]
    fn fresh_nonces_differ_and_parse_back() {
        let (a, b) = (Nonce::fresh(), Nonce::fresh());
        assert_ne!(a, b);
        assert_eq!(Nonce::parse(a.as_str()), Some(a.clone()));
        assert_eq!(Nonce::parse("short"), None);
        assert_eq!(Nonce::parse("0aaaaaaa"), None);
    }

    #[test]
    fn names_of_the_callers_images_are_kept() {
        let world = World::default_world();
        let kept = kept_names(&world);
        let mine = world
            .images
            .iter()
            .find(|i| i.region == world.region && world.owner_of(i) == world.account && i.name.is_some())
            .and_then(|i| i.name.clone())
            .unwrap();
        assert!(kept.contains(&mine));
        let n = Nonce::parse("abcdefgh").unwrap();
        let p: Params = [("Name", mine.as_str()), ("ClientToken", "t-1"), ("Description", "d")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let (sent, rotation) = n.params(p.clone(), &kept);
        assert_eq!(sent["Name"], mine);
        assert_ne!(sent["ClientToken"], "t-1");
        assert_eq!(sent["Description"], "d");
        let rotation = rotation.unwrap();
        assert_eq!(rotation.keys, ["ClientToken"]);
        assert_eq!(rotation.generated(&sent), p);
        let message = format!("token {} was used", sent["ClientToken"]);
        assert_eq!(rotation.undo_text(&sent, &message), "token t-1 was used");
        let other: Params = [("Name", "fresh-name")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
        assert_ne!(n.params(other, &kept).0["Name"], "fresh-name");
        assert_eq!(n.params(Params::new(), &kept), (Params::new(), None));
        // A value of three letters is undone where it stands alone, never inside a word.
        let named = Rotation { nonce: n.as_str().to_owned(), keys: vec!["Name".into()] };
        let sent: Params = [("Name".to_owned(), n.apply("Hey"))].into_iter().collect();
        let x = &sent["Name"];
        let text = format!("name {x} taken, {x}{x} and e{x}pected stay; ({x})");
        assert_eq!(named.undo_text(&sent, &text), format!("name Hey taken, {x}{x} and e{x}pected stay; (Hey)"));
        // A one- or two-letter value only where it is quoted: `<p>` of an HTML page stays
        // `<p>` whatever the nonce made of the Name (the moto gate's flake).
        for short in ["H", "Hi"] {
            let sent: Params = [("Name".to_owned(), n.apply(short))].into_iter().collect();
            let x = &sent["Name"];
            let text = format!("<{x}>The server; name ({x}) and '{x}'");
            assert_eq!(named.undo_text(&sent, &text), format!("<{x}>The server; name ({short}) and '{short}'"));
        }
    }

    #[test]
    fn a_value_of_few_letters_is_undone_unquoted_only_between_spaces() {
        let n = Nonce::parse("Zz9aB1cD").unwrap();
        let named = Rotation { nonce: n.as_str().to_owned(), keys: vec!["Name".into()] };
        let undone = |sent: &str, text: &str| {
            let params: Params = [("Name".to_owned(), sent.to_owned())].into_iter().collect();
            named.undo_text(&params, text)
        };
        // The LocalStack gate's flake: the Name `dAX` sent as `id ` in the case's run, and the
        // message's own `id ` beside a quote.
        let message = "The image id '[ami-0123456789ABCDEF0]' does not exist";
        assert_eq!(undone("id ", message), message);
        assert_eq!(undone(" id", "image  id  is"), "image  id  is");
        // Two letters and a mark: between spaces, not beside the message's own punctuation.
        let x = "i-d";
        let generated = n.undo(x);
        assert_eq!(undone(x, "AMI name i-d is already in use"), format!("AMI name {generated} is already in use"));
        assert_eq!(undone(x, "i-d"), generated);
        assert_eq!(undone(x, "(i-d: \"i-d.\")"), "(i-d: \"i-d.\")");
        assert_eq!(undone(x, "ami-i-d."), "ami-i-d.");
        // Three letters or digits stand wherever no letter or digit touches them.
        let y = "a b c";
        assert_eq!(undone(y, "name a b c."), format!("name {}.", n.undo(y)));
    }

    #[test]
    fn a_value_rotated_into_punctuation_is_undone_where_the_message_quotes_it() {
        // The nonce that sends the one-letter Name `v` as `)`: the message's own brackets
        // stand next to it, and only the quoted `)` is the Name (the partition test's flake).
        let n = (1..NONCE_CHARS)
            .map(|i| Nonce::of(char::from(ALPHABET[i]).to_string().repeat(LEN)))
            .find(|n| n.apply("v") == ")")
            .unwrap();
        let rotation = Rotation { nonce: n.as_str().to_owned(), keys: vec!["Name".into()] };
        let sent: Params = [("Name".to_owned(), ")".to_owned())].into_iter().collect();
        let message = "Value ()) for parameter name is invalid. Must be between 3 and 128 characters (rule R07).";
        assert_eq!(
            rotation.undo_text(&sent, message),
            "Value (v) for parameter name is invalid. Must be between 3 and 128 characters (rule R07)."
        );
        for (open, close) in QUOTES {
            let text = format!("name {open}){close} (taken)");
            assert_eq!(rotation.undo_text(&sent, &text), format!("name {open}v{close} (taken)"));
        }
    }

    #[test]
    fn the_classes_are_the_specs_name_character_sets() {
        let spec = crate::spec::Spec::builtin().unwrap();
        let name = spec.param("Name").unwrap();
        let certain = regex::Regex::new(name.pattern.as_deref().unwrap()).unwrap();
        let model = regex::Regex::new(name.pattern_uncertain.as_deref().unwrap()).unwrap();
        let printable = (0x20u8..0x7f).map(char::from);
        let mut want_certain: Vec<char> = printable.clone().filter(|c| certain.is_match(&c.to_string())).collect();
        let mut want_uncertain: Vec<char> =
            printable.filter(|c| model.is_match(&c.to_string()) && !certain.is_match(&c.to_string())).collect();
        let mut have_certain: Vec<char> = ALPHABET.iter().map(|&b| char::from(b)).collect();
        let mut have_uncertain: Vec<char> = UNCERTAIN.iter().map(|&b| char::from(b)).collect();
        for v in [&mut want_certain, &mut want_uncertain, &mut have_certain, &mut have_uncertain] {
            v.sort_unstable();
        }
        assert_eq!(have_certain, want_certain, "ALPHABET is not the spec's Name pattern");
        assert_eq!(have_uncertain, want_uncertain, "UNCERTAIN is not the spec's model-only Name characters");
    }
}
