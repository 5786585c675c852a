"""End to end through the CLI: deploy `local`, process a file, rotate the signing key, process
another; both results verify, each with the key version it names, and a result whose
key_version was changed does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator import naming
from generator.emulator import launcher
from generator.workload import load_signing
from tests.emulator.conftest import cli_ok

pytestmark = [pytest.mark.e2e, pytest.mark.slow(14)]

BUCKET = naming.data_bucket("local", "123456789012")
SECRET = naming.secret_name("local")


def _results(s3: Any) -> list[dict[str, Any]]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=naming.RESULTS_PREFIX).get("Contents", [])
    return [json.loads(s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()) for o in listed]


def test_results_signed_before_a_rotation_verify_after_it(
    repo_root: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    state = Path(cli_env["SERVERLESSAPP_STATE_DIR"])
    cli_ok(repo_root, cli_env, "deploy", "--env", "local")
    running = launcher.status(state)
    assert running is not None
    clients = {"region_name": "us-east-1", "endpoint_url": running.endpoint}
    s3, secrets = boto3.client("s3", **clients), boto3.client("secretsmanager", **clients)
    described = secrets.describe_secret(SecretId=SECRET)
    assert described["RotationEnabled"] is True
    assert described["RotationLambdaARN"].endswith(
        f":function:{naming.rotation_function_name('local')}"
    )

    before_file, after_file = tmp_path / "before.txt", tmp_path / "after.txt"
    before_file.write_text("signed with the first key\n", encoding="utf-8")
    after_file.write_text("signed with the second key\n", encoding="utf-8")
    assert "signature: valid" in cli_ok(repo_root, cli_env, "upload", "--env", "local",
                                     str(before_file))  # fmt: skip
    first_key = secrets.get_secret_value(SecretId=SECRET)["VersionId"]

    rotated = cli_ok(repo_root, cli_env, "rotate", "--env", "local")
    second_key = secrets.get_secret_value(SecretId=SECRET, VersionStage="AWSCURRENT")["VersionId"]
    assert second_key != first_key
    assert f"AWSCURRENT is now version {second_key}" in rotated
    assert "1 valid, 0 invalid" in rotated
    stages = secrets.describe_secret(SecretId=SECRET)["VersionIdsToStages"]
    assert stages == {first_key: ["AWSPREVIOUS"], second_key: ["AWSCURRENT"]}
    # The rotation function (not moto's shortcut) made the new key: a password of the same form.
    old, new = (
        json.loads(secrets.get_secret_value(SecretId=SECRET, VersionId=v)["SecretString"])
        for v in (first_key, second_key)
    )
    assert new["username"] == old["username"]
    assert new["password"] != old["password"]
    assert len(new["password"]) == len(old["password"]) == 32

    assert "signature: valid" in cli_ok(repo_root, cli_env, "upload", "--env", "local",
                                     str(after_file))  # fmt: skip
    by_key = {r["key"]: r for r in _results(s3)}
    before, after = by_key["uploads/before.txt"], by_key["uploads/after.txt"]
    assert (before["key_version"], after["key_version"]) == (first_key, second_key)

    signing = load_signing(repo_root)
    password_of = signing.secret_password_of(secrets, SECRET)
    assert signing.verify_with_versions(before, password_of)
    assert signing.verify_with_versions(after, password_of)
    tampered = {**before, "key_version": second_key}
    assert not signing.verify_with_versions(tampered, password_of)

    # A second rotation: the first key has no label left, and its result still verifies.
    again = cli_ok(repo_root, cli_env, "rotate", "--env", "local")
    assert "2 valid, 0 invalid" in again
    # (AWS leaves an unlabelled version out of VersionIdsToStages; moto lists it with none.)
    assert not secrets.describe_secret(SecretId=SECRET)["VersionIdsToStages"].get(first_key)
    assert signing.verify_with_versions(before, password_of)
