//! The DescribeImages reader: the images of an ec2Query `DescribeImagesResponse` or of the
//! json-envelope dialect's `{"success": true, "data": {"images": [...]}}`.

use std::collections::BTreeMap;

use crate::wire::xml_path::{Flow, Visit, XmlError, walk};
use crate::world::{Image, ImageState};

/// The root of an ec2Query answer.
const ROOT: &str = "DescribeImagesResponse";

/// One image as DescribeImages shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DescribedImage {
    /// `imageId`, trimmed.
    pub image_id: String,
    /// `name`, as [`Text`] says.
    pub name: Option<String>,
    /// `description`, as [`Text`] says.
    pub description: Option<String>,
    /// `imageState` as written, trimmed.
    pub state: Option<String>,
    /// `imageOwnerId`, trimmed (ec2Query only).
    pub owner: Option<String>,
    /// `encrypted` of each EBS block device; `None` where the mapping does not say.
    pub ebs_encrypted: Vec<Option<bool>>,
    /// The first EBS block device's `snapshotId`, trimmed (ec2Query only).
    pub snapshot_id: Option<String>,
    /// `tagSet`: keys and values as [`Text`] says; a tag without a value has an empty one.
    pub tags: BTreeMap<String, String>,
}

impl DescribedImage {
    /// The image as a world records it, in `region`: a state other than `pending`, `failed`
    /// (or `error`, `invalid`) or `deregistered` counts as available, and the image is
    /// encrypted when any EBS block device says so.
    pub fn into_image(self, region: &str) -> Image {
        let mut image = Image::new(&self.image_id, region);
        image.name = self.name;
        image.description = self.description;
        image.owner = self.owner;
        if let Some(state) = self.state {
            image.state = match state.as_str() {
                "pending" => ImageState::Pending,
                "failed" | "error" | "invalid" => ImageState::Failed,
                "deregistered" => ImageState::Deregistered,
                _ => ImageState::Available,
            };
        }
        image.encrypted = self.ebs_encrypted.contains(&Some(true));
        image.snapshot_id = self.snapshot_id;
        image.tags = self.tags;
        image
    }
}

/// How the free text of an image (name, description, tag keys and values) is kept.
///
/// Building a world (`--discover`, `setup`) trims it, as the world's file has always held it;
/// the stateful checks keep it verbatim, since whether the endpoint returns a Name or a tag
/// exactly as sent is what they check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    /// Leading and trailing whitespace removed.
    Trimmed,
    /// As sent.
    Verbatim,
}

/// A DescribeImages answer that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DescribeError {
    /// The XML answer is not UTF-8.
    #[error("DescribeImages response is not UTF-8: {0}")]
    NotUtf8(#[source] std::str::Utf8Error),
    /// The XML answer is broken.
    #[error("unreadable DescribeImages response (byte {}): {}", .0.buffer_position, .0.source)]
    Unreadable(#[source] XmlError),
    /// The XML answer's root is another element.
    #[error("unexpected root element <{0}> in the DescribeImages response")]
    UnexpectedRoot(String),
    /// The XML answer has no root element, or leaves it open.
    #[error("DescribeImages response without a DescribeImagesResponse root")]
    NoRoot,
    /// The JSON answer does not parse.
    #[error("DescribeImages response is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The JSON answer has no image list.
    #[error("DescribeImages response without a `data.images` array")]
    NoImages,
    /// A JSON image has no id.
    #[error("a described image without a string `id`")]
    NoId,
}

/// Reads a `DescribeImagesResponse`: every image of its `imagesSet`, every EBS block device's
/// encryption, the state as written, free text as `text` says. Never panics.
pub fn read_xml(xml: &[u8], text: Text) -> Result<Vec<DescribedImage>, DescribeError> {
    let doc = std::str::from_utf8(xml).map_err(DescribeError::NotUtf8)?;
    let doc = doc.strip_prefix('\u{feff}').unwrap_or(doc);
    let mut reader = ImagesReader::new(text);
    walk(doc.as_bytes(), &mut reader).map_err(DescribeError::Unreadable)?;
    if let Some(root) = reader.wrong_root {
        return Err(DescribeError::UnexpectedRoot(root));
    }
    if reader.path.is_empty() && reader.rooted { Ok(reader.out) } else { Err(DescribeError::NoRoot) }
}

/// The [`Visit`]or that picks the images out of a `DescribeImagesResponse`.
struct ImagesReader {
    keep: Text,
    path: Vec<String>,
    rooted: bool,
    wrong_root: Option<String>,
    /// The image being read, with the depth of its `item`.
    cur: Option<(usize, DescribedImage)>,
    tag: (Option<String>, Option<String>),
    text: String,
    out: Vec<DescribedImage>,
}

impl ImagesReader {
    fn new(keep: Text) -> Self {
        ImagesReader {
            keep,
            path: vec![],
            rooted: false,
            wrong_root: None,
            cur: None,
            tag: (None, None),
            text: String::new(),
            out: vec![],
        }
    }
}

/// The names below an image's `item` (at `depth` in `path`) when there are at most four, as
/// many as the longest the reader looks for; none past that. Each element of a reply nested
/// ever deeper inside an item costs the same then, where building every path cost as much as
/// the depth (a 1 MiB reply of nested elements took minutes).
fn below_item(path: &[String], depth: usize) -> Vec<&str> {
    match path.get(depth + 1..) {
        Some(rel) if rel.len() <= 4 => rel.iter().map(String::as_str).collect(),
        _ => vec![],
    }
}

impl Visit for ImagesReader {
    fn open(&mut self, name: &str) -> Flow {
        if self.path.is_empty() {
            if name != ROOT {
                self.wrong_root = Some(name.to_owned());
                return Flow::Stop;
            }
            self.rooted = true;
        }
        if self.cur.is_none() && name == "item" && self.path.last().is_some_and(|p| p == "imagesSet") {
            self.cur = Some((self.path.len(), DescribedImage::default()));
        }
        self.path.push(name.to_owned());
        self.text.clear();
        if let Some((depth, image)) = &mut self.cur {
            let rel = below_item(&self.path, *depth);
            match rel.as_slice() {
                ["blockDeviceMapping", "item", "ebs"] => image.ebs_encrypted.push(None),
                ["tagSet", "item"] => self.tag = (None, None),
                _ => {}
            }
        }
        Flow::Go
    }

    fn text(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn close(&mut self) -> Flow {
        let value = std::mem::take(&mut self.text);
        let free = |v: String| if self.keep == Text::Trimmed { v.trim().to_owned() } else { v };
        if let Some((depth, image)) = &mut self.cur {
            let depth = *depth;
            let rel = below_item(&self.path, depth);
            match rel.as_slice() {
                ["imageId"] => image.image_id = value.trim().to_owned(),
                ["name"] => image.name = Some(free(value)),
                ["description"] => image.description = Some(free(value)),
                ["imageState"] => image.state = Some(value.trim().to_owned()),
                ["imageOwnerId"] => image.owner = Some(value.trim().to_owned()),
                ["blockDeviceMapping", "item", "ebs", "encrypted"] => {
                    if let Some(last) = image.ebs_encrypted.last_mut() {
                        *last = Some(value.trim() == "true");
                    }
                }
                ["blockDeviceMapping", "item", "ebs", "snapshotId"] => {
                    image.snapshot_id.get_or_insert_with(|| value.trim().to_owned());
                }
                ["tagSet", "item", "key"] => self.tag.0 = Some(free(value)),
                ["tagSet", "item", "value"] => self.tag.1 = Some(free(value)),
                ["tagSet", "item"] => {
                    if let Some(k) = self.tag.0.take() {
                        image.tags.insert(k, self.tag.1.take().unwrap_or_default());
                    }
                }
                _ => {}
            }
            if self.path.len() == depth + 1
                && let Some((_, image)) = self.cur.take()
            {
                self.out.push(image);
            }
        }
        self.path.pop();
        Flow::Go
    }
}

/// Reads the json-envelope dialect's `{"success": true, "data": {"images": [...]}}`, text as
/// sent.
pub fn read_json(body: &[u8]) -> Result<Vec<DescribedImage>, DescribeError> {
    use serde_json::Value;
    let v: Value = serde_json::from_slice(body).map_err(DescribeError::NotJson)?;
    let images =
        v.get("data").and_then(|d| d.get("images")).and_then(Value::as_array).ok_or(DescribeError::NoImages)?;
    images
        .iter()
        .map(|i| {
            let text = |k: &str| i.get(k).and_then(Value::as_str).map(str::to_owned);
            Ok(DescribedImage {
                image_id: text("id").ok_or(DescribeError::NoId)?,
                name: text("name"),
                description: text("description"),
                state: text("state"),
                ebs_encrypted: match i.get("encrypted") {
                    Some(Value::Bool(b)) => vec![Some(*b)],
                    Some(_) => vec![None],
                    None => vec![],
                },
                tags: i
                    .get("tags")
                    .and_then(Value::as_object)
                    .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                    .unwrap_or_default(),
                ..DescribedImage::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
