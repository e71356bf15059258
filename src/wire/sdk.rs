//! What an AWS SDK would make of an EC2 XML response: the cases where botocore reads a body
//! differently from [`super::decode_xml`], which forgives them.
//!
//! Why botocore (the AWS SDK for Python, whose EC2 parser the AWS CLI shares) would read an
//! EC2 XML response differently from [`decode_xml`](super::decode_xml), or not at all:
//!
//! - bytes before an XML declaration (a blank line, a second declaration): expat refuses the
//!   document and botocore raises `ResponseParserError`;
//! - whitespace around the text of `<Code>` or `<imageId>`: botocore keeps it, so code that
//!   compares `Error.Code` or uses `ImageId` gets `" InvalidAMIID.NotFound "`;
//! - an error envelope with a 2xx status: botocore parses a 2xx as the operation's result, so
//!   the error reads as a CopyImage result without an `ImageId`.
//!
//! [`super::decode_xml_read`] gives the reading with the decoded reply, from
//! one scan. A body [`decode_xml`](super::decode_xml) cannot read is not judged here.

use super::Reply;
use super::decode::{ERROR_ROOT, Scan, is_2xx};

/// [`decode_xml`](super::decode_xml) and what an AWS SDK would read differently in the body
/// (the cases above), from one scan of it; `None` when it reads the same.
pub fn decode_xml_read(status: u16, body: &[u8]) -> (Reply, Option<String>) {
    let mut reading = prolog_reading(body);
    let reply = super::decode::decode_xml_scanned(status, body, |s| {
        if reading.is_none() {
            reading = scan_reading(status, s);
        }
    });
    (reply, reading)
}

/// The first check of [`super::decode_xml_read`]'s SDK reading: bytes before an
/// XML declaration.
fn prolog_reading(body: &[u8]) -> Option<String> {
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    // Only the prolog counts: "<?xml" in a message's text is text.
    let root = body.windows(2).position(|w| w[0] == b'<' && w[1].is_ascii_alphabetic()).unwrap_or(body.len());
    // A declaration anywhere but at byte 0 (a second one included) is refused.
    let at = body[..root].windows(5).skip(1).position(|w| w == b"<?xml").map(|p| p + 1)?;
    Some(format!(
        "{at} bytes before an XML declaration: botocore raises ResponseParserError (a declaration must open the document)"
    ))
}

/// The other checks of the SDK reading, on a body that scanned whole, from its scan.
fn scan_reading(status: u16, s: &Scan) -> Option<String> {
    for (element, value) in [("Code", &s.code), ("imageId", &s.image_id)] {
        if let Some(v) = value
            && v.trim() != v
        {
            return Some(format!("whitespace around the <{element}> text {v:?}: botocore keeps it as written"));
        }
    }
    if s.root.as_deref() == Some(ERROR_ROOT) && s.code.is_some() && is_2xx(status) {
        return Some(format!(
            "an error envelope with HTTP {status}: botocore reads it as a CopyImage result without an ImageId"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    /// What an SDK would read differently in `body`.
    fn sdk_reading(status: u16, body: &[u8]) -> Option<String> {
        super::decode_xml_read(status, body).1
    }

    const ERROR: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>";
    const SUCCESS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyImageResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><imageId>ami-12345678</imageId></CopyImageResponse>";

    fn why(status: u16, body: &str) -> String {
        sdk_reading(status, body.as_bytes()).unwrap_or_default()
    }

    #[test]
    fn what_botocore_reads_as_aws_sends_it_passes() {
        assert_eq!(sdk_reading(400, ERROR.as_bytes()), None);
        assert_eq!(sdk_reading(200, SUCCESS.as_bytes()), None);
        // A byte order mark, pretty-printing between elements, no declaration at all, and
        // "<?xml" inside a message are all read the same by botocore.
        assert_eq!(sdk_reading(200, format!("\u{feff}{SUCCESS}").as_bytes()), None);
        let pretty =
            "<CopyImageResponse>\n  <requestId>r</requestId>\n  <imageId>ami-1</imageId>\n</CopyImageResponse>";
        assert_eq!(sdk_reading(200, pretty.as_bytes()), None);
        assert_eq!(sdk_reading(200, format!("\n{}", &SUCCESS[39..]).as_bytes()), None);
        assert_eq!(sdk_reading(400, ERROR.replace("<Message>m", "<Message>&lt;?xml m").as_bytes()), None);
    }

    #[test]
    fn bytes_before_the_declaration_make_botocore_raise() {
        assert!(
            why(200, &format!("\n{SUCCESS}")).starts_with("1 bytes before an XML declaration"),
            "{}",
            why(200, SUCCESS)
        );
        assert!(why(400, &format!("  \n{ERROR}")).contains("ResponseParserError"));
        // A second declaration (moto-ext's old error template) is refused by expat the same way.
        let twice = format!("<?xml version=\"1.0\"?>\n{ERROR}");
        assert!(why(400, &twice).starts_with("22 bytes before an XML declaration"), "{}", why(400, &twice));
    }

    #[test]
    fn whitespace_inside_code_or_image_id_is_kept_by_botocore() {
        let padded = ERROR.replace("<Code>InvalidAMIID.NotFound", "<Code> InvalidAMIID.NotFound\n");
        assert_eq!(
            why(400, &padded),
            "whitespace around the <Code> text \" InvalidAMIID.NotFound\\n\": botocore keeps it as written"
        );
        // The decoder still reads the code, so the verdict can name it.
        assert!(matches!(super::super::decode_xml(400, padded.as_bytes()),
            super::super::Reply::Error { code, .. } if code == "InvalidAMIID.NotFound"));
        let padded = SUCCESS.replace("<imageId>ami-12345678", "<imageId>\n  ami-12345678 ");
        assert!(why(200, &padded).starts_with("whitespace around the <imageId> text"), "{}", why(200, &padded));
    }

    #[test]
    fn the_reply_read_with_the_sdk_reading_is_the_decoders() {
        let bodies = [ERROR.to_owned(), SUCCESS.to_owned(), format!("\n{SUCCESS}"), String::new(), "<html>".into()];
        for body in bodies {
            for status in [200, 400, 500] {
                let (reply, _) = super::decode_xml_read(status, body.as_bytes());
                assert_eq!(reply, super::super::decode_xml(status, body.as_bytes()), "{status} {body:?}");
            }
        }
    }

    #[test]
    fn an_error_envelope_with_200_reads_as_a_result() {
        assert_eq!(
            why(200, ERROR),
            "an error envelope with HTTP 200: botocore reads it as a CopyImage result without an ImageId"
        );
    }
}
