//! The EC2 Query protocol's XML answers, written as AWS writes them: an XML declaration, then
//! elements with no whitespace between them.

use std::fmt::Write;

use super::describe::{ARCHITECTURE, CopyInfo, IMAGE_TYPE, ROOT_DEVICE, WORLD_CREATION_DATE, state_text};
pub use crate::wire::xml_escape::escape_into;
use crate::world::Image;

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>");
    escape_into(out, text);
    let _ = write!(out, "</{name}>");
}

/// The EC2 error document: `<Response><Errors><Error>…</Error></Errors><RequestID>…`.
pub fn error(code: &str, message: &str, request_id: &str) -> String {
    let mut out = String::with_capacity(256 + message.len());
    out.push_str(DECLARATION);
    out.push_str("<Response><Errors><Error>");
    element(&mut out, "Code", code);
    element(&mut out, "Message", message);
    out.push_str("</Error></Errors>");
    element(&mut out, "RequestID", request_id);
    out.push_str("</Response>");
    out
}

/// The `CopyImageResponse` document; `image_id` is left out only by a mutant.
pub fn copy_image(namespace: &str, request_id: &str, image_id: Option<&str>) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(DECLARATION);
    out.push_str("<CopyImageResponse xmlns=\"");
    escape_into(&mut out, namespace);
    out.push_str("\">");
    element(&mut out, "requestId", request_id);
    if let Some(id) = image_id {
        element(&mut out, "imageId", id);
    }
    out.push_str("</CopyImageResponse>");
    out
}

/// One image as DescribeImages shows it: the image, its owning account, and where it was
/// copied from when the endpoint made it.
pub struct Described<'a> {
    /// The image.
    pub image: &'a Image,
    /// Its owning account.
    pub owner: &'a str,
    /// The source and creation time of a copy the endpoint made.
    pub copy: Option<CopyInfo>,
}

/// The `DescribeImagesResponse` document.
pub fn describe_images<'a>(
    namespace: &str,
    request_id: &str,
    images: impl IntoIterator<Item = Described<'a>>,
) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str(DECLARATION);
    out.push_str("<DescribeImagesResponse xmlns=\"");
    escape_into(&mut out, namespace);
    out.push_str("\">");
    element(&mut out, "requestId", request_id);
    let mut any = false;
    for d in images {
        if !any {
            out.push_str("<imagesSet>");
            any = true;
        }
        image_item(&mut out, &d);
    }
    out.push_str(if any { "</imagesSet>" } else { "<imagesSet/>" });
    out.push_str("</DescribeImagesResponse>");
    out
}

/// One `imagesSet/item`, with the members of botocore's `Image` shape that tools read, under
/// their wire names.
fn image_item(out: &mut String, d: &Described<'_>) {
    let image = d.image;
    out.push_str("<item>");
    element(out, "imageId", &image.image_id);
    element(out, "imageLocation", &format!("{}/{}", d.owner, image.name.as_deref().unwrap_or("")));
    element(out, "imageState", state_text(image.state));
    element(out, "imageOwnerId", d.owner);
    element(out, "creationDate", d.copy.as_ref().map_or(WORLD_CREATION_DATE, |c| &*c.created));
    element(out, "isPublic", "false");
    element(out, "architecture", ARCHITECTURE);
    element(out, "imageType", IMAGE_TYPE);
    element(out, "platformDetails", "Linux/UNIX");
    element(out, "usageOperation", "RunInstances");
    if let Some(name) = &image.name {
        element(out, "name", name);
    }
    if let Some(description) = &image.description {
        element(out, "description", description);
    }
    element(out, "rootDeviceType", "ebs");
    element(out, "rootDeviceName", ROOT_DEVICE);
    out.push_str("<blockDeviceMapping><item>");
    element(out, "deviceName", ROOT_DEVICE);
    out.push_str("<ebs>");
    element(out, "snapshotId", &snapshot_id(image));
    element(out, "volumeSize", VOLUME_SIZE);
    element(out, "deleteOnTermination", "true");
    element(out, "volumeType", VOLUME_TYPE);
    element(out, "encrypted", if image.encrypted { "true" } else { "false" });
    out.push_str("</ebs></item></blockDeviceMapping>");
    element(out, "virtualizationType", "hvm");
    element(out, "hypervisor", "xen");
    element(out, "enaSupport", "true");
    element(out, "sriovNetSupport", "simple");
    if let Some(copy) = &d.copy {
        element(out, "sourceImageId", &copy.source_image_id);
        element(out, "sourceImageRegion", &copy.source_region);
    }
    if !image.tags.is_empty() {
        out.push_str("<tagSet>");
        for (k, v) in &image.tags {
            out.push_str("<item>");
            element(out, "key", k);
            element(out, "value", v);
            out.push_str("</item>");
        }
        out.push_str("</tagSet>");
    }
    out.push_str("</item>");
}

/// The root volume size (GiB) every described image reports.
pub const VOLUME_SIZE: &str = "8";
/// The root volume type every described image reports.
pub const VOLUME_TYPE: &str = "gp3";

/// The image's backing snapshot: the world's id when it has one, else one derived from the
/// image id so that the same image always shows the same snapshot.
pub fn snapshot_id(image: &Image) -> String {
    match &image.snapshot_id {
        Some(s) => s.clone(),
        None => {
            let digits = image.image_id.strip_prefix("ami-").unwrap_or(&image.image_id);
            format!("snap-{digits:0>17}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::xml_escape::escape;

    #[test]
    fn escapes_markup_and_unrepresentable_characters() {
        assert_eq!(escape("a<b>&\"c'\r\n\t\u{1}\u{ffff}é"), "a&lt;b&gt;&amp;&quot;c&apos;&#xD;\n\t\u{fffd}\u{fffd}é");
    }

    #[test]
    fn error_document_is_byte_exact() {
        assert_eq!(
            error("MissingParameter", "The request must contain the parameter <Name>", "r-1"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>MissingParameter</Code>\
             <Message>The request must contain the parameter &lt;Name&gt;</Message></Error></Errors>\
             <RequestID>r-1</RequestID></Response>"
        );
    }

    #[test]
    fn derived_snapshot_ids_are_17_digits() {
        let mut image: Image = serde_json::from_str(r#"{"image_id":"ami-760aaa0f","region":"r"}"#).unwrap();
        assert_eq!(snapshot_id(&image), "snap-000000000760aaa0f");
        image.snapshot_id = Some("snap-1".into());
        assert_eq!(snapshot_id(&image), "snap-1");
    }
}
