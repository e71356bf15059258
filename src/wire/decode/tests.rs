//! Tests of the response decoders: real replies from AWS and the emulators, broken ones, and
//! hostile ones.

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
        Reply::Error { code: "InvalidAMIID.NotFound".to_owned(), message: Some("nope".to_owned()), request_id: None }
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

/// A CopyImage success whose elements nest `depth` deep (the root counts), through an element
/// the decoder ignores.
fn deep_success(depth: usize) -> Vec<u8> {
    let inner = depth - 1;
    format!(
        "<CopyImageResponse><imageId>ami-1</imageId>{}{}</CopyImageResponse>",
        "<a>".repeat(inner),
        "</a>".repeat(inner)
    )
    .into_bytes()
}

/// A JSON success envelope whose objects and arrays nest `depth` deep (the envelope counts).
fn deep_json(depth: usize) -> Vec<u8> {
    // The envelope and `data` are two levels; `extra` holds the rest as nested arrays.
    let inner = depth - 2;
    format!(r#"{{"success": true, "data": {{"id": "ami-1", "extra": {}{}}}}}"#, "[".repeat(inner), "]".repeat(inner))
        .into_bytes()
}

#[test]
fn xml_at_the_depth_bound_decodes() {
    let ok = Reply::Success { image_id: Some("ami-1".to_owned()), request_id: None };
    assert_eq!(decode_xml(200, &deep_success(MAX_DEPTH)), ok);
    let body = format!(
        "<Response><Errors><Error><Code>C</Code>{}{}</Error></Errors></Response>",
        "<x>".repeat(MAX_DEPTH - 3),
        "</x>".repeat(MAX_DEPTH - 3)
    );
    assert_eq!(
        decode_xml(400, body.as_bytes()),
        Reply::Error { code: "C".to_owned(), message: None, request_id: None }
    );
}

#[test]
fn xml_past_the_depth_bound_is_unparseable() {
    let r = decode_xml(200, &deep_success(MAX_DEPTH + 1));
    assert!(reason(&r).starts_with("nested deeper than 64 levels"), "{r:?}");
    // An empty element one level too deep counts as well.
    let body = format!("<CopyImageResponse>{}<b/>{}</CopyImageResponse>", "<a>".repeat(63), "</a>".repeat(63));
    assert!(reason(&decode_xml(200, body.as_bytes())).starts_with("nested deeper than 64 levels"));
}

#[test]
fn xml_decoding_stops_at_the_depth_bound() {
    // Where decoding stopped is in the reason: the same byte for every depth past the bound,
    // so a reply 100,000 deep costs what one 65 deep does.
    let stop = reason(&decode_xml(200, &deep_success(MAX_DEPTH + 1))).to_owned();
    assert_eq!(stop, too_deep("<CopyImageResponse><imageId>ami-1</imageId>".len() + "<a>".len() * MAX_DEPTH));
    for depth in [10_000, 20_000, 100_000] {
        assert_eq!(reason(&decode_xml(200, &deep_success(depth))), stop, "depth {depth}");
        // Unclosed, as a hostile server would stream it.
        let open = format!("<CopyImageResponse>{}", "<a>".repeat(depth));
        assert_eq!(
            reason(&decode_xml(200, open.as_bytes())),
            too_deep("<CopyImageResponse>".len() + "<a>".len() * MAX_DEPTH)
        );
    }
}

#[test]
fn json_depth_is_bounded_like_xml() {
    let ok = Reply::Success { image_id: Some("ami-1".to_owned()), request_id: None };
    assert_eq!(decode_json(200, &deep_json(MAX_DEPTH)), ok);
    let stop = reason(&decode_json(200, &deep_json(MAX_DEPTH + 1))).to_owned();
    assert!(stop.starts_with("nested deeper than 64 levels"), "{stop}");
    for depth in [10_000, 20_000, 100_000] {
        assert_eq!(reason(&decode_json(200, &deep_json(depth))), stop, "depth {depth}");
        assert_eq!(reason(&decode_json(200, "[".repeat(depth).as_bytes())), too_deep(MAX_DEPTH));
    }
    // Brackets inside strings, escaped quotes included, are text, not nesting.
    let text = format!(r#"{{"success": true, "data": {{"id": "ami-1", "x": "\"{}"}}}}"#, "[".repeat(1000));
    assert_eq!(decode_json(200, text.as_bytes()), ok);
}
