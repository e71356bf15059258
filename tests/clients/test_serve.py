"""Real clients against the embedded endpoint: boto3 and the AWS CLI v1 call `serve` as they
would call EC2, and must get what AWS most likely answers, read the way they read AWS.

Run by scripts/client-tests (`make clients`) with pytest from the moto venv. CIC_BIN names the
built binary (target/debug/copyimage-conformance by default).
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CIC_BIN", ROOT / "target/debug/copyimage-conformance"))
# An image of the caller's in the default world (specs/world.json), tagged env=test.
SOURCE = "ami-0a1b2c3d4e5f60718"
REGION = "us-east-1"
DUMMY = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    """A fresh `serve` on a free loopback port for the module; stopped by its PID."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN), "serve", "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"serve did not start: {proc.stderr.read().decode(errors='replace')}")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def ec2(endpoint):
    return boto3.client(
        "ec2",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # One attempt: a retried request would hide what the endpoint answered first.
        config=Config(retries={"total_max_attempts": 1}),
    )


def error_of(call):
    """The (code, HTTP status, message) of the ClientError `call` raises."""
    with pytest.raises(ClientError) as info:
        call()
    r = info.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


def copy(ec2, name, **kw):
    return ec2.copy_image(Name=name, SourceImageId=SOURCE, SourceRegion=REGION, **kw)["ImageId"]


def describe_one(ec2, image_id):
    images = ec2.describe_images(ImageIds=[image_id])["Images"]
    assert len(images) == 1, images
    return images[0]


def test_copy_returns_an_image_id_and_describe_shows_the_copy(ec2):
    tags = [{"ResourceType": "image", "Tags": [{"Key": "team", "Value": "blue"}]}]
    image_id = copy(ec2, "described-copy", Description="a copy", TagSpecifications=tags, CopyImageTags=True)
    assert re.fullmatch(r"ami-[0-9a-f]{17}", image_id), image_id
    image = describe_one(ec2, image_id)
    assert image["Name"] == "described-copy"
    assert image["Description"] == "a copy"
    assert image["State"] == "available"
    assert image["OwnerId"] == "123456789012"
    assert image["SourceImageId"] == SOURCE
    assert image["SourceImageRegion"] == REGION
    assert image["Architecture"] == "x86_64"
    assert image["ImageType"] == "machine"
    assert image["Public"] is False
    assert image["RootDeviceType"] == "ebs"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", image["CreationDate"]), image["CreationDate"]
    [bdm] = image["BlockDeviceMappings"]
    assert bdm["DeviceName"] == image["RootDeviceName"]
    assert bdm["Ebs"]["SnapshotId"].startswith("snap-")
    assert bdm["Ebs"]["Encrypted"] is False
    assert bdm["Ebs"]["VolumeSize"] == 8
    # CopyImageTags brings the source's env=test; the specification adds team=blue.
    assert {t["Key"]: t["Value"] for t in image["Tags"]} == {"env": "test", "team": "blue"}


def test_dry_run_is_a_412_dry_run_operation(ec2):
    code, status, message = error_of(lambda: copy(ec2, "dry-run-copy", DryRun=True))
    assert (code, status) == ("DryRunOperation", 412)
    assert message == "Request would have succeeded, but DryRun flag is set."
    assert ec2.describe_images(Filters=[{"Name": "name", "Values": ["dry-run-copy"]}])["Images"] == []


def test_a_replayed_client_token_returns_the_same_image(ec2):
    first = copy(ec2, "idempotent-copy", ClientToken="token-replay-1")
    again = copy(ec2, "idempotent-copy", ClientToken="token-replay-1")
    assert again == first
    assert len(ec2.describe_images(Filters=[{"Name": "name", "Values": ["idempotent-copy"]}])["Images"]) == 1


def test_a_client_token_with_other_parameters_is_a_mismatch(ec2):
    copy(ec2, "mismatch-first", ClientToken="token-mismatch-1")
    code, status, _ = error_of(lambda: copy(ec2, "mismatch-second", ClientToken="token-mismatch-1"))
    assert (code, status) == ("IdempotentParameterMismatch", 400)


def test_bad_source_ids_are_parsed_into_the_right_code(ec2):
    bad = lambda: ec2.copy_image(Name="bad-source", SourceImageId="ami-nothex", SourceRegion=REGION)
    code, status, message = error_of(bad)
    assert (code, status) == ("InvalidAMIID.Malformed", 400)
    assert message == 'Invalid id: "ami-nothex" (expecting "ami-...")'
    unknown = lambda: ec2.copy_image(Name="unknown-source", SourceImageId="ami-0000000000000dead", SourceRegion=REGION)
    code, status, message = error_of(unknown)
    assert (code, status) == ("InvalidAMIID.NotFound", 400)
    assert message == "The image id '[ami-0000000000000dead]' does not exist"


@pytest.mark.parametrize("name", ["name with spaces", "brackets [1] at @ it's"])
def test_names_the_model_allows_are_accepted(ec2, name):
    image_id = copy(ec2, name)
    assert describe_one(ec2, image_id)["Name"] == name


def test_an_empty_tag_list_is_accepted(ec2):
    image_id = copy(ec2, "empty-tag-list", TagSpecifications=[{"ResourceType": "image", "Tags": []}])
    assert "Tags" not in describe_one(ec2, image_id)


def test_a_100_character_client_token_is_accepted(ec2):
    token = "t" * 100
    first = copy(ec2, "long-token-copy", ClientToken=token)
    assert copy(ec2, "long-token-copy", ClientToken=token) == first


def test_describe_refuses_malformed_and_unknown_ids(ec2):
    code, status, message = error_of(lambda: ec2.describe_images(ImageIds=["ami-XYZ"]))
    assert (code, status, message) == ("InvalidAMIID.Malformed", 400, 'Invalid id: "ami-XYZ" (expecting "ami-...")')
    code, status, message = error_of(lambda: ec2.describe_images(ImageIds=["ami-0000000000000beef"]))
    assert (code, status) == ("InvalidAMIID.NotFound", 400)
    assert message == "The image id '[ami-0000000000000beef]' does not exist"


def test_describe_filters_and_owners(ec2):
    image_id = copy(ec2, "filtered-copy-1", TagSpecifications=[{"ResourceType": "image", "Tags": [{"Key": "k", "Value": "v1"}]}])
    ids = lambda **kw: {i["ImageId"] for i in ec2.describe_images(**kw)["Images"]}
    assert ids(Filters=[{"Name": "name", "Values": ["filtered-copy-*"]}]) == {image_id}
    assert ids(Filters=[{"Name": "tag:k", "Values": ["v1", "v2"]}]) == {image_id}
    assert ids(Filters=[{"Name": "tag:k", "Values": ["v2"]}]) == set()
    assert image_id in ids(Owners=["self"])
    assert image_id not in ids(Owners=["137112412989"])
    assert ids(Filters=[{"Name": "state", "Values": ["available"]}, {"Name": "image-id", "Values": [image_id]}]) == {image_id}
    assert ids(Filters=[{"Name": "owner-id", "Values": ["123456789012"]}, {"Name": "name", "Values": ["filtered-copy-1"]}]) == {image_id}
    code, status, _ = error_of(lambda: ec2.describe_images(Filters=[{"Name": "colour", "Values": ["red"]}]))
    assert (code, status) == ("InvalidParameterValue", 400)


def aws(endpoint, *args):
    env = {**os.environ, **DUMMY, "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_MAX_ATTEMPTS": "1"}
    cli = Path(sys.executable).with_name("aws")
    return subprocess.run([str(cli), "ec2", *args, "--endpoint-url", endpoint, "--output", "json"],
                          env=env, capture_output=True, text=True, timeout=60)


def test_aws_cli_copies_and_describes(endpoint):
    out = aws(endpoint, "copy-image", "--name", "cli copy [x]", "--source-image-id", SOURCE, "--source-region", REGION)
    assert out.returncode == 0, out.stderr
    image_id = json.loads(out.stdout)["ImageId"]
    out = aws(endpoint, "describe-images", "--image-ids", image_id)
    assert out.returncode == 0, out.stderr
    [image] = json.loads(out.stdout)["Images"]
    assert (image["Name"], image["State"], image["SourceImageId"]) == ("cli copy [x]", "available", SOURCE)


def test_aws_cli_reports_errors_with_their_code(endpoint):
    # The AWS CLI v1 exits 255 on a service error (v2: 254).
    out = aws(endpoint, "copy-image", "--name", "cli-dry-run", "--source-image-id", SOURCE, "--source-region", REGION, "--dry-run")
    assert out.returncode == 255, out
    assert "(DryRunOperation)" in out.stderr, out.stderr
    out = aws(endpoint, "describe-images", "--image-ids", "ami-0000000000000f00d")
    assert out.returncode == 255, out
    assert "(InvalidAMIID.NotFound)" in out.stderr and "ami-0000000000000f00d" in out.stderr, out.stderr


def readme_example():
    """The README's boto3 example: the python block after the `boto3 example` marker."""
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- boto3 example[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert m, "README.md has no boto3 example block"
    return m.group(1)


def test_the_readme_boto3_example_runs_as_written(endpoint, capsys):
    code = readme_example()
    assert "http://127.0.0.1:8080" in code
    exec(compile(code.replace("http://127.0.0.1:8080", endpoint), "README.md", "exec"), {})
    assert capsys.readouterr().out == f"my ami 2 available {SOURCE}\n"
