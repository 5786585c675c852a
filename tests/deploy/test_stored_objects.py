"""Objects already stored under our keys are deployed only once proven ours (sha256)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import boto3
import pytest
from botocore.response import StreamingBody

from generator.deploy.artifacts import template_location, upload_artifact
from generator.errors import ExitCode, GeneratorError
from tests.deploy.conftest import (
    ACCOUNT,
    REGION,
    Make,
    Repo,
    app_template,
)

BUCKET = f"serverlessapp-artifacts-{ACCOUNT}-{REGION}"
STACK = "TapStackdev"


def _b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _large(repo: Repo) -> str:
    template = app_template("dev", repo.artifact)
    template["Metadata"]["Padding"] = "x" * 60_000  # over the 51,200-byte inline limit
    repo.write_template("dev", template)
    return (repo.root / "templates" / "dev.json").read_text(encoding="utf-8")


def test_uploads_record_a_sha256_checksum_that_head_object_returns(repo: Repo, aws: None) -> None:
    body = _large(repo)
    assert repo.run("deploy", "--env", "dev") == 0
    s3 = boto3.client("s3", region_name=REGION)
    head = s3.head_object(Bucket=BUCKET, Key=repo.artifact.key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == _b64(repo.artifact.path.read_bytes())
    digest = hashlib.sha256(body.encode()).hexdigest()
    key = f"templates/{STACK}/{digest}.json"
    head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == _b64(body.encode())
    assert repo.run("deploy", "--env", "dev") == 0  # our own objects verify and are reused
    assert "No changes" in repo.output


def test_refuses_a_foreign_artifact_already_under_the_handler_key(
    repo: Repo, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    s3 = boto3.client("s3", region_name=REGION)
    evil = b"evil zip".ljust(repo.artifact.size, b"!")  # same size: only the content differs
    s3.put_object(Bucket=BUCKET, Key=repo.artifact.key, Body=evil)  # no SHA-256 recorded
    repo.write_template(
        "dev", app_template("dev", repo.artifact, {"ExtraQueue": {"Type": "AWS::SQS::Queue"}})
    )
    assert repo.run("deploy", "--env", "dev") == 4
    err = capsys.readouterr().err
    assert f"s3://{BUCKET}/{repo.artifact.key} is not ours" in err
    assert hashlib.sha256(evil).hexdigest() in err
    assert f"expected {repo.artifact.sha256}" in err
    resources = boto3.client("cloudformation", region_name=REGION).list_stack_resources(
        StackName=STACK
    )["StackResourceSummaries"]
    assert "ExtraQueue" not in {r["LogicalResourceId"] for r in resources}  # nothing deployed


def test_refuses_a_foreign_large_template_already_under_its_key(
    repo: Repo, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0  # creates the artifact bucket
    body = _large(repo)
    key = f"templates/{STACK}/{hashlib.sha256(body.encode()).hexdigest()}.json"
    foreign = body.replace('"DeadLetterQueue"', '"Evil"').encode()
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=BUCKET, Key=key, Body=foreign, ChecksumAlgorithm="SHA256"
    )
    assert repo.run("deploy", "--env", "dev") == 4
    err = capsys.readouterr().err
    assert f"s3://{BUCKET}/{key} is not ours" in err
    assert hashlib.sha256(foreign).hexdigest() in err
    assert not any("executing change set" in line and STACK in line for line in repo.lines)


def test_refuses_an_artifact_whose_recorded_checksum_differs(stubbed: Make, tmp_path: Path) -> None:
    from tests.deploy.conftest import make_artifact

    artifact = make_artifact(tmp_path)
    s3, stubber = stubbed("s3")
    stubber.add_response(
        "head_object",
        {"ContentLength": artifact.size, "ChecksumSHA256": _b64(b"someone else's zip")},
        {"Bucket": BUCKET, "Key": artifact.key, "ChecksumMode": "ENABLED"},
    )
    with pytest.raises(GeneratorError) as caught:
        upload_artifact(s3, BUCKET, artifact)  # no put_object: the stubber would refuse it
    assert caught.value.exit_code == ExitCode.FAILED
    message = str(caught.value)
    assert f"s3://{BUCKET}/{artifact.key}" in message
    assert f"expected {artifact.sha256}" in message
    assert hashlib.sha256(b"someone else's zip").hexdigest() in message


def test_a_template_with_a_composite_checksum_is_downloaded_and_hashed(stubbed: Make) -> None:
    body = json.dumps({"Resources": {}, "Metadata": {"Padding": "y" * 60_000}})
    digest = hashlib.sha256(body.encode()).hexdigest()
    key = f"templates/{STACK}/{digest}.json"
    s3, stubber = stubbed("s3")
    stubber.add_response(
        "head_object", {"ChecksumSHA256": _b64(b"part checksums") + "-3"},
        {"Bucket": BUCKET, "Key": key, "ChecksumMode": "ENABLED"},
    )  # fmt: skip
    tampered = body.replace("y", "z", 1).encode()
    stream = StreamingBody(io.BytesIO(tampered), len(tampered))
    stubber.add_response("get_object", {"Body": stream}, {"Bucket": BUCKET, "Key": key})
    with pytest.raises(GeneratorError) as caught:
        template_location(s3, BUCKET, STACK, body, digest)
    assert caught.value.exit_code == ExitCode.FAILED
    assert hashlib.sha256(tampered).hexdigest() in str(caught.value)


def test_uploads_are_conditional_writes_and_a_key_written_meanwhile_is_verified(
    stubbed: Make, tmp_path: Path
) -> None:
    # The CI roles may only create objects in the shared artifact bucket (If-None-Match: *,
    # ci-access): an object is never overwritten after a deploy checked it. One written between
    # our HeadObject and our PutObject is verified like any existing one.
    from botocore.stub import ANY

    from tests.deploy.conftest import make_artifact

    artifact = make_artifact(tmp_path)
    s3, stubber = stubbed("s3")
    head = {"Bucket": BUCKET, "Key": artifact.key, "ChecksumMode": "ENABLED"}
    stubber.add_client_error("head_object", "404", http_status_code=404, expected_params=head)
    put = {
        "Bucket": BUCKET, "Key": artifact.key, "Body": ANY, "ContentType": "application/zip",
        "ChecksumAlgorithm": "SHA256", "ChecksumSHA256": ANY, "Metadata": ANY,
        "IfNoneMatch": "*",
    }  # fmt: skip
    stubber.add_client_error(
        "put_object", "PreconditionFailed", http_status_code=412, expected_params=put
    )
    raced = {"ContentLength": artifact.size, "ChecksumSHA256": _b64(b"a racing writer's zip")}
    stubber.add_response("head_object", raced, head)
    with pytest.raises(GeneratorError) as caught:
        upload_artifact(s3, BUCKET, artifact)
    assert caught.value.exit_code == ExitCode.FAILED
    assert f"s3://{BUCKET}/{artifact.key} is not ours" in str(caught.value)
