"""End to end through the CLI, as a newcomer runs it: deploy the `local` environment to the
embedded emulator, deploy again (no changes), upload a file, get a verified result, deliver the
same event twice (nothing new is written), destroy the stack (its resources go) and deploy it
again, stop the emulator (nothing left listening). And plan = apply: a kept plan executes once,
a forged change set is refused.

The CLI runs as a subprocess with a private state folder; the emulator it starts is stopped by
the fixture's finalizer even when an assertion fails.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator import naming
from generator.deploy.access import git_repository
from generator.deploy.changeset import PlanRecord, template_sha256
from generator.emulator import launcher, runtimes
from tests.emulator.conftest import cli_ok, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow(13)]

BUCKET = naming.data_bucket("local", "123456789012")


def _results(s3: Any) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=naming.RESULTS_PREFIX).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def test_local_pipeline_end_to_end(
    repo_root: Path, cli_env: dict[str, str], tmp_path: Path
) -> None:
    state = Path(cli_env["SERVERLESSAPP_STATE_DIR"])

    first = cli_ok(repo_root, cli_env, "deploy", "--env", "local")
    assert "embedded AWS emulator" in first
    running = launcher.status(state)
    assert running is not None, "deploy --env local did not start the emulator"
    endpoint = running.endpoint
    cfn = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=endpoint)
    stack = cfn.describe_stacks(StackName=naming.stack_name("local"))["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert outputs[naming.LogicalId.OUT_BUCKET] == BUCKET

    second = cli_ok(repo_root, cli_env, "deploy", "--env", "local")
    assert "No changes" in second
    assert launcher.status(state) == running  # the same server, reused

    # The account-access stack through a change set (no terminal: no prompt), then the
    # setup's checklist, whose AWS half runs for real here.
    # Without --repository: the checkout's GitHub origin, or on the emulator a placeholder.
    access = cli_ok(repo_root, cli_env, "access", "deploy", "--env", "local")
    if git_repository(repo_root) is None:
        assert "the emulated roles trust example-org/serverlessapp" in access
    assert "ServerlessAppCiAccess: CREATE_COMPLETE" in access
    again = cli_ok(repo_root, cli_env, "access", "deploy", "--env", "local")
    assert "No changes: stack ServerlessAppCiAccess" in again
    doctor = cli_ok(repo_root, cli_env, "doctor", "--env", "local")
    assert "✓ stack ServerlessAppCiAccess deployed and current" in doctor
    assert "all checks hold" in doctor

    sample = tmp_path / "hello world.txt"
    sample.write_text("hello, pipeline\n", encoding="utf-8")
    uploaded = cli_ok(repo_root, cli_env, "upload", "--env", "local", str(sample))
    assert "signature: valid" in uploaded
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    before = _results(s3)
    assert len(before) == 1
    result = json.loads(next(iter(before.values())))
    assert result["key"] == "uploads/hello world.txt"
    assert result["size"] == len("hello, pipeline\n")
    # The function ran on the Python its Runtime declares (when this machine has it, as
    # `make lambda-runtime` made it), and its log says which, as Lambda's INIT_START line does.
    logs = boto3.client("logs", region_name="us-east-1", endpoint_url=endpoint)
    found = logs.filter_log_events(
        logGroupName=naming.log_group("local"), filterPattern='"INIT_START"'
    )
    messages = [e["message"] for e in found["events"]]
    assert messages, "no INIT_START line in the function's log group"
    if (runtimes.environment_of(naming.LAMBDA_RUNTIME) / ".installed").exists():
        assert messages[-1].startswith("INIT_START Runtime Version: python:3.13."), messages[-1]
        assert "own Python" not in messages[-1]

    # The same S3 event delivered twice more: the handler writes nothing new.
    head = s3.head_object(Bucket=BUCKET, Key="uploads/hello world.txt")
    event = {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
               "object": {"key": "uploads/hello+world.txt", "size": head["ContentLength"],
                          "eTag": head["ETag"].strip('"'), "versionId": head.get("VersionId")}},
    }]}  # fmt: skip
    lam = boto3.client("lambda", region_name="us-east-1", endpoint_url=endpoint)
    for _ in range(2):
        reply = lam.invoke(FunctionName=naming.function_name("local"), Payload=json.dumps(event))
        assert "FunctionError" not in reply, reply["Payload"].read()
    assert _results(s3) == before

    destroyed = cli_ok(repo_root, cli_env, "destroy", "--env", "local", "--yes")
    assert f"{naming.stack_name('local')}: DELETE_COMPLETE" in destroyed
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert BUCKET not in buckets, "destroy left the data bucket behind"
    cli_ok(repo_root, cli_env, "deploy", "--env", "local")  # the same names are free again
    stack = cfn.describe_stacks(StackName=naming.stack_name("local"))["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # a new, empty bucket

    cli_ok(repo_root, cli_env, "down")
    assert not launcher.is_alive(running.pid)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        assert sock.connect_ex(("127.0.0.1", running.port)) != 0, "something still listens"


def test_local_kept_plan_is_executed_once_and_a_forged_one_is_refused(
    repo_root: Path, cli_env: dict[str, str]
) -> None:
    state = Path(cli_env["SERVERLESSAPP_STATE_DIR"])
    stack_name = naming.stack_name("local")
    # The account's bootstrap stack comes first (an administrator's deploy; no CI job plans
    # it); the kept plan then creates the app stack.
    cli_ok(repo_root, cli_env, "deploy", "--env", "local")
    running = launcher.status(state)
    assert running is not None
    cfn = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=running.endpoint)
    cfn.delete_stack(StackName=stack_name)

    planned = cli_ok(repo_root, cli_env, "plan", "--env", "local", "--keep")
    kept = (state / "plan-local.changeset").read_text(encoding="utf-8").strip()
    assert f"change-set-id: {kept}" in planned
    applied = cli_ok(repo_root, cli_env, "deploy", "--env", "local", "--change-set", kept)
    assert f"executing change set {kept.split('/')[1]} on {stack_name}" in applied
    assert cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"] == (
        "CREATE_COMPLETE"
    )

    again = run_cli(repo_root, cli_env, "deploy", "--env", "local", "--change-set", kept)
    assert again.returncode == 3, again.stderr  # executed: it cannot run twice
    assert "stale plan" in again.stderr

    # A change set made by hand over a template that is not the committed one, its Description
    # claiming the committed template's hash: refused on the template's own hash.
    committed = (repo_root / "templates" / "local.json").read_text(encoding="utf-8")
    tampered = json.loads(committed)
    tampered["Resources"]["Backdoor"] = {"Type": "AWS::SQS::Queue"}
    forged = cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName="kept-forged",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(tampered),
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        Description=PlanRecord(template_sha256(committed), "new").encode(),
    )["Id"]
    refused = run_cli(repo_root, cli_env, "deploy", "--env", "local", "--change-set", forged)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "change set kept-forged's template (sha256 " in refused.stderr
    assert "is not the committed templates/local.json" in refused.stderr
    resources = cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    assert "Backdoor" not in {r["LogicalResourceId"] for r in resources}
    cli_ok(repo_root, cli_env, "down")
