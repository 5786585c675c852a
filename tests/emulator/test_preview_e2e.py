"""End to end on the embedded emulator: a preview of `local` is deployed next to the base stack,
processes an upload, is destroyed, and leaves nothing behind while the base stack is untouched.

The CLI runs as a subprocess with a private state folder (as in test_e2e.py); the emulator it
starts is stopped by the fixture's finalizer even when an assertion fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator import naming
from generator.emulator import launcher
from tests.emulator.conftest import cli_ok

pytestmark = [pytest.mark.e2e, pytest.mark.slow(11)]

ACCOUNT = "123456789012"
PREVIEW = "local-pr7"


def _everything(endpoint: str) -> dict[str, Any]:
    """Every named thing in the emulator that a stack of this project creates."""

    def client(service: str) -> Any:
        return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint)

    return {
        "stacks": sorted(
            s["StackName"]
            for s in client("cloudformation").describe_stacks()["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"
        ),
        "buckets": sorted(b["Name"] for b in client("s3").list_buckets()["Buckets"]),
        "functions": sorted(
            f["FunctionName"] for f in client("lambda").list_functions()["Functions"]
        ),
        "roles": sorted(r["RoleName"] for r in client("iam").list_roles()["Roles"]),
        "queues": sorted(client("sqs").list_queues().get("QueueUrls", [])),
        "topics": sorted(t["TopicArn"] for t in client("sns").list_topics()["Topics"]),
        "secrets": sorted(s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"]),
        "aliases": sorted(a["AliasName"] for a in client("kms").list_aliases()["Aliases"]),
        "log groups": sorted(
            g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]
        ),
    }


def _mentions_preview(found: dict[str, Any]) -> dict[str, list[str]]:
    return {
        k: [v for v in vs if PREVIEW in v]
        for k, vs in found.items()
        if any(PREVIEW in v for v in vs)
    }


def test_a_preview_of_local_lives_and_dies_beside_the_base_stack(
    repo_root: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    state = Path(cli_env["SERVERLESSAPP_STATE_DIR"])
    cli_ok(repo_root, cli_env, "deploy", "--env", "local")
    running = launcher.status(state)
    assert running is not None
    endpoint = running.endpoint
    base = _everything(endpoint)
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    base_bucket = naming.data_bucket("local", ACCOUNT)
    s3.put_object(Bucket=base_bucket, Key="notes/keep.txt", Body=b"base data")
    cfn = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=endpoint)
    base_stack = cfn.describe_stacks(StackName="TapStacklocal")["Stacks"][0]

    deployed = cli_ok(
        repo_root, cli_env, "deploy", "--env", "local", "--preview", "pr7", "--pull-request", "7"
    )
    assert "TapStacklocal-pr7: CREATE_COMPLETE" in deployed
    stack = cfn.describe_stacks(StackName="TapStacklocal-pr7")["Stacks"][0]
    tags = {t["Key"]: t["Value"] for t in stack["Tags"]}
    assert (tags["PreviewOf"], tags["PullRequest"]) == ("local", "7")
    assert "ExpiresAt" in tags
    assert stack.get("EnableTerminationProtection") is not True
    during = _mentions_preview(_everything(endpoint))
    assert {"stacks", "buckets", "functions", "roles", "queues", "secrets"} <= set(during)
    listed = cli_ok(repo_root, cli_env, "previews", "--env", "local")
    assert "TapStacklocal-pr7: pull request 7" in listed

    sample = tmp_path / "preview.txt"
    sample.write_text("hello, preview\n", encoding="utf-8")
    uploaded = cli_ok(
        repo_root, cli_env, "upload", "--env", "local", "--preview", "pr7", str(sample)
    )
    assert "signature: valid" in uploaded
    preview_bucket = naming.data_bucket(PREVIEW, ACCOUNT)
    results = s3.list_objects_v2(Bucket=preview_bucket, Prefix=naming.RESULTS_PREFIX)
    (result,) = results["Contents"]
    body = json.loads(s3.get_object(Bucket=preview_bucket, Key=result["Key"])["Body"].read())
    assert body["key"] == "uploads/preview.txt"
    base_results = s3.list_objects_v2(Bucket=base_bucket, Prefix=naming.RESULTS_PREFIX)
    assert base_results.get("KeyCount") == 0  # the base function never saw the preview's upload

    destroyed = cli_ok(repo_root, cli_env, "destroy", "--env", "local", "--preview", "pr7", "--yes")
    assert "TapStacklocal-pr7: DELETE_COMPLETE" in destroyed
    after = _everything(endpoint)
    assert _mentions_preview(after) == {}, "the preview left something behind"
    assert after == base
    assert cfn.describe_stacks(StackName="TapStacklocal")["Stacks"][0] == base_stack
    kept = s3.get_object(Bucket=base_bucket, Key="notes/keep.txt")["Body"].read()
    assert kept == b"base data"
    assert "no previews" in cli_ok(repo_root, cli_env, "previews", "--env", "local")
