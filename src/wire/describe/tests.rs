//! Tests of the DescribeImages reader: text kept or trimmed, every block device, broken answers.

use super::*;

const ANSWER: &[u8] = br#"<?xml version="1.0"?>
<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <imagesSet>
    <item>
      <imageId>ami-12345678</imageId>
      <imageState>weird</imageState>
      <name> spaced &amp; co </name>
      <description/>
      <blockDeviceMapping>
        <item><deviceName>/dev/xvda</deviceName><ebs><encrypted>true</encrypted></ebs></item>
        <item><deviceName>/dev/xvdb</deviceName><ebs><snapshotId>snap-1</snapshotId></ebs></item>
      </blockDeviceMapping>
      <tagSet>
        <item><key>k</key><value/></item>
        <item><key>e</key><value> v </value></item>
      </tagSet>
    </item>
    <item><imageId>ami-87654321</imageId><imageState>available</imageState></item>
  </imagesSet>
</DescribeImagesResponse>"#;

#[test]
fn verbatim_keeps_text_and_reads_every_snapshot() {
    let images = read_xml(ANSWER, Text::Verbatim).unwrap();
    assert_eq!(images.len(), 2);
    let i = &images[0];
    assert_eq!(i.image_id, "ami-12345678");
    assert_eq!(i.name.as_deref(), Some(" spaced & co "));
    assert_eq!(i.description.as_deref(), Some(""));
    assert_eq!(i.state.as_deref(), Some("weird"));
    assert_eq!(i.ebs_encrypted, [Some(true), None]);
    assert_eq!(i.snapshot_id.as_deref(), Some("snap-1"));
    assert_eq!(i.tags, BTreeMap::from([("k".into(), String::new()), ("e".into(), " v ".into())]));
    assert_eq!(images[1].state.as_deref(), Some("available"));
    assert!(images[1].tags.is_empty());
}

#[test]
fn trimmed_text_makes_world_images() {
    let images = read_xml(ANSWER, Text::Trimmed).unwrap();
    assert_eq!(images[0].name.as_deref(), Some("spaced & co"));
    assert_eq!(images[0].tags["e"], "v");
    let xml = br#"<?xml version="1.0"?><DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><imagesSet><item><blockDeviceMapping><item><ebs><snapshotId>snap-1</snapshotId><encrypted>true</encrypted></ebs><deviceName>/dev/sda1</deviceName></item></blockDeviceMapping><name>src &amp; co</name><tagSet><item><key>env</key><value>test</value></item></tagSet><imageId>ami-12345678</imageId><imageState>available</imageState><imageOwnerId>123456789012</imageOwnerId></item><item><imageId>ami-87654321</imageId><imageState>deregistered</imageState></item></imagesSet></DescribeImagesResponse>"#;
    let images: Vec<Image> =
        read_xml(xml, Text::Trimmed).unwrap().into_iter().map(|i| i.into_image("us-east-1")).collect();
    assert_eq!(images.len(), 2);
    assert_eq!(images[0].image_id, "ami-12345678");
    assert_eq!(images[0].name.as_deref(), Some("src & co"));
    assert!(images[0].encrypted);
    assert_eq!(images[0].snapshot_id.as_deref(), Some("snap-1"));
    assert_eq!(images[0].owner.as_deref(), Some("123456789012"));
    assert_eq!(images[0].tags["env"], "test");
    assert_eq!(images[0].state, ImageState::Available);
    assert_eq!(images[1].state, ImageState::Deregistered);
    assert_eq!(images[1].region, "us-east-1");
}

#[test]
fn malformed_describe_replies_are_errors() {
    for bad in [
        &b""[..],
        b"<html><body>500</body></html>",
        b"<DescribeImagesResponse><imagesSet><item>",
        b"<DescribeImagesResponse><imagesSet></item></imagesSet></DescribeImagesResponse>",
        b"\xff\xfe",
    ] {
        assert!(read_xml(bad, Text::Verbatim).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    let e = read_xml(b"<html/>", Text::Trimmed).unwrap_err();
    assert_eq!(e.to_string(), "unexpected root element <html> in the DescribeImages response");
    for bad in [&b"{}"[..], b"[]", br#"{"data":{"images":[{"id":1}]}}"#, b"nope"] {
        assert!(read_json(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn json_envelope_images() {
    let body = br#"{"success":true,"data":{"images":[{"id":"ami-1","name":" n ","state":"pending","encrypted":true,"tags":{"a":"x","n":1}}]}}"#;
    let images = read_json(body).unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].name.as_deref(), Some(" n "));
    assert_eq!(images[0].ebs_encrypted, [Some(true)]);
    assert_eq!(images[0].tags, BTreeMap::from([("a".into(), "x".into())]));
}

#[test]
fn elements_nested_deep_inside_an_item_are_passed_over_and_the_image_read() {
    // 60,000 levels, under 1 MiB: reading every level's path made this take minutes.
    let levels = 60_000;
    let mut xml = String::from("<DescribeImagesResponse><imagesSet><item><imageId>ami-12345678</imageId><x>");
    xml.push_str(&"<a>".repeat(levels));
    xml.push_str(&"</a>".repeat(levels));
    xml.push_str("</x><name>n</name></item></imagesSet></DescribeImagesResponse>");
    let images = read_xml(xml.as_bytes(), Text::Verbatim).unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!((images[0].image_id.as_str(), images[0].name.as_deref()), ("ami-12345678", Some("n")));
}
