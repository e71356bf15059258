//! Response decoding: EC2 XML (success and error envelopes, as AWS and the emulators write
//! them) and the JSON envelope dialect, into one [`Reply`].

use quick_xml::events::{BytesRef, Event};
use serde::{Deserialize, Serialize};

/// How many leading bytes of an unparseable body [`Reply::Unparseable`] keeps.
const HEAD_LEN: usize = 200;

/// The deepest nesting of elements (XML) or of objects and arrays (JSON) a reply may have.
/// Real replies are shallow: an EC2 error envelope is 4 elements deep, a CopyImage success 2,
/// and DescribeImages, the deepest EC2 reply the tool reads, about 7
/// (`DescribeImagesResponse/imagesSet/item/blockDeviceMapping/item/ebs/encrypted`); the JSON
/// envelope is 3 levels. Decoding stops at this depth, so a hostile reply nested a million deep
/// costs no more than one nested just past it.
pub const MAX_DEPTH: usize = 64;

/// The root element of a CopyImage success.
const SUCCESS_ROOT: &str = "CopyImageResponse";
/// The root element of the EC2 error envelope.
pub(super) const ERROR_ROOT: &str = "Response";

/// What a response says, whatever its dialect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// A 2xx CopyImage success.
    Success {
        /// The new image's id (`imageId`), if the body has one.
        image_id: Option<String>,
        /// The body's request id, if any.
        request_id: Option<String>,
    },
    /// An error envelope (the first error, if there are several).
    Error {
        /// The error code, e.g. `InvalidAMIID.NotFound`.
        code: String,
        /// The message, if the body has one.
        message: Option<String>,
        /// The body's request id, if any.
        request_id: Option<String>,
    },
    /// Neither: an HTML page, an empty or truncated body, another operation's document, …
    Unparseable {
        /// Why, in a few words.
        reason: String,
        /// The body's first 200 bytes, as lossy UTF-8.
        head: String,
    },
}

pub(super) fn is_2xx(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The reason a reply nested past [`MAX_DEPTH`] is unparseable; `at` is the byte where
/// decoding stopped.
fn too_deep(at: usize) -> String {
    format!("nested deeper than {MAX_DEPTH} levels (decoding stopped at byte {at})")
}

fn unparseable(reason: impl Into<String>, body: &[u8]) -> Reply {
    let head = String::from_utf8_lossy(&body[..body.len().min(HEAD_LEN)]).into_owned();
    Reply::Unparseable { reason: reason.into(), head }
}

/// A value the XML decoder looks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    ImageId,
    RequestId,
    Code,
    Message,
}

/// A field being read: which, the depth of its element, and its text so far.
struct Capture {
    field: Field,
    depth: usize,
    text: String,
}

/// What one pass over an XML document found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Scan {
    pub(super) root: Option<String>,
    pub(super) image_id: Option<String>,
    request_id: Option<String>,
    pub(super) code: Option<String>,
    message: Option<String>,
    has_errors: bool,
}

impl Scan {
    fn slot(&mut self, f: Field) -> &mut Option<String> {
        match f {
            Field::ImageId => &mut self.image_id,
            Field::RequestId => &mut self.request_id,
            Field::Code => &mut self.code,
            Field::Message => &mut self.message,
        }
    }
}

/// The field an element at `path` (local names from the root) holds, if any. `first_error`
/// says whether the innermost `Error` is the envelope's first.
///
/// Matches the path in place: copying it per element made decoding quadratic in the depth.
fn field_at<S: AsRef<str>>(path: &[S], first_error: bool) -> Option<Field> {
    match path {
        [root, leaf] => {
            let (root, leaf) = (root.as_ref(), leaf.as_ref());
            match leaf {
                "imageId" if root == SUCCESS_ROOT => Some(Field::ImageId),
                "requestId" | "RequestId" | "RequestID" if root == SUCCESS_ROOT || root == ERROR_ROOT => {
                    Some(Field::RequestId)
                }
                _ => None,
            }
        }
        [root, errors, error, leaf]
            if first_error
                && root.as_ref() == ERROR_ROOT
                && errors.as_ref() == "Errors"
                && error.as_ref() == "Error" =>
        {
            match leaf.as_ref() {
                "Code" => Some(Field::Code),
                "Message" => Some(Field::Message),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Text of a `&name;` reference; an unknown entity is kept as written.
pub(crate) fn resolve_ref(r: &BytesRef<'_>) -> String {
    let name = r.xml10_content();
    match r.resolve_char_ref() {
        Ok(Some(c)) => c.to_string(),
        _ => match quick_xml::escape::resolve_predefined_entity(&name) {
            Some(s) => s.to_owned(),
            None => format!("&{name};"),
        },
    }
}

/// Reads the whole document into `out`, checking it is well-formed and picking out the
/// fields; on error `out` still holds the root, if one was seen.
pub(super) fn scan(text: &str, out: &mut Scan) -> Result<(), String> {
    // Most replies are plain XML, which a scan of its own reads at a fraction of the cost.
    if let Some(found) = plain::scan(text) {
        *out = found;
        return Ok(());
    }
    scan_full(text, out)
}

/// [`scan`] with quick-xml, for any XML.
fn scan_full(text: &str, out: &mut Scan) -> Result<(), String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut path: Vec<String> = Vec::new();
    let mut errors_seen = 0usize;
    let mut root_closed = false;
    let mut capture: Option<Capture> = None;
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let reason = format!("malformed XML at byte {}: {e}", reader.error_position());
                return Err(reason);
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if root_closed {
                    return Err("a second element after the root".to_owned());
                }
                if path.len() == MAX_DEPTH {
                    return Err(too_deep(reader.buffer_position() as usize));
                }
                let local = e.local_name();
                let name: &str = local.as_ref();
                path.push(name.to_owned());
                opened(out, &path, &mut errors_seen, &mut capture);
                if matches!(event, Event::Empty(_)) {
                    close(out, &mut path, &mut capture, &mut root_closed);
                }
            }
            Event::End(_) => close(out, &mut path, &mut capture, &mut root_closed),
            Event::Text(t) => {
                let s = t.xml10_content();
                if path.is_empty() && !s.trim().is_empty() {
                    return Err("text outside the root element".to_owned());
                }
                push_text(&mut capture, path.len(), &s);
            }
            Event::CData(t) => {
                if path.is_empty() {
                    return Err("CDATA outside the root element".to_owned());
                }
                push_text(&mut capture, path.len(), &t.xml10_content());
            }
            Event::GeneralRef(r) => {
                if path.is_empty() {
                    return Err("entity reference outside the root element".to_owned());
                }
                push_text(&mut capture, path.len(), &resolve_ref(&r));
            }
            // A second, inner declaration (moto-ext's error template) is as harmless as the first.
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = path.last() {
        let reason = format!("truncated XML: <{open}> is not closed");
        return Err(reason);
    }
    if out.root.is_none() {
        return Err("no root element".to_owned());
    }
    Ok(())
}

/// Takes note of the element just opened, the last of `path`: the root, the error envelope's
/// parts, and the field it holds, which `capture` then reads. Both scans (this module's and
/// `plain`) call it, so they pick out the same fields.
fn opened<S: AsRef<str>>(out: &mut Scan, path: &[S], errors_seen: &mut usize, capture: &mut Option<Capture>) {
    match path {
        [root] if out.root.is_none() => out.root = Some(root.as_ref().to_owned()),
        [root, errors] if root.as_ref() == ERROR_ROOT && errors.as_ref() == "Errors" => out.has_errors = true,
        [root, errors, error]
            if root.as_ref() == ERROR_ROOT && errors.as_ref() == "Errors" && error.as_ref() == "Error" =>
        {
            *errors_seen += 1;
        }
        _ => {}
    }
    if let Some(f) = field_at(path, *errors_seen == 1).filter(|f| out.slot(*f).is_none()) {
        *capture = Some(Capture { field: f, depth: path.len(), text: String::new() });
    }
}

/// Appends text found at `depth` to the capture, if it is the capture's own element's.
fn push_text(capture: &mut Option<Capture>, depth: usize, s: &str) {
    if let Some(c) = capture
        && c.depth == depth
    {
        c.text.push_str(s);
    }
}

/// Closes the innermost element, storing a capture that ends with it.
fn close<S>(out: &mut Scan, path: &mut Vec<S>, capture: &mut Option<Capture>, root_closed: &mut bool) {
    // Kept as written: `decode_xml` trims, the SDK reading reports what trimming hid.
    if let Some(c) = capture.take_if(|c| c.depth == path.len()) {
        *out.slot(c.field) = Some(c.text);
    }
    path.pop();
    if path.is_empty() {
        *root_closed = true;
    }
}

/// Decodes an EC2 XML response.
///
/// Namespaces and prefixes are ignored (local names are matched), as are element order, XML
/// declarations (also a second, inner one), comments and pretty-printing. The request id may
/// be `requestId`, `RequestId` or `RequestID`.
///
/// - a 2xx whose root is `CopyImageResponse` → [`Reply::Success`];
/// - any status with `Response/Errors/Error/Code` → [`Reply::Error`] (the first `Error`);
/// - anything else (an HTML page, an empty, truncated or non-UTF-8 body, another root such as
///   S3's `ListAllMyBucketsResult`, elements nested deeper than `MAX_DEPTH`) →
///   [`Reply::Unparseable`].
///
/// Never panics; the work is linear in the body's length, and stops at `MAX_DEPTH`.
pub fn decode_xml(status: u16, body: &[u8]) -> Reply {
    decode_xml_scanned(status, body, |_| ())
}

/// [`decode_xml`], handing the scan to `on_scan` when the body scans whole.
pub(super) fn decode_xml_scanned(status: u16, body: &[u8], on_scan: impl FnOnce(&Scan)) -> Reply {
    if body.is_empty() {
        return unparseable("empty body", body);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return unparseable("blank body", body);
    }
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(e) => {
            return unparseable(format!("not UTF-8 (bad byte at {})", e.valid_up_to()), body);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut s = Scan::default();
    let scanned = scan(text, &mut s);
    if scanned.is_ok() {
        on_scan(&s);
    }
    // An unknown root says more (an HTML page, S3's answer) than where its parse broke.
    if let Some(r) = s.root.as_deref()
        && r != SUCCESS_ROOT
        && r != ERROR_ROOT
    {
        return unparseable(format!("unexpected root element <{r}>"), body);
    }
    if let Err(reason) = scanned {
        return unparseable(reason, body);
    }
    // Most values have nothing to trim: they are kept, not copied.
    let trim = |v: Option<String>| v.map(|t| if t.trim().len() == t.len() { t } else { t.trim().to_owned() });
    let (image_id, request_id, code, message) = (trim(s.image_id), trim(s.request_id), trim(s.code), trim(s.message));
    match (s.root.as_deref(), code) {
        (Some(SUCCESS_ROOT), _) if is_2xx(status) => Reply::Success { image_id, request_id },
        (Some(SUCCESS_ROOT), _) => unparseable(format!("<{SUCCESS_ROOT}> with HTTP status {status}"), body),
        (Some(ERROR_ROOT), Some(code)) if !code.is_empty() => Reply::Error { code, message, request_id },
        (Some(ERROR_ROOT), Some(_)) => unparseable("error envelope with an empty <Code>", body),
        (Some(ERROR_ROOT), None) if s.has_errors => unparseable("error envelope without Errors/Error/Code", body),
        (Some(ERROR_ROOT), None) => unparseable("<Response> without <Errors>", body),
        _ => unparseable("no root element", body),
    }
}

/// Decodes the JSON envelope dialect:
///
/// - `{"success": true, "data": {"id": "...", ...}}` with a 2xx → [`Reply::Success`]
///   (`image_id` from `data.id`);
/// - `{"success": false, "error": {"code": "...", "message": "..."}}` → [`Reply::Error`];
/// - anything else (objects and arrays nested deeper than [`MAX_DEPTH`] included) →
///   [`Reply::Unparseable`].
///
/// Never panics; the work is linear in the body's length.
pub fn decode_json(status: u16, body: &[u8]) -> Reply {
    use serde_json::Value;
    if body.iter().all(u8::is_ascii_whitespace) {
        let reason = if body.is_empty() { "empty body" } else { "blank body" };
        return unparseable(reason, body);
    }
    if let Some(at) = json_too_deep(body) {
        return unparseable(too_deep(at), body);
    }
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return unparseable(format!("not JSON: {e}"), body),
    };
    let Some(obj) = v.as_object() else {
        return unparseable("JSON body is not an object", body);
    };
    match obj.get("success") {
        Some(Value::Bool(true)) => {
            if !is_2xx(status) {
                return unparseable(format!("success envelope with HTTP status {status}"), body);
            }
            let Some(data) = obj.get("data").and_then(Value::as_object) else {
                return unparseable("success envelope without a `data` object", body);
            };
            match data.get("id") {
                None | Some(Value::Null) => Reply::Success { image_id: None, request_id: None },
                Some(Value::String(id)) => Reply::Success { image_id: Some(id.clone()), request_id: None },
                Some(_) => unparseable("`data.id` is not a string", body),
            }
        }
        Some(Value::Bool(false)) => {
            let Some(err) = obj.get("error").and_then(Value::as_object) else {
                return unparseable("error envelope without an `error` object", body);
            };
            let code = match err.get("code") {
                Some(Value::String(c)) if !c.is_empty() => c.clone(),
                _ => return unparseable("`error.code` is missing, empty or not a string", body),
            };
            let message = match err.get("message") {
                None | Some(Value::Null) => None,
                Some(Value::String(m)) => Some(m.clone()),
                Some(_) => return unparseable("`error.message` is not a string", body),
            };
            Reply::Error { code, message, request_id: None }
        }
        _ => unparseable("no boolean `success` field", body),
    }
}

/// Where `body` first nests objects and arrays deeper than [`MAX_DEPTH`], if it does.
///
/// serde_json has its own limit (128), but checking first keeps one bound and one reason for
/// both dialects, and stops reading a hostile body early.
fn json_too_deep(body: &[u8]) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (at, &b) in body.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(at);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

mod namespace;
mod plain;
pub use namespace::root_namespace;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
