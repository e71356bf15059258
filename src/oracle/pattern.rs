//! A spec pattern as the checks test it: the compiled regex and, when the pattern is one
//! character class repeated over the whole text (`^[...]*$`), the ASCII characters that class
//! allows, so that testing an ASCII value is a byte lookup instead of a regex search.

use regex::Regex;

/// A compiled spec pattern.
#[derive(Clone, Debug)]
pub struct Pattern {
    re: Regex,
    /// For a `^[...]*$` pattern: whether each ASCII character is in the class, as the regex
    /// itself answers for that one character; false for every byte outside ASCII.
    ascii: Option<[bool; 256]>,
}

impl Pattern {
    /// The pattern `re` was compiled from `source`.
    pub fn new(source: &str, re: Regex) -> Self {
        let ascii = one_class_repeated(source).then(|| {
            std::array::from_fn(|b| {
                let c = char::from(u8::try_from(b).expect("below 256"));
                c.is_ascii() && re.is_match(c.encode_utf8(&mut [0; 4]))
            })
        });
        Pattern { re, ascii }
    }

    /// Whether `s` matches, as the regex answers.
    pub fn is_match(&self, s: &str) -> bool {
        match &self.ascii {
            // One pass for the usual ASCII text; a byte outside ASCII fails the table, and
            // only then is the text looked at again, by the regex.
            Some(allowed) if s.bytes().all(|b| allowed[usize::from(b)]) => true,
            Some(_) if s.is_ascii() => false,
            _ => self.re.is_match(s),
        }
    }
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
            if let Ok(re) = Regex::new(p) {
                assert!(Pattern::new(p, re).ascii.is_none(), "{p}");
            }
        }
    }

    proptest! {
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
