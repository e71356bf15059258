//! Redaction of the credentials the process holds from every text the tool writes: the
//! secret access key and the session token (raw, percent-encoded, JSON- and XML-escaped), and
//! any request signature or session token a server echoes back after its header name.
//!
//! The access key id stays visible: it is not a secret, and AWS prints it in its own errors.

mod strings;

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::{Mutex, OnceLock};

use memchr::memmem::Finder;
use regex::bytes::{Captures, Regex};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Credentials, percent_encode, xml_escape};

/// The credentials the process has held (see [`Redactor::hold`]).
static HELD: Mutex<Vec<Credentials>> = Mutex::new(Vec::new());

/// What a redacted secret is replaced with.
pub const MASK: &str = "***";

// Shorter "secrets" would blank out ordinary words; AWS secret keys are 40 characters and
// session tokens hundreds.
const MIN_SECRET_LEN: usize = 8;

/// A signature or a session token after its name: `Signature=<hex>`, `X-Amz-Signature%3D<hex>`,
/// `x-amz-security-token: <value>`. A value cut short (a body excerpt) goes too; a shell
/// variable (`$AWS_SESSION_TOKEN` in a reproduction) stays.
fn named_values() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // Eight hex digits at least, so that prose such as `signature=face` stays.
        let signature = r"(signature(?:=|%3d))[0-9a-f]{8,}";
        let token = r#"(x-amz-security-token(?::[ \t]*|%3a(?:%20)*|=|%3d))[^\s"'&<>,;\\$][^\s"'&<>,;\\]*"#;
        Regex::new(&format!("(?i){signature}|{token}")).expect("valid")
    })
}

/// Replaces the credentials a process holds in text it is about to write.
#[derive(Clone, Debug)]
pub struct Redactor {
    // Every written form of every secret, longest first so no form leaves a tail of another.
    literals: Vec<Finder<'static>>,
    // Whether `scrub` may search a value's raw strings instead of its JSON text (see
    // `plain_in_json`).
    strings_suffice: bool,
    // The length of the shortest literal (`usize::MAX` without any): a field or variant name
    // shorter than it cannot hold one (see `strings::collect`).
    shortest: usize,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor { literals: vec![], strings_suffice: true, shortest: usize::MAX }
    }
}

impl Redactor {
    /// A redactor that knows no secret; it still removes echoed signatures and tokens.
    pub fn none() -> Self {
        Redactor::default()
    }

    /// A redactor for the secret key and session token of `credentials` (when there are
    /// any).
    pub fn new(credentials: Option<&Credentials>) -> Self {
        Redactor::of(credentials)
    }

    /// A redactor for the secret keys and session tokens of every set in `all`.
    fn of<'c>(all: impl IntoIterator<Item = &'c Credentials>) -> Self {
        let mut literals = vec![];
        for secret in all.into_iter().flat_map(Credentials::secrets) {
            if secret.len() < MIN_SECRET_LEN {
                continue;
            }
            let json = serde_json::to_string(secret).unwrap_or_default();
            let json = json.trim_matches('"');
            let upper = percent_encode(secret);
            let lower = lower_hex_escapes(&upper);
            for form in [secret, json, &json.replace('/', "\\/"), &upper, &lower, &xml_escape::escape(secret)] {
                literals.push(form.as_bytes().to_vec());
            }
        }
        literals.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        literals.dedup();
        let strings_suffice = literals.iter().all(|l| plain_in_json(l));
        let shortest = literals.iter().map(Vec::len).min().unwrap_or(usize::MAX);
        Redactor { literals: literals.iter().map(|l| Finder::new(l).into_owned()).collect(), strings_suffice, shortest }
    }

    /// A redactor for the credentials in the process environment (or its credentials file)
    /// and for every set the process has held since (see [`Redactor::hold`]); one that knows
    /// no secret when there are none or they cannot be read.
    pub fn from_process_env() -> Self {
        let env = Credentials::from_process_env().ok().flatten();
        let held = HELD.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Redactor::of(env.iter().chain(&held))
    }

    /// Notes `credentials` as held by the process, so that [`Redactor::from_process_env`]
    /// redacts them too: the keys of a `--profile`, read from a file the environment does not
    /// name, would otherwise be unknown to the redactor of the last error message, which may
    /// quote a server that echoed them.
    pub fn hold(credentials: &Credentials) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if !held.contains(credentials) {
            held.push(credentials.clone());
        }
    }

    /// Whether `text` holds something to redact.
    pub fn finds(&self, text: &[u8]) -> bool {
        named_values().is_match(text) || self.literals.iter().any(|l| l.find(text).is_some())
    }

    /// `text` with every secret replaced by `***`.
    pub fn bytes<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        if !self.finds(text) {
            return Cow::Borrowed(text);
        }
        let mut out = text.to_vec();
        for literal in &self.literals {
            if literal.find(&out).is_some() {
                out = replace(&out, literal, MASK.as_bytes());
            }
        }
        let masked = named_values().replace_all(&out, |c: &Captures<'_>| {
            let name = c.get(1).or_else(|| c.get(2)).map_or(&[][..], |m| m.as_bytes());
            [name, MASK.as_bytes()].concat()
        });
        Cow::Owned(masked.into_owned())
    }

    /// `text` with every secret replaced by `***`.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Secrets are whole UTF-8 strings and the pattern matches whole characters, so
            // what is left is UTF-8.
            Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
        }
    }

    /// `value` with every secret in its strings replaced by `***`, by way of its JSON form.
    /// Redacting a record before it is shortened or excerpted for a report or a snapshot
    /// leaves no piece of a secret behind. A value without secrets is returned untouched.
    pub fn scrub<T: Serialize + DeserializeOwned>(&self, value: T) -> T {
        if self.strings_suffice && !self.finds_in_strings(&value) {
            return value;
        }
        self.scrub_json(value)
    }

    /// Whether a string of `value` (a key, a field or variant name included) holds something
    /// to redact, or its strings could not be read.
    ///
    /// This finds whatever [`Self::scrub_json`] finds, for the literals `plain_in_json` admits:
    /// their matches in the JSON text, and the patterns', hold no `"`, so each lies within one
    /// string token (the JSON outside strings is digits, punctuation, `true`, `false` and
    /// `null`, which they need more than), and the search sees every string token as written,
    /// but for field and variant names that can hold no match: shorter than every literal, and
    /// without the `=`, `:` or `%` every pattern's match has.
    fn finds_in_strings<T: Serialize>(&self, value: &T) -> bool {
        thread_local! {
            static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        BUF.with_borrow_mut(|buf| {
            buf.clear();
            let found = strings::collect(value, buf, self.shortest).is_err() || self.finds(buf);
            // A huge value's buffer is not kept for the rest of the thread's life.
            if buf.capacity() > 1 << 20 {
                *buf = Vec::new();
            }
            found
        })
    }

    /// [`Self::scrub`] by way of the value's JSON text.
    fn scrub_json<T: Serialize + DeserializeOwned>(&self, value: T) -> T {
        let Ok(json) = serde_json::to_string(&value) else { return value };
        if !self.finds(json.as_bytes()) {
            return value;
        }
        // Masks are plain ASCII in place of whole escaped runs, so the JSON stays valid; if it
        // did not, the writers' redaction still applies.
        serde_json::from_str(&self.text(&json)).unwrap_or(value)
    }
}

/// Whether every match of `literal` in a JSON text lies within one string token: the literal
/// has no `"`, and it has a byte that JSON outside strings never has.
fn plain_in_json(literal: &[u8]) -> bool {
    const OUTSIDE_STRINGS: &[u8] = b"{}[]:,0123456789+-.eEtruefalsn \t\r\n";
    !literal.contains(&b'"') && literal.iter().any(|b| !OUTSIDE_STRINGS.contains(b))
}

fn replace(haystack: &[u8], needle: &Finder<'_>, with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = needle.find(rest) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.needle().len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// `%2F` as `%2f`: some encoders write lowercase hex.
fn lower_hex_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
        }
    }
    out
}

/// A writer that redacts what passes through it. It holds back an unfinished line, so a
/// secret split across two `write` calls is still found; `flush` (and drop) let it out.
pub struct Redacting<W: Write> {
    inner: W,
    redactor: Redactor,
    pending: Vec<u8>,
}

impl<W: Write> Redacting<W> {
    /// Redacts what is written to `inner`.
    pub fn new(inner: W, redactor: Redactor) -> Self {
        Redacting { inner, redactor, pending: vec![] }
    }

    fn emit(&mut self, upto: usize) -> io::Result<()> {
        let written = self.inner.write_all(&self.redactor.bytes(&self.pending[..upto]));
        self.pending.drain(..upto);
        written
    }
}

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // What is pending holds no line break (whole lines went), so only `buf` is searched:
        // searching all that is pending made a long line's many small writes quadratic.
        let before = self.pending.len();
        self.pending.extend_from_slice(buf);
        // Secrets hold no line break, so whole lines can go.
        if let Some(last) = memchr::memrchr(b'\n', buf) {
            self.emit(before + last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit(self.pending.len())?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for Redacting<W> {
    fn drop(&mut self) {
        // Best effort, as for BufWriter: an error here has nowhere to go.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzzSECRET";
    const TOKEN: &str = "IQoJb3JpZ2luX2Vj/token+value==";

    fn redactor() -> Redactor {
        Redactor::new(Some(&Credentials::new("AKIDEXAMPLE", SECRET, Some(TOKEN.into()))))
    }

    #[test]
    fn the_process_redactor_knows_credentials_held_from_anywhere() {
        // Unique to this test: the list of held credentials is the process's.
        let (secret, token) = ("held-from-a-profile-secret-61ad", "held/from+a=profile-token-61ad");
        let text = format!("the token {token} and the key {secret} are expired");
        assert_eq!(Redactor::from_process_env().text(&text), text, "not held yet");
        let credentials = Credentials::new("AKIDHELD", secret, Some(token.into()));
        Redactor::hold(&credentials);
        Redactor::hold(&credentials);
        assert_eq!(Redactor::from_process_env().text(&text), "the token *** and the key *** are expired");
        let held = HELD.lock().unwrap();
        assert_eq!(held.iter().filter(|c| **c == credentials).count(), 1, "held once");
    }

    #[test]
    fn masks_every_form_of_the_secrets_and_keeps_the_key_id() {
        let r = redactor();
        let forms = [
            SECRET.to_owned(),
            TOKEN.to_owned(),
            percent_encode(TOKEN),
            lower_hex_escapes(&percent_encode(SECRET)),
            TOKEN.replace('/', "\\/"),
        ];
        for form in forms {
            let text = format!("key AKIDEXAMPLE said {form}.");
            assert_eq!(r.text(&text), "key AKIDEXAMPLE said ***.", "{form}");
        }
    }

    #[test]
    fn masks_echoed_signatures_and_token_headers_without_knowing_them() {
        let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let r = Redactor::none();
        let auth = format!("Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, Signature={sig}\r\n");
        assert_eq!(r.text(&auth), "Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, Signature=***\r\n");
        assert_eq!(r.text(&format!("X-Amz-Signature%3D{}", &sig[..20])), "X-Amz-Signature%3D***");
        assert_eq!(r.text("x-amz-security-token: IQoJb3Jp\r\nhost: h"), "x-amz-security-token: ***\r\nhost: h");
        assert_eq!(r.text("\"x-amz-security-token: IQo\""), "\"x-amz-security-token: ***\"");
        let curl = r#"-H "x-amz-security-token: $AWS_SESSION_TOKEN""#;
        assert_eq!(r.text(curl), curl);
        assert_eq!(r.text("a signature=face"), "a signature=face");
    }

    #[test]
    fn leaves_text_without_secrets_alone() {
        let text = "HTTP 400 InvalidAMIID.Malformed: ami-1234 (signature not checked)";
        assert!(matches!(redactor().text(text), Cow::Borrowed(_)));
        let short = Redactor::new(Some(&Credentials::new("AKID", "abc", Some("tok".into()))));
        assert_eq!(short.text("abc tok"), "abc tok");
    }

    #[test]
    fn scrubbing_masks_strings_inside_a_value() {
        let value = serde_json::json!({"message": format!("token {TOKEN} seen"), "n": 3});
        let scrubbed = redactor().scrub(value);
        assert_eq!(scrubbed, serde_json::json!({"message": "token *** seen", "n": 3}));
    }

    #[test]
    fn searching_the_strings_finds_what_the_json_search_masks() {
        let r = redactor();
        assert!(r.strings_suffice);
        let json_secret = serde_json::to_string(SECRET).unwrap();
        let texts = [
            format!("plain {SECRET} text"),
            format!("a\"quote\\ and\nnewline {TOKEN}\t"),
            format!("\n{}", &SECRET[1..]),
            format!("escaped {}", json_secret.trim_matches('"').replace('/', "\\/")),
            format!("{}%2f{}", &SECRET[..14], &SECRET[15..]),
            "Signature=0123456789abcdef and x-amz-security-token:\tabc".to_owned(),
            "x-amz-security-token=\u{1}abc \u{1f}".to_owned(),
            "nothing \"to\" see\n\\".to_owned(),
        ];
        for text in texts {
            let value = serde_json::json!({ "message": text, text.clone(): [1, 2.5, null, true], "n": 7 });
            let json_way = r.scrub_json(value.clone());
            assert!(json_way == value || r.finds_in_strings(&value), "{text:?}");
            assert_eq!(r.scrub(value), json_way, "{text:?}");
        }
    }

    #[test]
    fn a_secret_in_a_field_name_is_found_when_the_name_is_long_enough_to_hold_it() {
        #[derive(Serialize)]
        struct Named {
            wjalrxutnfemi_k7mdeng: u8,
        }
        let value = Named { wjalrxutnfemi_k7mdeng: 1 };
        // A secret the name holds, shorter than the name: the name is searched.
        let inside = Redactor::new(Some(&Credentials::new("AKID", "rxutnfemi_k7m", None)));
        assert!(inside.finds_in_strings(&value));
        // The usual secrets, longer than any name: names are left out, nothing is found.
        assert!(!redactor().finds_in_strings(&value));
        // An echoed signature in a name is found whatever the secrets.
        #[derive(Serialize)]
        struct Echo {
            #[serde(rename = "Signature=0123456789abcdef")]
            s: u8,
        }
        assert!(redactor().finds_in_strings(&Echo { s: 0 }));
        assert!(Redactor::none().finds_in_strings(&Echo { s: 0 }));
    }

    #[test]
    fn secrets_that_json_could_spell_outside_a_string_take_the_json_way() {
        assert!(plain_in_json(b"wJalrXUtnFEMI/K7MDENG"));
        assert!(plain_in_json(b"wJalrXUtnFEMI\\/K7MDENG\\n"));
        for literal in [&b"12345678"[..], b"1,2,3,4,true", b"has\"quote"] {
            assert!(!plain_in_json(literal), "{:?}", String::from_utf8_lossy(literal));
        }
        let digits = Redactor::new(Some(&Credentials::new("AKID", "1234567890", None)));
        assert!(!digits.strings_suffice);
        let value = serde_json::json!({"message": "code 1234567890 seen"});
        assert_eq!(digits.scrub(value), serde_json::json!({"message": "code *** seen"}));
    }

    #[test]
    fn a_line_written_byte_by_byte_comes_out_as_written_at_once() {
        let text = format!("{{\"a\": \"{SECRET}\", \"b\": [1, 2]}}\n,\nSignature=0123456789abcdef tail");
        let mut whole = vec![];
        Redacting::new(&mut whole, redactor()).write_all(text.as_bytes()).unwrap();
        let mut bytes = vec![];
        {
            let mut w = Redacting::new(&mut bytes, redactor());
            for b in text.as_bytes() {
                w.write_all(&[*b]).unwrap();
            }
        }
        assert_eq!(String::from_utf8(bytes).unwrap(), String::from_utf8(whole).unwrap());
    }

    #[test]
    fn a_secret_split_across_writes_is_still_masked() {
        let mut out = vec![];
        {
            let mut w = Redacting::new(&mut out, redactor());
            let (a, b) = TOKEN.split_at(9);
            w.write_all(format!("first line\ntoken {a}").as_bytes()).unwrap();
            w.write_all(format!("{b} end\nno newline {SECRET}").as_bytes()).unwrap();
            w.flush().unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "first line\ntoken *** end\nno newline ***");
    }
}
