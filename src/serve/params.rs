//! Turns a request's query string, form body or JSON body into wire parameters, rejecting
//! malformed input with a typed error instead of panicking.

use crate::world::Params;

/// Why a request's parameters cannot be read. Every variant is answered as a 400
/// `InvalidParameterValue` "malformed request" error.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A `%` not followed by two hex digits.
    #[error("malformed request: bad percent-escape at byte {0}")]
    BadEscape(usize),
    /// Decoded bytes that are not UTF-8.
    #[error("malformed request: parameters are not valid UTF-8")]
    InvalidUtf8,
    /// A JSON body that does not parse, or is not an object.
    #[error("malformed request: the JSON body must be an object of string parameters ({0})")]
    Json(String),
    /// A JSON member whose value is null, an array or an object.
    #[error("malformed request: the JSON member {0} must be a string, number or boolean")]
    JsonValue(String),
    /// The body could not be read, or is larger than the limit.
    #[error("malformed request: the body cannot be read ({0})")]
    Body(String),
}

/// Decodes `application/x-www-form-urlencoded` text (a form body or a query string) into
/// `out`: `+` is a space, `%XX` a byte, and the decoded bytes must be UTF-8. A later duplicate
/// key replaces an earlier one; a key without `=` gets the empty value.
pub fn decode_form(raw: &[u8], out: &mut Params) -> Result<(), RequestError> {
    let mut offset = 0;
    for pair in raw.split(|&b| b == b'&') {
        let start = offset;
        offset += pair.len() + 1;
        if pair.is_empty() {
            continue;
        }
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let key = decode_component(k, start)?;
        let value = decode_component(v, start + k.len() + 1)?;
        out.insert(key, value);
    }
    Ok(())
}

/// Percent-decodes one key or value; `base` is its offset in the whole input, for errors.
fn decode_component(raw: &[u8], base: usize) -> Result<String, RequestError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|&b| hex(b));
                let lo = raw.get(i + 2).and_then(|&b| hex(b));
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(RequestError::BadEscape(base + i));
                };
                bytes.push(hi << 4 | lo);
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes).map_err(|_| RequestError::InvalidUtf8)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Reads a JSON object body into `out`. Strings are taken as they are; numbers and booleans
/// as their JSON text (`true`, `15`), which is how the Query protocol would send them.
pub fn decode_json(raw: &[u8], out: &mut Params) -> Result<(), RequestError> {
    // An empty body is an empty object: a client may send the JSON content type on a bare
    // request.
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(raw).map_err(|e| RequestError::Json(e.to_string()))?;
    for (k, v) in map {
        let text = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => return Err(RequestError::JsonValue(k)),
        };
        out.insert(k, text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(raw: &[u8]) -> Result<Params, RequestError> {
        let mut p = Params::new();
        decode_form(raw, &mut p).map(|()| p)
    }

    #[test]
    fn decodes_plus_percent_and_duplicates() {
        let p = form(b"Name=a+b%2Fc&&Flag&Name=second%20x&K%C3%A9y=%e2%82%ac").unwrap();
        assert_eq!(p.get("Name").map(String::as_str), Some("second x"));
        assert_eq!(p.get("Flag").map(String::as_str), Some(""));
        assert_eq!(p.get("Kéy").map(String::as_str), Some("€"));
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn value_may_contain_equals() {
        let p = form(b"A=b=c").unwrap();
        assert_eq!(p.get("A").map(String::as_str), Some("b=c"));
    }

    #[test]
    fn rejects_bad_escapes_and_utf8() {
        assert!(matches!(form(b"A=%zz"), Err(RequestError::BadEscape(2))));
        assert!(matches!(form(b"A=b&C=%4"), Err(RequestError::BadEscape(6))));
        assert!(matches!(form(b"A=%"), Err(RequestError::BadEscape(2))));
        assert!(matches!(form(b"A=%ff"), Err(RequestError::InvalidUtf8)));
        assert!(matches!(form(b"\xff\xfe=1"), Err(RequestError::InvalidUtf8)));
    }

    #[test]
    fn json_objects_only() {
        let mut p = Params::new();
        decode_json(br#"{"Name":"n","DryRun":true,"SnapshotCopyCompletionDurationMinutes":15}"#, &mut p).unwrap();
        assert_eq!(p.get("DryRun").map(String::as_str), Some("true"));
        assert_eq!(p.get("SnapshotCopyCompletionDurationMinutes").map(String::as_str), Some("15"));
        assert!(matches!(decode_json(b"[1]", &mut p), Err(RequestError::Json(_))));
        assert!(matches!(decode_json(br#"{"A":null}"#, &mut p), Err(RequestError::JsonValue(k)) if k == "A"));
        assert!(matches!(decode_json(b"\xff", &mut p), Err(RequestError::Json(_))));
        decode_json(b"  ", &mut p).unwrap();
    }
}
