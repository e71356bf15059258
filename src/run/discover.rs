//! `--discover`: builds a world from the endpoint's own `DescribeImages` answer.

use quick_xml::events::Event;

use crate::run::Target;
use crate::run::setup::{SetupError, call};
use crate::world::{Image, ImageState, Params, World};

/// Why the endpoint's images could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// The request failed.
    #[error("DescribeImages on {endpoint}: {detail}")]
    Request {
        /// The endpoint asked.
        endpoint: String,
        /// What went wrong.
        detail: String,
    },
    /// Some ids were not in the answer.
    #[error("DescribeImages on {endpoint} did not return {missing}")]
    Missing {
        /// The endpoint asked.
        endpoint: String,
        /// The ids not found, comma-separated.
        missing: String,
    },
}

/// Asks the endpoint for `ids` and returns a world of the target's Region holding them.
pub async fn discover(target: &Target, account: &str, ids: &[String]) -> Result<World, DiscoverError> {
    let err = |detail: String| DiscoverError::Request { endpoint: target.endpoint.clone(), detail };
    let params: Params = ids.iter().enumerate().map(|(i, id)| (format!("ImageId.{}", i + 1), id.clone())).collect();
    let bytes = call(target, &target.region, "DescribeImages", &params).await.map_err(|e| match e {
        SetupError::Call { detail, .. } => err(detail),
        other => err(other.to_string()),
    })?;
    let mut images = parse_images(&bytes, &target.region).map_err(err)?;
    // A discovered image is named by its own id: a corpus made with --discover maps to it.
    for i in &mut images {
        i.role.get_or_insert_with(|| i.image_id.clone());
    }
    let missing: Vec<&str> =
        ids.iter().filter(|id| !images.iter().any(|i| &i.image_id == *id)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(DiscoverError::Missing { endpoint: target.endpoint.clone(), missing: missing.join(", ") });
    }
    Ok(World::new(&target.region, account, images))
}

/// Reads the `imagesSet` items of a `DescribeImagesResponse`.
pub fn parse_images(xml: &[u8], region: &str) -> Result<Vec<Image>, String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut path: Vec<String> = vec![];
    let mut images = vec![];
    let mut cur: Option<Image> = None;
    let mut tag_key: Option<String> = None;
    let mut text = String::new();
    let mut buf = vec![];
    loop {
        match reader.read_event_into(&mut buf) {
            Err(e) => return Err(format!("unreadable DescribeImages response: {e}")),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref().as_bytes()).into_owned();
                if name == "item" && path.last().is_some_and(|p| p == "imagesSet") {
                    cur = Some(Image::new("", region));
                }
                path.push(name);
                text.clear();
            }
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) => text.push_str(&crate::wire::decode::resolve_ref(&r)),
            Ok(Event::End(_)) => {
                let value = std::mem::take(&mut text).trim().to_owned();
                if let (Some(img), Some(leaf)) = (cur.as_mut(), path.last()) {
                    let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
                    let in_tags = path.iter().any(|p| p == "tagSet");
                    apply_field(img, parent, leaf, value, in_tags, &mut tag_key);
                }
                if path.pop().as_deref() == Some("item") && path.last().is_some_and(|p| p == "imagesSet") {
                    images.extend(cur.take());
                }
            }
            Ok(_) => {}
        }
        buf.clear();
    }
    Ok(images)
}

fn apply_field(
    img: &mut Image,
    parent: Option<&str>,
    leaf: &str,
    text: String,
    in_tags: bool,
    key: &mut Option<String>,
) {
    match (parent, leaf) {
        (Some("item"), "key") if in_tags => *key = Some(text),
        (Some("item"), "value") if in_tags => {
            if let Some(k) = key.take() {
                img.tags.insert(k, text);
            }
        }
        (Some("item"), "imageId") => img.image_id = text,
        (Some("item"), "name") => img.name = Some(text),
        (Some("item"), "description") => img.description = Some(text),
        (Some("item"), "imageOwnerId") => img.owner = Some(text),
        (Some("item"), "imageState") => {
            img.state = match text.as_str() {
                "pending" => ImageState::Pending,
                "failed" | "error" | "invalid" => ImageState::Failed,
                "deregistered" => ImageState::Deregistered,
                _ => ImageState::Available,
            }
        }
        (Some("ebs"), "encrypted") => img.encrypted |= text == "true",
        (Some("ebs"), "snapshotId") => img.snapshot_id = img.snapshot_id.take().or(Some(text)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_images_with_tags_and_encryption() {
        let xml = br#"<?xml version="1.0"?><DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><imagesSet><item><blockDeviceMapping><item><ebs><snapshotId>snap-1</snapshotId><encrypted>true</encrypted></ebs><deviceName>/dev/sda1</deviceName></item></blockDeviceMapping><name>src &amp; co</name><tagSet><item><key>env</key><value>test</value></item></tagSet><imageId>ami-12345678</imageId><imageState>available</imageState><imageOwnerId>123456789012</imageOwnerId></item><item><imageId>ami-87654321</imageId><imageState>deregistered</imageState></item></imagesSet></DescribeImagesResponse>"#;
        let images = parse_images(xml, "us-east-1").unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].image_id, "ami-12345678");
        assert_eq!(images[0].name.as_deref(), Some("src & co"));
        assert!(images[0].encrypted);
        assert_eq!(images[0].snapshot_id.as_deref(), Some("snap-1"));
        assert_eq!(images[0].tags["env"], "test");
        assert_eq!(images[1].state, ImageState::Deregistered);
    }
}
