//! Tests of `cleanup` against a small fake endpoint that ignores DescribeImages filters: only
//! journaled resources and images with the run's exact tag are touched, and a second run finds
//! everything already gone.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::*;
use crate::run::journal::Entry;

const RUN: &str = "cic-1-0000000r";

#[derive(Default)]
struct Fake {
    /// id → (tags, snapshot)
    images: BTreeMap<String, (Vec<(String, String)>, String)>,
    snapshots: Vec<String>,
    volumes: Vec<String>,
    /// Every delete call: (Action, id).
    deletes: Vec<(String, String)>,
}

fn xml(action: &str, inner: &str) -> Response {
    let body =
        format!(r#"<{action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15">{inner}</{action}Response>"#);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn not_found(code: &str) -> Response {
    let body =
        format!(r#"<Response><Errors><Error><Code>{code}</Code><Message>m</Message></Error></Errors></Response>"#);
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn item(id: &str, tags: &[(String, String)], snapshot: &str) -> String {
    let tags: String = tags.iter().map(|(k, v)| format!("<item><key>{k}</key><value>{v}</value></item>")).collect();
    format!(
        "<item><imageId>{id}</imageId><imageState>available</imageState><blockDeviceMapping><item>\
         <deviceName>/dev/xvda</deviceName><ebs><snapshotId>{snapshot}</snapshotId></ebs></item></blockDeviceMapping>\
         <tagSet>{tags}</tagSet></item>"
    )
}

fn images_set(items: String) -> String {
    format!("<imagesSet>{items}</imagesSet>")
}

async fn answer(State(fake): State<Arc<Mutex<Fake>>>, Form(params): Form<Vec<(String, String)>>) -> Response {
    let p: BTreeMap<String, String> = params.into_iter().collect();
    let mut f = fake.lock().unwrap_or_else(|e| e.into_inner());
    let action = p.get("Action").cloned().unwrap_or_default();
    let id = ["ImageId", "SnapshotId", "VolumeId", "ImageId.1"].iter().find_map(|k| p.get(*k)).cloned();
    let id = id.unwrap_or_default();
    if action.starts_with("De") && action != "DescribeImages" {
        f.deletes.push((action.clone(), id.clone()));
    }
    match action.as_str() {
        // Filters are ignored: every image is listed, whatever its tags.
        "DescribeImages" if p.contains_key("Filter.1.Name") => {
            xml(&action, &images_set(f.images.iter().map(|(i, (t, s))| item(i, t, s)).collect()))
        }
        "DescribeImages" => match f.images.get(&id) {
            Some((t, s)) => xml(&action, &images_set(item(&id, t, s))),
            None => not_found("InvalidAMIID.NotFound"),
        },
        "DeregisterImage" => match f.images.remove(&id) {
            Some(_) => xml(&action, "<return>true</return>"),
            None => not_found("InvalidAMIID.NotFound"),
        },
        "DeleteSnapshot" if f.snapshots.contains(&id) => {
            f.snapshots.retain(|s| *s != id);
            xml(&action, "<return>true</return>")
        }
        "DeleteSnapshot" => not_found("InvalidSnapshot.NotFound"),
        "DeleteVolume" if f.volumes.contains(&id) => {
            f.volumes.retain(|v| *v != id);
            xml(&action, "<return>true</return>")
        }
        "DeleteVolume" => not_found("InvalidVolume.NotFound"),
        _ => not_found("InvalidAction"),
    }
}

fn tag(value: &str) -> Vec<(String, String)> {
    vec![(TAG_KEY.to_owned(), value.to_owned())]
}

fn intent(seq: u64, action: &str) -> Entry {
    Entry::Intent { run_id: RUN.into(), seq, action: action.into(), region: "us-east-1".into(), params: Params::new() }
}

fn result(seq: u64, action: &str, name: &str, id: &str) -> Entry {
    let ids = BTreeMap::from([(name.to_owned(), id.to_owned())]);
    Entry::Result { run_id: RUN.into(), seq, action: action.into(), status: Some(200), ids, error: None }
}

fn target(url: &str) -> Target {
    Target::for_tests(url)
}

async fn start(fake: Fake) -> (String, Arc<Mutex<Fake>>) {
    let fake = Arc::new(Mutex::new(fake));
    let app = axum::Router::new().route("/", axum::routing::post(answer)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, fake)
}

#[tokio::test]
async fn only_journaled_and_exactly_tagged_resources_go_and_a_second_run_finds_them_gone() {
    let mut fake = Fake::default();
    fake.images.insert("ami-a".into(), (tag(RUN), "snap-a".into()));
    fake.images.insert("ami-b".into(), (tag("cic-1-0000000o"), "snap-b".into()));
    fake.images.insert("ami-c".into(), (vec![], "snap-c".into()));
    fake.images.insert("ami-d".into(), (tag(RUN), "snap-d".into()));
    fake.images.insert("ami-e".into(), (tag(&format!("{RUN}x")), "snap-e".into()));
    fake.snapshots = ["snap-a", "snap-b", "snap-c", "snap-d", "snap-e"].map(String::from).to_vec();
    fake.volumes = vec!["vol-1".into(), "vol-2".into()];
    let (url, fake) = start(fake).await;
    let journal = Read {
        run_id: RUN.into(),
        endpoint: url.clone(),
        region: "us-east-1".into(),
        entries: vec![
            intent(1, "CopyImage"),
            result(1, "CopyImage", "ImageId", "ami-a"),
            // An untagged image the run made (moto drops CopyImage's tags): deregistered, its
            // snapshot left, since nothing says it is the run's.
            intent(2, "CopyImage"),
            result(2, "CopyImage", "ImageId", "ami-c"),
            intent(3, "CreateVolume"),
            result(3, "CreateVolume", "VolumeId", "vol-1"),
            // The crash: no result, so the tag search finds ami-d.
            intent(4, "RegisterImage"),
            // A snapshot names its source volume, which is not the run's to delete.
            intent(5, "CreateSnapshot"),
            Entry::Result {
                run_id: RUN.into(),
                seq: 5,
                action: "CreateSnapshot".into(),
                status: Some(200),
                ids: BTreeMap::from([("SnapshotId".into(), "snap-z".into()), ("VolumeId".into(), "vol-2".into())]),
                error: None,
            },
        ],
    };
    let target = target(&url);
    let mut told = vec![];
    let done = cleanup(&target, &journal, &mut |d| told.push(d.to_string())).await.unwrap();
    assert_eq!(
        told,
        [
            "deregistered image ami-a (us-east-1)",
            "deregistered image ami-c (us-east-1)",
            "deregistered image ami-d (us-east-1)",
            "snapshot snap-z (us-east-1): already gone",
            "deleted snapshot snap-a (us-east-1)",
            "deleted snapshot snap-d (us-east-1)",
            "deleted volume vol-1 (us-east-1)",
        ]
    );
    assert!(done.iter().all(|d| d.fate == Fate::Deleted || d.id == "snap-z"), "{done:?}");
    {
        let f = fake.lock().unwrap();
        assert_eq!(f.images.keys().collect::<Vec<_>>(), ["ami-b", "ami-e"]);
        assert_eq!(f.snapshots, ["snap-b", "snap-c", "snap-e"]);
        assert_eq!(f.volumes, ["vol-2"]);
    }
    let mut told = vec![];
    let again = cleanup(&target, &journal, &mut |d| told.push(d.to_string())).await.unwrap();
    // What only the tag and the images showed (ami-d, its snapshots) is not found again.
    assert_eq!(again.len(), 4, "{again:?}");
    assert!(again.iter().all(|d| d.fate == Fate::AlreadyGone), "{again:?}");
    assert_eq!(told[0], "image ami-a (us-east-1): already gone");
    let deletes = fake.lock().unwrap().deletes.clone();
    let others = ["ami-b", "ami-e", "snap-b", "snap-c", "snap-e", "vol-2"];
    assert!(deletes.iter().all(|(_, id)| !others.contains(&id.as_str())), "{deletes:?}");
}

#[tokio::test]
async fn a_failed_delete_is_told_and_the_rest_goes_on() {
    let (url, _fake) = start(Fake::default()).await;
    let journal = Read {
        run_id: RUN.into(),
        endpoint: url.clone(),
        region: "us-west-2".into(),
        entries: vec![result(7, "CreateSnapshot", "SnapshotId", "snap-x"), result(8, "CopyImage", "ImageId", "ami-x")],
    };
    // A wrong endpoint path: every call fails without an EC2 error code.
    let mut t = target(&url);
    t.endpoint = format!("{url}nowhere");
    let done = cleanup(&t, &journal, &mut |_| {}).await.unwrap();
    assert_eq!(done.len(), 2);
    // A result without its intent is placed in the journal's Region.
    assert_eq!((done[0].kind, done[0].region.as_str()), (Kind::Image, "us-west-2"));
    assert!(matches!(&done[0].fate, Fate::Failed(why) if why.starts_with("HTTP 404")), "{:?}", done[0]);
    assert!(done[1].to_string().starts_with("snapshot snap-x (us-west-2): FAILED: HTTP 404"), "{}", done[1]);
}
