//! The scan of plain XML, the shape nearly every reply has, without quick-xml's general
//! machinery: an optional declaration, then elements with ASCII names, attributes that are
//! skipped, and text with the five predefined entities. A reply with anything else (a comment,
//! CDATA, a doctype, an instruction after the declaration, a prefixed or non-ASCII name, a
//! character reference or another entity, a carriage return, an end tag that is not exactly
//! `</name>` of the element it closes, text or an element after the root, nesting past
//! [`MAX_DEPTH`]) is left to the full scan, so every reason a reply is unparseable is the full
//! scan's, and the two agree on every reply this one takes (a differential test holds them to
//! it).

use memchr::{memchr, memchr2, memmem};

use super::{Capture, MAX_DEPTH, Scan, close, opened, push_text};

/// What the full scan finds in `text`, when `text` is plain XML; `None` when it is not, and
/// the full scan must read it.
pub(super) fn scan(text: &str) -> Option<Scan> {
    let b = text.as_bytes();
    let mut out = Scan::default();
    // A declaration only where XML allows it: first of all.
    let mut at = 0;
    if b.starts_with(b"<?") {
        let end = at + 2 + memmem::find(&b[at + 2..], b"?>")?;
        let inner = &b[at + 2..end];
        if !inner.starts_with(b"xml ") || !inner.iter().all(|&c| DECL[usize::from(c)]) {
            return None;
        }
        at = end + 2;
    }
    let mut path: Vec<&str> = Vec::with_capacity(8);
    let mut errors_seen = 0usize;
    let mut capture: Option<Capture> = None;
    let mut root_closed = false;
    loop {
        let lt = memchr(b'<', &b[at..]).map(|p| at + p);
        let text_end = lt.unwrap_or(b.len());
        if text_end > at {
            let t = &text[at..text_end];
            if path.is_empty() {
                // Outside the root only blanks, as the full scan allows.
                if !t.trim().is_empty() {
                    return None;
                }
            } else {
                push_resolved(&mut capture, path.len(), t)?;
            }
        }
        let Some(lt) = lt else { break };
        at = lt + 1;
        match b.get(at) {
            Some(b'/') => {
                let start = at + 1;
                let end = start + name_len(&b[start..]);
                if b.get(end) != Some(&b'>') || path.last() != Some(&&text[start..end]) {
                    return None;
                }
                close(&mut out, &mut path, &mut capture, &mut root_closed);
                at = end + 1;
            }
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {
                if root_closed || path.len() == MAX_DEPTH {
                    return None;
                }
                let end = at + name_len(&b[at..]);
                let (tag_end, empty) = tag_end(b, end)?;
                path.push(&text[at..end]);
                opened(&mut out, &path, &mut errors_seen, &mut capture);
                if empty {
                    close(&mut out, &mut path, &mut capture, &mut root_closed);
                }
                at = tag_end;
            }
            _ => return None,
        }
    }
    (root_closed && path.is_empty()).then_some(out)
}

/// Bytes whose table says `true`: ASCII letters and digits, and `extra`.
const fn table(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// What a plain name is made of.
const NAME: [bool; 256] = table(b"_-.");
/// What a plain declaration is made of (`xml version="1.0" encoding='UTF-8'`).
const DECL: [bool; 256] = table(b" =\"'._-");

/// The length of the plain name `b` starts with: ASCII letters, digits, `_`, `-` and `.`.
fn name_len(b: &[u8]) -> usize {
    b.iter().position(|&c| !NAME[usize::from(c)]).unwrap_or(b.len())
}

/// Where a start tag whose name ends at `at` ends (past its `>`), and whether it is empty
/// (`/>`): its attributes skipped, a quoted `>` inside them included. `None` for a tag that
/// is not plain: a `<` or `&` in it, a `/` not right before the `>`, no end, or a name that
/// goes on with a character a plain name does not have.
fn tag_end(b: &[u8], mut at: usize) -> Option<(usize, bool)> {
    match b.get(at)? {
        b'>' | b'/' => {}
        c if c.is_ascii_whitespace() => {}
        _ => return None,
    }
    loop {
        match *b.get(at)? {
            b'>' => return Some((at + 1, false)),
            b'/' if b.get(at + 1) == Some(&b'>') => return Some((at + 2, true)),
            b'/' | b'<' | b'&' => return None,
            q @ (b'"' | b'\'') => {
                let close = at + 1 + memchr(q, &b[at + 1..])?;
                if memchr2(b'<', b'&', &b[at + 1..close]).is_some() {
                    return None;
                }
                at = close + 1;
            }
            _ => at += 1,
        }
    }
}

/// Appends text found at `depth` to the capture as [`push_text`] does, with the five
/// predefined entities resolved; `None` for text with a carriage return (which XML reads as a
/// line feed) or any other reference.
fn push_resolved(capture: &mut Option<Capture>, depth: usize, t: &str) -> Option<()> {
    if memchr(b'\r', t.as_bytes()).is_some() {
        return None;
    }
    let mut rest = t;
    while let Some(amp) = memchr(b'&', rest.as_bytes()) {
        let semi = amp + 1 + memchr(b';', &rest.as_bytes()[amp + 1..])?;
        let resolved = match &rest[amp + 1..semi] {
            "lt" => "<",
            "gt" => ">",
            "amp" => "&",
            "quot" => "\"",
            "apos" => "'",
            _ => return None,
        };
        push_text(capture, depth, &rest[..amp]);
        push_text(capture, depth, resolved);
        rest = &rest[semi + 1..];
    }
    push_text(capture, depth, rest);
    Some(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::super::scan_full;
    use super::*;

    /// What the full scan finds in `doc`, or why it fails.
    fn full(doc: &str) -> Result<Scan, String> {
        let mut out = Scan::default();
        scan_full(doc, &mut out).map(|()| out)
    }

    /// Replies as AWS, the emulators and `serve` write them: every one is plain.
    const PLAIN: [&str; 5] = [
        "<CopyImageResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n   <requestId>60bc441d-fa2c-494d-b155-5d6a3EXAMPLE</requestId>\n   <imageId>ami-4d3c2b1a</imageId>\n</CopyImageResponse>",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<CopyImageResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\"><imageId>ami-20ba2ca09a4be146c</imageId><requestId>request-id</requestId></CopyImageResponse>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>UnknownParameter</Code><Message>The parameter Encrypted is not recognized</Message></Error></Errors><RequestID>c35bcb0e-0000</RequestID></Response>",
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\"><Errors><Error><Code>InvalidAMIID.Malformed</Code><Message>Invalid id: &quot;foo-123&quot; (expecting &quot;ami-...&quot;) &lt;&gt;&amp;&apos;</Message></Error></Errors><RequestID>request-id</RequestID></Response>",
        "<Response><Errors><Error><Code>A</Code><Message/></Error><Error><Code>B</Code></Error></Errors><RequestID/></Response>\n",
    ];

    #[test]
    fn real_replies_take_the_plain_scan_and_find_what_the_full_one_finds() {
        for doc in PLAIN {
            let plain = scan(doc).unwrap_or_else(|| panic!("not taken as plain: {doc}"));
            assert_eq!(Ok(plain), full(doc), "{doc}");
        }
        let error = scan(PLAIN[3]).unwrap();
        assert_eq!(error.code.as_deref(), Some("InvalidAMIID.Malformed"));
        assert_eq!(error.message.as_deref(), Some("Invalid id: \"foo-123\" (expecting \"ami-...\") <>&'"),);
        assert_eq!(scan(PLAIN[4]).unwrap().code.as_deref(), Some("A"), "the first error's code");
    }

    #[test]
    fn what_is_not_plain_is_left_to_the_full_scan() {
        for doc in [
            "<Response><!-- c --><Errors/></Response>",
            "<Response><Errors><Error><Code><![CDATA[X]]></Code></Error></Errors></Response>",
            "<!DOCTYPE r><Response/>",
            " <?xml version=\"1.0\"?><Response/>",
            "<?xml version=\"1.0\"?><?pi?><Response/>",
            "<ec2:Response xmlns:ec2=\"x\"/>",
            "<Réponse/>",
            "<Response>&#65;</Response>",
            "<Response>&nbsp;</Response>",
            "<Response>a\r\nb</Response>",
            "<Response></Responses>",
            "<Response></Response >",
            "<Response/><Response/>",
            "<Response/>text",
            "<Response a=\"<\"/>",
            "<Response",
            "<Response>",
            "",
        ] {
            assert_eq!(scan(doc), None, "{doc}");
        }
    }

    /// Mostly one of `plain`, now and then one of `odd`.
    fn mostly(plain: Vec<&'static str>, odd: Vec<&'static str>) -> impl Strategy<Value = &'static str> + Clone {
        prop_oneof![12 => prop::sample::select(plain), 1 => prop::sample::select(odd)]
    }

    /// An element name: the envelopes' own and others, now and then one that is not plain.
    fn name() -> impl Strategy<Value = &'static str> + Clone {
        mostly(
            vec![
                "Response",
                "Errors",
                "Error",
                "Code",
                "Message",
                "RequestID",
                "requestId",
                "RequestId",
                "CopyImageResponse",
                "imageId",
                "x",
                "a.b-c_d",
                "_y",
            ],
            vec!["ns:Code", "Ünï", "1x"],
        )
    }

    /// Attributes as written in a start tag, now and then ones that are not plain.
    fn attrs() -> impl Strategy<Value = &'static str> + Clone {
        mostly(
            vec![
                "",
                "",
                "",
                " xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"",
                " a='>'",
                " b=\"x/y\" c='1'",
                " f",
                "\t g = \"h\" ",
            ],
            vec![" d=\"<\"", " e=\"&amp;\"", " /", "\"", " i=\"unclosed"],
        )
    }

    /// Text between tags, now and then text that is not plain.
    fn text() -> impl Strategy<Value = &'static str> + Clone {
        mostly(
            vec![
                "",
                "",
                "",
                "abc",
                " ",
                "\n  ",
                "a &lt; b &gt; c",
                "&amp;&quot;&apos;",
                ">",
                "]]>",
                "é ü",
                "\u{a0}",
                "\t",
            ],
            vec!["&#65;", "&#x41;", "&foo;", "& bare", "&amp", "\r\n", "<!-- c -->", "<![CDATA[d]]>", "<?pi x?>"],
        )
    }

    /// An element: a leaf (empty, or with text) or one with children.
    fn element() -> impl Strategy<Value = String> {
        let leaf = (name(), attrs(), text(), any::<bool>())
            .prop_map(|(n, a, t, empty)| if empty { format!("<{n}{a}/>") } else { format!("<{n}{a}>{t}</{n}>") });
        leaf.prop_recursive(5, 40, 4, |inner| {
            (name(), attrs(), prop::collection::vec((text(), inner), 0..4), text(), mostly(vec![""], vec![" ", "x"]))
                .prop_map(|(n, a, children, tail, end_extra)| {
                    let body: String = children.into_iter().map(|(t, c)| format!("{t}{c}")).collect();
                    format!("<{n}{a}>{body}{tail}</{n}{end_extra}>")
                })
        })
    }

    /// An error envelope or a success, shaped as the envelopes are (so that the fields are
    /// found), their parts now and then doubled, left out or out of place.
    fn envelope() -> impl Strategy<Value = String> {
        // Now and then with an element inside, whose text is not the field's.
        let inner = mostly(vec![""], vec!["<i>in</i>", "<i/>", "<Code>c</Code>"]);
        let field = (
            prop::sample::select(vec!["Code", "Message", "RequestID", "imageId", "x"]),
            text(),
            inner,
            text(),
            any::<bool>(),
        )
            .prop_map(|(n, t, i, u, empty)| if empty { format!("<{n}/>") } else { format!("<{n}>{t}{i}{u}</{n}>") });
        let fields = prop::collection::vec((field, text()), 0..4)
            .prop_map(|f| f.into_iter().map(|(f, t)| format!("{f}{t}")).collect::<String>());
        let error = (fields.clone(), attrs()).prop_map(|(f, a)| format!("<Error{a}>{f}</Error>"));
        let errors = prop::collection::vec(error, 0..3).prop_map(|e| format!("<Errors>{}</Errors>", e.concat()));
        let request_id = prop::sample::select(vec![
            "",
            "<RequestID>r-1</RequestID>",
            "<requestId> r-2 </requestId>",
            "<RequestId/>",
        ]);
        prop_oneof![
            (attrs(), errors, fields.clone(), request_id.clone())
                .prop_map(|(a, e, f, r)| format!("<Response{a}>{e}{f}{r}</Response>")),
            (attrs(), fields, request_id)
                .prop_map(|(a, f, r)| format!("<CopyImageResponse{a}>{f}{r}</CopyImageResponse>")),
        ]
    }

    /// A document: maybe a declaration, blanks, a root, maybe something after it; maybe cut
    /// short or with a piece put in.
    fn document() -> impl Strategy<Value = String> {
        let decl = mostly(
            vec!["", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", "<?xml version='1.0'?>"],
            vec![" <?xml version=\"1.0\"?>", "<?xml?>", "<?xml-stylesheet a?>"],
        );
        let after = mostly(vec!["", "\n"], vec![" x", "<x/>", "<!-- c -->"]);
        let damage = prop_oneof![
            6 => Just(None),
            1 => (any::<Index>(), Just("")).prop_map(Some),
            1 => (any::<Index>(), prop::sample::select(vec!["<", ">", "&", "/", "\"", "</Response>", "<Error>", "\r"])).prop_map(Some),
        ];
        (decl, prop::sample::select(vec!["", "\n", "  "]), prop_oneof![element(), envelope()], after, damage).prop_map(
            |(d, ws, root, after, damage)| {
                let doc = format!("{d}{ws}{root}{after}");
                match damage {
                    None => doc,
                    // Cut short at a character boundary.
                    Some((at, "")) => {
                        let mut cut = at.index(doc.len() + 1);
                        while !doc.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        doc[..cut].to_owned()
                    }
                    Some((at, piece)) => {
                        let mut at = at.index(doc.len() + 1);
                        while !doc.is_char_boundary(at) {
                            at -= 1;
                        }
                        format!("{}{piece}{}", &doc[..at], &doc[at..])
                    }
                }
            },
        )
    }

    /// A real reply with a few of its bytes changed, put in or taken out: the edits are
    /// markup's own characters and others, at any place, so a plain reply turns into every kind
    /// of near miss.
    fn edited() -> impl Strategy<Value = String> {
        let edit = (
            any::<Index>(),
            0..3usize,
            prop::sample::select(vec!["<", ">", "/", "&", ";", "\"", "'", "=", "?", "!", ":", " ", "\r", "a", "é", ""]),
        );
        (prop::sample::select(PLAIN.to_vec()), prop::collection::vec(edit, 1..4)).prop_map(|(doc, edits)| {
            let mut doc = doc.to_owned();
            for (at, kind, piece) in edits {
                let mut at = at.index(doc.len() + 1);
                while !doc.is_char_boundary(at) {
                    at -= 1;
                }
                let end = doc[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                match kind {
                    0 => doc.insert_str(at, piece),
                    1 => doc.replace_range(at..end, piece),
                    _ => doc.replace_range(at..end, ""),
                }
            }
            doc
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// The same for real replies with a few bytes edited.
        #[test]
        fn the_plain_scan_agrees_with_the_full_one_on_edited_replies(doc in edited()) {
            if let Some(plain) = scan(&doc) {
                prop_assert_eq!(Ok(plain), full(&doc), "{}", doc);
            }
        }

        /// Whatever the plain scan takes, it finds exactly what the full scan finds.
        #[test]
        fn the_plain_scan_agrees_with_the_full_one(doc in document()) {
            if let Some(plain) = scan(&doc) {
                prop_assert_eq!(Ok(plain), full(&doc), "{}", doc);
            }
        }
    }
}
