//! `run --journal` and `cleanup` against moto: the journal lists every resource a run made,
//! intents before results; `cleanup` removes exactly those (also from a journal cut short by a
//! crash, through the run-id tag), spares other runs' images, and is idempotent.
//!
//! moto comes from `scripts/moto-server start .moto` (the gate's directory, so its venv is
//! shared). Where it cannot be installed the test is skipped with a message, except under
//! `CI=true`, where it fails.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use copyimage_conformance::{Image, World};
use serde_json::Value;

/// The tag every live resource of a journaled run carries (the journal format's, documented in
/// the README).
const TAG_KEY: &str = "copyimage-conformance:run-id";

use super::{run, stderr, stdout};

/// A moto server this test started (stopped on drop), or one that was already running.
struct Moto {
    url: String,
    dir: PathBuf,
    started_here: bool,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if self.started_here {
            let _ = Command::new(script()).arg("stop").arg(&self.dir).output();
        }
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/moto-server")
}

/// moto, or `None` (with the reason printed) when it cannot be had outside CI.
fn moto() -> Option<Moto> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".moto");
    let out = Command::new(script()).arg("start").arg(&dir).output();
    let why = match &out {
        Ok(o) if o.status.success() => {
            let url = String::from_utf8_lossy(&o.stdout).lines().last().unwrap_or_default().trim().to_owned();
            let started_here = !String::from_utf8_lossy(&o.stderr).contains("already running");
            return Some(Moto { url, dir, started_here });
        }
        Ok(o) => format!("scripts/moto-server start failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => format!("cannot run scripts/moto-server: {e}"),
    };
    assert!(std::env::var("CI").as_deref() != Ok("true"), "moto is needed under CI: {why}");
    eprintln!("skipped: the journal and cleanup test needs moto: {why}");
    None
}

/// Whether moto still lists image `id` in `region`: a raw DescribeImages, so the check does not
/// rest on the client under test. moto routes on the SigV4 header's service and Region and does
/// not verify the signature.
fn exists(url: &str, region: &str, id: &str) -> bool {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let body = format!("Action=DescribeImages&Version=2016-11-15&ImageId.1={id}");
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/{region}/ec2/aws4_request, \
         SignedHeaders=host, Signature=0000"
    );
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    if answer.contains("InvalidAMIID.NotFound") {
        return false;
    }
    assert!(answer.starts_with("HTTP/1.1 200"), "DescribeImages {id}: {answer}");
    answer.contains(&format!("<imageId>{id}</imageId>"))
}

/// The journal's lines as JSON, in order.
fn read_journal(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(!text.is_empty(), "{} is empty", path.display());
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// `run --setup` against moto; returns the world it wrote (its images are the run's).
fn setup_run(url: &str, dir: &Path, name: &str, extra: &[&str]) -> World {
    let world = dir.join(format!("{name}.world.json"));
    // moto loads its EC2 backend on the first call, which is slow on a busy machine.
    let timeout = ["--timeout", "300"];
    let mut args = vec!["run", "--quiet", "--endpoint", url, "--setup", "--world-out", world.to_str().unwrap()];
    args.extend_from_slice(&timeout);
    args.extend_from_slice(extra);
    let out = run(&args, "");
    assert!(out.status.code().is_some_and(|c| c <= 1), "{name}: {}", stderr(&out));
    World::load(&world).unwrap()
}

fn made_images(world: &World) -> Vec<(String, String)> {
    world
        .images
        .iter()
        .filter(|i| i.role.as_deref() != Some("public-default"))
        .map(|i| (i.image_id.clone(), i.region.clone()))
        .collect()
}

fn cleanup(url: &str, journal: &Path) -> Output {
    run(&["cleanup", "--journal", journal.to_str().unwrap(), "--endpoint", url], "")
}

#[test]
fn journal_and_cleanup_against_moto() {
    let Some(moto) = moto() else { return };
    let url = moto.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    // An image of a run without a journal, and one of another journaled run: both must survive.
    let untracked = setup_run(url, dir.path(), "untracked", &["--cases", "1"]);
    let other_journal = dir.path().join("other.jsonl");
    let other = setup_run(url, dir.path(), "other", &["--cases", "1", "--journal", other_journal.to_str().unwrap()]);
    let journal = dir.path().join("run.jsonl");
    let world = setup_run(url, dir.path(), "run", &["--cases", "50", "--journal", journal.to_str().unwrap()]);

    let entries = read_journal(&journal);
    assert_eq!(entries[0]["kind"], "run", "the first line names the run");
    let mut open = vec![];
    let mut ids: Vec<String> = vec![];
    for entry in &entries[1..] {
        match entry["kind"].as_str() {
            Some("intent") => open.push(entry["seq"].as_u64().unwrap()),
            Some("result") => {
                let seq = entry["seq"].as_u64().unwrap();
                assert!(open.contains(&seq), "result {seq} before its intent");
                if let Some(returned) = entry["ids"].as_object() {
                    ids.extend(returned.values().map(|v| v.as_str().unwrap().to_owned()));
                }
            }
            other => panic!("unexpected journal line kind {other:?}"),
        }
    }
    for (id, _) in made_images(&world) {
        assert!(ids.contains(&id), "{id} is not journaled");
    }
    assert!(ids.iter().any(|i| i.starts_with("vol-")) && ids.iter().any(|i| i.starts_with("snap-")), "{ids:?}");
    let copies = entries.iter().filter(|e| e["kind"] == "intent" && e["action"] == "CopyImage");
    assert!(copies.count() > 0);

    // A crash right after the first intent: the result is lost, the run-id tag still finds
    // the image that call made.
    let text = std::fs::read_to_string(&journal).unwrap();
    let cut = dir.path().join("cut.jsonl");
    std::fs::write(&cut, text.lines().take(2).map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let first_image = &made_images(&world)[0];
    assert!(exists(url, &first_image.1, &first_image.0));
    let out = cleanup(url, &cut);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains(&format!("deregistered image {} ", first_image.0)), "{}", stdout(&out));
    assert!(!exists(url, &first_image.1, &first_image.0));
    for (id, _) in made_images(&other).iter().chain(&made_images(&untracked)) {
        assert!(!stdout(&out).contains(id.as_str()), "{id} was touched: {}", stdout(&out));
    }

    let out = cleanup(url, &journal);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    for (id, region) in made_images(&world) {
        assert!(!exists(url, &region, &id), "{id} survived cleanup");
    }
    let live = |w: &World| -> Vec<(String, String)> {
        let gone = |i: &&Image| i.role.as_deref().is_some_and(|r| r.starts_with("deregistered"));
        made_images(w).into_iter().filter(|(id, _)| !w.images.iter().filter(gone).any(|i| &i.image_id == id)).collect()
    };
    for (id, region) in live(&untracked).into_iter().chain(live(&other)) {
        assert!(exists(url, &region, &id), "{id} is not the run's, and was removed");
        assert!(!stdout(&out).contains(&id), "{id} was touched: {}", stdout(&out));
    }
    assert!(!stdout(&out).contains("FAILED"), "{}", stdout(&out));

    let again = cleanup(url, &journal);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(stdout(&again).contains("already gone"), "{}", stdout(&again));
    assert!(stdout(&again).contains("cleanup: 0 deleted, "), "{}", stdout(&again));
    assert!(!stdout(&again).contains(TAG_KEY));
    let _ = cleanup(url, &other_journal);
}

#[test]
fn a_malformed_journal_is_refused_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    let run_line = r#"{"kind":"run","run_id":"cic-1-a","endpoint":"http://127.0.0.1:9/","region":"us-east-1"}"#;
    std::fs::write(&path, format!("{run_line}\n{{\"kind\":\"intent\"}}\n")).unwrap();
    let out = run(&["cleanup", "--journal", path.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:2: not a journal entry: ", path.display())), "{err}");
    assert_eq!(stdout(&out), "");
}

#[test]
fn an_unwritable_journal_stops_the_run_before_any_request() {
    let fake = super::fake::start(super::fake::Mode::Success);
    let out =
        run(&["run", "--quiet", "--endpoint", &fake.url, "--cases", "5", "--journal", "/nonexistent/dir/j.jsonl"], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("/nonexistent/dir/j.jsonl: cannot create the journal"), "{}", stderr(&out));
    assert_eq!(fake.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn an_existing_journal_is_refused_before_any_request() {
    let fake = super::fake::start(super::fake::Mode::Success);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let earlier =
        "{\"kind\":\"run\",\"run_id\":\"cic-1-0000000e\",\"endpoint\":\"http://x/\",\"region\":\"us-east-1\"}\n";
    std::fs::write(&path, earlier).unwrap();
    let out =
        run(&["run", "--quiet", "--endpoint", &fake.url, "--cases", "5", "--journal", path.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("{}: the file exists", path.display())), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), earlier, "the earlier journal is kept");
    assert_eq!(fake.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
}

/// A server that echoes the request's token and signature, and writes a terminal's control
/// sequence, into every refusal: `cleanup`'s lines show none of them.
#[test]
fn cleanup_shows_no_echoed_credentials_or_control_characters() {
    const TOKEN: &str = "IQoJb3JpZ2luX2Vj/cleanup+echoed=token-5e0b";
    let (url, requests) = recording_server(|stream, head, body| {
        let (status, reply) = if body.contains("Action=DescribeImages") {
            (200, "<DescribeImagesResponse><imagesSet/></DescribeImagesResponse>".to_owned())
        } else {
            let signature = signature_in(head);
            (
                400,
                format!(
                    "<Response><Errors><Error><Code>AuthFailure</Code><Message>token {TOKEN} and \
                     Signature={signature} refused \u{1b}]0;pwned\u{7}</Message></Error></Errors></Response>"
                ),
            )
        };
        let answer =
            format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}", reply.len());
        let _ = stream.write_all(answer.as_bytes());
    });
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    journal_of_one_copy(&journal, "cic-1-0000000c", &url);
    let out = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .args(["cleanup", "--journal", journal.to_str().unwrap(), "--use-env-credentials"])
        .env("AWS_ACCESS_KEY_ID", "AKIDCLEANUPECHO")
        .env("AWS_SECRET_ACCESS_KEY", "cleanup-echo-secret-5e0b")
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "the image could not be deregistered: {shown}");
    assert!(shown.contains("FAILED: ") && shown.contains("AuthFailure"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'), "{shown:?}");
    let signatures: Vec<String> = requests.lock().unwrap().iter().map(|(head, _)| signature_in(head)).collect();
    assert!(signatures.iter().any(|s| s.len() == 64), "{signatures:?}");
    for s in signatures.iter().filter(|s| !s.is_empty()) {
        assert!(!shown.contains(s.as_str()), "{shown}");
    }
}

/// The requests a [`recording_server`] received, in order, each as (head, body).
type Requests = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A server on a free loopback port whose `answer` writes the reply to each request, given its
/// head and body; every request is kept. Gives its URL and the requests.
fn recording_server(
    answer: impl Fn(&mut std::net::TcpStream, &str, &str) + Send + Sync + 'static,
) -> (String, Requests) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let requests = Requests::default();
    let (seen, answer) = (requests.clone(), std::sync::Arc::new(answer));
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let (seen, answer) = (seen.clone(), answer.clone());
            std::thread::spawn(move || {
                while let Some((head, body)) = super::fake::read_request(&stream) {
                    seen.lock().unwrap().push((head.clone(), body.clone()));
                    answer(&mut stream, &head, &body);
                }
            });
        }
    });
    (url, requests)
}

/// The hex after `Signature=` in a request's head; empty without one.
fn signature_in(head: &str) -> String {
    head.split_once("Signature=")
        .map(|(_, s)| s.chars().take_while(char::is_ascii_hexdigit).collect())
        .unwrap_or_default()
}

/// Writes at `path` the journal of run `run_id` against `url`: one live CopyImage that made
/// ami-0123456789abcdef0.
fn journal_of_one_copy(path: &Path, run_id: &str, url: &str) {
    let lines = [
        format!(r#"{{"kind":"run","run_id":"{run_id}","endpoint":"{url}","region":"us-east-1"}}"#),
        format!(
            r#"{{"kind":"intent","run_id":"{run_id}","seq":1,"action":"CopyImage","region":"us-east-1","params":{{"Name":"n1"}}}}"#
        ),
        format!(
            r#"{{"kind":"result","run_id":"{run_id}","seq":1,"action":"CopyImage","status":200,"ids":{{"ImageId":"ami-0123456789abcdef0"}}}}"#
        ),
    ];
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_live_run_journals_to_a_file_named_after_its_run_id_without_secrets() {
    const SECRET: &str = "wJalrXUtnFEMI-journal-secret-3b7e";
    // Real credentials make a loopback endpoint count as AWS, where --live is allowed.
    let fake = super::fake::start(super::fake::Mode::Success);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .args(["run", "--quiet", "--endpoint", &fake.url, "--use-env-credentials", "--live", "--max-creates", "1"])
        .args(["--cases", "30", "--only", "valid"])
        .current_dir(dir.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDCONFORMANCETEST")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let files: Vec<PathBuf> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?} {}", stderr(&out));
    let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(name.starts_with("copyimage-conformance-cic-") && name.ends_with(".journal.jsonl"), "{name}");
    assert!(stderr(&out).contains(&format!("journal of live calls: {name} (run id cic-")), "{}", stderr(&out));
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(!text.contains(SECRET) && !text.contains("AKIDCONFORMANCETEST"), "{text}");
    let entries = read_journal(&files[0]);
    // The run line, then one live CopyImage (the budget), tagged, journaled before its result;
    // the rest were DryRuns.
    assert_eq!(entries.len(), 3, "{text}");
    let run_id = entries[0]["run_id"].as_str().unwrap();
    let intent = &entries[1];
    assert_eq!((intent["kind"].as_str(), intent["seq"].as_u64()), (Some("intent"), Some(1)), "{text}");
    assert_eq!(intent["action"], "CopyImage", "{text}");
    assert!(intent["params"].as_object().unwrap().values().any(|v| v == run_id), "untagged: {text}");
    let result = &entries[2];
    assert_eq!((result["kind"].as_str(), result["seq"].as_u64()), (Some("result"), Some(1)), "{text}");
    assert_eq!(result["ids"]["ImageId"], "ami-0123456789abcdef0", "{text}");
    assert!(fake.requests.load(std::sync::atomic::Ordering::SeqCst) >= 30);
}

/// A live call whose answer is cut short may have been carried out: it is not sent again, so
/// one unit of the budget never pays for two copies. The dry runs around it are retried.
#[test]
fn a_live_call_whose_answer_is_lost_is_not_sent_again() {
    // Every answer's head promises a body the server never finishes.
    let (url, requests) = recording_server(|stream, _, _| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n<CopyImageRes");
        let _ = stream.shutdown(std::net::Shutdown::Both);
    });
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
        .args(["run", "--quiet", "--endpoint", &url, "--use-env-credentials", "--live", "--max-creates", "1"])
        .args(["--cases", "3", "--only", "valid", "--concurrency", "1", "--retries", "2", "--shrink-budget", "0"])
        .current_dir(dir.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDCONFORMANCETEST")
        .env("AWS_SECRET_ACCESS_KEY", "lost-answer-secret-4c1d")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "no answer is a verdict of 'could not tell': {}", stderr(&out));
    let bodies: Vec<String> = requests.lock().unwrap().iter().map(|(_, body)| body.clone()).collect();
    let copies = |dry: bool| {
        bodies.iter().filter(|b| b.contains("Action=CopyImage") && b.contains("DryRun=true") == dry).count()
    };
    assert_eq!(copies(false), 1, "the live call went out once: {bodies:#?}");
    // The requests of the other cases, dry runs once the budget is spent, are tried three
    // times each (a case that repeats a request sends its body twice as often).
    assert!(copies(true) > 0, "{bodies:#?}");
    for body in bodies.iter().filter(|b| b.contains("DryRun=true")) {
        let tries = bodies.iter().filter(|b| *b == body).count();
        assert_eq!(tries % 3, 0, "{body} went {tries} times");
    }
}

/// `cleanup --profile NAME` signs with that profile's keys, ahead of the key variables, as
/// `run --profile` does; a profile in neither file is refused (exit 2) before any request.
#[test]
fn cleanup_signs_with_the_named_profile() {
    const PROFILE_SECRET: &str = "profile-secret-for-cleanup-9f2a";
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        format!(
            "[default]\naws_access_key_id = AKIDDEFAULTCLEANUP\naws_secret_access_key = default-secret-cleanup-1\n\n\
             [ci]\naws_access_key_id = AKIDPROFILECLEANUP\naws_secret_access_key = {PROFILE_SECRET}\n"
        ),
    )
    .unwrap();
    // Every request is answered "not found", so the image counts as already gone.
    let (url, requests) = recording_server(|stream, _, _| {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidAMIID.NotFound</Code><Message>m</Message></Error></Errors><RequestID>r</RequestID></Response>"#;
        let reply = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(reply.as_bytes());
    });
    let journal = dir.path().join("run.journal.jsonl");
    journal_of_one_copy(&journal, "cic-1-profile", &url);
    let cleanup = |profile: &str| {
        Command::new(env!("CARGO_BIN_EXE_copyimage-conformance"))
            .args(["cleanup", "--journal", journal.to_str().unwrap(), "--use-env-credentials", "--profile", profile])
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
            .env("AWS_ACCESS_KEY_ID", "AKIDVARIABLECLEANUP")
            .env("AWS_SECRET_ACCESS_KEY", "variable-secret-cleanup-1")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = cleanup("ci");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let seen: Vec<String> = requests.lock().unwrap().iter().map(|(head, _)| head.clone()).collect();
    assert!(!seen.is_empty(), "no request reached the endpoint");
    for head in &seen {
        assert!(head.contains("Credential=AKIDPROFILECLEANUP/"), "not signed with the profile's key:\n{head}");
    }
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!printed.contains(PROFILE_SECRET), "{printed}");

    let before = seen.len();
    let out = cleanup("missing");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("profile `missing` not found in "), "{}", stderr(&out));
    assert_eq!(requests.lock().unwrap().len(), before, "a request went out for an unknown profile");
}
