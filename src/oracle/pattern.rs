//! A spec pattern as the checks test it: the compiled regex and, for two common shapes, what
//! answers the same without a regex search: one character class repeated over the whole text
//! (`^[...]*$`) as the ASCII characters it allows, and a literal prefix followed by one of two
//! counts of an ASCII class (`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`) as the prefix, the counts and
//! the class's bytes.

use regex::Regex;

/// A compiled spec pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    re: Regex,
    /// For a `^[...]*$` pattern: whether each ASCII character is in the class, as the regex
    /// itself answers for that one character; false for every byte outside ASCII.
    ascii: Option<[bool; 256]>,
    /// For a `^prefix([C]{a}|[C]{b})$` or `^prefix[C]{a}([C]{b})?$` pattern (an id's shape).
    counted: Option<Counted>,
}

/// A literal prefix, then `lens[0]` or `lens[1]` bytes of one ASCII class.
#[derive(Clone, Debug)]
struct Counted {
    prefix: Box<str>,
    lens: [usize; 2],
    /// Whether each byte is in the class, as the regex itself answers for that character.
    class: [bool; 256],
}

impl Pattern {
    /// The pattern `re` was compiled from `source`.
    pub fn new(source: &str, re: Regex) -> Self {
        let ascii = one_class_repeated(source).then(|| ascii_table(|c| re.is_match(c.encode_utf8(&mut [0; 4]))));
        let counted = prefixed_counts(source).map(|(prefix, lens)| Counted {
            // The class repeated the shorter count after the prefix matches exactly when the
            // class holds `c`.
            class: ascii_table(|c| re.is_match(&format!("{prefix}{}", c.to_string().repeat(lens[0])))),
            prefix: prefix.into(),
            lens,
        });
        Pattern { re, ascii, counted }
    }

    /// Whether `s` matches, as the regex answers.
    pub fn is_match(&self, s: &str) -> bool {
        if let Some(allowed) = &self.ascii {
            // One pass for the usual ASCII text; a byte outside ASCII fails the table, and
            // only then is the text looked at again, by the regex.
            return s.bytes().all(|b| allowed[usize::from(b)]) || (!s.is_ascii() && self.re.is_match(s));
        }
        if let Some(c) = &self.counted {
            // The class holds ASCII characters only, so any other byte fails it, as any other
            // character fails the regex.
            return s
                .strip_prefix(&*c.prefix)
                .is_some_and(|rest| c.lens.contains(&rest.len()) && rest.bytes().all(|b| c.class[usize::from(b)]));
        }
        self.re.is_match(s)
    }
}

/// Whether each byte is an ASCII character `allowed` admits; false for every byte outside ASCII.
fn ascii_table(allowed: impl Fn(char) -> bool) -> [bool; 256] {
    std::array::from_fn(|b| {
        let c = char::from(u8::try_from(b).expect("below 256"));
        c.is_ascii() && allowed(c)
    })
}

/// The prefix and the two counts of a pattern `^prefix([C]{a}|[C]{b})$` or
/// `^prefix[C]{a}([C]{b})?$` (lengths `a` or `a + b`), with the same class `C` throughout:
/// a prefix of ASCII letters, digits and `-`, a class of those alone (ranges, no negation),
/// and counts of at least one. Anything else is left to the regex.
fn prefixed_counts(pattern: &str) -> Option<(&str, [usize; 2])> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let (prefix, rest) = body.split_at(body.find(['[', '('])?);
    if !prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return None;
    }
    let (first, second, optional) = match rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        Some(either) => {
            let (a, b) = either.split_once('|')?;
            (a, b, false)
        }
        None => {
            let (a, b) = rest.split_once('(')?;
            (a, b.strip_suffix(")?")?, true)
        }
    };
    let ((c1, a), (c2, b)) = (class_count(first)?, class_count(second)?);
    (c1 == c2).then_some((prefix, [a, if optional { a + b } else { b }]))
}

/// The class and count of `[class]{n}`, n at least one.
fn class_count(s: &str) -> Option<(&str, usize)> {
    let (class, n) = s.strip_prefix('[')?.strip_suffix('}')?.split_once("]{")?;
    let plain = !class.is_empty() && class.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let n: usize = n.parse().ok().filter(|&n| n > 0 && n < 1000)?;
    plain.then_some((class, n))
}

/// Whether a pattern is `^[class]*$`: one bracketed class with no bracket inside it (escaped
/// ones aside), repeated any number of times, anchored at both ends. A text then matches
/// exactly when every character is in the class; anything else is left to the regex.
fn one_class_repeated(pattern: &str) -> bool {
    let Some(class) = pattern.strip_prefix("^[").and_then(|p| p.strip_suffix("]*$")) else {
        return false;
    };
    let mut escaped = false;
    for c in class.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' | ']' => return false,
            _ => {}
        }
    }
    !escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pattern(p: &str) -> Pattern {
        Pattern::new(p, Regex::new(p).unwrap())
    }

    /// The pattern, when the regex crate compiles it (some shapes tested against are not
    /// valid regexes at all).
    fn compiled(p: &str) -> Option<Pattern> {
        Regex::new(p).ok().map(|re| Pattern::new(p, re))
    }

    #[test]
    fn only_a_single_repeated_class_is_read_as_a_byte_set() {
        for p in [
            r"^[A-Za-z0-9()./_ -]*$",
            r"^[A-Za-z0-9()\[\]./_ '@-]*$",
            r"^[^a-c]*$",
            r"^[\w\\]*$",
            // An escaped bracket stays in the class.
            r"^[a-z\]*$x]*$",
        ] {
            assert!(pattern(p).ascii.is_some(), "{p}");
        }
        for p in [
            r"^[a-z]+$",
            r"[a-z]*$",
            r"^[a-z]*",
            r"^[a-z][0-9]*$",
            r"^[a-z&&[^x]]*$",
            r"^[]a]*$",
            r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$",
            r"(?i)^[a-z]*$",
            r"^[a-z]*[0-9]*$",
        ] {
            if let Some(pattern) = compiled(p) {
                assert!(pattern.ascii.is_none(), "{p}");
            }
        }
    }

    #[test]
    fn only_a_prefix_and_two_counts_of_one_plain_class_are_read_as_counts() {
        for (p, lens) in [
            (r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$", [8, 17]),
            (r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$", [8, 17]),
            (r"^([a-z]{3}|[a-z]{1})$", [3, 1]),
            (r"^snap-[0-9A-F-]{2}([0-9A-F-]{5})?$", [2, 7]),
        ] {
            assert_eq!(pattern(p).counted.map(|c| c.lens), Some(lens), "{p}");
        }
        for p in [
            r"^ami-([0-9a-f]{8}|[0-9A-F]{17})$",
            r"^ami-([0-9a-f]{8}|[0-9a-f]{17})",
            r"ami-([0-9a-f]{8}|[0-9a-f]{17})$",
            r"^ami-([0-9a-f]{8,}|[0-9a-f]{17})$",
            r"^ami-([^0-9a-f]{8}|[^0-9a-f]{17})$",
            r"^ami-([\w]{8}|[\w]{17})$",
            r"^a.i-([0-9a-f]{8}|[0-9a-f]{17})$",
            r"^ami-([0-9a-f]{0}|[0-9a-f]{17})$",
            r"^ami-[0-9a-f]{8}([0-9a-f]{9})$",
            r"^ami-[0-9a-f]{8}([0-9a-f]{9})*$",
            r"^ami-([0-9a-f]{8}|[0-9a-f]{17}|[0-9a-f]{3})$",
            r"^[A-Za-z0-9()./_ -]*$",
        ] {
            if let Some(pattern) = compiled(p) {
                assert!(pattern.counted.is_none(), "{p}");
            }
        }
    }

    proptest! {
        #[test]
        fn answers_ids_as_the_regex_does(s in r"(ami|AMI|am|snap)?-?[0-9a-gA-G é-]{0,19}", which in 0usize..4) {
            let p = [
                r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$",
                r"^ami-[0-9a-f]{8}([0-9a-f]{9})?$",
                r"^snap-[0-9A-F-]{2}([0-9A-F-]{5})?$",
                r"^([a-g]{3}|[a-g]{1})$",
            ][which];
            prop_assert!(pattern(p).counted.is_some());
            prop_assert_eq!(pattern(p).is_match(&s), Regex::new(p).unwrap().is_match(&s), "{:?} {:?}", p, s);
        }

        #[test]
        fn answers_as_the_regex_does(s in r"[ -~é名\[\]\t\n]{0,12}", which in 0usize..6) {
            let p = [
                r"^[A-Za-z0-9()./_ -]*$",
                r"^[A-Za-z0-9()\[\]./_ '@-]*$",
                r"^[^a-c]*$",
                r"^[\w\\]*$",
                r"^[\x20-\x7e]*$",
                r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$",
            ][which];
            prop_assert_eq!(pattern(p).is_match(&s), Regex::new(p).unwrap().is_match(&s), "{:?} {:?}", p, s);
        }
    }
}
