//! `--emit-tests DIR`: one pytest file per finding not accepted, with boto3. Each asserts what
//! AWS answers the finding's (minimal) request, so it fails on the endpoint today and passes
//! once the endpoint is fixed: what an emulator's contributor pastes into a pull request.
//!
//! A test is self-contained: its endpoint comes from `COPYIMAGE_ENDPOINT` (the run's by
//! default); the source image it copies is the run's when the endpoint lists it, else one made
//! the way `--setup` makes it, else the embedded endpoint's image of the same role.

use std::fmt::Write as _;

use crate::report::Finding;
use crate::spec::{AwsHosts, Spec};
use crate::wire::boto3::{kwargs, py_str};
use crate::world::{Params, World};

/// The kinds of finding a test can assert from one reply (a wrong imageId on a replay needs
/// the first copy's, a deviating setup step or a missing reply have no answer to compare).
const ASSERTABLE: [&str; 7] = [
    "success_instead_of_error",
    "error_instead_of_success",
    "wrong_code",
    "wrong_status",
    "missing_image_id",
    "malformed_image_id",
    "unparseable",
];

/// Stands for the source image's id in the generated call.
const SOURCE_MARK: &str = "@@source-image@@";

/// Where the run was and what it had: what every emitted file needs.
pub struct Context<'a> {
    /// The spec (Python parameter names and types).
    pub spec: &'a Spec,
    /// The endpoint tested, the tests' default.
    pub endpoint: &'a str,
    /// Its Region.
    pub region: &'a str,
    /// The operation's Action and Version.
    pub action: &'a str,
    /// The operation's Version.
    pub version: &'a str,
    /// The run's world (source images by role).
    pub world: &'a World,
    /// The embedded endpoint's default world (the same roles there).
    pub default_world: &'a World,
}

/// The files for `findings`: `(file name, text)` per open finding a test can assert.
pub fn files(cx: &Context<'_>, findings: &[Finding]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![];
    for f in findings.iter().filter(|f| !f.accepted && ASSERTABLE.contains(&f.key.kind.as_str())) {
        let mut stem = format!("{}_{}", ident(&f.key.rule), ident(&f.key.kind));
        if let Some(code) = &f.key.observed_code {
            stem = format!("{stem}_{}", ident(code));
        }
        let base = stem.clone();
        let mut n = 2;
        while out.iter().any(|(name, _)| *name == format!("test_{stem}.py")) {
            stem = format!("{base}_{n}");
            n += 1;
        }
        out.push((format!("test_{stem}.py"), file(cx, f, &stem)));
    }
    out
}

/// `s` in lower case with every run of other characters as one `_`.
fn ident(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// The call that sends `params` with `ec2`, the source image's id as `image`.
fn call(cx: &Context<'_>, params: &Params, source: Option<&str>) -> String {
    let mut marked = params.clone();
    if source.is_some() {
        marked.insert("SourceImageId".into(), SOURCE_MARK.into());
    }
    match kwargs(cx.spec, &marked) {
        Some(args) => format!("ec2.copy_image({})", args.replace(&py_str(SOURCE_MARK), "image")),
        None => {
            let body = crate::wire::form_body(cx.action, cx.version, params);
            let body = match source {
                Some(id) => format!("{}.replace({}, image)", py_str(&body), py_str(id)),
                None => py_str(&body),
            };
            format!("raw(ec2, {body})")
        }
    }
}

fn file(cx: &Context<'_>, f: &Finding, stem: &str) -> String {
    let source_id = f.request.get("SourceImageId").filter(|id| cx.world.images.iter().any(|i| i.image_id == **id));
    let source = source_id.and_then(|id| cx.world.images.iter().find(|i| i.image_id == *id));
    let mut t = String::new();
    let _ = writeln!(t, "\"\"\"{}\n", f.title.replace('\\', "\\\\").replace("\"\"\"", "'''"));
    let _ = writeln!(t, "Rule {} ({}): {}", f.key.rule, f.rule_title, f.condition.replace('\\', "\\\\"));
    let _ = writeln!(t, "Emitted by copyimage-conformance from a run against {} (example {}).", cx.endpoint, f.example);
    let _ = writeln!(t, "It fails there today and passes once the endpoint answers as AWS does.\n\"\"\"");
    t.push_str(PRELUDE);
    let _ = writeln!(t, "ENDPOINT = os.environ.get(\"COPYIMAGE_ENDPOINT\", {})", py_str(cx.endpoint));
    let suffixes: Vec<String> = AwsHosts::from_spec(cx.spec).suffixes().iter().map(|s| py_str(s)).collect();
    let _ = writeln!(t, "# Hosts under these are AWS's: the tests skip there (see client()).");
    let _ = writeln!(t, "AWS_SUFFIXES = ({},)", suffixes.join(", "));
    let _ = writeln!(t, "REGION = {}", py_str(cx.region));
    let expected: Vec<String> = f
        .expected
        .iter()
        .map(|o| format!("({}, {})", o.code.as_deref().map_or_else(|| "None".to_owned(), py_str), o.status))
        .collect();
    let _ = writeln!(t, "# What AWS answers: (error code, HTTP status); None is a success with an imageId.");
    let _ = writeln!(t, "EXPECTED = [{}]", expected.join(", "));
    match source {
        Some(img) => {
            let role = img.role.as_deref().map_or_else(|| "None".to_owned(), py_str);
            let default = img
                .role
                .as_deref()
                .and_then(|r| cx.default_world.images.iter().find(|i| i.role.as_deref() == Some(r)))
                .map_or_else(|| "None".to_owned(), |i| py_str(&i.image_id));
            let _ = writeln!(
                t,
                "SOURCE = {{\"image_id\": {}, \"region\": {}, \"role\": {role}, \"default\": {default}}}",
                py_str(&img.image_id),
                py_str(&img.region)
            );
        }
        None => t.push_str("SOURCE = None\n"),
    }
    t.push_str(HELPERS);
    let _ = writeln!(t, "\n\ndef test_{stem}():");
    let _ = writeln!(t, "    image = source_image()");
    let _ = writeln!(t, "    ec2 = client(REGION)");
    let sid = source.map(|i| i.image_id.as_str());
    for step in &f.setup {
        let step_source = step.get("SourceImageId").filter(|id| Some(id.as_str()) == sid).map(String::as_str);
        let _ = writeln!(t, "    # A request the finding needs first; its answer is not the point.");
        let _ = writeln!(t, "    answer(lambda: {})", call(cx, step, step_source));
    }
    let _ = writeln!(t, "    got = answer(lambda: {})", call(cx, &f.request, sid));
    let _ =
        writeln!(t, "    assert got in EXPECTED, f\"the endpoint answered {{got}}; AWS answers one of {{EXPECTED}}\"");
    t
}

const PRELUDE: &str = r#"import os
import re
import urllib.parse
import uuid

import boto3
import pytest
import botocore.config
from botocore.exceptions import ClientError

"#;

const HELPERS: &str = r#"

def client(region):
    # These tests make source images and send CopyImage calls that may be live: on AWS that
    # would cost money outside any budget or journal. `copyimage-conformance run` checks AWS.
    host = (urllib.parse.urlsplit(ENDPOINT).hostname or "").rstrip(".").lower()
    if host.endswith(AWS_SUFFIXES):
        pytest.skip("emitted tests are for emulators, and %s is AWS's" % host)
    # Emulators take any key; AWS's published example keys unless the environment has others.
    return boto3.client(
        "ec2",
        endpoint_url=ENDPOINT,
        region_name=region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        config=botocore.config.Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


def raw(ec2, body):
    """Sends a form body boto3's model cannot say, signed as boto3 signs."""
    ec2.meta.events.register("before-sign.ec2.CopyImage", lambda request, **_: setattr(request, "data", body))
    try:
        return ec2.copy_image(Name="x", SourceImageId="x", SourceRegion="x")
    finally:
        ec2.meta.events.unregister("before-sign.ec2.CopyImage")


def answer(call):
    """(error code, HTTP status) of a call; (None, status) for a success with a well-formed imageId."""
    try:
        reply = call()
    except ClientError as e:
        return (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
    status = reply["ResponseMetadata"]["HTTPStatusCode"]
    if not re.fullmatch(r"ami-([0-9a-f]{8}|[0-9a-f]{17})", reply.get("ImageId") or ""):
        return ("success without a well-formed imageId", status)
    return (None, status)


def make(role, region):
    """A source image of `role`, made as copyimage-conformance's --setup makes it."""
    ec2 = client(region)
    extra = {}
    if role.startswith("encrypted"):
        volume = ec2.create_volume(Encrypted=True, Size=8, AvailabilityZone=region + "a")["VolumeId"]
        snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
        extra = dict(
            Architecture="x86_64",
            VirtualizationType="hvm",
            RootDeviceName="/dev/xvda",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snapshot}}],
        )
    elif role not in ("plain", "other-region") and not role.startswith("deregistered"):
        raise LookupError(role)
    name = "emitted-%s-%s" % (role, uuid.uuid4().hex[:12])
    image = ec2.register_image(Name=name, Description="copyimage-conformance emitted test", **extra)["ImageId"]
    if role.startswith("deregistered"):
        ec2.deregister_image(ImageId=image)
    return image


def listed(image_id, region):
    try:
        return bool(client(region).describe_images(ImageIds=[image_id])["Images"])
    except ClientError:
        return False


def source_image():
    """The run's source image when the endpoint lists it, else one made as --setup makes it,
    else the embedded endpoint's image of the same role."""
    if SOURCE is None:
        return None
    if not (SOURCE["role"] or "").startswith("deregistered") and listed(SOURCE["image_id"], SOURCE["region"]):
        return SOURCE["image_id"]
    try:
        return make(SOURCE["role"] or "", SOURCE["region"])
    # The embedded endpoint makes no images (it answers an error, or something botocore
    # cannot read): its own image of the role stands in.
    except Exception:
        return SOURCE["default"] or SOURCE["image_id"]
"#;
