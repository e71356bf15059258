//! SigV4 with the signing key cached: the runner signs every request with one [`Signer`], which
//! derives the key from the secret once per (date, Region, service) instead of four HMACs per
//! request. Requests of the plain shape the runner sends (a path of unreserved characters, no
//! query, text headers) are signed here; any other goes through [`super::sign()`], which handles
//! every shape. Both give the same headers (a test compares them).

use std::borrow::Cow;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sigv4::sign::v4::generate_signing_key;
use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderValue};
use sha2::{Digest, Sha256};

use super::{Credentials, WireError, sign};

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";
/// Headers aws-sigv4 leaves out of the signature by default.
const UNSIGNED: [&str; 4] = ["authorization", "user-agent", "x-amzn-trace-id", "transfer-encoding"];

/// Signs requests with one set of credentials, the signing key cached per day, Region and
/// service.
pub struct Signer {
    credentials: Credentials,
    key: Mutex<Option<CachedKey>>,
}

struct CachedKey {
    date: String,
    region: String,
    service: String,
    /// The key's HMAC-SHA256 pads, absorbed: what every signature with it starts from.
    pads: Pads,
}

/// SHA-256 after absorbing an HMAC key's inner pad (key ^ ipad) and its outer pad (key ^ opad):
/// the first two of the four compressions of an HMAC over a short message, done once per key
/// instead of once per signature.
#[derive(Clone)]
struct Pads {
    inner: Sha256,
    outer: Sha256,
}

impl Pads {
    /// The pads of `key` (RFC 2104: a key longer than a block is hashed first).
    fn new(key: &[u8]) -> Pads {
        const BLOCK: usize = 64;
        let mut block = [0u8; BLOCK];
        if key.len() > BLOCK {
            block[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |with: u8| {
            let mut h = Sha256::new();
            h.update(block.map(|b| b ^ with));
            h
        };
        Pads { inner: pad(0x36), outer: pad(0x5c) }
    }

    /// HMAC-SHA256 of `message` (its parts in order) with the key, in lowercase hex, written
    /// into `buf`.
    fn mac<'m, 'b>(&self, message: impl IntoIterator<Item = &'m [u8]>, buf: &'b mut [u8; 64]) -> &'b str {
        let mut inner = self.inner.clone();
        for part in message {
            inner.update(part);
        }
        let mut outer = self.outer.clone();
        outer.update(inner.finalize());
        hex(&outer.finalize(), buf)
    }
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is as secret as the secret key it is derived from.
        f.debug_struct("Signer").field("credentials", &self.credentials).finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Signer { credentials, key: Mutex::new(None) }
    }

    /// Signs `req` as [`super::sign()`] does, for `region` and `service` at `time`.
    pub fn sign(
        &self,
        req: &mut http::Request<Vec<u8>>,
        region: &str,
        service: &str,
        time: SystemTime,
    ) -> Result<(), WireError> {
        if !signs_plainly(req.uri()) {
            return sign(req, &self.credentials, region, service, time);
        }
        super::sign::ensure_host(req)?;
        // Taken apart, so that the headers change while the path and body are read.
        let (mut parts, body) = std::mem::replace(req, http::Request::new(Vec::new())).into_parts();
        let signed = self.sign_plain(&mut parts, &body, region, service, time);
        *req = http::Request::from_parts(parts, body);
        signed
    }

    /// [`Signer::sign`] for a request of the plain shape (see [`signs_plainly`]) with a `host`.
    fn sign_plain(
        &self,
        parts: &mut http::request::Parts,
        body: &[u8],
        region: &str,
        service: &str,
        time: SystemTime,
    ) -> Result<(), WireError> {
        let (method, path, headers) = (parts.method.as_str(), parts.uri.path(), &mut parts.headers);
        clear_signature(headers);
        let canonical = canonical_headers(headers.iter().map(|(n, v)| (n.as_str(), v.to_str().ok())))?;
        let added = self.plain(method, path, canonical, body, region, service, time)?;
        let bad = |name: &str| WireError::BadSignedHeader { name: name.to_owned() };
        // From the `String` itself: its bytes become the value's, not copied.
        let mut auth = HeaderValue::try_from(added.authorization).map_err(|_| bad(AUTHORIZATION.as_str()))?;
        auth.set_sensitive(true);
        let date_value = HeaderValue::from_str(added.stamp.full()).map_err(|_| bad(X_AMZ_DATE))?;
        let token_value = match added.token {
            Some(t) => {
                let mut v = HeaderValue::from_str(t).map_err(|_| bad(X_AMZ_SECURITY_TOKEN))?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        headers.insert(X_AMZ_DATE, date_value);
        headers.insert(AUTHORIZATION, auth);
        if let Some(v) = token_value {
            headers.insert(X_AMZ_SECURITY_TOKEN, v);
        }
        Ok(())
    }

    /// Signs a POST of the plain shape given as its parts: `headers` (with `host`, without a
    /// signature) in the order they go out. What it returns goes after them, in this order:
    /// `x-amz-date`, `authorization`, and `x-amz-security-token` when there is a session token.
    /// The same headers [`Signer::sign`] adds to the request made of these parts.
    pub(crate) fn sign_post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        region: &str,
        service: &str,
        time: SystemTime,
    ) -> Result<Added<'_>, WireError> {
        let canonical = canonical_headers(headers.iter().map(|&(n, v)| (n, Some(v))))?;
        self.plain("POST", path, canonical, body, region, service, time)
    }

    /// The signature of a request of the plain shape whose headers SigV4 signs are `canonical`.
    #[allow(clippy::too_many_arguments)]
    fn plain<'s>(
        &'s self,
        method: &str,
        path: &str,
        canonical: Vec<(&str, Cow<'_, str>)>,
        body: &[u8],
        region: &str,
        service: &str,
        time: SystemTime,
    ) -> Result<Added<'s>, WireError> {
        let stamp = utc_stamp(time);
        let (date, full) = (stamp.date(), stamp.full());
        let token = self.credentials.session_token();
        // Rebound: the stamp's and the token's borrows are shorter than the headers'.
        let mut canonical: Vec<(&str, Cow<'_, str>)> = canonical;
        canonical.push((X_AMZ_DATE, Cow::Borrowed(full)));
        if let Some(t) = token {
            // aws-sigv4 signs the token as it is, untrimmed.
            canonical.push((X_AMZ_SECURITY_TOKEN, Cow::Borrowed(t)));
        }
        canonical.sort_unstable_by(|a, b| a.0.cmp(b.0));
        // One buffer, the `authorization` value, holds the scope and the signed headers that
        // the canonical request and the string to sign repeat; those two are hashed as they
        // are made, never built.
        let key_id = self.credentials.access_key_id();
        let mut auth = String::with_capacity(192 + key_id.len() + 24 * canonical.len());
        for part in ["AWS4-HMAC-SHA256 Credential=", key_id, "/"] {
            auth.push_str(part);
        }
        let scope_at = auth.len();
        for part in [date, "/", region, "/", service, "/aws4_request"] {
            auth.push_str(part);
        }
        let scope = scope_at..auth.len();
        auth.push_str(", SignedHeaders=");
        let signed_at = auth.len();
        for (i, (name, _)) in canonical.iter().enumerate() {
            if i > 0 {
                auth.push(';');
            }
            auth.push_str(name);
        }
        let signed = signed_at..auth.len();
        let mut creq = Sha256::new();
        for part in [method, "\n", path, "\n\n"] {
            creq.update(part);
        }
        for (name, value) in &canonical {
            for part in [name, ":", value, "\n"] {
                creq.update(part);
            }
        }
        for part in ["\n", &auth[signed], "\n", hex(&Sha256::digest(body), &mut [0; 64])] {
            creq.update(part);
        }
        let mut creq_hex = [0; 64];
        let creq_hex = hex(&creq.finalize(), &mut creq_hex);
        let to_sign = ["AWS4-HMAC-SHA256\n", full, "\n", &auth[scope], "\n", creq_hex];
        let mut signature = [0; 64];
        let signature = self.signature(date, region, service, time, &to_sign, &mut signature);
        for part in [", Signature=", signature] {
            auth.push_str(part);
        }
        drop(canonical);
        let bad = |name: &str| WireError::BadSignedHeader { name: name.to_owned() };
        // As `HeaderValue` would refuse them: a value that breaks a header line (a newline in
        // a session token) must not reach the wire.
        if !header_text(&auth) {
            return Err(bad(AUTHORIZATION.as_str()));
        }
        if token.is_some_and(|t| !header_text(t)) {
            return Err(bad(X_AMZ_SECURITY_TOKEN));
        }
        Ok(Added { stamp, authorization: auth, token })
    }

    /// The signature of `to_sign` (its parts in order) with the key of the day, derived when the day, Region or
    /// service changes; in lowercase hex, written into `buf`.
    fn signature<'b>(
        &self,
        date: &str,
        region: &str,
        service: &str,
        time: SystemTime,
        to_sign: &[&str],
        buf: &'b mut [u8; 64],
    ) -> &'b str {
        let mut cached = self.key.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = cached.as_ref().is_some_and(|c| c.date == date && c.region == region && c.service == service);
        if !fresh {
            let key = generate_signing_key(self.credentials.secret_access_key(), time, region, service);
            *cached = Some(CachedKey {
                date: date.to_owned(),
                region: region.to_owned(),
                service: service.to_owned(),
                pads: Pads::new(key.as_ref()),
            });
        }
        cached.as_ref().expect("set above").pads.mac(to_sign.iter().map(|p| p.as_bytes()), buf)
    }
}

/// `headers` without a signature's headers, from an earlier signing.
fn clear_signature(headers: &mut HeaderMap) {
    const SIGNATURE: [&str; 3] = ["authorization", X_AMZ_DATE, X_AMZ_SECURITY_TOKEN];
    // A request is mostly signed once: a look at its few headers costs less than hashing three
    // names to remove what is not there.
    if headers.keys().any(|name| SIGNATURE.contains(&name.as_str())) {
        for h in SIGNATURE {
            headers.remove(h);
        }
    }
}

/// The headers SigV4 signs, by name, each value trimmed, repeated ones joined by commas; a
/// value that is not text (`None`) is an error.
fn canonical_headers<'h>(
    headers: impl Iterator<Item = (&'h str, Option<&'h str>)>,
) -> Result<Vec<(&'h str, Cow<'h, str>)>, WireError> {
    let mut canonical: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(8);
    for (name, value) in headers {
        if UNSIGNED.contains(&name) {
            continue;
        }
        let value = value.ok_or_else(|| WireError::HeaderNotText { name: name.to_owned() })?;
        match canonical.iter_mut().find(|(n, _)| *n == name) {
            Some((_, joined)) => {
                let joined = joined.to_mut();
                joined.push(',');
                joined.push_str(&trim_all(value));
            }
            None => canonical.push((name, trim_all(value))),
        }
    }
    Ok(canonical)
}

/// Whether `value` is what `HeaderValue` takes as a header's value: no control character but
/// the tab.
fn header_text(value: &str) -> bool {
    value.bytes().all(|b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

/// The headers a plain signature adds (see [`Signer::sign_post`]).
pub(crate) struct Added<'s> {
    stamp: Stamp,
    /// The `authorization` header's value.
    pub(crate) authorization: String,
    /// The session token, the `x-amz-security-token` header's value.
    pub(crate) token: Option<&'s str>,
}

impl Added<'_> {
    /// The `x-amz-date` header's value.
    pub(crate) fn date(&self) -> &str {
        self.stamp.full()
    }
}

/// Whether a request to `uri` has the shape [`Signer::sign_plain`] signs: a path of unreserved
/// characters without empty or dot segments (nothing to normalise or encode), and no query.
pub(crate) fn signs_plainly(uri: &http::Uri) -> bool {
    let path = uri.path();
    uri.query().is_none()
        && path.starts_with('/')
        && !path.contains("//")
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'~'))
}

/// Spaces trimmed from both ends and runs of spaces made one, as SigV4 wants header values.
fn trim_all(value: &str) -> Cow<'_, str> {
    let trimmed = value.trim_matches(' ');
    // Only the byte after each space is looked at: `contains("  ")` sets up a substring search
    // for every value, and most values have one space or none.
    let bytes = trimmed.as_bytes();
    if !memchr::memchr_iter(b' ', bytes).any(|i| bytes.get(i + 1) == Some(&b' ')) {
        return Cow::Borrowed(trimmed);
    }
    let mut out = String::with_capacity(value.len());
    for c in trimmed.chars() {
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A 32-byte digest in lowercase hex, written into `buf`.
fn hex<'b>(digest: &[u8], buf: &'b mut [u8; 64]) -> &'b str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in buf.chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0x0f)];
    }
    std::str::from_utf8(buf).expect("hex digits are ASCII")
}

/// `YYYYMMDDTHHMMSSZ` of a time in UTC; its first eight bytes are the date.
struct Stamp([u8; 16]);

impl Stamp {
    /// `YYYYMMDD`.
    fn date(&self) -> &str {
        &self.full()[..8]
    }

    /// `YYYYMMDDTHHMMSSZ`.
    fn full(&self) -> &str {
        std::str::from_utf8(&self.0).expect("digits, T and Z are ASCII")
    }
}

/// The [`Stamp`] of `time` (a time before 1970 counts as 1970, years past 9999 keep their last
/// four digits). Written digit by digit: it is made for every request.
fn utc_stamp(time: SystemTime) -> Stamp {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = *b"00000000T000000Z";
    let mut put = |at: usize, width: u32, value: u64| {
        for i in 0..width as usize {
            out[at + i] = b'0' + (value / 10u64.pow(width - 1 - i as u32) % 10) as u8;
        }
    };
    put(0, 4, year as u64);
    put(4, 2, month as u64);
    put(6, 2, day as u64);
    put(9, 2, rest / 3_600);
    put(11, 2, rest % 3_600 / 60);
    put(13, 2, rest % 60);
    Stamp(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)], body: &str) -> http::Request<Vec<u8>> {
        let mut b = http::Request::post(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    fn shown(req: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> =
            req.headers().iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned())).collect();
        h.sort();
        h
    }

    #[test]
    fn the_cached_signer_signs_as_aws_sigv4_does() {
        let creds = [
            Credentials::dummy(),
            Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Some("tok  en/+=".into())),
        ];
        let form = ("content-type", "application/x-www-form-urlencoded; charset=utf-8");
        type Shape<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
        let shapes: [Shape<'_>; 6] = [
            ("http://127.0.0.1:5000/", vec![form], "Action=CopyImage&Version=2016-11-15&Name=a%20b"),
            ("https://ec2.us-east-1.amazonaws.com/", vec![form], ""),
            ("http://localhost:80/ec2/", vec![form, ("accept", "application/json")], "{}"),
            ("http://h:4566/", vec![("x-odd", "  two   spaces  "), ("x-odd", "b"), ("user-agent", "u")], "x"),
            // Shapes left to aws-sigv4: a query, a path to normalise.
            ("http://h/?a=b", vec![form], "x"),
            ("http://h/a/../b%20c", vec![form], "x"),
        ];
        // Days, a leap day and a year's end, and a second before midnight.
        let times = [1_440_938_160, 951_782_400, 1_704_067_199, 4_102_444_799];
        for c in &creds {
            let signer = Signer::new(c.clone());
            for (uri, headers, body) in &shapes {
                for region in ["us-east-1", "eu-west-3"] {
                    for t in times {
                        let time = UNIX_EPOCH + Duration::from_secs(t);
                        let (mut ours, mut theirs) = (request(uri, headers, body), request(uri, headers, body));
                        signer.sign(&mut ours, region, "ec2", time).unwrap();
                        sign(&mut theirs, c, region, "ec2", time).unwrap();
                        assert_eq!(shown(&ours), shown(&theirs), "{uri} {region} {t}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_key_is_derived_again_for_another_day_region_or_service() {
        let signer = Signer::new(Credentials::dummy());
        let day = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let sig = |region: &str, service: &str, time: SystemTime| {
            let mut req = request("http://h/", &[], "x");
            signer.sign(&mut req, region, service, time).unwrap();
            req.headers()[AUTHORIZATION].to_str().unwrap().rsplit('=').next().unwrap().to_owned()
        };
        let first = sig("us-east-1", "ec2", day);
        assert_eq!(sig("us-east-1", "ec2", day), first);
        assert_ne!(sig("us-west-2", "ec2", day), first);
        assert_ne!(sig("us-east-1", "s3", day), first);
        assert_ne!(sig("us-east-1", "ec2", day + Duration::from_secs(86_400)), first);
        assert_eq!(sig("us-east-1", "ec2", day), first, "back to the first key");
    }

    #[test]
    fn the_absorbed_pads_give_aws_sigv4s_hmac() {
        use aws_sigv4::sign::v4::calculate_signature;
        // The signing key is 32 bytes; keys of a block, longer and shorter check RFC 2104's cases.
        for len in [0, 1, 32, 63, 64, 65, 200] {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let pads = Pads::new(&key);
            for message in ["", "a", "AWS4-HMAC-SHA256\n20150830T123600Z\n", &"x".repeat(55), &"y".repeat(200)] {
                let mut buf = [0; 64];
                assert_eq!(pads.mac([message.as_bytes()], &mut buf), calculate_signature(&key, message.as_bytes()));
                // The pads are reused: a second signature starts from them unchanged.
                assert_eq!(pads.mac([message.as_bytes()], &mut buf), calculate_signature(&key, message.as_bytes()));
            }
        }
    }

    #[test]
    fn trimming_keeps_single_spaces_and_joins_runs() {
        assert!(matches!(trim_all("  a b  "), Cow::Borrowed("a b")));
        assert_eq!(trim_all(" a  b   c "), "a b c");
        assert_eq!(trim_all("   "), "");
        assert_eq!(trim_all("a \t  b"), "a \t b");
    }

    #[test]
    fn utc_stamps_match_the_calendar() {
        let both = |t: SystemTime| {
            let s = utc_stamp(t);
            (s.date().to_owned(), s.full().to_owned())
        };
        assert_eq!(both(UNIX_EPOCH), ("19700101".into(), "19700101T000000Z".into()));
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400 + 86_399);
        assert_eq!(both(leap), ("20000229".into(), "20000229T235959Z".into()));
        assert_eq!(both(UNIX_EPOCH + Duration::from_secs(1_440_938_160)).1, "20150830T123600Z");
        assert_eq!(both(UNIX_EPOCH + Duration::from_secs(4_102_444_799)).1, "20991231T235959Z");
    }
}
