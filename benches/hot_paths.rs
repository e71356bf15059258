//! Criterion micro-benchmarks of the per-request hot paths: predicting a generated request,
//! encoding and signing it, and decoding the replies the embedded endpoint writes
//! (`cargo bench --bench hot_paths`; `make bench-compare` measures the whole tool).

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use copyimage_conformance::{Generator, Oracle, Params, Reply, World, decode_xml, form_body};

/// Requests cycled through per benchmark: enough that branch predictors do not learn one.
const CASES: usize = 512;

/// The generated requests of seed 1 (valid and invalid mixed), as `run` sends them.
fn corpus(oracle: &Oracle) -> Vec<Params> {
    let generator = Generator::new(oracle, World::default_world(), 1, None, None).expect("the built-in generator");
    generator.take(CASES).map(|case| case.expect("a generated case").params).collect()
}

fn predict(c: &mut Criterion, oracle: &Oracle, world: &World, cases: &[Params]) {
    let mut group = c.benchmark_group("predict");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("generated_corpus", |b| {
        b.iter(|| {
            for params in cases {
                black_box(oracle.predict(world, black_box(params)));
            }
        });
    });
    group.finish();
}

/// Encodes `params` and signs the request as the runner does: the ec2Query form body, then
/// SigV4 (service `ec2`, default settings) with AWS's published example key. The library has
/// no public signing entry on purpose (README, Safety), so this calls aws-sigv4, the crate
/// the runner's signer wraps, with the same inputs.
fn encode_and_sign(params: &Params, creds: &aws_credential_types::Credentials, time: SystemTime) -> usize {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    // Per request, as the runner's signer does.
    let identity = creds.clone().into();
    let body = form_body("CopyImage", "2016-11-15", params);
    let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8"), ("host", "127.0.0.1:8080")];
    let signing = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("ec2")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let signable = SignableRequest::new(
        "POST",
        "http://127.0.0.1:8080/",
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .expect("a signable request");
    let (instructions, signature) = sign(signable, &signing).expect("a signature").into_parts();
    body.len() + signature.len() + instructions.headers().count()
}

fn encode_sign(c: &mut Criterion, cases: &[Params]) {
    let creds = aws_credential_types::Credentials::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "bench",
    );
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
    let mut group = c.benchmark_group("encode_sign");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("generated_corpus", |b| {
        b.iter(|| {
            for params in cases {
                black_box(encode_and_sign(black_box(params), &creds, time));
            }
        });
    });
    group.finish();
}

/// A success and an error reply exactly as the embedded endpoint writes them.
const SUCCESS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyImageResponse \
    xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>6c9d1d1e-6fa0-4b6e-9e5a-2f3c1b0d7a41\
    </requestId><imageId>ami-0a1b2c3d4e5f60718</imageId></CopyImageResponse>";
const ERROR: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>\
    InvalidAMIName.Malformed</Code><Message>AMI names must be between 3 and 128 characters long, \
    and may contain letters, numbers, &apos;(&apos;, &apos;)&apos;, &apos;.&apos;, &apos;-&apos;, \
    &apos;/&apos; and &apos;_&apos;</Message></Error></Errors><RequestID>\
    0f7c5e2a-3b1d-4c8e-9a6f-5d2e1b0c9a87</RequestID></Response>";

fn decode(c: &mut Criterion) {
    assert!(matches!(decode_xml(200, SUCCESS.as_bytes()), Reply::Success { image_id: Some(_), .. }));
    assert!(matches!(decode_xml(400, ERROR.as_bytes()), Reply::Error { .. }));
    let mut group = c.benchmark_group("decode_xml");
    group.throughput(Throughput::Elements(1));
    group.bench_function("success", |b| b.iter(|| black_box(decode_xml(200, black_box(SUCCESS.as_bytes())))));
    group.bench_function("error", |b| b.iter(|| black_box(decode_xml(400, black_box(ERROR.as_bytes())))));
    group.finish();
}

fn hot_paths(c: &mut Criterion) {
    let oracle = Oracle::builtin().expect("the built-in spec");
    let world = World::default_world();
    let cases = corpus(&oracle);
    predict(c, &oracle, &world, &cases);
    encode_sign(c, &cases);
    decode(c);
}

criterion_group! {
    name = benches;
    // Short windows: the machine is shared; the figures are for comparing revisions, not
    // for the README (which quotes `make bench-compare`).
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = hot_paths
}
criterion_main!(benches);
