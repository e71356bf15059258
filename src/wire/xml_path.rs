//! Reading EC2 answers by the local names of their elements: one event loop ([`walk`]) under
//! the root-name check, the field look-up ([`text_at`]) and the DescribeImages reader.

use quick_xml::events::{BytesStart, Event};

use crate::wire::decode::resolve_ref;

/// XML that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("unreadable XML at byte {error_position}: {source}")]
pub struct XmlError {
    /// Where the broken construct starts.
    pub error_position: u64,
    /// How far the reader had read when it gave up.
    pub buffer_position: u64,
    /// What is wrong.
    #[source]
    pub source: quick_xml::Error,
}

/// Whether to go on reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Read the next event.
    Go,
    /// Stop here; [`walk`] returns [`Walked::Stopped`].
    Stop,
}

/// How a walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walked {
    /// The visitor asked to stop.
    Stopped,
    /// The document ended.
    Ended,
}

/// What [`walk`] tells as it reads: elements by local name (namespaces and prefixes
/// ignored), and their text with references resolved.
pub trait Visit {
    /// An element starts. An empty element (`<a/>`) starts and ends at once.
    fn open(&mut self, name: &str) -> Flow;
    /// A piece of text, CDATA or a resolved reference; pieces of one text come one by one.
    fn text(&mut self, text: &str);
    /// The innermost open element ends.
    fn close(&mut self) -> Flow;
}

/// Reads `xml` from its start and tells `visitor` what it finds, until the visitor stops,
/// the document ends, or the XML breaks. Declarations, comments and the like are skipped.
pub fn walk(xml: &[u8], visitor: &mut impl Visit) -> Result<Walked, XmlError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = vec![];
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(source) => {
                return Err(XmlError {
                    error_position: reader.error_position(),
                    buffer_position: reader.buffer_position(),
                    source,
                });
            }
        };
        let flow = match event {
            Event::Eof => return Ok(Walked::Ended),
            Event::Start(e) => visitor.open(&local_name(&e)),
            Event::Empty(e) => match visitor.open(&local_name(&e)) {
                Flow::Go => visitor.close(),
                Flow::Stop => Flow::Stop,
            },
            Event::End(_) => visitor.close(),
            Event::Text(t) => {
                visitor.text(&t.xml10_content());
                Flow::Go
            }
            Event::CData(t) => {
                visitor.text(&t.xml10_content());
                Flow::Go
            }
            Event::GeneralRef(r) => {
                visitor.text(&resolve_ref(&r));
                Flow::Go
            }
            _ => Flow::Go,
        };
        if flow == Flow::Stop {
            return Ok(Walked::Stopped);
        }
        buf.clear();
    }
}

/// An element's name without its namespace prefix.
fn local_name(e: &BytesStart<'_>) -> String {
    let name = e.local_name();
    let name: &str = name.as_ref();
    name.to_owned()
}

/// Why a document's root could not be named.
#[derive(Debug, thiserror::Error)]
pub enum RootError {
    /// The XML broke before the root.
    #[error("unreadable XML: {}", .0.source)]
    Unreadable(XmlError),
    /// The document has no element.
    #[error("no root element")]
    NoRoot,
}

/// The local name of the document's root element.
pub fn root_name(xml: &[u8]) -> Result<String, RootError> {
    struct Root(Option<String>);
    impl Visit for Root {
        fn open(&mut self, name: &str) -> Flow {
            self.0 = Some(name.to_owned());
            Flow::Stop
        }
        fn text(&mut self, _: &str) {}
        fn close(&mut self) -> Flow {
            Flow::Go
        }
    }
    let mut root = Root(None);
    walk(xml, &mut root).map_err(RootError::Unreadable)?;
    root.0.ok_or(RootError::NoRoot)
}

/// The trimmed text of the first element whose path of local names, from the root, is `path`
/// (namespaces and prefixes ignored). `Ok(None)` if there is none; `Err` for broken XML.
pub fn text_at(xml: &[u8], path: &[&str]) -> Result<Option<String>, XmlError> {
    struct At<'p> {
        path: &'p [&'p str],
        at: Vec<String>,
        /// The text so far, once the element is open.
        text: Option<String>,
        found: Option<String>,
    }
    impl Visit for At<'_> {
        fn open(&mut self, name: &str) -> Flow {
            self.at.push(name.to_owned());
            if self.at.iter().map(String::as_str).eq(self.path.iter().copied()) {
                self.text = Some(String::new());
            }
            Flow::Go
        }
        fn text(&mut self, text: &str) {
            // Only the element's own text, not its children's.
            if let Some(s) = self.text.as_mut().filter(|_| self.at.len() == self.path.len()) {
                s.push_str(text);
            }
        }
        fn close(&mut self) -> Flow {
            if self.at.len() == self.path.len()
                && let Some(s) = self.text.take()
            {
                self.found = Some(s.trim().to_owned());
                return Flow::Stop;
            }
            self.at.pop();
            Flow::Go
        }
    }
    let mut at = At { path, at: vec![], text: None, found: None };
    walk(xml, &mut at)?;
    Ok(at.found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15";

    #[test]
    fn ids_are_read_by_local_name_whatever_the_namespace() {
        let moto = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<RegisterImageResponse xmlns="{NS}"><imageId>ami-4aa5a67edf08c583d</imageId><requestId>request-id</requestId></RegisterImageResponse>"#
        );
        let id = text_at(moto.as_bytes(), &["RegisterImageResponse", "imageId"]).unwrap();
        assert_eq!(id.as_deref(), Some("ami-4aa5a67edf08c583d"));
        let prefixed = br#"<ec2:CreateVolumeResponse xmlns:ec2="urn:x"><ec2:requestId>r</ec2:requestId>
        <ec2:volumeId> vol-1 </ec2:volumeId><ec2:status>creating</ec2:status></ec2:CreateVolumeResponse>"#;
        let id = text_at(prefixed, &["CreateVolumeResponse", "volumeId"]).unwrap();
        assert_eq!(id.as_deref(), Some("vol-1"));
        // A nested element of the same name is not the answer's own field.
        let nested = b"<CreateSnapshotResponse><tagSet><item><snapshotId>snap-no</snapshotId></item></tagSet>\
        <snapshotId>snap-&#x31;<![CDATA[2]]></snapshotId></CreateSnapshotResponse>";
        let id = text_at(nested, &["CreateSnapshotResponse", "snapshotId"]).unwrap();
        assert_eq!(id.as_deref(), Some("snap-12"));
        let volumes = b"<DescribeVolumesResponse><volumeSet><item><attachmentSet><item><status>attached</status>\
        </item></attachmentSet><status>in-use</status></item></volumeSet></DescribeVolumesResponse>";
        let state = text_at(volumes, &["DescribeVolumesResponse", "volumeSet", "item", "status"]).unwrap();
        assert_eq!(state.as_deref(), Some("in-use"));
    }

    #[test]
    fn missing_empty_and_broken_fields() {
        assert_eq!(text_at(b"<RegisterImageResponse/>", &["RegisterImageResponse", "imageId"]).unwrap(), None);
        assert_eq!(text_at(b"<R><imageId/></R>", &["R", "imageId"]).unwrap(), Some(String::new()));
        assert_eq!(text_at(b"<Other><imageId>ami-1</imageId></Other>", &["R", "imageId"]).unwrap(), None);
        let broken = text_at(b"<R><imageId>ami-1</image></R>", &["R", "imageId"]);
        assert!(broken.as_ref().is_err_and(|e| e.to_string().starts_with("unreadable XML at byte ")), "{broken:?}");
    }

    #[test]
    fn the_root_is_the_first_element() {
        assert_eq!(root_name(b"<?xml version='1.0'?><!-- c --><a:R xmlns:a='u'><b/></a:R>").unwrap(), "R");
        assert_eq!(root_name(b"<R/>").unwrap(), "R");
        assert_eq!(root_name(b"").unwrap_err().to_string(), "no root element");
        assert!(root_name(b"<").unwrap_err().to_string().starts_with("unreadable XML: "));
    }
}
