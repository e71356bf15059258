//! Tests of plan resolution: every validation and default, with a fed environment and no
//! network.

use super::*;

/// The command line's defaults, no flag given.
fn flags() -> Flags {
    Flags {
        endpoint: None,
        region: None,
        dialect: Dialect::Ec2Query,
        concurrency: None,
        timeout: 10.0,
        max_body: 1 << 20,
        retries: 3,
        seed: 1,
        cases: 300,
        only: None,
        rule: None,
        world: None,
        discover: vec![],
        setup: false,
        second_region: "us-west-2".into(),
        world_out: None,
        format: Format::Terminal,
        output: None,
        quiet: false,
        use_env_credentials: false,
        live: false,
        max_creates: None,
        baseline: None,
        update_baseline: false,
        stateful: 0,
        stateful_len: 8,
    }
}

fn resolve_in(flags: Flags, vars: &[(&str, &str)]) -> Result<Plan, PlanError> {
    let spec = Spec::builtin().unwrap();
    Plan::resolve(flags, &spec, &Env::new(vars.iter().copied(), false))
}

fn resolve(flags: Flags) -> Result<Plan, PlanError> {
    resolve_in(flags, &[])
}

fn with_endpoint(url: &str) -> Flags {
    Flags { endpoint: Some(url.into()), ..flags() }
}

#[test]
fn defaults_test_the_embedded_endpoint_as_an_emulator() {
    let plan = resolve(flags()).unwrap();
    assert_eq!(plan.endpoint, Endpoint::Embedded);
    assert_eq!(plan.world.region, World::default_world().region);
    assert_eq!(plan.concurrency, 8);
    assert_eq!(plan.credentials, CredentialSource::Dummy);
    assert!(!plan.safety.force_dry_run);
    assert_eq!(plan.timeout, Duration::from_secs(10));
    assert!(plan.stateful.is_none() && plan.baseline.is_none() && plan.setup.is_none());
}

#[test]
fn region_precedence_is_flag_then_aws_region_then_default_region_then_world() {
    let both = [("AWS_REGION", "eu-west-1"), ("AWS_DEFAULT_REGION", "ap-southeast-2")];
    let flagged = Flags { region: Some("us-west-2".into()), ..flags() };
    assert_eq!(resolve_in(flagged, &both).unwrap().world.region, "us-west-2");
    assert_eq!(resolve_in(flags(), &both).unwrap().world.region, "eu-west-1");
    let empty_first = [("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "ap-southeast-2")];
    assert_eq!(resolve_in(flags(), &empty_first).unwrap().world.region, "ap-southeast-2");
    assert_eq!(resolve_in(flags(), &[("AWS_DEFAULT_REGION", "")]).unwrap().world.region, "us-east-1");
}

#[test]
fn an_unknown_region_is_refused_with_the_spec_named() {
    let e = resolve(Flags { region: Some("mars-north-1".into()), ..flags() }).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Region \"mars-north-1\" is not one the spec knows (specs/copy_image.toml [[partition]]); pass --region with a known one"
    );
    // An empty --region is taken as given, not skipped as the variables are.
    let e = resolve_in(Flags { region: Some(String::new()), ..flags() }, &[("AWS_REGION", "us-west-2")]);
    assert!(matches!(e, Err(PlanError::UnknownRegion { region }) if region.is_empty()));
}

#[test]
fn a_timeout_out_of_range_is_refused() {
    for seconds in [0.0, -1.0, 3600.5, f64::NAN, f64::INFINITY] {
        let e = resolve(Flags { timeout: seconds, ..flags() }).unwrap_err();
        assert_eq!(e.to_string(), format!("--timeout {seconds}: give seconds between 0 and 3600"));
    }
    assert_eq!(resolve(Flags { timeout: 3600.0, ..flags() }).unwrap().timeout, Duration::from_secs(3600));
}

#[test]
fn bad_endpoint_urls_are_refused() {
    let e = resolve(with_endpoint("not a url")).unwrap_err();
    assert_eq!(e.to_string(), "--endpoint \"not a url\": not a URL (relative URL without a base)");
    for url in ["ftp://example.com/", "unix:/var/run/ec2.sock"] {
        let e = resolve(with_endpoint(url)).unwrap_err();
        assert_eq!(e.to_string(), format!("--endpoint {url:?}: needs an http:// or https:// URL with a host"));
    }
}

#[test]
fn credentials_in_the_url_are_refused() {
    for url in ["http://user@localhost:5000/", "http://user:pass@localhost:5000/", "https://:secret@ec2.example/"] {
        let e = resolve(with_endpoint(url)).unwrap_err();
        assert!(matches!(e, PlanError::CredentialsInUrl), "{url}: {e}");
        assert!(!e.to_string().contains("pass") && !e.to_string().contains("secret"));
    }
}

#[test]
fn the_endpoint_comes_from_the_flag_then_aws_endpoint_url() {
    let env = [("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")];
    let plan = resolve_in(flags(), &env).unwrap();
    let expected = Remote { url: "http://127.0.0.1:4566".into(), host: "127.0.0.1".into(), port: 4566, aws: false };
    assert_eq!(plan.endpoint, Endpoint::Remote(expected));
    let plan = resolve_in(Flags { endpoint: Some(String::new()), ..flags() }, &env).unwrap();
    assert!(matches!(plan.endpoint, Endpoint::Remote(r) if r.port == 4566), "an empty flag falls through");
    let plan = resolve_in(with_endpoint("https://localhost.localstack.cloud"), &env).unwrap();
    assert!(matches!(plan.endpoint, Endpoint::Remote(r) if r.port == 443 && r.host == "localhost.localstack.cloud"));
}

#[test]
fn aws_gets_environment_credentials_dry_runs_and_less_concurrency() {
    let plan = resolve(with_endpoint("https://ec2.us-east-1.amazonaws.com/")).unwrap();
    assert!(matches!(&plan.endpoint, Endpoint::Remote(r) if r.aws));
    assert_eq!(plan.credentials, CredentialSource::Environment);
    assert!(plan.safety.force_dry_run);
    assert_eq!(plan.safety.max_creates, 0);
    assert_eq!(plan.concurrency, 2);
    let live = Flags {
        live: true,
        max_creates: Some(4),
        concurrency: Some(1),
        ..with_endpoint("https://ec2.us-east-1.amazonaws.com/")
    };
    let plan = resolve(live).unwrap();
    assert_eq!((plan.safety.max_creates, plan.concurrency), (4, 1));
}

#[test]
fn live_on_an_emulator_is_refused() {
    let e = resolve(Flags { live: true, max_creates: Some(1), ..with_endpoint("http://localhost:5000/") }).unwrap_err();
    assert_eq!(e.to_string(), "--live is for real AWS endpoints; http://localhost:5000/ is not one");
    let e = resolve(Flags { live: true, max_creates: Some(1), ..flags() }).unwrap_err();
    assert_eq!(e.to_string(), "--live is for real AWS endpoints; the embedded endpoint is not one");
}

#[test]
fn emulators_sign_with_dummy_credentials_unless_asked() {
    let plan = resolve(with_endpoint("http://localhost:5000/")).unwrap();
    assert_eq!((plan.credentials, plan.concurrency), (CredentialSource::Dummy, 8));
    assert!(!plan.safety.force_dry_run);
    let plan = resolve(Flags { use_env_credentials: true, ..with_endpoint("http://localhost:5000/") }).unwrap();
    assert_eq!(plan.credentials, CredentialSource::Environment);
}

#[test]
fn progress_needs_a_terminal_and_no_quiet() {
    let spec = Spec::builtin().unwrap();
    let tty = Env::new([("HOME", "/root")], true);
    assert!(Plan::resolve(flags(), &spec, &tty).unwrap().progress);
    assert!(!Plan::resolve(Flags { quiet: true, ..flags() }, &spec, &tty).unwrap().progress);
    assert!(!Plan::resolve(flags(), &spec, &Env::new([("HOME", "/root")], false)).unwrap().progress);
}

#[test]
fn stateful_setup_and_baseline_are_planned_only_when_asked() {
    let asked = Flags {
        stateful: 5,
        stateful_len: 3,
        seed: 9,
        setup: true,
        baseline: Some("b".into()),
        update_baseline: true,
        ..flags()
    };
    let plan = resolve(asked).unwrap();
    assert_eq!(plan.stateful, Some(StatefulConfig { sequences: 5, max_len: 3, seed: 9 }));
    assert_eq!(plan.setup.as_deref(), Some("us-west-2"));
    assert_eq!(plan.baseline, Some(BaselinePlan { dir: "b".into(), update: true }));
}

#[test]
fn the_environment_shows_no_values() {
    let env = Env::new([("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-secret")], false);
    let shown = format!("{env:?}");
    assert!(shown.contains("AWS_SECRET_ACCESS_KEY") && !shown.contains("wJalrXUtnFEMI"), "{shown}");
}
