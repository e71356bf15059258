//! Tests of `setup`: answer fields and error messages offline, whole runs against a small
//! moto-like fake, against the embedded endpoint, and (ignored unless asked) against moto.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::oracle::Oracle;
use crate::run::Safety;

const NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15";

fn target(endpoint: &str) -> Target {
    Target { timeout: Duration::from_secs(30), max_body: 8 << 20, ..Target::for_tests(endpoint) }
}

fn roles(world: &World) -> BTreeMap<&str, &Image> {
    world.images.iter().filter_map(|i| Some((i.role.as_deref()?, i))).collect()
}

// ---- answers, offline ----

#[test]
fn create_answers_give_their_state_and_ids() {
    let prefixed = br#"<ec2:CreateVolumeResponse xmlns:ec2="urn:x"><ec2:requestId>r</ec2:requestId>
        <ec2:volumeId> vol-1 </ec2:volumeId><ec2:status>creating</ec2:status></ec2:CreateVolumeResponse>"#;
    assert_eq!(answer_state(prefixed, "CreateVolume").as_deref(), Some("creating"));
    assert_eq!(answer_state(b"<CreateVolumeResponse/>", "CreateVolume"), None);
    let t = target("http://127.0.0.1:9/");
    assert_eq!(answer_field(&t, "CreateVolume", prefixed, "volumeId").expect("an id"), "vol-1");
}

#[test]
fn missing_empty_and_broken_fields() {
    let t = target("http://127.0.0.1:9/");
    let e = answer_field(
        &t,
        "RegisterImage",
        b"<RegisterImageResponse><return>true</return></RegisterImageResponse>",
        "imageId",
    )
    .expect_err("no id");
    assert_eq!(
        e.to_string(),
        "RegisterImage on http://127.0.0.1:9/: the answer has no <imageId>: \
         <RegisterImageResponse><return>true</return></RegisterImageResponse>"
    );
    let e = answer_field(
        &t,
        "RegisterImage",
        b"<RegisterImageResponse><imageId></imageId></RegisterImageResponse>",
        "imageId",
    )
    .expect_err("empty id");
    assert!(e.to_string().contains("has no <imageId>"), "{e}");
    let e = answer_field(&t, "RegisterImage", b"<RegisterImageResponse><imageId>ami-1</image>", "imageId")
        .expect_err("broken");
    assert!(e.to_string().starts_with("RegisterImage on http://127.0.0.1:9/: unreadable XML at byte "), "{e}");
}

#[test]
fn error_display() {
    let e = SetupError::Call {
        action: "RegisterImage".into(),
        endpoint: "http://127.0.0.1:5000".into(),
        status: Some(400),
        code: Some("InvalidParameterValue".into()),
        detail: "HTTP 400 InvalidParameterValue: bad".into(),
    };
    assert_eq!(e.to_string(), "RegisterImage on http://127.0.0.1:5000: HTTP 400 InvalidParameterValue: bad");
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    let e = SetupError::SameRegion { region: "us-east-1".into() };
    assert_eq!(e.to_string(), "the second Region must differ from the destination Region us-east-1");
}

#[test]
fn world_round_trips_through_its_file() {
    let mut img = Image::new("ami-0123456789abcdef0", "us-east-1");
    img.role = Some("plain".into());
    img.name = Some("conformance-plain-x".into());
    let world = World::new("us-east-1", "123456789012", vec![img]);
    let path = std::env::temp_dir().join(format!("copyimage-setup-{}-world.json", std::process::id()));
    write_world(&world, &path).expect("writes");
    let text = std::fs::read_to_string(&path).expect("reads");
    let back = World::load(&path).expect("loads");
    let _ = std::fs::remove_file(&path);
    assert_eq!(back, world);
    assert!(text.ends_with("}\n") && text.contains("\n  \"images\": ["), "{text}");

    let dir = std::env::temp_dir();
    let e = write_world(&world, &dir).expect_err("a directory");
    assert!(e.to_string().starts_with("cannot write the world to "), "{e}");
}

// ---- whole runs against a moto-like fake ----

#[derive(Default)]
struct Fake {
    /// Whether an image over an encrypted snapshot is reported encrypted (moto: no).
    honour_encryption: bool,
    /// Whether `ami-760aaa0f` exists (moto: yes).
    public_default: bool,
    state: Mutex<FakeState>,
}

#[derive(Default)]
struct FakeState {
    next: u64,
    volumes: HashMap<String, bool>,
    snapshots: HashMap<String, bool>,
    images: Vec<FakeImage>,
    /// (Action, signing Region) of every call.
    calls: Vec<(String, String)>,
    /// Resources named by CreateTags.
    tagged: Vec<String>,
}

struct FakeImage {
    id: String,
    region: String,
    name: String,
    encrypted: bool,
    deregistered: bool,
}

fn xml_ok(action: &str, inner: &str) -> Response {
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><{action}Response xmlns="{NS}">{inner}<requestId>r</requestId></{action}Response>"#
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn xml_error(code: &str, message: &str) -> Response {
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><Response xmlns="{NS}"><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>r</RequestID></Response>"#
    );
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

/// The Region of the SigV4 credential scope, as moto reads it.
fn scope_region(headers: &HeaderMap) -> String {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    auth.split("Credential=").nth(1).and_then(|c| c.split('/').nth(2)).unwrap_or("none").to_owned()
}

fn image_item(id: &str, name: &str, owner: &str, encrypted: bool) -> String {
    format!(
        "<item><blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><snapshotId>snap-{id}</snapshotId>\
         <encrypted>{encrypted}</encrypted></ebs></item></blockDeviceMapping><name>{name}</name><imageId>{id}</imageId>\
         <imageState>available</imageState><imageOwnerId>{owner}</imageOwnerId></item>"
    )
}

async fn fake_answer(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    let p: BTreeMap<String, String> = params.into_iter().collect();
    let region = scope_region(&headers);
    let action = p.get("Action").cloned().unwrap_or_default();
    let mut s = fake.state.lock().unwrap_or_else(|e| e.into_inner());
    s.calls.push((action.clone(), region.clone()));
    s.next += 1;
    let n = s.next;
    match action.as_str() {
        "RegisterImage" => {
            let id = format!("ami-{n:017x}");
            let snapshot = p.get("BlockDeviceMapping.1.Ebs.SnapshotId");
            let encrypted = fake.honour_encryption && snapshot.and_then(|id| s.snapshots.get(id)) == Some(&true);
            let name = p.get("Name").cloned().unwrap_or_default();
            s.images.push(FakeImage { id: id.clone(), region, name, encrypted, deregistered: false });
            xml_ok(&action, &format!("<imageId>{id}</imageId>"))
        }
        "CreateVolume" => {
            let id = format!("vol-{n:017x}");
            s.volumes.insert(id.clone(), p.get("Encrypted").map(String::as_str) == Some("true"));
            xml_ok(&action, &format!("<volumeId>{id}</volumeId><status>creating</status>"))
        }
        "DescribeVolumes" => {
            let id = p.get("VolumeId.1").cloned().unwrap_or_default();
            xml_ok(
                &action,
                &format!("<volumeSet><item><volumeId>{id}</volumeId><status>available</status></item></volumeSet>"),
            )
        }
        "CreateSnapshot" => {
            let id = format!("snap-{n:017x}");
            let encrypted = p.get("VolumeId").and_then(|v| s.volumes.get(v)).copied().unwrap_or(false);
            s.snapshots.insert(id.clone(), encrypted);
            xml_ok(&action, &format!("<snapshotId>{id}</snapshotId><status>completed</status>"))
        }
        "DeregisterImage" => {
            let id = p.get("ImageId").cloned().unwrap_or_default();
            match s.images.iter_mut().find(|i| i.id == id && i.region == region) {
                Some(img) => {
                    img.deregistered = true;
                    xml_ok(&action, "<return>true</return>")
                }
                None => xml_error("InvalidAMIID.NotFound", "no such image"),
            }
        }
        "DescribeImages" => {
            let mut items = String::new();
            for (_, id) in p.iter().filter(|(k, _)| k.starts_with("ImageId.")) {
                if id == "ami-760aaa0f" && fake.public_default {
                    items.push_str(&image_item(id, "amzn-ami-hvm", "137112412989", false));
                    continue;
                }
                match s.images.iter().find(|i| &i.id == id && i.region == region) {
                    // Like moto: a deregistered image is no longer listed.
                    Some(img) if img.deregistered => {}
                    Some(img) => items.push_str(&image_item(&img.id, &img.name, "123456789012", img.encrypted)),
                    None => {
                        return xml_error("InvalidAMIID.NotFound", &format!("The image id '[{id}]' does not exist"));
                    }
                }
            }
            xml_ok(&action, &format!("<imagesSet>{items}</imagesSet>"))
        }
        "CreateTags" => {
            s.tagged.extend(p.iter().filter(|(k, _)| k.starts_with("ResourceId.")).map(|(_, v)| v.clone()));
            xml_ok(&action, "<return>true</return>")
        }
        _ => xml_error("InvalidAction", &format!("The action {action} is not valid for this web service.")),
    }
}

async fn start_fake(fake: Arc<Fake>) -> String {
    let app = axum::Router::new().route("/", axum::routing::post(fake_answer)).with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds a loopback port");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/")
}

#[tokio::test]
async fn setup_on_a_moto_like_endpoint_records_what_it_reports() {
    let fake = Arc::new(Fake::default());
    let url = start_fake(fake.clone()).await;
    let world = setup(&target(&url), "123456789012", "us-west-2").await.expect("setup succeeds");
    assert_eq!((world.region.as_str(), world.account.as_str()), ("us-east-1", "123456789012"));
    let r = roles(&world);
    assert_eq!(r.keys().copied().collect::<Vec<_>>(), ["deregistered", "encrypted-requested", "other-region", "plain"]);
    let plain = r["plain"];
    assert_eq!((plain.region.as_str(), plain.state, plain.encrypted), ("us-east-1", ImageState::Available, false));
    assert!(plain.name.as_deref().is_some_and(|n| n.starts_with("conformance-plain-")), "{plain:?}");
    assert!(!r["encrypted-requested"].encrypted);
    assert_eq!(r["other-region"].region, "us-west-2");
    let gone = r["deregistered"];
    assert_eq!((gone.region.as_str(), gone.state, gone.name.as_deref()), ("us-east-1", ImageState::Deregistered, None));
    let mut ids: Vec<&str> = world.images.iter().map(|i| i.image_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4);

    let calls = fake.state.lock().unwrap_or_else(|e| e.into_inner()).calls.clone();
    let other: Vec<&str> = calls.iter().filter(|(_, r)| r == "us-west-2").map(|(a, _)| a.as_str()).collect();
    assert_eq!(other, ["RegisterImage", "DescribeImages"]);
    // The volume answered `creating`, so it was polled once before the snapshot.
    let actions: Vec<&str> = calls.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "RegisterImage",
            "CreateVolume",
            "DescribeVolumes",
            "CreateSnapshot",
            "RegisterImage",
            "RegisterImage",
            "RegisterImage",
            "DeregisterImage",
            "DescribeImages",
            "DescribeImages",
            "DescribeImages",
            "DescribeImages"
        ]
    );
}

#[tokio::test]
async fn encryption_and_the_public_default_when_the_endpoint_has_them() {
    let fake = Arc::new(Fake { honour_encryption: true, public_default: true, ..Fake::default() });
    let url = start_fake(fake).await;
    let world = setup(&target(&url), "123456789012", "eu-west-1").await.expect("setup succeeds");
    let r = roles(&world);
    assert_eq!(
        r.keys().copied().collect::<Vec<_>>(),
        ["deregistered", "encrypted", "other-region", "plain", "public-default"]
    );
    assert!(r["encrypted"].encrypted);
    assert_eq!(r["public-default"].owner.as_deref(), Some("137112412989"));
    assert_eq!(r["other-region"].region, "eu-west-1");
}

#[tokio::test]
async fn on_aws_setup_spends_the_run_budget_and_stops_before_the_call_past_it() {
    let fake = Arc::new(Fake::default());
    let url = start_fake(fake.clone()).await;
    let mut t = target(&url);
    t.safety = Safety { force_dry_run: true, max_creates: 2, ..Safety::default() };
    let e = setup(&t, "123456789012", "us-west-2").await.expect_err("a budget of 2");
    assert!(matches!(&e, SetupError::Budget { action, max: 2 } if action == "CreateSnapshot"), "{e:?}");
    assert_eq!(
        e.to_string(),
        "CreateSnapshot not sent: --setup creates resources on AWS, and the creation budget (--max-creates 2) \
         is spent; setup needs 6 units"
    );
    let calls = fake.state.lock().unwrap_or_else(|e| e.into_inner()).calls.clone();
    let actions: Vec<&str> = calls.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["RegisterImage", "CreateVolume", "DescribeVolumes"]);
    assert_eq!(t.safety.budget.spent(), 2);
    // A clone of the safety (the runner's, the stateful checks') has nothing left either.
    assert!(!t.safety.clone().try_spend());
}

#[tokio::test]
async fn a_journaled_setup_tags_every_create_and_journals_intents_before_results() {
    use crate::run::journal::{Entry, Journal, read};
    let fake = Arc::new(Fake::default());
    let url = start_fake(fake.clone()).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("setup.jsonl");
    let mut t = target(&url);
    t.safety.journal = Some(Arc::new(
        Journal::create(&path, "cic-1-0000000a", &url, "us-east-1", crate::wire::Redactor::none()).expect("creates"),
    ));
    let world = setup(&t, "123456789012", "us-west-2").await.expect("setup succeeds");
    let journal = read(&path).expect("reads back");
    let mut open: Vec<u64> = vec![];
    let mut made: Vec<String> = vec![];
    for entry in &journal.entries {
        match entry {
            Entry::Intent { seq, action, params, .. } => {
                assert!(
                    ["RegisterImage", "CreateVolume", "CreateSnapshot", "CreateTags", "DeregisterImage"]
                        .contains(&action.as_str())
                );
                if action != "CreateTags" && action != "DeregisterImage" {
                    assert_eq!(
                        params.get("TagSpecification.1.Tag.1.Value").map(String::as_str),
                        Some("cic-1-0000000a")
                    );
                }
                open.push(*seq);
            }
            Entry::Result { seq, ids, error, .. } => {
                assert_eq!(open.pop(), Some(*seq), "a result follows its intent");
                assert_eq!(error, &None);
                made.extend(ids.values().cloned());
            }
            Entry::Run { .. } => panic!("one run line"),
        }
    }
    assert!(open.is_empty());
    // Four images, one volume, one snapshot; every image is tagged once registered.
    assert_eq!(made.len(), 6, "{made:?}");
    for image in world.images.iter().filter(|i| i.role.as_deref() != Some("public-default")) {
        assert!(made.contains(&image.image_id), "{} is journaled", image.image_id);
    }
    let tagged = fake.state.lock().unwrap_or_else(|e| e.into_inner()).tagged.clone();
    assert_eq!(tagged.len(), 4, "{tagged:?}");
}

#[tokio::test]
async fn same_region_twice_is_refused_before_any_call() {
    let e = setup(&target("http://127.0.0.1:9/"), "123456789012", "us-east-1").await.expect_err("same Region");
    assert!(matches!(e, SetupError::SameRegion { .. }), "{e:?}");
}

#[tokio::test]
async fn nothing_listening_names_the_call() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    drop(listener);
    let e = setup(&target(&url), "123456789012", "us-west-2").await.expect_err("refused");
    assert!(e.to_string().starts_with(&format!("RegisterImage on {url}: ")), "{e}");
    assert!(matches!(&e, SetupError::Call { status: None, .. }), "{e:?}");
}

// ---- the embedded endpoint serves only CopyImage and DescribeImages ----

#[tokio::test]
async fn embedded_endpoint_cannot_register_images() {
    let oracle = Arc::new(Oracle::builtin().expect("built-in spec"));
    let running = crate::serve::bind("127.0.0.1:0".parse().expect("address"), oracle, World::default_world())
        .await
        .expect("binds");
    let url = running.url();
    let e = setup(&target(&url), "123456789012", "us-west-2").await.expect_err("no RegisterImage there");
    running.shutdown().await;
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("RegisterImage on {url}: HTTP 400 InvalidAction")), "{msg}");
    assert!(matches!(&e, SetupError::Call { status: Some(400), code: Some(c), .. } if c == "InvalidAction"), "{e:?}");
}

// ---- real moto: `scripts/moto-server start DIR`, then MOTO_URL=$(cat DIR/moto.url) ----

#[tokio::test]
#[ignore = "needs a moto server: MOTO_URL=http://127.0.0.1:PORT cargo test -- --ignored setup"]
async fn setup_on_moto() {
    let Ok(url) = std::env::var("MOTO_URL") else {
        panic!("set MOTO_URL to a running moto_server (scripts/moto-server start)");
    };
    let world = setup(&target(&url), "123456789012", "us-west-2").await.unwrap_or_else(|e| panic!("{e}"));
    println!("{}", serde_json::to_string_pretty(&world).unwrap_or_default());
    let r = roles(&world);
    for role in ["plain", "other-region", "deregistered"] {
        assert!(r.contains_key(role), "no {role} in {:?}", r.keys());
    }
    assert_eq!(r["other-region"].region, "us-west-2");
    assert_eq!(r["deregistered"].state, ImageState::Deregistered);
    assert!(r.contains_key("encrypted") || r.contains_key("encrypted-requested"), "{:?}", r.keys());
}
