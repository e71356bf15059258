//! Tests of the stateful checks: seeded sequences, the property checks, and whole checks
//! against the embedded endpoint and against endpoints that break the properties.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use super::checks::image_tags;
use super::ops::Sequences;
use super::*;
use crate::oracle::Oracle;
use crate::run::Safety;
use crate::run::properties::REPLAY_SAME_IMAGE_ID;
use crate::run::splitmix64;
use crate::serve;
use crate::wire::describe::DescribedImage;
use crate::world::Params;

fn target(url: &str, dialect: Dialect) -> Target {
    Target { dialect, ..Target::for_tests(url) }
}

/// Runs `check` against a fresh embedded endpoint over the default world.
fn against_embedded(dialect: Dialect, cfg: &StatefulConfig, skip: &BTreeSet<String>) -> StatefulReport {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let oracle = Arc::new(Oracle::builtin().unwrap());
    let world = World::default_world();
    let running =
        rt.block_on(serve::bind(SocketAddr::from(([127, 0, 0, 1], 0)), oracle.clone(), world.clone())).unwrap();
    let report = check(&target(&running.url(), dialect), &oracle, &world, cfg, skip);
    rt.block_on(running.shutdown());
    report
}

#[test]
fn same_seed_same_sequences() {
    let oracle = Oracle::builtin().unwrap();
    let world = World::default_world();
    let inputs = Inputs::new(&oracle, &world);
    let draw = |seed| {
        let cfg = StatefulConfig { sequences: 20, max_len: 6, seed };
        let mut s = Sequences::new(&inputs, true, &cfg);
        (0..20)
            .map(|_| {
                let rng = s.next_rng();
                s.tree(&rng).unwrap().current()
            })
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (draw(9), draw(9), draw(10));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.iter().all(|ops| (1..=6).contains(&ops.len())));
    // Drawing a sequence again (to shrink it) gives the same one.
    let cfg = StatefulConfig { sequences: 1, max_len: 6, seed: 9 };
    let mut s = Sequences::new(&inputs, true, &cfg);
    let rng = s.next_rng();
    assert_eq!(s.tree(&rng).unwrap().current(), s.tree(&rng).unwrap().current());
    assert_eq!(s.tree(&rng).unwrap().current(), a[0]);
}

#[test]
fn a_described_copy_is_pending_or_available() {
    let state =
        |s: Option<&str>| Session::state_problem(&DescribedImage { state: s.map(str::to_owned), ..Default::default() });
    assert_eq!(state(Some("pending")), None);
    assert_eq!(state(Some("available")), None);
    assert_eq!(state(Some("weird")).as_deref(), Some("state \"weird\", not pending or available"));
    assert_eq!(state(None).as_deref(), Some("no state"));
}

#[test]
fn image_tags_are_those_of_image_specifications() {
    let params: Params = [
        ("TagSpecification.1.ResourceType", "snapshot"),
        ("TagSpecification.1.Tag.1.Key", "s"),
        ("TagSpecification.1.Tag.1.Value", "1"),
        ("TagSpecification.2.ResourceType", "image"),
        ("TagSpecification.2.Tag.1.Key", "a"),
        ("TagSpecification.2.Tag.1.Value", "x"),
        ("TagSpecification.2.Tag.10.Key", "b"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(image_tags(&params), BTreeMap::from([("a".into(), "x".into()), ("b".into(), String::new())]));
}

#[test]
fn embedded_endpoint_holds_every_property() {
    let cfg = StatefulConfig { sequences: 30, max_len: 8, seed: 1 };
    let report = against_embedded(Dialect::Ec2Query, &cfg, &BTreeSet::new());
    assert_eq!(report.stopped, None);
    assert_eq!(report.sequences_run, 30);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

#[test]
fn embedded_endpoint_in_the_json_envelope_dialect() {
    let cfg = StatefulConfig { sequences: 12, max_len: 8, seed: 2 };
    let report = against_embedded(Dialect::JsonEnvelope, &cfg, &BTreeSet::new());
    assert_eq!(report.stopped, None);
    assert_eq!(report.sequences_run, 12);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

#[test]
fn real_aws_without_a_budget_stops_before_copying() {
    let oracle = Oracle::builtin().unwrap();
    let mut world = World::default_world();
    // No deregistered source: the first request sent would be a copy.
    world.images_mut().retain(|i| i.state != ImageState::Deregistered);
    let mut t = target("http://127.0.0.1:9/", Dialect::Ec2Query);
    t.safety = Safety { force_dry_run: true, max_creates: 0, ..Safety::default() };
    let cfg = StatefulConfig { sequences: 5, max_len: 4, seed: 3 };
    let report = check(&t, &oracle, &world, &cfg, &BTreeSet::new());
    assert!(report.stopped.as_deref().is_some_and(|s| s.contains("budget")), "{report:?}");
    assert!(report.failures.is_empty());
}

/// A server that answers every CopyImage with a new ImageId, tokens or not, and every
/// DescribeImages with a truncated document.
fn start_forgetful() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().flatten().enumerate() {
            answer_forgetfully(stream, n as u64);
        }
    });
    url
}

fn answer_forgetfully(mut stream: TcpStream, n: u64) {
    let Some(body) = read_body(&stream) else { return };
    let reply = if body.starts_with(b"Action=DescribeImages") {
        "<DescribeImagesResponse><imagesSet><item><imageId>ami-".to_owned()
    } else {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><CopyImageResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><imageId>ami-{:017x}</imageId></CopyImageResponse>"#,
            splitmix64(n)
        )
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reply.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(reply.as_bytes());
}

fn read_body(stream: &TcpStream) -> Option<Vec<u8>> {
    let mut reader = BufReader::new(stream);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

#[test]
fn token_ignoring_endpoint_fails_replay_in_two_steps() {
    let oracle = Oracle::builtin().unwrap();
    let world = World::default_world();
    let url = start_forgetful();
    let cfg = StatefulConfig { sequences: 10, max_len: 8, seed: 4 };
    let report = check(&target(&url, Dialect::Ec2Query), &oracle, &world, &cfg, &BTreeSet::new());
    assert_eq!(report.stopped, None);
    let f = report.failure(REPLAY_SAME_IMAGE_ID).unwrap_or_else(|| panic!("{:#?}", report.failures));
    assert_eq!(f.steps.len(), 2, "{:#?}", f.steps);
    assert!(f.steps[0].starts_with("1. Copy: CopyImage "), "{}", f.steps[0]);
    assert!(f.steps[1].starts_with("2. Replay of step 1 "), "{}", f.steps[1]);
    assert!(f.detail.starts_with("step 2: the replay of step 1 must return ami-"), "{}", f.detail);
    let curls: Vec<&str> = f.script.lines().filter(|l| l.starts_with("curl ")).collect();
    assert_eq!(curls.len(), 2, "{}", f.script);
    assert!(f.script.starts_with("#!/usr/bin/env bash\n"));
    assert!(f.script.contains("--user \"AKIAIOSFODNN7EXAMPLE:"), "{}", f.script);
    // The replay is the copy's request again, ClientToken included.
    let bodies: Vec<&str> = f.script.lines().filter(|l| l.contains("--data-binary")).collect();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1]);
    // The unreadable DescribeImages answers are failures too, not crashes.
    for f in &report.failures {
        assert!(PROPERTIES.contains(&f.property.as_str()));
    }
    let bash = std::process::Command::new("bash").arg("-n").arg("-c").arg(&f.script).output().unwrap();
    assert!(bash.status.success(), "{}", String::from_utf8_lossy(&bash.stderr));
}
