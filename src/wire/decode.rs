//! Response decoding: EC2 XML (success and error envelopes, as AWS and the emulators write
//! them) and the JSON envelope dialect, into one [`Reply`].

use quick_xml::events::{BytesRef, Event};
use serde::{Deserialize, Serialize};

/// How many leading bytes of an unparseable body [`Reply::Unparseable`] keeps.
const HEAD_LEN: usize = 200;

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
#[derive(Default)]
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
fn field_at(path: &[String], first_error: bool) -> Option<Field> {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    match names.as_slice() {
        [SUCCESS_ROOT, "imageId"] => Some(Field::ImageId),
        [SUCCESS_ROOT | ERROR_ROOT, "requestId" | "RequestId" | "RequestID"] => Some(Field::RequestId),
        [ERROR_ROOT, "Errors", "Error", "Code"] if first_error => Some(Field::Code),
        [ERROR_ROOT, "Errors", "Error", "Message"] if first_error => Some(Field::Message),
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
                let local = e.local_name();
                let name: &str = local.as_ref();
                let name = name.to_owned();
                if out.root.is_none() {
                    out.root = Some(name.clone());
                }
                path.push(name);
                if path.len() == 2 && path[0] == ERROR_ROOT && path[1] == "Errors" {
                    out.has_errors = true;
                }
                if path.len() == 3 && path[..] == [ERROR_ROOT, "Errors", "Error"] {
                    errors_seen += 1;
                }
                let field = field_at(&path, errors_seen == 1);
                if let Some(f) = field.filter(|f| out.slot(*f).is_none()) {
                    capture = Some(Capture { field: f, depth: path.len(), text: String::new() });
                }
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

/// Appends text found at `depth` to the capture, if it is the capture's own element's.
fn push_text(capture: &mut Option<Capture>, depth: usize, s: &str) {
    if let Some(c) = capture
        && c.depth == depth
    {
        c.text.push_str(s);
    }
}

/// Closes the innermost element, storing a capture that ends with it.
fn close(out: &mut Scan, path: &mut Vec<String>, capture: &mut Option<Capture>, root_closed: &mut bool) {
    // Kept as written: `decode_xml` trims, `sdk_reading` reports what trimming hid.
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
///   S3's `ListAllMyBucketsResult`) → [`Reply::Unparseable`].
///
/// Never panics.
pub fn decode_xml(status: u16, body: &[u8]) -> Reply {
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
    let trim = |v: Option<String>| v.map(|t| t.trim().to_owned());
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
/// - anything else → [`Reply::Unparseable`].
///
/// Never panics.
pub fn decode_json(status: u16, body: &[u8]) -> Reply {
    use serde_json::Value;
    if body.iter().all(u8::is_ascii_whitespace) {
        let reason = if body.is_empty() { "empty body" } else { "blank body" };
        return unparseable(reason, body);
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn success(image: &str, req: &str) -> Reply {
        Reply::Success { image_id: Some(image.to_owned()), request_id: Some(req.to_owned()) }
    }

    fn error(code: &str, msg: &str, req: &str) -> Reply {
        Reply::Error { code: code.to_owned(), message: Some(msg.to_owned()), request_id: Some(req.to_owned()) }
    }

    fn reason(r: &Reply) -> &str {
        match r {
            Reply::Unparseable { reason, .. } => reason,
            other => panic!("expected Unparseable, got {other:?}"),
        }
    }

    #[test]
    fn aws_sample_success() {
        // copyimage.md 2.1, api-page sample: namespace with a trailing slash.
        let body = r#"<CopyImageResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
   <requestId>60bc441d-fa2c-494d-b155-5d6a3EXAMPLE</requestId>
   <imageId>ami-4d3c2b1a</imageId>
</CopyImageResponse>"#;
        assert_eq!(decode_xml(200, body.as_bytes()), success("ami-4d3c2b1a", "60bc441d-fa2c-494d-b155-5d6a3EXAMPLE"));
    }

    #[test]
    fn moto_success() {
        // emulators.md "Wire format of a moto success response".
        let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CopyImageResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\"><imageId>ami-20ba2ca09a4be146c</imageId><requestId>request-id</requestId></CopyImageResponse>";
        assert_eq!(decode_xml(200, body.as_bytes()), success("ami-20ba2ca09a4be146c", "request-id"));
    }

    #[test]
    fn localstack_single_quoted_declaration_and_prefixes() {
        let body = "<?xml version='1.0' encoding='utf-8'?>\n<ec2:CopyImageResponse xmlns:ec2=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><ec2:requestId>r</ec2:requestId><ec2:imageId>ami-1</ec2:imageId></ec2:CopyImageResponse>";
        assert_eq!(decode_xml(200, body.as_bytes()), success("ami-1", "r"));
    }

    #[test]
    fn success_without_image_id_and_with_non_2xx() {
        assert_eq!(
            decode_xml(200, b"<CopyImageResponse><imageId/></CopyImageResponse>"),
            Reply::Success { image_id: Some(String::new()), request_id: None }
        );
        assert_eq!(decode_xml(200, b"<CopyImageResponse/>"), Reply::Success { image_id: None, request_id: None });
        let r = decode_xml(500, b"<CopyImageResponse><imageId>ami-1</imageId></CopyImageResponse>");
        assert_eq!(reason(&r), "<CopyImageResponse> with HTTP status 500");
    }

    #[test]
    fn aws_error_without_xmlns() {
        // copyimage.md 2.2, boto/boto#3594 (observed).
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>UnknownParameter</Code><Message>The parameter Encrypted is not recognized</Message></Error></Errors><RequestID>c35bcb0e-0000</RequestID></Response>";
        assert_eq!(
            decode_xml(400, body.as_bytes()),
            error("UnknownParameter", "The parameter Encrypted is not recognized", "c35bcb0e-0000")
        );
    }

    #[test]
    fn aws_docs_error_pretty() {
        let body = "<Response>
    <Errors>
         <Error>
           <Code>InvalidInstanceID.NotFound</Code>
           <Message>The instance ID 'i-1a2b3c4d' does not exist</Message>
         </Error>
    </Errors>
    <RequestID>ea966190-f9aa-478e-9ede-example</RequestID>
</Response>";
        assert_eq!(
            decode_xml(400, body.as_bytes()),
            error(
                "InvalidInstanceID.NotFound",
                "The instance ID 'i-1a2b3c4d' does not exist",
                "ea966190-f9aa-478e-9ede-example"
            )
        );
    }

    #[test]
    fn moto_error_with_xmlns() {
        let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\"><Errors><Error><Code>InvalidAMIID.Malformed</Code><Message>Invalid id: &quot;foo-123&quot; (expecting &quot;ami-...&quot;)</Message></Error></Errors><RequestID>request-id</RequestID></Response>";
        assert_eq!(
            decode_xml(400, body.as_bytes()),
            error("InvalidAMIID.Malformed", "Invalid id: \"foo-123\" (expecting \"ami-...\")", "request-id")
        );
    }

    #[test]
    fn moto_ext_pretty_error_with_inner_declaration() {
        // emulators.md section 6: the old template, an inner declaration, pretty-printed, no
        // xmlns, a fixed RequestID; the template wraps the message in CDATA.
        let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>
  <Response>
    <Errors>
      <Error>
        <Code>InvalidAMIID.NotFound</Code>
        <Message><![CDATA[The image id '[ami-0123456789abcdef0]' does not exist]]></Message>
        
      </Error>
    </Errors>
  <RequestID>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestID>
</Response>
";
        assert_eq!(
            decode_xml(400, body.as_bytes()),
            error(
                "InvalidAMIID.NotFound",
                "The image id '[ami-0123456789abcdef0]' does not exist",
                "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE"
            )
        );
    }

    #[test]
    fn first_error_wins_and_order_is_free() {
        let body = "<Response><RequestId>r1</RequestId><Errors><Error><Message>m1</Message><Code>C1</Code></Error><Error><Code>C2</Code><Message>m2</Message></Error></Errors></Response>";
        assert_eq!(decode_xml(400, body.as_bytes()), error("C1", "m1", "r1"));
        let body = b"<Response><Errors><Error><Code>C</Code></Error></Errors></Response>";
        assert_eq!(decode_xml(503, body), Reply::Error { code: "C".to_owned(), message: None, request_id: None });
    }

    #[test]
    fn entities_and_char_refs_in_text() {
        let body = b"<Response><Errors><Error><Code>X</Code><Message>a &lt;b&gt; &amp; &#39;c&#x27; &unknown;</Message></Error></Errors></Response>";
        assert_eq!(
            decode_xml(400, body),
            Reply::Error { code: "X".to_owned(), message: Some("a <b> & 'c' &unknown;".to_owned()), request_id: None }
        );
    }

    #[test]
    fn html_500_page() {
        // emulators.md Appendix A, case [5].
        let body = "<!doctype html><html lang=en><title>500 Internal Server Error</title><h1>Internal Server Error</h1><p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>";
        let r = decode_xml(500, body.as_bytes());
        assert_eq!(reason(&r), "unexpected root element <html>");
        let Reply::Unparseable { head, .. } = r else { unreachable!() };
        assert_eq!(head.len(), 200);
        assert!(body.starts_with(&head));
    }

    #[test]
    fn empty_and_blank_bodies() {
        assert_eq!(reason(&decode_xml(404, b"")), "empty body");
        assert_eq!(reason(&decode_xml(200, b" \n\t")), "blank body");
        assert_eq!(reason(&decode_xml(200, b"<?xml version=\"1.0\"?>\n")), "no root element");
    }

    #[test]
    fn truncated_xml() {
        let full = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>m</Message></Error></Errors><RequestID>request-id</RequestID></Response>";
        for cut in [60, 100, full.len() - 1] {
            let r = decode_xml(400, &full.as_bytes()[..cut]);
            assert!(matches!(r, Reply::Unparseable { .. }), "cut {cut}: {r:?}");
        }
        let r = decode_xml(400, &full.as_bytes()[..full.len() - 11]);
        assert_eq!(reason(&r), "truncated XML: <Response> is not closed");
    }

    #[test]
    fn malformed_xml() {
        let r = decode_xml(400, b"<Response><Errors></Error></Response>");
        assert!(reason(&r).starts_with("malformed XML at byte"), "{r:?}");
        let r = decode_xml(200, b"<CopyImageResponse></CopyImageResponse><CopyImageResponse/>");
        assert_eq!(reason(&r), "a second element after the root");
        let r = decode_xml(200, b"junk<CopyImageResponse/>");
        assert_eq!(reason(&r), "text outside the root element");
    }

    #[test]
    fn s3_list_all_my_buckets() {
        // emulators.md: moto routes an unsigned POST to S3.
        let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Buckets/><Owner><DisplayName>webfile</DisplayName><ID>bcaf1ffd86f41161ca5fb16fd081034f</ID></Owner></ListAllMyBucketsResult>";
        let r = decode_xml(200, body.as_bytes());
        assert_eq!(reason(&r), "unexpected root element <ListAllMyBucketsResult>");
    }

    #[test]
    fn error_envelope_without_code() {
        let r = decode_xml(400, b"<Response><Errors><Error><Message>m</Message></Error></Errors></Response>");
        assert_eq!(reason(&r), "error envelope without Errors/Error/Code");
        let r = decode_xml(400, b"<Response><RequestID>r</RequestID></Response>");
        assert_eq!(reason(&r), "<Response> without <Errors>");
        let r = decode_xml(400, b"<Response><Errors><Error><Code> </Code></Error></Errors></Response>");
        assert_eq!(reason(&r), "error envelope with an empty <Code>");
        // Code only counts at its place in the envelope.
        let r = decode_xml(400, b"<Response><Code>X</Code></Response>");
        assert!(matches!(r, Reply::Unparseable { .. }), "{r:?}");
    }

    #[test]
    fn random_and_non_utf8_bytes() {
        let r = decode_xml(500, &[0xff, 0xfe, 0x00, 0x3c, 0x80]);
        assert_eq!(reason(&r), "not UTF-8 (bad byte at 0)");
        let Reply::Unparseable { head, .. } = r else { unreachable!() };
        assert!(head.contains('\u{fffd}'));
        let r = decode_xml(200, b"\x01\x02<<>>&&;;\x7f");
        assert!(matches!(r, Reply::Unparseable { .. }), "{r:?}");
        // A UTF-8 BOM is not an error.
        let mut bom = "\u{feff}".as_bytes().to_vec();
        bom.extend_from_slice(b"<CopyImageResponse><imageId>ami-1</imageId></CopyImageResponse>");
        assert_eq!(decode_xml(200, &bom), Reply::Success { image_id: Some("ami-1".to_owned()), request_id: None });
    }

    #[test]
    fn head_is_first_200_bytes() {
        let body = "é".repeat(150);
        let Reply::Unparseable { head, .. } = decode_xml(500, body.as_bytes()) else { panic!("expected Unparseable") };
        assert_eq!(head, "é".repeat(100));
    }

    #[test]
    fn json_success_and_error() {
        let ok = br#"{"success": true, "data": {"id": "ami-0123", "created_at": "2026-01-01T00:00:00Z"}}"#;
        assert_eq!(decode_json(200, ok), Reply::Success { image_id: Some("ami-0123".to_owned()), request_id: None });
        let err = br#"{"success": false, "error": {"code": "InvalidAMIID.NotFound", "message": "nope"}}"#;
        assert_eq!(
            decode_json(400, err),
            Reply::Error {
                code: "InvalidAMIID.NotFound".to_owned(),
                message: Some("nope".to_owned()),
                request_id: None
            }
        );
        let err = br#"{"success": false, "error": {"code": "X"}}"#;
        assert_eq!(decode_json(400, err), Reply::Error { code: "X".to_owned(), message: None, request_id: None });
    }

    #[test]
    fn json_unparseable() {
        let cases: &[(u16, &[u8], &str)] = &[
            (200, b"", "empty body"),
            (200, b"[1]", "JSON body is not an object"),
            (200, b"{}", "no boolean `success` field"),
            (200, br#"{"success": "true"}"#, "no boolean `success` field"),
            (500, br#"{"success": true, "data": {"id": "a"}}"#, "success envelope with HTTP status 500"),
            (200, br#"{"success": true}"#, "success envelope without a `data` object"),
            (200, br#"{"success": true, "data": {"id": 5}}"#, "`data.id` is not a string"),
            (400, br#"{"success": false}"#, "error envelope without an `error` object"),
            (400, br#"{"success": false, "error": {"code": ""}}"#, "`error.code` is missing, empty or not a string"),
            (400, br#"{"success": false, "error": {"code": "X", "message": 1}}"#, "`error.message` is not a string"),
        ];
        for (status, body, want) in cases {
            assert_eq!(reason(&decode_json(*status, body)), *want, "{}", String::from_utf8_lossy(body));
        }
        assert!(reason(&decode_json(500, b"<html>")).starts_with("not JSON"));
        assert!(reason(&decode_json(200, br#"{"success": true, "data": {"id"#)).starts_with("not JSON"));
    }

    #[test]
    fn reply_round_trips_through_serde() {
        for r in [success("ami-1", "r"), error("C", "m", "r"), unparseable("why", b"head")] {
            let s = serde_json::to_string(&r).expect("serialize");
            assert_eq!(serde_json::from_str::<Reply>(&s).expect("deserialize"), r);
        }
    }

    /// Bytes that look a little like the envelopes, so the parser gets past the first byte.
    fn xmlish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop::sample::select(vec![
            "<",
            ">",
            "</",
            "/>",
            "<?xml version=\"1.0\"?>",
            "<![CDATA[",
            "]]>",
            "<!--",
            "-->",
            "&",
            "&amp;",
            "&#",
            ";",
            "x",
            " ",
            "\n",
            "\"",
            "=",
            ":",
            "<Response>",
            "</Response>",
            "<Errors>",
            "</Errors>",
            "<Error>",
            "</Error>",
            "<Code>",
            "</Code>",
            "<Message>",
            "<CopyImageResponse>",
            "</CopyImageResponse>",
            "<imageId>",
            "</imageId>",
            "<requestId>",
            "<RequestID>",
            "<!DOCTYPE",
            "é",
            "\u{feff}",
        ]);
        prop::collection::vec(
            prop_oneof![piece.prop_map(|s| s.as_bytes().to_vec()), prop::collection::vec(any::<u8>(), 0..4),],
            0..40,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn decoders_never_panic_on_bytes(status in any::<u16>(), body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_xml(status, &body);
            let _ = decode_json(status, &body);
        }

        #[test]
        fn decode_xml_never_panics_on_xmlish(status in any::<u16>(), body in xmlish()) {
            if let Reply::Unparseable { head, .. } = decode_xml(status, &body) {
                prop_assert!(head.len() <= HEAD_LEN * 3);
            }
            let _ = decode_json(status, &body);
        }
    }
}
