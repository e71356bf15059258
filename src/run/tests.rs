//! The runner's tests: safety, budgets, the mirror, ordering.

use super::*;
use crate::generate::Generator;
use crate::verdict::SameCodes;
use std::sync::atomic::AtomicU64;

async fn run_with(safety: Safety, cases: usize) -> Vec<CaseRecord> {
    run_cases(safety, |cases: Vec<Case>| cases, cases).await
}

async fn run_cases(safety: Safety, edit: impl Fn(Vec<Case>) -> Vec<Case>, cases: usize) -> Vec<CaseRecord> {
    run_judged(safety, edit, cases, Arc::new(SameCodes), Reproductions::Every).await
}

/// [`run_cases`], judged with `codes` and with the reproductions `which` says.
async fn run_judged(
    safety: Safety,
    edit: impl Fn(Vec<Case>) -> Vec<Case>,
    cases: usize,
    codes: Arc<dyn CodeMap>,
    which: Reproductions,
) -> Vec<CaseRecord> {
    let oracle = Arc::new(Oracle::builtin().unwrap());
    let world = World::default_world();
    let running = crate::serve::bind(([127, 0, 0, 1], 0).into(), oracle.clone(), world.clone()).await.unwrap();
    let target = Target {
        region: world.region.clone(),
        timeout: Duration::from_secs(5),
        safety,
        ..Target::for_tests(&running.url())
    };
    let runner = Arc::new(Runner::new(oracle.clone(), target, world.clone(), codes).unwrap().reproducing(which));
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
    let journal = Arc::new(
        journal::Journal::create(&path, "cic-1-0000000l", "http://x/", "us-east-1", crate::wire::Redactor::none())
            .unwrap(),
    );
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

/// Error codes that never match: every error reply deviates, every success conforms.
struct NoCodes;

impl CodeMap for NoCodes {
    fn matches(&self, _: &str, _: &str) -> bool {
        false
    }
}

#[tokio::test]
async fn only_failing_requests_get_a_reproduction_when_the_report_shows_no_other() {
    let all = |cases: Vec<Case>| cases;
    let codes: Arc<dyn CodeMap> = Arc::new(NoCodes);
    let failing = run_judged(Safety::default(), all, 150, codes.clone(), Reproductions::Failing).await;
    let every = run_judged(Safety::default(), all, 150, codes, Reproductions::Every).await;
    let (mut conforming, mut deviating) = (0, 0);
    for (f, e) in failing.iter().zip(&every) {
        assert_eq!(f.verdict(), e.verdict(), "case {}", f.id);
        assert!(!e.result.curl.is_empty(), "case {}", e.id);
        if f.verdict().passes() {
            conforming += 1;
            assert_eq!(f.result.curl, "", "case {}", f.id);
        } else {
            deviating += 1;
            // The two runs' endpoints listen on different ports.
            let unported =
                |curl: &str| curl.lines().filter(|l| !l.contains("127.0.0.1")).collect::<Vec<_>>().join("\n");
            assert_eq!(unported(&f.result.curl), unported(&e.result.curl), "case {}", f.id);
        }
        for (fs, es) in f.setup.iter().zip(&e.setup) {
            assert_eq!(fs.curl.is_empty(), fs.verdict.passes(), "case {}", f.id);
            assert!(!es.curl.is_empty(), "case {}", e.id);
        }
    }
    assert_eq!(failing.len(), every.len());
    assert!(conforming > 10 && deviating > 10, "{conforming} conforming, {deviating} deviating");
}

#[test]
fn a_secret_in_any_string_of_a_record_is_masked() {
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let redactor = Redactor::new(Some(&Credentials::new("AKIDEXAMPLE", SECRET, None)));
    let oracle = Oracle::builtin().unwrap();
    let world = World::default_world();
    let step = |where_: &str| {
        let said = |what: &str| if what == where_ { format!("{what} {SECRET} said") } else { what.to_owned() };
        let params: Params = [("Name".to_owned(), said("params")), (said("key"), "v".to_owned())].into();
        StepRecord {
            prediction: oracle.predict(&world, &params),
            params,
            status: Some(400),
            reply: Some(Reply::Error {
                code: "InvalidAMIID.Malformed".into(),
                message: Some(said("message")),
                request_id: None,
            }),
            verdict: Verdict::Deviation {
                findings: vec![Finding::WrongCode { got: said("detail"), expected: vec!["X".into()] }],
            },
            attempts: 1,
            elapsed_ms: 3,
            curl: said("curl"),
            nonce: Some(nonce::Rotation { nonce: said("nonce"), keys: vec![] }),
        }
    };
    for where_ in ["params", "key", "message", "detail", "curl", "nonce", "setup", "none"] {
        let record = CaseRecord {
            id: "000001".into(),
            target: "valid".into(),
            setup: vec![step(if where_ == "setup" { "curl" } else { "" })],
            result: step(where_),
        };
        let before = serde_json::to_string(&record).unwrap();
        let after = serde_json::to_string(&redactor.scrub(record)).unwrap();
        assert!(!after.contains(SECRET), "{where_}: {after}");
        if where_ == "none" {
            assert_eq!(after, before);
        } else {
            assert_eq!(after, before.replace(SECRET, "***"), "{where_}");
        }
    }
}

/// What a [`watched_endpoint`] saw: the requests in the order they arrived, and the most that
/// were in flight at once.
#[derive(Default)]
struct Watch {
    seen: Mutex<Vec<Params>>,
    in_flight: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

/// The embedded endpoint behind a layer that watches its requests and holds each for `delay`
/// before answering, so that requests sent while another is out would overlap it.
async fn watched_endpoint(oracle: Arc<Oracle>, world: World, delay: Duration) -> (String, Arc<Watch>) {
    use std::sync::atomic::Ordering::SeqCst;
    let watch = Arc::new(Watch::default());
    let seen = watch.clone();
    let layer = move |req: axum::extract::Request, next: axum::middleware::Next| {
        let w = seen.clone();
        async move {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
            let mut params = Params::new();
            crate::serve::params::decode_form(&bytes, &mut params).unwrap();
            w.seen.lock().unwrap().push(params);
            let now = w.in_flight.fetch_add(1, SeqCst) + 1;
            w.most.fetch_max(now, SeqCst);
            tokio::time::sleep(delay).await;
            let answer = next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await;
            w.in_flight.fetch_sub(1, SeqCst);
            answer
        }
    };
    let app = Arc::new(crate::serve::Endpoint::new(oracle, world)).router().layer(axum::middleware::from_fn(layer));
    (crate::serve::serve_for_tests(app).await, watch)
}

/// Runs `cases` at `concurrency` against a [`watched_endpoint`] holding each request `delay`.
async fn run_watched(cases: Vec<Case>, concurrency: usize, delay: Duration) -> (Vec<CaseRecord>, Arc<Watch>) {
    let oracle = Arc::new(Oracle::builtin().unwrap());
    let world = World::default_world();
    let (url, watch) = watched_endpoint(oracle.clone(), world.clone(), delay).await;
    let target = Target { region: world.region.clone(), ..Target::for_tests(&url) };
    let runner = Arc::new(Runner::new(oracle, target, world, Arc::new(SameCodes)).unwrap());
    (runner.run(cases, concurrency).collect().await, watch)
}

fn generated(n: usize) -> Vec<Case> {
    let oracle = Oracle::builtin().unwrap();
    Generator::new(&oracle, World::default_world(), 3, None, None).unwrap().take(n).map(Result::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_concurrency_1_the_endpoint_sees_one_request_at_a_time_in_case_order() {
    let cases = generated(80);
    assert!(cases.iter().any(|c| !c.setup.is_empty()), "some case has setup requests");
    let (records, watch) = run_watched(cases, 1, Duration::from_millis(2)).await;
    assert_eq!(watch.most.load(std::sync::atomic::Ordering::SeqCst), 1, "two requests were out at once");
    let seen = watch.seen.lock().unwrap();
    let sent: Vec<&StepRecord> = steps(&records).collect();
    assert_eq!(seen.len(), sent.len());
    for (i, (got, step)) in seen.iter().zip(&sent).enumerate() {
        let same = step.params.iter().all(|(k, v)| got.get(k) == Some(v));
        assert!(same, "request {i} came out of order: {got:?}, expected {:?}", step.params);
    }
    assert!(records.iter().all(|r| r.verdict().passes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_one_request_is_out_at_higher_concurrency_but_never_more_than_it() {
    let (records, watch) = run_watched(generated(120), 3, Duration::from_millis(5)).await;
    assert_eq!(watch.most.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(records.iter().all(|r| r.verdict().passes()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_made_ready_ahead_is_predicted_after_the_one_on_its_name_settles() {
    let mut cases: Vec<Case> =
        generated(200).into_iter().filter(|c| c.target == crate::generate::VALID && c.setup.is_empty()).collect();
    cases.truncate(3);
    for c in &mut cases {
        c.params.insert("Name".into(), "made-ahead".into());
        c.params.remove("DryRun");
        c.params.remove("ClientToken");
    }
    // The first copy is out for 100 ms while the second, taken ahead, waits for its Name.
    let (records, _) = run_watched(cases, 1, Duration::from_millis(100)).await;
    let Some(Reply::Success { image_id: Some(made), .. }) = &records[0].result.reply else {
        panic!("the first copy is made: {:?}", records[0].result)
    };
    for later in &records[1..] {
        let predicted = serde_json::to_string(&later.result.prediction).unwrap();
        assert!(predicted.contains("InvalidAMIName.Duplicate") && predicted.contains(made.as_str()), "{predicted}");
        assert!(!predicted.contains(PENDING), "{predicted}");
        assert!(later.verdict().passes(), "{:?}", later.verdict());
    }
}

#[test]
fn tokens_that_differ_in_letter_case_share_a_line_and_names_do_not() {
    let params =
        |pairs: &[(&str, &str)]| -> Params { pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect() };
    assert_eq!(shared_keys(&params(&[("ClientToken", "Tok-1")])), shared_keys(&params(&[("ClientToken", "tOK-1")])));
    assert_ne!(shared_keys(&params(&[("Name", "Copy")])), shared_keys(&params(&[("Name", "copy")])));
    // A Name and a ClientToken of the same text are different state.
    assert_ne!(shared_keys(&params(&[("Name", "x")])), shared_keys(&params(&[("ClientToken", "x")])));
}

/// The records as the derive with `#[serde(flatten)]` writes them: what the hand-written
/// `Serialize` of [`CaseRecord`] and [`StepRecord`] must write, byte for byte.
mod derived {
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Step {
        params: Params,
        prediction: Prediction,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reply: Option<Reply>,
        #[serde(flatten)]
        verdict: Verdict,
        attempts: u32,
        elapsed_ms: u64,
        curl: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        nonce: Option<nonce::Rotation>,
    }

    #[derive(Serialize)]
    struct Case {
        id: String,
        target: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        setup: Vec<Step>,
        #[serde(flatten)]
        result: Step,
    }

    fn step(record: &StepRecord) -> Step {
        // Every field by name: a field added to `StepRecord` does not compile here until it is
        // added to the derive above, and then the comparison below holds the hand-written
        // `Serialize` to it.
        let StepRecord { params, prediction, status, reply, verdict, attempts, elapsed_ms, curl, nonce } =
            record.clone();
        Step { params, prediction, status, reply, verdict, attempts, elapsed_ms, curl, nonce }
    }

    fn case(record: &CaseRecord) -> Case {
        let CaseRecord { id, target, setup, result } = record.clone();
        Case { id, target, setup: setup.iter().map(step).collect(), result: step(&result) }
    }

    /// Steps with every verdict, with and without their optional fields.
    fn steps() -> Vec<StepRecord> {
        let oracle = Oracle::builtin().unwrap();
        let world = World::default_world();
        let params: Params =
            [("Name".to_owned(), "n".to_owned()), ("SourceImageId".to_owned(), "ami-1".to_owned())].into();
        let prediction = oracle.predict(&world, &params);
        let finding = Finding::SetupDeviated { step: 0, detail: "d".into() };
        let verdicts = [
            Verdict::Conforms { notes: vec![] },
            Verdict::Conforms { notes: vec![finding.clone()] },
            Verdict::Deviation { findings: vec![finding] },
            Verdict::Unparseable { reason: "r".into() },
            Verdict::Transport { error: "e".into() },
        ];
        let reply = Reply::Error { code: "C".into(), message: Some("m".into()), request_id: None };
        let rotation = nonce::Rotation { nonce: "abcdefgh".into(), keys: vec!["Name".into()] };
        verdicts
            .into_iter()
            .enumerate()
            .map(|(i, verdict)| {
                let full = i % 2 == 0;
                StepRecord {
                    params: params.clone(),
                    prediction: prediction.clone(),
                    status: full.then_some(400),
                    reply: full.then(|| reply.clone()),
                    verdict,
                    attempts: 2,
                    elapsed_ms: 7,
                    curl: if full { "curl x".into() } else { String::new() },
                    nonce: full.then(|| rotation.clone()),
                }
            })
            .collect()
    }

    #[test]
    fn records_are_written_as_the_flattening_derive_writes_them() {
        let steps = steps();
        for (i, result) in steps.iter().enumerate() {
            let setup = if i % 2 == 0 { vec![] } else { steps.clone() };
            let record = CaseRecord { id: format!("{i:06}"), target: "t".into(), setup, result: result.clone() };
            let hand = serde_json::to_string(&record).unwrap();
            assert_eq!(hand, serde_json::to_string(&case(&record)).unwrap());
            assert_eq!(serde_json::to_string(result).unwrap(), serde_json::to_string(&step(result)).unwrap());
            // And read back as written.
            let back: CaseRecord = serde_json::from_str(&hand).unwrap();
            assert_eq!(serde_json::to_string(&back).unwrap(), hand);
        }
    }
}

/// A valid case of one request, generated, with its Name set to `name`.
fn valid_named(name: &str) -> Case {
    let mut case = generated(400)
        .into_iter()
        .find(|c| c.target == crate::generate::VALID && c.setup.is_empty() && !c.params.contains_key("DryRun"))
        .unwrap();
    case.params.insert("Name".into(), name.into());
    case.params.remove("ClientToken");
    case
}

/// A runner with the nonce `text` against `url`, starting from the default world.
fn rotating_runner(oracle: &Arc<Oracle>, url: &str, text: &str) -> Runner {
    let world = World::default_world();
    let target = Target { region: world.region.clone(), ..Target::for_tests(url) };
    Runner::new(oracle.clone(), target, world, Arc::new(SameCodes))
        .unwrap()
        .with_nonce(nonce::Nonce::parse(text).unwrap())
}

#[tokio::test]
async fn a_name_an_earlier_run_left_is_learnt_from_the_endpoint_not_reported() {
    let oracle = Arc::new(Oracle::builtin().unwrap());
    let running = crate::serve::bind(([127, 0, 0, 1], 0).into(), oracle.clone(), World::default_world()).await.unwrap();
    let first = rotating_runner(&oracle, &running.url(), "abcdefgh");
    let made = first.run_case_rotated(valid_named("cp1"), first.nonce.as_ref()).await;
    assert!(made.verdict().passes(), "{:?}", made.result);
    // The later run's nonce sends another generated Name as the same short Name.
    let sent = made.result.params["Name"].clone();
    let later = rotating_runner(&oracle, &running.url(), "Zz9aB1cD");
    let clash = valid_named(&later.nonce.as_ref().unwrap().undo(&sent));
    let rec = later.run_case_rotated(clash, later.nonce.as_ref()).await;
    running.shutdown().await;
    assert_eq!(rec.result.params["Name"], sent);
    assert!(matches!(&rec.result.reply, Some(Reply::Error { code, .. }) if code == "InvalidAMIName.Duplicate"));
    assert!(rec.verdict().passes(), "{}", rec.verdict());
    assert!(rec.result.prediction.accepts_code("InvalidAMIName.Duplicate"), "{:?}", rec.result.prediction);
    assert_eq!(later.counters.earlier_names.load(std::sync::atomic::Ordering::Relaxed), 1);
}

/// The error reply `code` with HTTP `status`, as EC2 writes one.
fn ec2_error(status: u16, code: &str) -> axum::response::Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code>\
         <Message>{code}</Message></Error></Errors><RequestID>r</RequestID></Response>"
    );
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    axum::response::IntoResponse::into_response((status, xml))
}

/// What [`edited_endpoint`] does with a request.
pub(super) enum Edit {
    /// serve answers it.
    Pass,
    /// This answers it; serve never sees it.
    Answer(axum::response::Response),
    /// serve acts on it, and this answer goes back instead of serve's.
    Hide(axum::response::Response),
}

/// The embedded endpoint of `world` behind `edit`, which sees each request's form body first,
/// may change it, and says what becomes of it.
pub(super) async fn edited_endpoint(
    oracle: Arc<Oracle>,
    world: World,
    edit: impl Fn(&mut Vec<u8>) -> Edit + Clone + Send + Sync + 'static,
) -> String {
    let layer = move |req: axum::extract::Request, next: axum::middleware::Next| {
        let edit = edit.clone();
        async move {
            let (parts, body) = req.into_parts();
            let mut bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default().to_vec();
            let edited = edit(&mut bytes);
            if let Edit::Answer(answer) = edited {
                return answer;
            }
            let served = next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await;
            match edited {
                Edit::Hide(answer) => answer,
                _ => served,
            }
        }
    };
    let endpoint = Arc::new(crate::serve::Endpoint::new(oracle, world));
    crate::serve::serve_for_tests(endpoint.router().layer(axum::middleware::from_fn(layer))).await
}

/// [`edited_endpoint`] of the default world, counting the DescribeImages calls.
async fn describe_counted(oracle: &Arc<Oracle>, edit: fn(&mut Vec<u8>) -> Edit) -> (String, Arc<AtomicU64>) {
    let described = Arc::new(AtomicU64::new(0));
    let seen = described.clone();
    let counting = move |body: &mut Vec<u8>| {
        if body.windows(22).any(|w| w == b"Action=DescribeImages&") {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        edit(body)
    };
    (edited_endpoint(oracle.clone(), World::default_world(), counting).await, described)
}

/// Every CopyImage refused as a duplicate Name; DescribeImages left to serve, which holds no
/// image of that Name.
#[expect(clippy::ptr_arg, reason = "an edit's type: another edit changes the body's length")]
fn refuse_copies(body: &mut Vec<u8>) -> Edit {
    match body.windows(16).any(|w| w == b"Action=CopyImage") {
        true => Edit::Answer(ec2_error(400, "InvalidAMIName.Duplicate")),
        false => Edit::Pass,
    }
}

#[tokio::test]
async fn a_duplicate_name_the_endpoints_images_do_not_show_stays_a_deviation() {
    let oracle = Arc::new(Oracle::builtin().unwrap());
    let (url, described) = describe_counted(&oracle, refuse_copies).await;
    let runner = rotating_runner(&oracle, &url, "Zz9aB1cD");
    let rec = runner.run_case_rotated(valid_named("cp1"), runner.nonce.as_ref()).await;
    assert_eq!(described.load(std::sync::atomic::Ordering::SeqCst), 1, "the endpoint was asked");
    assert!(matches!(rec.verdict(), Verdict::Deviation { .. }), "{}", rec.verdict());
    assert!(!rec.result.prediction.accepts_code("InvalidAMIName.Duplicate"));
    assert_eq!(runner.counters.earlier_names.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!(runner.counters.earlier_unchecked.load(std::sync::atomic::Ordering::Relaxed), 0, "it was checked");
    assert_eq!(runner.counters.requests.load(std::sync::atomic::Ordering::Relaxed), 2, "the copy and the lookup");
}

#[tokio::test]
async fn a_duplicate_name_the_endpoint_will_not_list_images_for_is_counted_as_unchecked() {
    let oracle = Arc::new(Oracle::builtin().unwrap());
    let refuse_all = |body: &mut Vec<u8>| match body.windows(22).any(|w| w == b"Action=DescribeImages&") {
        true => Edit::Answer(ec2_error(403, "UnauthorizedOperation")),
        false => refuse_copies(body),
    };
    let (url, described) = describe_counted(&oracle, refuse_all).await;
    let runner = rotating_runner(&oracle, &url, "Zz9aB1cD");
    let rec = runner.run_case_rotated(valid_named("cp1"), runner.nonce.as_ref()).await;
    assert_eq!(described.load(std::sync::atomic::Ordering::SeqCst), 1, "the endpoint was asked");
    assert!(matches!(rec.verdict(), Verdict::Deviation { .. }), "{}", rec.verdict());
    let c = &runner.counters;
    assert_eq!(c.earlier_unchecked.load(std::sync::atomic::Ordering::Relaxed), 1);
    let why = c.earlier_unchecked_why.get().expect("the reason is kept");
    assert!(why.starts_with("DescribeImages: ") && why.contains("UnauthorizedOperation"), "{why}");
    assert_eq!(c.requests.load(std::sync::atomic::Ordering::Relaxed), 2, "the copy and the lookup");
}

#[tokio::test]
async fn on_aws_without_live_a_refused_name_is_not_looked_up() {
    let oracle = Arc::new(Oracle::builtin().unwrap());
    let (url, described) = describe_counted(&oracle, refuse_copies).await;
    let mut runner = rotating_runner(&oracle, &url, "Zz9aB1cD");
    runner.target.safety = Safety { force_dry_run: true, max_creates: 0, ..Safety::default() };
    let rec = runner.run_case_rotated(valid_named("cp1"), runner.nonce.as_ref()).await;
    assert_eq!(rec.result.params.get("DryRun").map(String::as_str), Some("true"));
    assert!(!rec.verdict().passes(), "{}", rec.verdict());
    assert_eq!(described.load(std::sync::atomic::Ordering::SeqCst), 0, "every request to AWS is a dry run");
}

#[tokio::test]
async fn a_name_this_run_sent_before_is_not_learnt_as_an_earlier_runs() {
    let oracle = Arc::new(Oracle::builtin().unwrap());
    // A dry run answered as one, but the copy made all the same: an endpoint bug that only the
    // next request on the Name shows.
    let keep = |body: &mut Vec<u8>| {
        let Some(at) = body.windows(11).position(|w| w == b"DryRun=true") else { return Edit::Pass };
        body.splice(at..at + 11, b"DryRun=false".iter().copied());
        Edit::Hide(ec2_error(412, "DryRunOperation"))
    };
    let (url, described) = describe_counted(&oracle, keep).await;
    let runner = rotating_runner(&oracle, &url, "Zz9aB1cD");
    let mut dry = valid_named("cp1");
    dry.params.insert("DryRun".into(), "true".into());
    let first = runner.run_case_rotated(dry, runner.nonce.as_ref()).await;
    assert!(first.verdict().passes(), "{}", first.verdict());
    let again = runner.run_case_rotated(valid_named("cp1"), runner.nonce.as_ref()).await;
    assert!(matches!(&again.result.reply, Some(Reply::Error { code, .. }) if code == "InvalidAMIName.Duplicate"));
    assert!(matches!(again.verdict(), Verdict::Deviation { .. }), "{}", again.verdict());
    assert_eq!(described.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing to ask: this run sent the Name");
    assert_eq!(runner.counters.earlier_names.load(std::sync::atomic::Ordering::Relaxed), 0);
}
