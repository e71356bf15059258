//! The XML namespace of a reply's root element: what `xmlns` (or `xmlns:prefix`, for a prefixed
//! root) binds it to. The decoder matches local names and ignores namespaces, as the SDKs do;
//! the verdict checks the namespace on its own (`verdict::namespace_finding`).

use quick_xml::events::Event;
use quick_xml::name::PrefixDeclaration;

/// The namespace of the document's root element: `Some(None)` when the root is in no
/// namespace (no declaration, or `xmlns=""`), `None` when the body has no readable root
/// element. Reads only up to the root's start tag. Never panics.
pub fn root_namespace(body: &[u8]) -> Option<Option<String>> {
    let text = std::str::from_utf8(body).ok()?;
    let mut reader = quick_xml::Reader::from_str(text.strip_prefix('\u{feff}').unwrap_or(text));
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name();
                let prefix = name.prefix().map(|p| p.as_ref().to_owned());
                for attr in e.attributes() {
                    let attr = attr.ok()?;
                    let binds_root = match attr.key.as_namespace_binding() {
                        Some(PrefixDeclaration::Default) => prefix.is_none(),
                        Some(PrefixDeclaration::Named(p)) => prefix.as_deref() == Some(p),
                        None => false,
                    };
                    if binds_root {
                        let uri = attr.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok()?.into_owned();
                        return Some((!uri.is_empty()).then_some(uri));
                    }
                }
                return Some(None);
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EC2: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

    fn ns(body: &str) -> Option<Option<String>> {
        root_namespace(body.as_bytes())
    }

    #[test]
    fn the_roots_own_binding_counts_and_nothing_else() {
        let aws = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyImageResponse xmlns=\"{EC2}\"><requestId>r</requestId></CopyImageResponse>"
        );
        assert_eq!(ns(&aws), Some(Some(EC2.to_owned())));
        assert_eq!(ns("<Response><Errors/></Response>"), Some(None));
        assert_eq!(ns("<CopyImageResponse xmlns=\"\"><imageId>ami-1</imageId></CopyImageResponse>"), Some(None));
        // A prefixed root is in the namespace its prefix is bound to; a binding of another
        // prefix (or a default one, for a prefixed root) is not its namespace.
        let prefixed = format!("<ec2:CopyImageResponse xmlns=\"urn:other\" xmlns:ec2=\"{EC2}\"/>");
        assert_eq!(ns(&prefixed), Some(Some(EC2.to_owned())));
        assert_eq!(ns(&format!("<ec2:CopyImageResponse xmlns=\"{EC2}\"/>")), Some(None));
        assert_eq!(ns(&format!("<CopyImageResponse xmlns:ec2=\"{EC2}\"/>")), Some(None));
        assert_eq!(ns("<CopyImageResponse xmlns=\"a&amp;b\"/>"), Some(Some("a&b".to_owned())));
        // A namespace on an inner element is not the root's.
        assert_eq!(
            ns(&format!("<CopyImageResponse><imageId xmlns=\"{EC2}\">ami-1</imageId></CopyImageResponse>")),
            Some(None)
        );
    }

    #[test]
    fn no_root_no_answer() {
        for body in ["", "   ", "not xml", "<?xml version=\"1.0\"?>", "<a b=\"1\" b=\"2\"/>"] {
            assert_eq!(ns(body), None, "{body:?}");
        }
        assert_eq!(root_namespace(&[0xff, 0xfe, b'<']), None);
    }
}
