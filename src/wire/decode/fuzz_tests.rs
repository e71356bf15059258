//! Fuzzing the response decoders (EC2 XML and the JSON envelope) with proptest: arbitrary bytes
//! and mutations of real replies. A malformed reply is a finding, never a panic; the bounded
//! case counts keep this part of the ordinary test run.

use proptest::prelude::*;
use proptest::sample::Index;

use crate::wire::decode::MAX_DEPTH;
use crate::wire::{Reply, decode_json, decode_xml};

/// Real replies, as AWS and the emulators write them (see `src/wire/decode/tests.rs` for where
/// each comes from).
const XML_REPLIES: [&str; 5] = [
    "<CopyImageResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n   <requestId>60bc441d-fa2c-494d-b155-5d6a3EXAMPLE</requestId>\n   <imageId>ami-4d3c2b1a</imageId>\n</CopyImageResponse>",
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CopyImageResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\"><imageId>ami-20ba2ca09a4be146c</imageId><requestId>request-id</requestId></CopyImageResponse>",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>UnknownParameter</Code><Message>The parameter Encrypted is not recognized</Message></Error></Errors><RequestID>c35bcb0e-0000</RequestID></Response>",
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\"><Errors><Error><Code>InvalidAMIID.Malformed</Code><Message>Invalid id: &quot;foo-123&quot; (expecting &quot;ami-...&quot;)</Message></Error></Errors><RequestID>request-id</RequestID></Response>",
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n  <Response>\n    <Errors>\n      <Error>\n        <Code>InvalidAMIID.NotFound</Code>\n        <Message><![CDATA[The image id '[ami-0123456789abcdef0]' does not exist]]></Message>\n      </Error>\n    </Errors>\n  <RequestID>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestID>\n</Response>\n",
];

/// Real JSON envelope replies.
const JSON_REPLIES: [&str; 3] = [
    r#"{"success": true, "data": {"id": "ami-0123", "created_at": "2026-01-01T00:00:00Z"}}"#,
    r#"{"success": false, "error": {"code": "InvalidAMIID.NotFound", "message": "nope"}}"#,
    r#"{"success": false, "error": {"code": "X", "message": "a \"quoted\" [text] {with} \\ brackets"}}"#,
];

/// Checks what any decode must give: a reply, and for an unparseable one a reason and the
/// body's head.
fn check(reply: &Reply, body: &[u8]) -> Result<(), TestCaseError> {
    if let Reply::Unparseable { reason, head } = reply {
        prop_assert!(!reason.is_empty());
        let lossy = String::from_utf8_lossy(&body[..body.len().min(200)]);
        prop_assert_eq!(head.as_str(), lossy.as_ref());
    }
    Ok(())
}

/// Both decoders on `body`; each must give the same answer twice.
fn decode_both(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    for decode in [decode_xml, decode_json] {
        let reply = decode(status, body);
        check(&reply, body)?;
        prop_assert_eq!(reply, decode(status, body));
    }
    Ok(())
}

/// Inserts `piece` into `base` at `at`.
fn insert(base: &[u8], at: Index, piece: &[u8]) -> Vec<u8> {
    let at = at.index(base.len() + 1);
    [&base[..at], piece, &base[at..]].concat()
}

/// One way of breaking a reply.
fn mutation(base: &'static str) -> BoxedStrategy<Vec<u8>> {
    let b = base.as_bytes();
    let garbage = prop::collection::vec(any::<u8>(), 1..24);
    prop_oneof![
        any::<Index>().prop_map(move |i| b[..i.index(b.len() + 1)].to_vec()),
        (any::<Index>(), garbage).prop_map(move |(i, g)| insert(b, i, &g)),
        (any::<Index>(), any::<u8>()).prop_map(move |(i, x)| {
            let mut v = b.to_vec();
            let i = i.index(v.len());
            v[i] = x;
            v
        }),
        // BOMs: UTF-8 (accepted), UTF-16 either way, and a UTF-8 BOM inside the document.
        prop::sample::select(vec![&b"\xef\xbb\xbf"[..], b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf"])
            .prop_map(move |bom| [bom, b].concat()),
        (any::<Index>(), prop::sample::select(vec![&b"\xff"[..], b"\xc3", b"\xed\xa0\x80", b"\xe2\x82", b"\x00"]))
            .prop_map(move |(i, bad)| insert(b, i, bad)),
        // Deep nesting, in both dialects' brackets, far past the bound.
        (any::<Index>(), MAX_DEPTH - 2..4 * MAX_DEPTH, prop::sample::select(vec![("<a>", "</a>"), ("[", "]"), ("{\"k\":", "}")]))
            .prop_map(move |(i, depth, (open, close))| {
                insert(b, i, format!("{}{}", open.repeat(depth), close.repeat(depth)).as_bytes())
            }),
        (any::<Index>(), prop::sample::select(vec!["<a>", "[", "{\"k\":"])).prop_map(move |(i, open)| insert(
            b,
            i,
            open.repeat(10_000).as_bytes()
        )),
        // Entity tricks: a billion-laughs DOCTYPE (entities are not expanded), references to
        // undeclared entities, char refs out of range.
        (any::<Index>(), prop::sample::select(vec![
            "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>",
            "&c;&c;&c;&c;",
            "&#x110000;",
            "&#0;",
            "&#xD800;",
            "&#99999999999999999999;",
            "&;",
            "&amp",
        ]))
        .prop_map(move |(i, e)| insert(b, i, e.as_bytes())),
        // A huge attribute, and many of them.
        (any::<Index>(), 1usize..100_000).prop_map(move |(i, n)| insert(b, i, format!(" x=\"{}\"", "y".repeat(n)).as_bytes())),
        any::<Index>().prop_map(move |i| insert(b, i, " a=\"1\"".repeat(5_000).as_bytes())),
    ]
    .boxed()
}

fn statuses() -> impl Strategy<Value = u16> {
    prop_oneof![Just(200u16), Just(400), Just(500), Just(503), any::<u16>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(status in statuses(), body in prop::collection::vec(any::<u8>(), 0..1024)) {
        decode_both(status, &body)?;
    }

    #[test]
    fn decoders_never_panic_on_broken_xml_replies(
        status in statuses(),
        body in prop::sample::select(XML_REPLIES.to_vec()).prop_flat_map(mutation),
    ) {
        decode_both(status, &body)?;
    }

    #[test]
    fn decoders_never_panic_on_broken_json_replies(
        status in statuses(),
        body in prop::sample::select(JSON_REPLIES.to_vec()).prop_flat_map(mutation),
    ) {
        decode_both(status, &body)?;
    }
}

/// Every real reply cut short before its last closing bracket is unparseable, never a reply
/// with fields missing.
#[test]
fn truncated_real_replies_are_unparseable() {
    let cases = XML_REPLIES.iter().map(|r| (r, b'>', decode_xml as fn(u16, &[u8]) -> Reply));
    let cases = cases.chain(JSON_REPLIES.iter().map(|r| (r, b'}', decode_json as fn(u16, &[u8]) -> Reply)));
    for (reply, last, decode) in cases {
        let body = reply.as_bytes();
        let end = body.iter().rposition(|&b| b == last).unwrap();
        assert!(!matches!(decode(200, body), Reply::Unparseable { .. }), "{reply}");
        for cut in 0..=end {
            let r = decode(200, &body[..cut]);
            assert!(matches!(r, Reply::Unparseable { .. }), "cut at {cut} of {reply}: {r:?}");
        }
    }
}
