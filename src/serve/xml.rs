//! The EC2 Query protocol's XML answers, written as AWS writes them: an XML declaration, then
//! elements with no whitespace between them.

use std::fmt::Write;

pub use crate::wire::xml_escape::escape_into;
use crate::world::{Image, ImageState};

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

/// The `DescribeImagesResponse` document over (image, owning account) pairs.
pub fn describe_images<'a>(
    namespace: &str,
    request_id: &str,
    images: impl IntoIterator<Item = (&'a Image, &'a str)>,
) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str(DECLARATION);
    out.push_str("<DescribeImagesResponse xmlns=\"");
    escape_into(&mut out, namespace);
    out.push_str("\">");
    element(&mut out, "requestId", request_id);
    let mut any = false;
    for (image, owner) in images {
        if !any {
            out.push_str("<imagesSet>");
            any = true;
        }
        image_item(&mut out, image, owner);
    }
    out.push_str(if any { "</imagesSet>" } else { "<imagesSet/>" });
    out.push_str("</DescribeImagesResponse>");
    out
}

fn image_item(out: &mut String, image: &Image, owner: &str) {
    out.push_str("<item>");
    element(out, "imageId", &image.image_id);
    element(out, "imageState", state_text(image.state));
    element(out, "imageOwnerId", owner);
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
    element(out, "encrypted", if image.encrypted { "true" } else { "false" });
    out.push_str("</ebs></item></blockDeviceMapping>");
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

/// The root device every described image reports.
pub const ROOT_DEVICE: &str = "/dev/xvda";

/// The wire text of an image state.
pub fn state_text(state: ImageState) -> &'static str {
    match state {
        ImageState::Available => "available",
        ImageState::Pending => "pending",
        ImageState::Failed => "failed",
        ImageState::Deregistered => "deregistered",
    }
}

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
