//! One test per rule: the documented outcome of a single violation, and the boundary where the
//! rule does not fire.

use super::*;
use crate::world::World;

fn oracle() -> Oracle {
    Oracle::builtin().unwrap()
}

fn world() -> World {
    World::default_world()
}

/// A valid request: the default world's plain image, copied within us-east-1.
fn base() -> Params {
    [("Name", "copy-1"), ("SourceImageId", "ami-0a1b2c3d4e5f60718"), ("SourceRegion", "us-east-1")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn with(pairs: &[(&str, &str)]) -> Params {
    let mut p = base();
    for (k, v) in pairs {
        p.insert((*k).to_owned(), (*v).to_owned());
    }
    p
}

fn without(key: &str) -> Params {
    let mut p = base();
    p.remove(key);
    p
}

#[track_caller]
fn expect(p: &Params, codes: &[&str], status: u16, ok: bool) -> Prediction {
    let pred = oracle().predict(&world(), p);
    assert_eq!(pred.code_list(), codes, "codes for {p:?}: {pred:?}");
    assert_eq!(pred.status, status, "status for {p:?}: {pred:?}");
    assert_eq!(pred.ok, ok, "ok for {p:?}: {pred:?}");
    pred
}

#[track_caller]
fn expect_success(p: &Params) -> Prediction {
    expect(p, &[], 200, true)
}

#[test]
fn valid_request_succeeds() {
    let p = expect_success(&base());
    assert_eq!(p.rule_ids(), ["R34-encrypt-default", "R35-success"]);
    assert_eq!(p.confidence, Confidence::Documented);
}

#[test]
fn r02_action_and_version() {
    expect(&with(&[("Action", "CopyImages")]), &["InvalidAction", "MissingAction"], 400, false);
    expect_success(&with(&[("Action", "CopyImage")]));
    expect(&with(&[("Version", "banana")]), &["NoSuchVersion", "InvalidParameterValue", "InvalidAction"], 400, false);
    expect(
        &with(&[("Version", "2016-11-16")]),
        &["NoSuchVersion", "InvalidParameterValue", "InvalidAction"],
        400,
        false,
    );
    expect_success(&with(&[("Version", "2016-11-15")]));
    // Older published versions are accepted (observed for 2014-10-01 in 2016 and 2017).
    for v in ["2013-02-01", "2014-10-01", "2015-10-01"] {
        expect_success(&with(&[("Version", v)]));
    }
}

#[test]
fn r03_a_member_newer_than_the_version_is_unknown() {
    // boto/boto#3594: Version 2014-10-01 with Encrypted.
    let p = expect(&with(&[("Version", "2014-10-01"), ("Encrypted", "true")]), &["UnknownParameter"], 400, false);
    assert_eq!(p.message.as_deref(), Some("The parameter Encrypted is not recognized"));
    // Encrypted and KmsKeyId arrived with 2015-10-01; the tag list only with 2016-11-15.
    expect_success(&with(&[("Version", "2015-10-01"), ("Encrypted", "true"), ("KmsKeyId", "alias/k")]));
    let tagged = [
        ("Version", "2016-09-15"),
        ("TagSpecification.1.ResourceType", "image"),
        ("TagSpecification.1.Tag.1.Key", "k"),
    ];
    let p = expect(&with(&tagged), &["UnknownParameter"], 400, false);
    assert_eq!(p.message.as_deref(), Some("The parameter TagSpecification.1.ResourceType is not recognized"));
    expect(&with(&[("Version", "2014-05-01"), ("CopyImageTags", "true")]), &["UnknownParameter"], 400, false);
    // The unknown member decides before a missing one (ansible/ansible-examples#197).
    let mut p = with(&[("Version", "2014-10-01"), ("Encrypted", "true")]);
    p.remove("Name");
    expect(&p, &["UnknownParameter"], 400, false);
}

#[test]
fn r03_unknown_parameter_and_case_variants() {
    let p = expect(&with(&[("Foo", "bar")]), &["UnknownParameter"], 400, false);
    assert_eq!(p.message.as_deref(), Some("The parameter Foo is not recognized"));
    // A lower-case member may be matched case-insensitively by AWS: either outcome.
    expect(&with(&[("encrypted", "true")]), &["UnknownParameter"], 400, true);
    // ... and when the canonical request is itself invalid, that code is accepted too.
    let mut p = without("Name");
    p.insert("name".into(), "ab".into());
    let pred = oracle().predict(&world(), &p);
    assert!(pred.accepts(400, Some("UnknownParameter")));
    assert!(pred.accepts(400, Some("InvalidAMIName.Malformed")));
    assert!(!pred.ok);
}

#[test]
fn r36_list_index_forms() {
    // Digits only: a parser reading the index as a number may accept it.
    for n in ["0", "01", "007"] {
        let p = with(&[
            (&format!("TagSpecification.{n}.ResourceType"), "image"),
            (&format!("TagSpecification.{n}.Tag.1.Key"), "k"),
        ]);
        expect(&p, &["UnknownParameter", "InvalidParameterValue"], 400, true);
    }
    // Not a number: refused.
    for n in ["x", "-1", "", "1x"] {
        let p = with(&[(&format!("TagSpecification.{n}.ResourceType"), "image")]);
        expect(&p, &["UnknownParameter", "InvalidParameterValue"], 400, false);
    }
    // A bad tag index inside a good list index counts the same way.
    expect(
        &with(&[("TagSpecification.1.ResourceType", "image"), ("TagSpecification.1.Tag.01.Key", "k")]),
        &["UnknownParameter", "InvalidParameterValue"],
        400,
        true,
    );
    expect(
        &with(&[("TagSpecification.01.ResourceType", "image"), ("TagSpecification.x.ResourceType", "image")]),
        &["UnknownParameter", "InvalidParameterValue"],
        400,
        false,
    );
}

#[test]
fn r04_missing_required() {
    for k in ["SourceImageId", "SourceRegion"] {
        let p = expect(&without(k), &["MissingParameter"], 400, false);
        assert_eq!(p.message.unwrap(), format!("The request must contain the parameter {k}"));
    }
    // An absent Name: the model requires it, but a Name-less copy succeeded in 2015.
    let p = expect(&without("Name"), &["MissingParameter"], 400, true);
    assert_eq!(p.message.unwrap(), "The request must contain the parameter Name");
    expect(&with(&[("Name", "")]), &["MissingParameter", "InvalidAMIName.Malformed"], 400, false);
    // A certain miss decides over the uncertain Name.
    let mut p = without("Name");
    p.remove("SourceRegion");
    expect(&p, &["MissingParameter"], 400, false);
    // Versions up to 2014-05-01 do not require Name at all.
    let mut p = with(&[("Version", "2014-05-01")]);
    p.remove("Name");
    expect_success(&p);
    let mut p = with(&[("Version", "2014-06-15")]);
    p.remove("Name");
    expect(&p, &["MissingParameter"], 400, true);
    // Empty: MissingParameter or the member's own format error; AWS's order is unknown.
    expect(&with(&[("SourceImageId", "")]), &["MissingParameter", "InvalidAMIID.Malformed"], 400, false);
}

#[test]
fn r05_booleans() {
    for k in ["Encrypted", "CopyImageTags", "DryRun"] {
        expect(&with(&[(k, "yes")]), &["InvalidParameterValue"], 400, false);
        expect(&with(&[(k, "1")]), &["InvalidParameterValue"], 400, false);
    }
    expect(&with(&[("CopyImageTags", "TRUE")]), &["InvalidParameterValue"], 400, true);
    expect_success(&with(&[("CopyImageTags", "false")]));
}

#[test]
fn r06_and_r12_duration() {
    expect(&with(&[("SnapshotCopyCompletionDurationMinutes", "fifteen")]), &["InvalidParameterValue"], 400, false);
    for bad in ["0", "14", "16", "2895", "-15", "99999999999999999999"] {
        expect(&with(&[("SnapshotCopyCompletionDurationMinutes", bad)]), &["InvalidParameterValue"], 400, false);
    }
    for good in ["15", "30", "2880"] {
        expect_success(&with(&[("SnapshotCopyCompletionDurationMinutes", good)]));
    }
}

#[test]
fn r07_name() {
    for bad in ["ab", &"a".repeat(129), "bad!name", "名前名前", ""] {
        let p = with(&[("Name", bad)]);
        let pred = oracle().predict(&world(), &p);
        assert!(pred.accepts(400, Some("InvalidAMIName.Malformed")), "{bad}: {pred:?}");
        assert!(!pred.ok, "{bad}");
    }
    for good in ["abc", &"a".repeat(128), "my-ami_1.0/(x)"] {
        expect_success(&with(&[("Name", good)]));
    }
    // Characters only the model allows: AWS may accept or reject.
    expect(&with(&[("Name", "my ami@[1]")]), &["InvalidAMIName.Malformed"], 400, true);
}

#[test]
fn r08_description() {
    expect(&with(&[("Description", &"d".repeat(256))]), &["InvalidParameterValue"], 400, false);
    expect_success(&with(&[("Description", &"d".repeat(255))]));
    expect_success(&with(&[("Description", "")]));
}

#[test]
fn r09_ami_id() {
    for bad in ["foo-123", "ami-ZZZ", "ami-0123456789ABCDEF0", "ami-123", "ami-0123456789abcdef"] {
        expect(&with(&[("SourceImageId", bad)]), &["InvalidAMIID.Malformed"], 400, false);
    }
    let p = expect(&with(&[("SourceImageId", "foo-123")]), &["InvalidAMIID.Malformed"], 400, false);
    assert_eq!(p.message.unwrap(), r#"Invalid id: "foo-123" (expecting "ami-...")"#);
}

#[test]
fn r10_and_r30_regions() {
    expect(&with(&[("SourceRegion", "xx-nowhere-9")]), &["InvalidRegion"], 400, false);
    // Another partition: the pair is unsupported, and the image is not there either.
    let p = oracle().predict(&world(), &with(&[("SourceRegion", "cn-north-1")]));
    assert_eq!(p.rule_ids(), ["R25-ami-notfound", "R30-unsupported-pair"]);
    for code in ["UnsupportedOperation", "InvalidRequest", "InvalidAMIID.NotFound"] {
        assert!(p.accepts(400, Some(code)), "{code}");
    }
    assert!(!p.ok);
    // Cross-Region in the same partition: the image lives in us-west-2.
    expect_success(&with(&[("SourceRegion", "us-west-2"), ("SourceImageId", "ami-01234567890abcdef")]));
}

#[test]
fn r11_r13_destinations() {
    let arn = "arn:aws:outposts:us-east-1:123456789012:outpost/op-0123456789abcdef0";
    expect(
        &with(&[("DestinationOutpostArn", arn), ("DestinationAvailabilityZone", "us-east-1-bos-1a")]),
        &["InvalidParameterCombination", "InvalidParameterValue"],
        400,
        false,
    );
    expect(
        &with(&[("DestinationAvailabilityZone", "a"), ("DestinationAvailabilityZoneId", "b")]),
        &["InvalidParameterCombination", "InvalidParameterValue"],
        400,
        false,
    );
    expect(
        &with(&[("DestinationOutpostArn", arn), ("SnapshotCopyCompletionDurationMinutes", "15")]),
        &["InvalidParameterCombination", "InvalidParameterValue", "UnsupportedOperation"],
        400,
        false,
    );
    expect_success(&with(&[("DestinationOutpostArn", arn)]));
    // An Outpost in another Region than the source image is an unsupported pair.
    let pred =
        oracle().predict(&world(), &with(&[("DestinationOutpostArn", "arn:aws:outposts:us-west-2:1:outpost/op-1")]));
    assert_eq!(pred.rule_ids(), ["R30-unsupported-pair"]);
}

#[test]
fn r14_r15_r38_tag_specifications() {
    expect(
        &with(&[("TagSpecification.1.Tag.1.Key", "k")]),
        &["InvalidParameterValue", "InvalidTagSpecification.Malformed"],
        400,
        false,
    );
    let p = expect(
        &with(&[("TagSpecification.1.ResourceType", "instance"), ("TagSpecification.1.Tag.1.Key", "k")]),
        &["InvalidParameterValue", "InvalidParameter"],
        400,
        false,
    );
    assert_eq!(p.message.unwrap(), "'instance' is not a valid taggable resource type for this operation.");
    // ResourceType with no tags: unknown whether AWS rejects it.
    expect(&with(&[("TagSpecification.1.ResourceType", "image")]), &["InvalidParameterValue"], 400, true);
    expect_success(&with(&[
        ("TagSpecification.1.ResourceType", "snapshot"),
        ("TagSpecification.1.Tag.1.Key", "k"),
        ("TagSpecification.1.Tag.1.Value", ""),
    ]));
}

fn tags(n: usize, key: impl Fn(usize) -> String, value: &str) -> Params {
    let mut p = with(&[("TagSpecification.1.ResourceType", "image")]);
    for i in 1..=n {
        p.insert(format!("TagSpecification.1.Tag.{i}.Key"), key(i));
        p.insert(format!("TagSpecification.1.Tag.{i}.Value"), value.to_owned());
    }
    p
}

#[test]
fn r16_r17_r18_tags() {
    expect(&tags(1, |_| "aws:x".into(), "v"), &["InvalidTagKey.Malformed"], 400, false);
    expect(&tags(1, |_| String::new(), "v"), &["InvalidTagKey.Malformed"], 400, false);
    expect(
        &with(&[("TagSpecification.1.ResourceType", "image"), ("TagSpecification.1.Tag.1.Value", "v")]),
        &["InvalidTagKey.Malformed"],
        400,
        false,
    );
    expect_success(&tags(1, |_| "awsx".into(), "v"));
    expect(&tags(1, |_| "k".repeat(128), "v"), &["InvalidParameterValue", "InvalidTagKey.Malformed"], 400, false);
    expect_success(&tags(1, |_| "k".repeat(127), "v"));
    expect(&tags(1, |_| "k".into(), &"v".repeat(257)), &["InvalidParameterValue"], 400, false);
    expect_success(&tags(1, |_| "k".into(), &"v".repeat(256)));
    expect(&tags(51, |i| format!("k{i}"), "v"), &["TagLimitExceeded", "InvalidParameterValue"], 400, false);
    expect_success(&tags(50, |i| format!("k{i}"), "v"));
}

#[test]
fn r19_kms_dependency_and_r33() {
    let p = expect(&with(&[("KmsKeyId", "alias/x")]), &["InvalidParameterDependency"], 400, false);
    assert_eq!(p.message.unwrap(), "The parameter KmsKeyId requires the parameter Encrypted to be set.");
    expect(&with(&[("KmsKeyId", "alias/x"), ("Encrypted", "false")]), &["InvalidParameterDependency"], 400, false);
    let p = expect_success(&with(&[("KmsKeyId", "alias/does-not-exist"), ("Encrypted", "true")]));
    assert!(p.has_rule("R33-kms-async"));
    // An empty KmsKeyId counts as absent (Packer < 1.4 sent `KmsKeyId=` with Encrypted=false).
    let p = expect_success(&with(&[("KmsKeyId", ""), ("Encrypted", "false")]));
    assert!(!p.has_rule("R19-kms-dep"));
    expect(
        &with(&[("SourceImageId", "ami-0f1e2d3c4b5a69788"), ("KmsKeyId", ""), ("Encrypted", "false")]),
        &["InvalidRequest"],
        400,
        false,
    );
}

#[test]
fn r07_name_spaces_are_allowed_and_model_only_characters_uncertain() {
    expect_success(&with(&[("Name", "Test AMI")]));
    for name in ["a[b]", "it's", "me@home"] {
        expect(&with(&[("Name", name)]), &["InvalidAMIName.Malformed"], 400, true);
    }
    for name in ["a,b", "a+b", "{a}"] {
        expect(&with(&[("Name", name)]), &["InvalidAMIName.Malformed"], 400, false);
    }
}

#[test]
fn r20_client_token_length() {
    expect_success(&with(&[("ClientToken", &"t".repeat(64))]));
    expect(&with(&[("ClientToken", &"t".repeat(65))]), &["InvalidParameterValue", "InvalidClientToken"], 400, true);
    expect(&with(&[("ClientToken", &"t".repeat(128))]), &["InvalidParameterValue", "InvalidClientToken"], 400, true);
    expect(&with(&[("ClientToken", &"t".repeat(129))]), &["InvalidParameterValue", "InvalidClientToken"], 400, false);
}

#[test]
fn r37_list_gaps_are_uncertain() {
    let p = with(&[
        ("TagSpecification.1.ResourceType", "image"),
        ("TagSpecification.1.Tag.2.Key", "k"),
        ("TagSpecification.1.Tag.2.Value", "v"),
    ]);
    expect(&p, &["InvalidParameterValue"], 400, true);
}

#[test]
fn r21_dry_run_after_syntax_before_state() {
    let p = expect(&with(&[("DryRun", "true")]), &["DryRunOperation"], 412, false);
    assert_eq!(p.message.unwrap(), "Request would have succeeded, but DryRun flag is set.");
    // Syntax first: a malformed id wins over the DryRun answer.
    expect(&with(&[("DryRun", "true"), ("SourceImageId", "foo")]), &["InvalidAMIID.Malformed"], 400, false);
    // State order unknown: a missing image may be reported instead of DryRunOperation.
    let pred = oracle().predict(&world(), &with(&[("DryRun", "true"), ("SourceImageId", "ami-00000000000000000")]));
    assert_eq!(pred.code_list(), ["DryRunOperation", "InvalidAMIID.NotFound", "InvalidAMIID.Malformed"]);
    assert!(pred.accepts(412, Some("DryRunOperation")) && pred.accepts(400, Some("InvalidAMIID.NotFound")));
    expect_success(&with(&[("DryRun", "false")]));
}

#[test]
fn r22_unauthorized() {
    let mut w = world();
    w.authorized = false;
    for p in [base(), with(&[("DryRun", "true")])] {
        let pred = oracle().predict(&w, &p);
        assert_eq!(pred.code_list(), ["UnauthorizedOperation"]);
        assert_eq!(pred.status, 403);
    }
}

#[test]
fn r23_r24_idempotency() {
    let mut w = world();
    let first = with(&[("ClientToken", "tok-1")]);
    w.record_copy(&first, "ami-11111111111111111", false);
    let o = oracle();
    let replay = o.predict(&w, &first);
    assert!(replay.ok);
    assert_eq!(replay.rule_ids(), ["R23-idem-replay"]);
    assert_eq!(replay.image_id.as_deref(), Some("ami-11111111111111111"));
    let changed = o.predict(&w, &with(&[("ClientToken", "tok-1"), ("Name", "other")]));
    assert_eq!(changed.code_list(), ["IdempotentParameterMismatch"]);
    // Tokens are case-sensitive: a new token is a new copy.
    let new = o.predict(&w, &with(&[("ClientToken", "TOK-1")]));
    assert!(new.ok && new.image_id.is_none() && new.has_rule("R35-success"), "{new:?}");
}

#[test]
fn idempotency_leaves_out_protocol_keys_and_is_unsure_about_dry_run() {
    let mut w = world();
    let first = with(&[("ClientToken", "tok-2")]);
    w.record_copy(&first, "ami-22222222222222222", false);
    let o = oracle();
    // Spelling out Action and Version changes nothing on the wire: still a replay.
    let spelled = o.predict(&w, &with(&[("ClientToken", "tok-2"), ("Action", "CopyImage"), ("Version", "2016-11-15")]));
    assert_eq!(spelled.rule_ids(), ["R23-idem-replay"]);
    // Whether DryRun counts is unknown: a replay and a mismatch are both acceptable.
    let dry_false = o.predict(&w, &with(&[("ClientToken", "tok-2"), ("DryRun", "false")]));
    assert!(
        dry_false.accepts(200, None) && dry_false.accepts(400, Some("IdempotentParameterMismatch")),
        "{dry_false:?}"
    );
    assert_eq!(dry_false.image_id.as_deref(), Some("ami-22222222222222222"));
    let dry_true = o.predict(&w, &with(&[("ClientToken", "tok-2"), ("DryRun", "true")]));
    for (status, code) in [(412, Some("DryRunOperation")), (400, Some("IdempotentParameterMismatch")), (200, None)] {
        assert!(dry_true.accepts(status, code), "{status} {code:?}: {dry_true:?}");
    }
}

#[test]
fn r25_to_r29_source_image_state() {
    expect(
        &with(&[("SourceImageId", "ami-00000000000000000")]),
        &["InvalidAMIID.NotFound", "InvalidAMIID.Malformed"],
        400,
        false,
    );
    // The image exists, but in another Region than SourceRegion.
    expect(
        &with(&[("SourceImageId", "ami-01234567890abcdef")]),
        &["InvalidAMIID.NotFound", "InvalidAMIID.Malformed"],
        400,
        false,
    );
    // A private image of another account is invisible.
    expect(
        &with(&[("SourceImageId", "ami-0123abcd4567ef890")]),
        &["InvalidAMIID.NotFound", "InvalidAMIID.Malformed"],
        400,
        false,
    );
    for id in ["ami-0d0e0a0d0b0e0e0f0", "ami-0c0a0f0e0b0a0b0e0"] {
        let codes = ["InvalidAMIID.Unavailable", "InvalidAMIID.NotFound", "InvalidRequest"];
        expect(&with(&[("SourceImageId", id)]), &codes, 400, false);
    }
    let p = expect(&with(&[("SourceImageId", "ami-0b1a2c3d4e5f6a7b8")]), &["InvalidRequest"], 400, false);
    assert_eq!(p.message.unwrap(), "You do not have permission to access the storage of this ami");
    expect_success(&with(&[("SourceImageId", "ami-0a9b8c7d6e5f4a3b2")]));
    expect(&with(&[("SourceImageId", "ami-0e1d2c3b4a5f6e7d8")]), &["InvalidRequest"], 400, false);
    expect_success(&with(&[("SourceImageId", "ami-0f9e8d7c6b5a4f3e2")]));
    let p = expect(
        &with(&[("SourceImageId", "ami-0f1e2d3c4b5a69788"), ("Encrypted", "false")]),
        &["InvalidRequest"],
        400,
        false,
    );
    assert_eq!(
        p.message.unwrap(),
        "Snapshot snap-0e1c2a3b4d5f60789 is encrypted. Creating unencrypted copy from an encrypted snapshot is not supported."
    );
    expect_success(&with(&[("SourceImageId", "ami-0f1e2d3c4b5a69788")]));
}

#[test]
fn r31_duplicate_name_is_uncertain() {
    let p = expect(&with(&[("Name", "src-plain")]), &["InvalidAMIName.Duplicate"], 400, true);
    assert_eq!(p.message.unwrap(), "AMI name src-plain is already in use by AMI ami-0a1b2c3d4e5f60718");
    // The same name in another Region is no clash.
    expect_success(&with(&[("Name", "src-west")]));
}

#[test]
fn several_syntax_violations_accept_any_of_their_codes() {
    let p = expect(
        &with(&[("Name", "x"), ("Description", &"d".repeat(300)), ("SourceImageId", "bad")]),
        &["InvalidAMIName.Malformed", "InvalidParameterValue", "InvalidAMIID.Malformed"],
        400,
        false,
    );
    assert_eq!(p.rule_ids(), ["R07-name", "R08-desc", "R09-amiid-malformed"]);
    assert_eq!(p.confidence, Confidence::Inferred);
}

#[test]
fn protocol_rules_come_before_syntax() {
    expect(&with(&[("Foo", "1"), ("Name", "x")]), &["UnknownParameter"], 400, false);
}

#[test]
fn r28_blocks_marketplace_images_not_billing_codes() {
    let mut w = world();
    let id = "ami-0e1d2c3b4a5f6e7d8";
    let p = with(&[("SourceImageId", id)]);
    // The default world's flag: billing products mean Marketplace unless said otherwise.
    assert_eq!(oracle().predict(&w, &p).code_list(), ["InvalidRequest"]);
    let image = w.images_mut().iter_mut().find(|i| i.image_id == id).unwrap();
    image.marketplace = Some(false);
    w.reindex();
    assert!(oracle().predict(&w, &p).ok, "a billing code alone no longer blocks a copy");
}

#[test]
fn r30_outposts_of_other_regions_and_unencrypted_outpost_copies() {
    let arn = |r: &str| format!("arn:aws:outposts:{r}:123456789012:outpost/op-0123456789abcdef0");
    let pair = ["InvalidParameterValue", "UnsupportedOperation", "InvalidRequest", "InvalidParameterCombination"];
    let all: Vec<&str> = pair.iter().copied().chain(["InvalidRegion", "InvalidAMIID.NotFound"]).collect();
    // The AMI must be in the Region of the destination Outpost.
    expect(&with(&[("DestinationOutpostArn", &arn("us-west-2"))]), &all, 400, false);
    // Outposts keep no unencrypted snapshots: Encrypted=false may be refused or overridden.
    let p = expect(&with(&[("DestinationOutpostArn", &arn("us-east-1")), ("Encrypted", "false")]), &all, 400, true);
    assert_eq!(p.rule_ids()[0], "R30-unsupported-pair");
    expect_success(&with(&[("DestinationOutpostArn", &arn("us-east-1")), ("Encrypted", "true")]));
}

#[test]
fn messages_render_as_chained_replaces_would() {
    let chained = |t: &str, h: &Hit<'_>| {
        t.replace("{param}", h.param.as_deref().unwrap_or(""))
            .replace("{value}", h.value.unwrap_or(""))
            .replace("{image}", h.image.as_deref().unwrap_or(""))
            .replace("{snapshot}", h.snapshot.as_deref().unwrap_or(""))
    };
    let hit = |param: &'static str, value: &'static str| Hit {
        param: Some(param.into()),
        value: Some(value),
        image: Some("ami-1".into()),
        ..Hit::at(Level::Fires)
    };
    let templates = [
        "no placeholder",
        "{",
        "}{",
        "Value ({value}) for parameter {param} is invalid.",
        "{value}{value}{param}{image}{snapshot}{region}",
        "{{param}}",
        "{param",
        "AMI name {value} is already in use by AMI {image}",
        "{v{param}lue}",
        "{valu{image}",
        "{{region}param}",
        "{region}{snapshot}{regio",
    ];
    for t in templates {
        for h in [hit("Name", "v"), hit("{value}", "{image}"), hit("value", "{"), hit("", ""), hit("a", "e}")] {
            assert_eq!(render(t, &h), chained(t, &h), "{t:?} {h:?}");
        }
    }
}

#[test]
fn thousands_of_tag_specifications_are_read_in_one_pass() {
    // 40,000 indexes, a request of about 1.5 MB: finding each one's entry by a scan of the
    // others' took seconds, with `serve`'s one lock held.
    let n = 40_000;
    let mut p = base();
    p.extend((1..=n).map(|i| (format!("TagSpecification.{i}.ResourceType"), "image".to_owned())));
    let req = Request::parse(&p, &[], &oracle().index_check);
    assert_eq!(req.tag_specs.len(), n);
    assert!(req.tag_specs.iter().map(|(i, _)| *i as usize).eq(1..=n), "in index order");
    // Predicted as two such specifications are: the count changes nothing past the second.
    let mut two = base();
    two.extend((1..=2).map(|i| (format!("TagSpecification.{i}.ResourceType"), "image".to_owned())));
    assert_eq!(oracle().predict(&world(), &p).rule_ids(), oracle().predict(&world(), &two).rule_ids());
}
