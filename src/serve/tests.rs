//! End-to-end tests of the embedded endpoint over real HTTP on a loopback port.

use super::*;

const FORM: &str = "application/x-www-form-urlencoded";
const VALID: &str =
    "Action=CopyImage&Version=2016-11-15&Name=my-copy&SourceImageId=ami-0a1b2c3d4e5f60718&SourceRegion=us-east-1";

async fn start_with(world: World) -> Running {
    let oracle = Arc::new(Oracle::builtin().unwrap());
    bind("127.0.0.1:0".parse().unwrap(), oracle, world).await.unwrap()
}

async fn start() -> Running {
    start_with(World::default_world()).await
}

struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl Answer {
    /// The text of the first `<tag>` element.
    fn xml(&self, tag: &str) -> Option<&str> {
        let open = format!("<{tag}>");
        let start = self.body.find(&open)? + open.len();
        let len = self.body[start..].find(&format!("</{tag}>"))?;
        Some(&self.body[start..start + len])
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    #[track_caller]
    fn assert_xml_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.content_type, "text/xml;charset=UTF-8");
        assert_eq!(self.xml("Code"), Some(code), "{}", self.body);
        let re = regex::Regex::new(
            r#"^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>[^<]+</Code><Message>[^<]*</Message></Error></Errors><RequestID>[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}</RequestID></Response>$"#,
        )
        .unwrap();
        assert!(re.is_match(&self.body), "{}", self.body);
    }

    #[track_caller]
    fn assert_json_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.content_type, "application/json");
        let v = self.json();
        assert_eq!(v["success"], false, "{}", self.body);
        assert_eq!(v["error"]["code"], code, "{}", self.body);
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.body);
    }
}

async fn send(req: reqwest::RequestBuilder) -> Answer {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = resp.text().await.unwrap();
    Answer { status, content_type, body }
}

async fn post(r: &Running, body: impl Into<reqwest::Body>) -> Answer {
    send(reqwest::Client::new().post(r.url()).header("content-type", FORM).body(body)).await
}

#[tokio::test]
async fn valid_copy_then_describe_lists_it() {
    let r = start().await;
    let a = post(&r, VALID).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.content_type, "text/xml;charset=UTF-8");
    assert!(
        a.body.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyImageResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>"
        ),
        "{}",
        a.body
    );
    let id = a.xml("imageId").unwrap().to_owned();
    assert_eq!(id, "ami-0c0ffee0000000001");

    let d = post(&r, format!("Action=DescribeImages&Version=2016-11-15&ImageId.1={id}")).await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert!(d.body.contains("<DescribeImagesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"));
    assert_eq!(d.xml("imageId"), Some(id.as_str()));
    assert_eq!(d.xml("name"), Some("my-copy"));
    assert_eq!(d.xml("imageState"), Some("available"));
    assert_eq!(d.xml("imageOwnerId"), Some("123456789012"));
    assert_eq!(d.xml("encrypted"), Some("false"));
    assert_eq!(d.xml("sourceImageId"), Some("ami-0a1b2c3d4e5f60718"));
    assert_eq!(d.xml("sourceImageRegion"), Some("us-east-1"));
    assert!(d.xml("creationDate").is_some_and(|c| c.ends_with(".000Z") && c.len() == 24), "{}", d.body);
    assert_eq!(d.body.matches("<imageId>").count(), 1);

    // Owner.1=self lists the copy and the account's own images, not other accounts'.
    let own = post(&r, "Action=DescribeImages&Owner.1=self").await;
    assert!(own.body.contains(&format!("<imageId>{id}</imageId>")));
    assert!(own.body.contains("<imageId>ami-0a1b2c3d4e5f60718</imageId>"));
    assert!(!own.body.contains("ami-760aaa0f"), "{}", own.body);
    assert!(own.body.contains("<tagSet><item><key>env</key><value>test</value></item>"), "{}", own.body);
    assert_eq!(r.endpoint().world().images.iter().filter(|i| i.image_id == id).count(), 1);
    r.shutdown().await;
}

/// What botocore's model allows and the evidence says AWS accepts succeeds, and the full
/// oracle accepts the answer too.
#[tokio::test]
async fn requests_real_clients_send_succeed_with_the_likely_answer() {
    let r = start().await;
    let token = "t".repeat(100);
    let base = "Action=CopyImage&Version=2016-11-15&SourceImageId=ami-0a1b2c3d4e5f60718&SourceRegion=us-east-1";
    for extra in [
        "Name=my+ami+2".to_owned(),
        "Name=odd+%5Bname%5D+%40+it%27s".to_owned(),
        "Name=empty-tags&TagSpecification.1.ResourceType=image".to_owned(),
        format!("Name=long-token&ClientToken={token}"),
    ] {
        let body = format!("{base}&{extra}");
        let a = post(&r, body.clone()).await;
        assert_eq!(a.status, 200, "{extra}: {}", a.body);
        let mut params = Params::new();
        params::decode_form(body.as_bytes(), &mut params).unwrap();
        let full = r.endpoint().oracle().predict(&World::default_world(), &params);
        assert!(full.accepts(200, None), "{extra}: the oracle does not accept success: {full:?}");
    }
    // Over 128 characters the model refuses the token; the likely answer is the first outcome.
    let long = post(&r, format!("{base}&Name=too-long&ClientToken={}", "t".repeat(129))).await;
    long.assert_xml_error(400, "InvalidParameterValue");
    r.shutdown().await;
}

#[tokio::test]
async fn missing_name_is_missing_parameter() {
    let r = start().await;
    let a = post(&r, "Action=CopyImage&SourceImageId=ami-0a1b2c3d4e5f60718&SourceRegion=us-east-1").await;
    a.assert_xml_error(400, "MissingParameter");
    assert_eq!(a.xml("Message"), Some("The request must contain the parameter Name"));
    r.shutdown().await;
}

#[tokio::test]
async fn dry_run_is_412_and_creates_nothing() {
    let r = start().await;
    let before = r.endpoint().world();
    let a = post(&r, format!("{VALID}&DryRun=true")).await;
    a.assert_xml_error(412, "DryRunOperation");
    assert_eq!(a.xml("Message"), Some("Request would have succeeded, but DryRun flag is set."));
    assert_eq!(r.endpoint().world(), before);
    r.shutdown().await;
}

#[tokio::test]
async fn same_client_token_replays_the_image_id() {
    let r = start().await;
    let body = format!("{VALID}&ClientToken=tok-1");
    let first = post(&r, body.clone()).await;
    let second = post(&r, body).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(first.xml("imageId"), second.xml("imageId"));
    assert_ne!(first.xml("requestId"), second.xml("requestId"));
    let world = r.endpoint().world();
    assert_eq!(world.images.len(), World::default_world().images.len() + 1);
    assert_eq!(world.token_count(), 1);
    r.shutdown().await;
}

#[tokio::test]
async fn same_token_other_name_is_a_mismatch() {
    let r = start().await;
    assert_eq!(post(&r, format!("{VALID}&ClientToken=tok-2")).await.status, 200);
    let other = VALID.replace("Name=my-copy", "Name=other-name");
    let a = post(&r, format!("{other}&ClientToken=tok-2")).await;
    a.assert_xml_error(400, "IdempotentParameterMismatch");
    r.shutdown().await;
}

#[tokio::test]
async fn json_envelope_success() {
    let r = start().await;
    let body = r#"{"Action":"CopyImage","Name":"json-copy","SourceImageId":"ami-0a1b2c3d4e5f60718","SourceRegion":"us-east-1","Encrypted":true}"#;
    let a = send(reqwest::Client::new().post(r.url()).header("content-type", "application/json").body(body)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.content_type, "application/json");
    let v = a.json();
    assert_eq!(v["success"], true);
    assert_eq!(v["data"]["id"], "ami-0c0ffee0000000001");
    let created = v["data"]["created_at"].as_str().unwrap();
    let re = regex::Regex::new(r"^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]Z$").unwrap();
    assert!(re.is_match(created), "{created}");
    let world = r.endpoint().world();
    let copy = world.images.iter().find(|i| i.image_id == "ami-0c0ffee0000000001").unwrap();
    assert!(copy.encrypted);
    assert_eq!(copy.name.as_deref(), Some("json-copy"));
    r.shutdown().await;
}

#[tokio::test]
async fn json_envelope_errors() {
    let r = start().await;
    let client = reqwest::Client::new();
    // Accept alone switches the answer; the body stays a form.
    let missing = "Action=CopyImage&SourceImageId=ami-0a1b2c3d4e5f60718&SourceRegion=us-east-1";
    let a = send(client.post(r.url()).header("content-type", FORM).header("accept", "application/json").body(missing))
        .await;
    a.assert_json_error(400, "VALIDATION_ERROR");
    assert_eq!(a.json()["error"]["message"], "The request must contain the parameter Name");

    let dry = format!("{VALID}&DryRun=true");
    let a =
        send(client.post(r.url()).header("content-type", FORM).header("accept", "application/json").body(dry)).await;
    a.assert_json_error(412, "DRY_RUN");

    let notfound = r#"{"Name":"n-1","SourceImageId":"ami-0123456789abcdef0","SourceRegion":"us-east-1"}"#;
    let a = send(client.post(r.url()).header("content-type", "application/json; charset=utf-8").body(notfound)).await;
    a.assert_json_error(400, "NOT_FOUND");

    let a = send(client.post(r.url()).header("content-type", "application/json").body("{not json")).await;
    a.assert_json_error(400, "VALIDATION_ERROR");
    r.shutdown().await;
}

#[tokio::test]
async fn garbage_bodies_get_xml_400() {
    let r = start().await;
    for body in [&b"\xff\xfe%zz\x00garbage"[..], b"Name=%ff%fe", b"Action=Copy%", b"\xc3(=1"] {
        let a = post(&r, body.to_vec()).await;
        a.assert_xml_error(400, "InvalidParameterValue");
        assert!(a.xml("Message").is_some_and(|m| m.starts_with("malformed request")), "{}", a.body);
    }
    // Still serving afterwards.
    assert_eq!(post(&r, VALID).await.status, 200);
    r.shutdown().await;
}

#[tokio::test]
async fn get_with_query_string() {
    let r = start().await;
    let a = send(reqwest::Client::new().get(format!("{}?{VALID}", r.url()))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.xml("imageId"), Some("ami-0c0ffee0000000001"));
    let d =
        send(reqwest::Client::new().get(format!("{}?Action=DescribeImages&ImageId.1=ami-0c0ffee0000000001", r.url())))
            .await;
    assert_eq!(d.xml("name"), Some("my-copy"));
    r.shutdown().await;
}

#[tokio::test]
async fn wrong_action_and_unauthorized_world() {
    let r = start().await;
    let a = post(&r, VALID.replace("Action=CopyImage", "Action=CopyImages")).await;
    a.assert_xml_error(400, "InvalidAction");
    assert_eq!(a.xml("Message"), Some("The action CopyImages is not valid for this web service."));
    r.shutdown().await;

    let mut world = World::default_world();
    world.authorized = false;
    let r = start_with(world).await;
    post(&r, VALID).await.assert_xml_error(403, "UnauthorizedOperation");
    r.shutdown().await;
}

#[tokio::test]
async fn region_placeholder_and_escaping() {
    let mut world = World::default_world();
    let mut cn: crate::world::Image =
        serde_json::from_str(r#"{"image_id":"ami-0aaaaaaaaaaaaaaaa","region":"cn-north-1"}"#).unwrap();
    world.images_mut().push(cn.clone());
    cn.image_id = "ami-0bbbbbbbbbbbbbbbb".into();
    cn.region = "us-east-1".into();
    cn.name = Some("a&b<c>".into());
    cn.description = Some("it's \"quoted\"".into());
    world.images_mut().push(cn);
    let r = start_with(world).await;

    let a = post(&r, "Name=cross&SourceImageId=ami-0aaaaaaaaaaaaaaaa&SourceRegion=cn-north-1").await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.xml("Message"), Some("The requested copy is not supported between cn-north-1 and us-east-1."));

    let d = post(&r, "Action=DescribeImages&ImageId.1=ami-0bbbbbbbbbbbbbbbb").await;
    assert_eq!(d.xml("name"), Some("a&amp;b&lt;c&gt;"), "{}", d.body);
    assert_eq!(d.xml("description"), Some("it&apos;s &quot;quoted&quot;"));
    r.shutdown().await;
}

#[tokio::test]
async fn describe_hides_deregistered_and_invisible_images() {
    let r = start().await;
    let all = post(&r, "Action=DescribeImages").await;
    assert_eq!(all.status, 200);
    assert!(!all.body.contains("ami-0d0e0a0d0b0e0e0f0"), "deregistered listed: {}", all.body);
    assert!(!all.body.contains("ami-0123abcd4567ef890"), "invisible listed: {}", all.body);
    assert!(!all.body.contains("ami-01234567890abcdef"), "other Region listed: {}", all.body);
    assert!(all.body.contains("<imageId>ami-760aaa0f</imageId>"));
    assert!(all.body.contains(
        "<snapshotId>snap-0e1c2a3b4d5f60789</snapshotId><volumeSize>8</volumeSize>\
         <deleteOnTermination>true</deleteOnTermination><volumeType>gp3</volumeType><encrypted>true</encrypted>"
    ));

    let by_id = post(&r, "Action=DescribeImages&ImageId.1=ami-0d0e0a0d0b0e0e0f0").await;
    assert_eq!(by_id.xml("imageState"), Some("deregistered"));

    let none = post(&r, "Action=DescribeImages&ImageId.1=ami-0ffffffffffffffff").await;
    assert_eq!((none.status, none.xml("Code")), (400, Some("InvalidAMIID.NotFound")), "{}", none.body);
    assert_eq!(none.xml("Message"), Some("The image id &apos;[ami-0ffffffffffffffff]&apos; does not exist"));
    let bad = post(&r, "Action=DescribeImages&ImageId.1=ami-XYZ").await;
    assert_eq!((bad.status, bad.xml("Code")), (400, Some("InvalidAMIID.Malformed")), "{}", bad.body);
    let filtered = post(&r, "Action=DescribeImages&Filter.1.Name=name&Filter.1.Value.1=no-such-*").await;
    assert!(filtered.body.contains("<imagesSet/>"), "{}", filtered.body);

    let json = send(
        reqwest::Client::new()
            .post(r.url())
            .header("accept", "application/json")
            .body("Action=DescribeImages&Owner.1=137112412989"),
    )
    .await;
    assert_eq!(json.status, 200);
    let v = json.json();
    assert_eq!(v["data"]["images"].as_array().map(Vec::len), Some(1), "{}", json.body);
    assert_eq!(v["data"]["images"][0]["id"], "ami-760aaa0f");
    r.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_listening() {
    let r = start().await;
    let addr = r.local_addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(r.url(), format!("http://127.0.0.1:{}/", addr.port()));
    r.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[test]
fn request_ids_are_uuid_shaped_and_distinct() {
    let a = request_id(1);
    let b = request_id(2);
    assert_ne!(a, b);
    assert_eq!(a.len(), 36);
    assert_eq!(request_id(1), a);
}

async fn start_mutant(mutant: Mutant) -> Running {
    let oracle = Arc::new(Oracle::builtin().unwrap());
    let endpoint = Endpoint::mutated(&oracle, World::default_world(), mutant).unwrap();
    bind_endpoint("127.0.0.1:0".parse().unwrap(), endpoint).await.unwrap()
}

#[tokio::test]
async fn mutants_plant_their_endpoint_faults() {
    let r = start_mutant(Mutant::ForgetsClientToken).await;
    let first = post(&r, format!("{VALID}&ClientToken=tok-1")).await;
    let again = post(&r, format!("{VALID}&ClientToken=tok-1")).await;
    assert_ne!(first.xml("imageId"), again.xml("imageId"), "{}", again.body);
    assert!(r.endpoint().world().token("tok-1").is_none());
    r.shutdown().await;

    let r = start_mutant(Mutant::SuccessWithoutImageId).await;
    let a = post(&r, VALID).await;
    assert_eq!((a.status, a.xml("imageId")), (200, None), "{}", a.body);
    r.shutdown().await;

    let r = start_mutant(Mutant::ErrorStatus200).await;
    let a = post(&r, "Action=CopyImage&SourceImageId=ami-0a1b2c3d4e5f60718&SourceRegion=us-east-1").await;
    assert_eq!((a.status, a.xml("Code")), (200, Some("MissingParameter")), "{}", a.body);
    r.shutdown().await;

    let r = start_mutant(Mutant::DropsXmlNamespace).await;
    assert!(post(&r, VALID).await.body.contains("<CopyImageResponse xmlns=\"\">"));
    r.shutdown().await;

    let r = start_mutant(Mutant::DescribeShowsFailed).await;
    let d = post(&r, "Action=DescribeImages&ImageId.1=ami-0a1b2c3d4e5f60718").await;
    assert_eq!(d.xml("imageState"), Some("failed"), "{}", d.body);
    r.shutdown().await;
}
