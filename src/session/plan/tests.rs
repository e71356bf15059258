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
        threads: None,
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
        not_aws: false,
        live: false,
        max_creates: None,
        baseline: None,
        update_baseline: false,
        stateful: 0,
        stateful_len: 8,
        journal: None,
        partition: None,
        profile: None,
        shrink_budget: 200,
        emit_tests: None,
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
fn live_without_a_budget_is_refused() {
    // The command line never gets here (its flags require --max-creates with --live); a library
    // caller's Flags do.
    let e = resolve(Flags { live: true, ..with_endpoint("https://ec2.us-east-1.amazonaws.com/") }).unwrap_err();
    assert_eq!(e.to_string(), "--live needs --max-creates: at most how many requests may create an image");
    let e = resolve(Flags { live: true, setup: true, ..with_endpoint("https://ec2.us-east-1.amazonaws.com/") })
        .unwrap_err();
    assert!(matches!(e, PlanError::LiveWithoutMaxCreates), "{e}");
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
        ..with_endpoint("http://127.0.0.1:5000/")
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

const FAKE_KEYS: [(&str, &str); 2] =
    [("AWS_ACCESS_KEY_ID", "AKIDPLANTEST"), ("AWS_SECRET_ACCESS_KEY", "plan-test-secret")];

fn is_aws(plan: &Plan) -> bool {
    matches!(&plan.endpoint, Endpoint::Remote(r) if r.aws)
}

#[test]
fn every_partition_of_the_spec_is_aws() {
    for host in [
        "ec2.us-east-1.amazonaws.com",
        "ec2.us-east-1.api.aws",
        "ec2.cn-north-1.amazonaws.com.cn",
        "ec2.cn-north-1.api.amazonwebservices.com.cn",
        "ec2.us-gov-west-1.amazonaws.com",
        "ec2.us-iso-east-1.c2s.ic.gov",
        "ec2.us-isob-east-1.sc2s.sgov.gov",
        "ec2.eu-isoe-west-1.cloud.adc-e.uk",
        "ec2.us-isof-south-1.csp.hci.ic.gov",
        "ec2.eusc-de-east-1.amazonaws.eu",
    ] {
        let plan = resolve(with_endpoint(&format!("https://{host}/"))).unwrap();
        assert!(is_aws(&plan), "{host} is AWS's");
        assert!(plan.safety.force_dry_run && plan.credentials == CredentialSource::Environment, "{host}");
    }
}

#[test]
fn ip_literals_and_unknown_hosts_signed_with_real_credentials_are_aws() {
    for url in ["http://127.0.0.1:4566/", "http://[::1]:80/", "http://10.0.0.7/", "https://ec2.example.internal/"] {
        let plan = resolve_in(Flags { use_env_credentials: true, ..with_endpoint(url) }, &FAKE_KEYS).unwrap();
        assert!(is_aws(&plan) && plan.safety.force_dry_run, "{url} with real credentials is treated as AWS");
        assert_eq!(plan.concurrency, 2, "{url}");
        // With the public dummy keys nothing can be spent: an emulator.
        let plan = resolve(with_endpoint(url)).unwrap();
        assert!(!is_aws(&plan) && !plan.safety.force_dry_run, "{url} with dummy credentials is an emulator");
    }
}

#[test]
fn setup_on_aws_without_live_is_refused() {
    let setup = Flags { setup: true, ..with_endpoint("https://ec2.us-east-1.amazonaws.com/") };
    let e = resolve(setup).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--setup creates images, volumes and snapshots on https://ec2.us-east-1.amazonaws.com/, which is AWS's: \
         add --live and --max-creates to allow it"
    );
    let live = Flags {
        setup: true,
        live: true,
        max_creates: Some(4),
        ..with_endpoint("https://ec2.us-east-1.amazonaws.com/")
    };
    assert!(resolve(live).unwrap().setup.is_some());
    let e = resolve_in(
        Flags { setup: true, use_env_credentials: true, ..with_endpoint("http://127.0.0.1:5000/") },
        &FAKE_KEYS,
    );
    assert!(e.is_err(), "an IP literal with real credentials counts as AWS for --setup too");
    assert!(resolve(Flags { setup: true, ..with_endpoint("http://127.0.0.1:5000/") }).is_ok());
}

#[test]
fn max_creates_without_live_is_refused() {
    let e =
        resolve(Flags { max_creates: Some(3), ..with_endpoint("https://ec2.us-east-1.amazonaws.com/") }).unwrap_err();
    assert_eq!(e.to_string(), "--max-creates only counts with --live; without --live every request is a DryRun");
}

#[test]
fn query_strings_and_fragments_in_the_endpoint_are_refused() {
    for url in [
        "https://ec2.us-east-1.amazonaws.com/?DryRun=false",
        "https://ec2.us-east-1.amazonaws.com/?",
        "http://localhost:5000/#frag",
        "http://localhost:5000/?X-Amz-Security-Token=secret-token",
        "http://local%68ost:5000/?X-Amz-Security-Token=secret-token",
    ] {
        let e = resolve(with_endpoint(url)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--endpoint: a query string or fragment is not allowed (it would be sent, and signed, with every request)",
            "{url}"
        );
    }
}

#[test]
fn a_percent_encoded_host_is_refused() {
    for url in [
        "https://ec2.us-east-1.amazonaws%2Ecom/",
        "http://local%68ost:5000/",
        "http://%31%32%37.0.0.1:5000/",
        "http:ec2.us-east-1.amazonaws%2Ecom/",
        "http:\\\\ec2.us-east-1.amazonaws%2Ecom/",
    ] {
        let e = resolve(with_endpoint(url)).unwrap_err();
        assert_eq!(e.to_string(), format!("--endpoint {url:?}: percent-encoded host; write the host plainly"));
    }
    // A percent sign in the path is the path's business.
    assert!(resolve(with_endpoint("http://localhost:5000/a%20b")).is_ok());
}

#[test]
fn control_characters_in_credential_variables_are_refused_by_name() {
    let endpoint = with_endpoint("https://ec2.us-east-1.amazonaws.com/");
    for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        let mut env = vec![("AWS_ACCESS_KEY_ID", "AKIDPLANTEST"), ("AWS_SECRET_ACCESS_KEY", "plan-secret-value")];
        env.retain(|(k, _)| *k != var);
        for bad in ["line-one\nline-two", "tab\there", "bell\u{7}"] {
            let mut env = env.clone();
            env.push((var, bad));
            let e = resolve_in(endpoint.clone(), &env).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("{var} contains a control character (a newline?); it cannot be sent in a signed request")
            );
            assert!(!e.to_string().contains("line-one") && !e.to_string().contains("plan-secret"));
        }
    }
    // Emulators signed with the dummy keys never read them.
    assert!(resolve_in(with_endpoint("http://localhost:5000/"), &[("AWS_SESSION_TOKEN", "a\nb")]).is_ok());
}

#[test]
fn numeric_flags_out_of_range_are_refused_by_name_and_range() {
    let cases: [(Flags, &str); 11] = [
        (Flags { threads: Some(0), ..flags() }, "--threads 0: out of range; give 1 to 256"),
        (Flags { threads: Some(257), ..flags() }, "--threads 257: out of range; give 1 to 256"),
        (Flags { concurrency: Some(0), ..flags() }, "--concurrency 0: out of range; give 1 to 1024"),
        (Flags { concurrency: Some(1025), ..flags() }, "--concurrency 1025: out of range; give 1 to 1024"),
        (Flags { cases: 0, ..flags() }, "--cases 0: out of range; give 1 to 10000000"),
        (Flags { cases: 10_000_001, ..flags() }, "--cases 10000001: out of range; give 1 to 10000000"),
        (Flags { retries: 11, ..flags() }, "--retries 11: out of range; give 0 to 10"),
        (Flags { stateful: 100_001, ..flags() }, "--stateful 100001: out of range; give 0 to 100000"),
        (Flags { stateful: 1, stateful_len: 0, ..flags() }, "--stateful-len 0: out of range; give 1 to 64"),
        (Flags { stateful_len: 65, ..flags() }, "--stateful-len 65: out of range; give 1 to 64"),
        (Flags { max_body: 0, ..flags() }, "--max-body 0: out of range; give 1024 to 1073741824"),
    ];
    for (f, message) in cases {
        assert_eq!(resolve(f).unwrap_err().to_string(), message);
    }
    let edges =
        Flags { concurrency: Some(1024), cases: 1, retries: 10, stateful: 100_000, stateful_len: 64, ..flags() };
    let plan = resolve(edges).unwrap();
    assert_eq!((plan.concurrency, plan.cases, plan.retries), (1024, 1, 10));
    assert!(resolve(Flags { concurrency: Some(1), stateful_len: 1, ..flags() }).is_ok());
    assert_eq!(resolve(Flags { threads: Some(256), ..flags() }).unwrap().threads(), 256);
    assert_eq!(resolve(Flags { threads: Some(1), ..flags() }).unwrap().threads(), 1);
}

#[test]
fn the_runtime_has_one_thread_unless_threads_is_given() {
    assert_eq!(resolve(flags()).unwrap().threads(), 1);
    assert_eq!(resolve(with_endpoint("http://localhost:5000/")).unwrap().threads(), 1);
    let given = Flags { threads: Some(4), ..with_endpoint("http://localhost:5000/") };
    assert_eq!(resolve(given).unwrap().threads(), 4);
}

#[test]
fn not_aws_vouches_for_other_hosts_but_not_for_aws_domains() {
    let vouched = Flags { use_env_credentials: true, not_aws: true, ..with_endpoint("http://127.0.0.1:4566/") };
    let plan = resolve_in(vouched, &FAKE_KEYS).unwrap();
    assert!(!is_aws(&plan) && !plan.safety.force_dry_run);
    assert_eq!(plan.credentials, CredentialSource::Environment);
    let on_aws =
        Flags { use_env_credentials: true, not_aws: true, ..with_endpoint("https://ec2.us-iso-east-1.c2s.ic.gov/") };
    let e = resolve_in(on_aws, &FAKE_KEYS).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--not-aws: ec2.us-iso-east-1.c2s.ic.gov is under c2s.ic.gov, one of AWS's own domains (specs/copy_image.toml [[partition]])"
    );
}

#[test]
fn a_partition_resolves_to_one_shard_and_never_rewrites_a_baseline() {
    use crate::report::{Shard, ShardBy};
    assert_eq!(resolve(flags()).unwrap().partition, None);
    let plan = resolve(Flags { partition: Some("hash:2/5".into()), ..flags() }).unwrap();
    assert_eq!(plan.partition, Some(Shard { index: 2, count: 5, by: ShardBy::Hash }));
    let e = resolve(Flags { partition: Some("6/5".into()), ..flags() }).unwrap_err();
    assert!(matches!(e, PlanError::Partition(_)), "{e}");
    let update = Flags { partition: Some("1/2".into()), baseline: Some("b".into()), update_baseline: true, ..flags() };
    assert!(matches!(resolve(update).unwrap_err(), PlanError::PartitionUpdate));
}

#[test]
fn setup_without_an_endpoint_is_refused() {
    let e = resolve(Flags { setup: true, ..flags() }).unwrap_err();
    assert!(matches!(e, PlanError::SetupNeedsEndpoint));
    assert!(e.to_string().starts_with("--setup needs --endpoint (or --endpoint-url)"), "{e}");
    // AWS_ENDPOINT_URL names an endpoint as well as the flag does.
    assert!(resolve_in(Flags { setup: true, ..flags() }, &[("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/")]).is_ok());
}

#[test]
fn rule_takes_a_unique_prefix_and_refuses_an_ambiguous_one() {
    let plan = resolve(Flags { rule: Some("R07".into()), ..flags() }).unwrap();
    assert_eq!(plan.rule.as_deref(), Some("R07-name"));
    let plan = resolve(Flags { rule: Some("valid".into()), ..flags() }).unwrap();
    assert_eq!(plan.rule.as_deref(), Some("valid"));
    let e = resolve(Flags { rule: Some("R16".into()), ..flags() }).unwrap_err();
    assert_eq!(e.to_string(), "--rule: \"R16\" could be any of R16-tag-key, R16-tag-key-length; give more of the id");
    let e = resolve(Flags { rule: Some("R7-nme".into()), ..flags() }).unwrap_err();
    assert!(e.to_string().starts_with("--rule: no rule \"R7-nme\" (did you mean R07-name?)"), "{e}");
}

/// A HOME with `~/.aws/credentials` and `~/.aws/config` of these texts.
fn aws_home(credentials: &str, config: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    std::fs::write(home.path().join(".aws/credentials"), credentials).unwrap();
    std::fs::write(home.path().join(".aws/config"), config).unwrap();
    home
}

const CREDENTIALS: &str = "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s0\n\n\
                           [ci]\naws_access_key_id = AKIACI\naws_secret_access_key = s1\naws_session_token = t1\n";
const CONFIG: &str = "[default]\nregion = eu-west-1\n\n[profile ci]\nregion = ap-south-1\n\n\
                      [profile keys-in-config]\nregion = us-east-2\naws_access_key_id = AKIACONFIG\n\
                      aws_secret_access_key = s2\n";

fn with_profile(name: &str) -> Flags {
    Flags {
        profile: Some(name.into()),
        use_env_credentials: true,
        not_aws: true,
        ..with_endpoint("http://127.0.0.1:9/")
    }
}

#[test]
fn profile_gives_keys_token_and_region_from_both_files() {
    let home = aws_home(CREDENTIALS, CONFIG);
    let h = home.path().to_str().unwrap();
    let plan = resolve_in(with_profile("ci"), &[("HOME", h)]).unwrap();
    assert_eq!(plan.world.region, "ap-south-1");
    let env = Env::new([("HOME", h)], false);
    let creds = plan.env_credentials(&env).unwrap().unwrap();
    assert_eq!((creds.access_key_id(), creds.secrets().collect::<Vec<_>>()), ("AKIACI", vec!["s1", "t1"]));
    // Keys may be in the config file's `[profile NAME]` too.
    let plan = resolve_in(with_profile("keys-in-config"), &[("HOME", h)]).unwrap();
    assert_eq!(plan.world.region, "us-east-2");
    assert_eq!(plan.env_credentials(&env).unwrap().unwrap().access_key_id(), "AKIACONFIG");
    // The default profile's Region is `[default]` in the config file.
    assert_eq!(resolve_in(with_profile("default"), &[("HOME", h)]).unwrap().world.region, "eu-west-1");
    // --region and AWS_REGION come first.
    let flagged = Flags { region: Some("us-west-2".into()), ..with_profile("ci") };
    assert_eq!(resolve_in(flagged, &[("HOME", h)]).unwrap().world.region, "us-west-2");
    assert_eq!(
        resolve_in(with_profile("ci"), &[("HOME", h), ("AWS_REGION", "sa-east-1")]).unwrap().world.region,
        "sa-east-1"
    );
}

#[test]
fn profile_flag_beats_key_variables_and_aws_profile_does_not() {
    let home = aws_home(CREDENTIALS, CONFIG);
    let vars =
        [("HOME", home.path().to_str().unwrap()), ("AWS_ACCESS_KEY_ID", "AKIAENV"), ("AWS_SECRET_ACCESS_KEY", "se")];
    let env = Env::new(vars, false);
    let plan = resolve_in(with_profile("ci"), &vars).unwrap();
    assert_eq!(plan.env_credentials(&env).unwrap().unwrap().access_key_id(), "AKIACI");
    let from_var = Flags { profile: None, ..with_profile("ci") };
    let mut with_var = vars.to_vec();
    with_var.push(("AWS_PROFILE", "ci"));
    let plan = resolve_in(from_var.clone(), &with_var).unwrap();
    assert_eq!(plan.world.region, "ap-south-1", "AWS_PROFILE's Region counts");
    assert_eq!(plan.env_credentials(&Env::new(with_var.clone(), false)).unwrap().unwrap().access_key_id(), "AKIAENV");
    // Without key variables, AWS_PROFILE's keys sign.
    let only_profile = [("HOME", with_var[0].1), ("AWS_PROFILE", "ci")];
    let plan = resolve_in(from_var, &only_profile).unwrap();
    assert_eq!(plan.env_credentials(&Env::new(only_profile, false)).unwrap().unwrap().access_key_id(), "AKIACI");
}

#[test]
fn profile_files_come_from_their_variables() {
    let home = aws_home("", "");
    let other = aws_home(CREDENTIALS, CONFIG);
    let aws = other.path().join(".aws");
    let (creds, config) = (aws.join("credentials"), aws.join("config"));
    let vars = [
        ("HOME", home.path().to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
    ];
    let plan = resolve_in(with_profile("ci"), &vars).unwrap();
    assert_eq!(plan.world.region, "ap-south-1");
    assert_eq!(plan.env_credentials(&Env::new(vars, false)).unwrap().unwrap().access_key_id(), "AKIACI");
}

#[test]
fn a_missing_profile_names_both_files_and_no_secret() {
    let home = aws_home(CREDENTIALS, CONFIG);
    let h = home.path().to_str().unwrap();
    for vars in [vec![("HOME", h)], vec![("HOME", h), ("AWS_PROFILE", "nobody")]] {
        let flags = if vars.len() == 1 { with_profile("nobody") } else { Flags { profile: None, ..with_profile("x") } };
        let e = resolve_in(flags, &vars).unwrap_err().to_string();
        assert_eq!(e, format!("profile `nobody` not found in {h}/.aws/credentials or {h}/.aws/config"));
    }
    let half = aws_home("[ci]\naws_access_key_id = AKIAHALF\n", "");
    let e = resolve_in(with_profile("ci"), &[("HOME", half.path().to_str().unwrap())]).unwrap_err().to_string();
    assert!(e.contains(":1: profile `ci` has no aws_secret_access_key"), "{e}");
    let bad = aws_home("[ci\naws_secret_access_key = hunter2\n", "");
    let e = resolve_in(with_profile("ci"), &[("HOME", bad.path().to_str().unwrap())]).unwrap_err().to_string();
    assert!(e.ends_with("credentials:1: section header without `]`") && !e.contains("hunter2"), "{e}");
}
