//! The runner's tests: safety, budgets, the mirror, ordering.

use super::*;
use crate::generate::Generator;
use crate::verdict::SameCodes;

async fn run_with(safety: Safety, cases: usize) -> Vec<CaseRecord> {
    run_cases(safety, |cases: Vec<Case>| cases, cases).await
}

async fn run_cases(safety: Safety, edit: impl Fn(Vec<Case>) -> Vec<Case>, cases: usize) -> Vec<CaseRecord> {
    let oracle = Arc::new(Oracle::builtin().unwrap());
    let world = World::default_world();
    let running = crate::serve::bind(([127, 0, 0, 1], 0).into(), oracle.clone(), world.clone()).await.unwrap();
    let target = Target {
        region: world.region.clone(),
        timeout: Duration::from_secs(5),
        safety,
        ..Target::for_tests(&running.url())
    };
    let runner = Arc::new(Runner::new(oracle.clone(), target, world.clone(), Arc::new(SameCodes)).unwrap());
    let cases: Vec<Case> =
        edit(Generator::new(&oracle, world, 3, None, None).unwrap().take(cases).map(Result::unwrap).collect());
    let records: Vec<CaseRecord> = runner.run(cases, 4).collect().await;
    running.shutdown().await;
    records
}

fn steps(records: &[CaseRecord]) -> impl Iterator<Item = &StepRecord> {
    records.iter().flat_map(|r| r.setup.iter().chain(std::iter::once(&r.result)))
}

#[tokio::test]
async fn real_aws_safety_makes_every_request_a_dry_run() {
    let records = run_with(Safety { force_dry_run: true, max_creates: 0, ..Safety::default() }, 150).await;
    for s in steps(&records) {
        assert_eq!(s.params.get("DryRun").map(String::as_str), Some("true"), "{:?}", s.params);
        assert!(!matches!(s.reply, Some(Reply::Success { .. })), "a request created an image: {:?}", s.params);
    }
    // The predictions are made for the requests as sent, so the run still conforms.
    assert!(records.iter().all(|r| r.verdict().passes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_sharing_a_name_reach_the_endpoint_in_prediction_order() {
    let same_name = |cases: Vec<Case>| {
        cases
            .into_iter()
            .filter(|c| c.target == crate::generate::VALID && c.setup.is_empty())
            .map(|mut c| {
                c.params.insert("Name".into(), "shared-name".into());
                c.params.remove("DryRun");
                c
            })
            .collect()
    };
    let records = run_cases(Safety::default(), same_name, 200).await;
    assert!(records.len() >= 30, "{}", records.len());
    let created = records.iter().filter(|r| matches!(r.result.reply, Some(Reply::Success { .. }))).count();
    // The first copy takes the name; the embedded endpoint refuses the others as duplicates.
    assert_eq!(created, 1);
    for r in &records {
        assert!(r.verdict().passes(), "case {}: {:?}", r.id, r.verdict());
    }
}

#[test]
fn the_mirror_keeps_an_unexpected_copy_as_the_endpoint_made_it() {
    let oracle = Oracle::builtin().unwrap();
    let mut world = World::default_world();
    // An encrypted, tagged source; a Name only the model allows: success is uncertain.
    let source = "ami-0f1e2d3c4b5a69788";
    world.set_image_tags(source, [("team".to_owned(), "a".to_owned())].into_iter().collect());
    let params: Params = [
        ("Name", "copy[1]"),
        ("SourceImageId", source),
        ("SourceRegion", "us-east-1"),
        ("CopyImageTags", "true"),
        ("ClientToken", "mirror-token-0001"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let p = oracle.predict(&world, &params);
    assert!(p.ok && !p.codes.is_empty(), "{p:?}");
    let id = "ami-0123456789abcdef0";
    follow(&oracle, &mut world, &params, &p, None, Some(id), false);
    let copy = world.image(id, "us-east-1").expect("the copy is in the mirror");
    assert!(copy.encrypted, "a copy of an encrypted source is encrypted");
    assert_eq!(copy.tags.get("team").map(String::as_str), Some("a"));
    assert_eq!(world.token("mirror-token-0001").map(|t| t.image_id.clone()).as_deref(), Some(id));
    // Copying it unencrypted is then predicted as the endpoint will answer.
    let again = [("Name", "copy-2"), ("SourceImageId", id), ("SourceRegion", "us-east-1"), ("Encrypted", "false")];
    let again: Params = again.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    assert_eq!(oracle.predict(&world, &again).code_list(), ["InvalidRequest"]);
}

#[tokio::test]
async fn live_requests_are_journaled_and_tagged_and_dry_runs_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.jsonl");
    let journal = Arc::new(journal::Journal::create(&path, "cic-1-0000000l", "http://x/", "us-east-1").unwrap());
    let safety = Safety { force_dry_run: true, max_creates: 2, journal: Some(journal), ..Safety::default() };
    let records = run_with(safety, 150).await;
    let tagged = |s: &&StepRecord| s.params.values().any(|v| v == "cic-1-0000000l");
    let live: Vec<&StepRecord> =
        steps(&records).filter(|s| s.params.get("DryRun").map(String::as_str) != Some("true")).collect();
    assert_eq!(live.len(), 2);
    assert!(live.iter().all(tagged), "live requests carry the run-id tag");
    assert_eq!(steps(&records).filter(tagged).count(), 2, "DryRuns are sent as generated");
    assert!(records.iter().all(|r| r.verdict().passes()));
    let read = journal::read(&path).unwrap();
    let intents: Vec<&Params> = read
        .entries
        .iter()
        .filter_map(|e| match e {
            journal::Entry::Intent { params, .. } => Some(params),
            _ => None,
        })
        .collect();
    assert_eq!(intents.len(), 2);
    assert!(intents.iter().all(|p| p.get("TagSpecification.1.ResourceType").is_some()), "{intents:?}");
    let mut made: Vec<&str> = read
        .entries
        .iter()
        .filter_map(|e| match e {
            journal::Entry::Result { ids, .. } => ids.get("ImageId").map(String::as_str),
            _ => None,
        })
        .collect();
    let mut created: Vec<&str> = steps(&records)
        .filter_map(|s| match &s.reply {
            Some(Reply::Success { image_id: Some(id), .. }) => Some(id.as_str()),
            _ => None,
        })
        .collect();
    // Requests in flight answer in any order; the journal holds them as they answered.
    made.sort_unstable();
    created.sort_unstable();
    assert_eq!(made, created);
}

#[tokio::test]
async fn a_live_budget_caps_the_requests_that_create() {
    let records = run_with(Safety { force_dry_run: true, max_creates: 2, ..Safety::default() }, 150).await;
    let created = steps(&records).filter(|s| matches!(s.reply, Some(Reply::Success { .. }))).count();
    let undry = steps(&records).filter(|s| s.params.get("DryRun").map(String::as_str) != Some("true")).count();
    assert_eq!(created, 2);
    assert_eq!(undry, 2);
}
