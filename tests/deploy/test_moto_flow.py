"""The real flow against moto: create, update, no-op, artifact idempotency, tags, plan output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from generator.deploy import pipeline
from generator.emulator import moto_fixes
from tests.deploy.conftest import ACCOUNT, DEV_ENV, REGION, Repo, app_template, make_artifact

pytestmark = pytest.mark.integration

STACK = "TapStackdev"
BUCKET = f"serverlessapp-artifacts-{ACCOUNT}-{REGION}"


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws(), moto_fixes.installed():
        yield


def cfn() -> object:
    return boto3.client("cloudformation", region_name=REGION)


def available_change_sets() -> list[str]:
    """Change sets of the app stack that could still be executed (moto lists every stack's)."""
    summaries = boto3.client("cloudformation", region_name=REGION).list_change_sets(
        StackName=STACK
    )["Summaries"]
    return [
        s["ChangeSetName"]
        for s in summaries
        if s["StackName"] == STACK and s["ExecutionStatus"] == "AVAILABLE"
    ]


def stack_tags() -> dict[str, str]:
    described = boto3.client("cloudformation", region_name=REGION).describe_stacks(StackName=STACK)
    return {t["Key"]: t["Value"] for t in described["Stacks"][0]["Tags"]}


def with_second_queue(repo: Repo) -> None:
    repo.write_template(
        "dev", app_template("dev", repo.artifact, {"ExtraQueue": {"Type": "AWS::SQS::Queue"}})
    )


def test_deploy_creates_bootstrap_uploads_artifact_and_creates_stack(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    client = boto3.client("cloudformation", region_name=REGION)
    assert client.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert client.describe_stacks(StackName="ServerlessAppBootstrap")["Stacks"]
    head = boto3.client("s3", region_name=REGION).head_object(Bucket=BUCKET, Key=repo.artifact.key)
    assert head["ContentLength"] == repo.artifact.size
    assert "uploaded" in repo.output
    assert "CREATE_COMPLETE" in repo.output


def test_second_deploy_reports_no_changes_and_leaves_no_change_set(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    assert repo.run("deploy", "--env", "dev") == 0
    assert "No changes" in repo.output
    assert "already present" in repo.output  # the artifact is not uploaded twice
    assert available_change_sets() == []


def test_no_change_deploy_on_a_new_commit_keeps_the_old_commit_tag(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "git_commit", lambda root: "a" * 40)
    assert repo.run("deploy", "--env", "dev") == 0
    monkeypatch.setattr(pipeline, "git_commit", lambda root: "b" * 40)
    assert repo.run("deploy", "--env", "dev") == 0
    assert "No changes" in repo.output
    assert stack_tags()["git-commit"] == "a" * 40


def test_artifact_upload_is_idempotent(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    s3 = boto3.client("s3", region_name=REGION)
    first = s3.head_object(Bucket=BUCKET, Key=repo.artifact.key)["LastModified"]
    assert repo.run("deploy", "--env", "dev") == 0
    versions = s3.list_objects_v2(Bucket=BUCKET, Prefix="handler/")["Contents"]
    assert [v["Key"] for v in versions] == [repo.artifact.key]
    assert s3.head_object(Bucket=BUCKET, Key=repo.artifact.key)["LastModified"] == first


def test_stack_carries_base_tags_and_hashes(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "git_commit", lambda root: "c" * 40)
    assert repo.run("deploy", "--env", "dev") == 0
    tags = stack_tags()
    body = (repo.root / "templates" / "dev.json").read_text(encoding="utf-8")
    import hashlib

    assert tags["Project"] == "ServerlessApp"
    assert tags["Environment"] == "dev"
    assert tags["Owner"] == "TAP"
    assert tags["template-sha256"] == hashlib.sha256(body.encode()).hexdigest()
    assert tags["handler-sha256"] == repo.artifact.sha256
    assert tags["git-commit"] == "c" * 40


def test_update_adds_a_resource_and_shows_it_in_the_plan(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    with_second_queue(repo)
    assert repo.run("deploy", "--env", "dev") == 0
    assert "ExtraQueue" in repo.output
    assert "1 to add" in repo.output
    assert "UPDATE_COMPLETE" in repo.output
    resources = boto3.client("cloudformation", region_name=REGION).list_stack_resources(
        StackName=STACK
    )["StackResourceSummaries"]
    assert "ExtraQueue" in {r["LogicalResourceId"] for r in resources}


def test_deploy_sets_a_stack_policy_protecting_stateful_resources(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    body = boto3.client("cloudformation", region_name=REGION).get_stack_policy(StackName=STACK)
    policy = json.loads(body["StackPolicyBody"])
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert set(deny["Resource"]) == {
        "LogicalResourceId/DataBucket",
        "LogicalResourceId/DeadLetterQueue",
    }
    assert set(deny["Action"]) == {"Update:Replace", "Update:Delete"}


def test_guard_blocks_removal_of_a_queue_and_deletes_the_change_set(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    template = app_template("dev", repo.artifact)
    del template["Resources"]["DeadLetterQueue"]
    repo.write_template("dev", template)
    assert repo.run("deploy", "--env", "dev") == 3
    assert "BLOCKED: DeadLetterQueue (AWS::SQS::Queue): removed" in repo.output
    assert "--allow-replace DeadLetterQueue" in repo.output
    client = boto3.client("cloudformation", region_name=REGION)
    resources = client.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    assert "DeadLetterQueue" in {r["LogicalResourceId"] for r in resources}
    assert available_change_sets() == []


def test_plan_exits_blocked_when_the_guard_would_refuse(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    template = app_template("dev", repo.artifact)
    del template["Resources"]["DeadLetterQueue"]
    repo.write_template("dev", template)
    assert repo.run("plan", "--env", "dev") == 3
    assert "!! DESTRUCTIVE: DeadLetterQueue" in repo.output


def test_allow_replace_on_the_command_line_lets_a_reviewed_removal_through(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    template = app_template("dev", repo.artifact)
    del template["Resources"]["DeadLetterQueue"]
    repo.write_template("dev", template)
    assert repo.run("deploy", "--env", "dev", "--allow-replace", "DeadLetterQueue") == 0
    assert "ALLOWED by review: DeadLetterQueue" in repo.output


def test_allow_replace_in_the_environment_file_lets_a_reviewed_removal_through(
    repo: Repo,
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    template = app_template("dev", repo.artifact)
    del template["Resources"]["DeadLetterQueue"]
    repo.write_template("dev", template)
    env = (repo.root / "environments" / "dev.yaml").read_text(encoding="utf-8")
    repo.write_env("dev", env + "deploy:\n  allow_replace: [DeadLetterQueue]\n")
    assert repo.run("deploy", "--env", "dev") == 0


def test_plan_writes_markdown_to_file_and_step_summary(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = tmp_path / "plan.md"
    assert repo.run("plan", "--env", "dev", "--markdown", str(out)) == 0
    text = out.read_text(encoding="utf-8")
    # Every plan opens with its security changes (docs/plans.md), then the plan itself.
    assert text.startswith("### Security changes for TapStackdev (environment dev): none\n")
    assert "\n### Plan for TapStackdev (environment dev, CREATE" in text
    assert "| Add | `DataBucket` | AWS::S3::Bucket |" in text
    assert "**Summary:** 2 to add, 0 to modify, 0 to remove" in text
    assert summary.read_text(encoding="utf-8") == text


def test_plan_without_keep_leaves_no_stack_behind(repo: Repo) -> None:
    assert repo.run("plan", "--env", "dev") == 0
    client = boto3.client("cloudformation", region_name=REGION)
    live = [s for s in client.list_stacks()["StackSummaries"] if s["StackName"] == STACK]
    assert all(s["StackStatus"] == "DELETE_COMPLETE" for s in live)


def test_plan_keep_then_deploy_executes_exactly_that_change_set(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    github_output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    # A new account: the apply touches no bootstrap stack, so there is no bucket to apply from.
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    first = (repo.root / ".state" / "plan-dev.changeset").read_text(encoding="utf-8").strip()
    assert repo.run("deploy", "--env", "dev", "--change-set", first) == 3
    # The administrator's first deploy makes the bootstrap stack; plans are applied after it.
    client = boto3.client("cloudformation", region_name=REGION)
    client.delete_stack(StackName=STACK)
    assert repo.run("deploy", "--env", "dev") == 0
    with_second_queue(repo)
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    recorded = (repo.root / ".state" / "plan-dev.changeset").read_text(encoding="utf-8").strip()
    assert f"change-set-id: {recorded}" in repo.output
    assert github_output.read_text(encoding="utf-8").endswith(f"change-set-id={recorded}\n")
    assert repo.run("deploy", "--env", "dev", "--change-set", recorded) == 0
    assert client.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"


def test_plan_keep_records_the_change_set_in_the_overridden_state_folder(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SERVERLESSAPP_STATE_DIR", str(tmp_path / "state"))
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    recorded = (tmp_path / "state" / "plan-dev.changeset").read_text(encoding="utf-8").strip()
    assert f"change-set-id: {recorded}" in repo.output
    assert not (repo.root / ".state").exists()


def test_deploy_refuses_a_kept_plan_made_from_another_template(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    with_second_queue(repo)
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    kept = (repo.root / ".state" / "plan-dev.changeset").read_text(encoding="utf-8").strip()
    template = app_template("dev", repo.artifact, {"OtherQueue": {"Type": "AWS::SQS::Queue"}})
    repo.write_template("dev", template)
    assert repo.run("deploy", "--env", "dev", "--change-set", kept) == 3


def test_fails_if_credentials_belong_to_another_account(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write_env("dev", 'account_id: "999999999999"\nregion: us-east-1\n')
    assert repo.run("deploy", "--env", "dev") == 2
    err = capsys.readouterr().err
    assert "wrong AWS account" in err
    assert "123456789012" in err
    assert "999999999999" in err
    assert boto3.client("s3", region_name=REGION).list_buckets()["Buckets"] == []


def test_refuses_templates_built_for_another_handler(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.artifact = make_artifact(repo.root, b"print('changed')\n")
    assert repo.run("deploy", "--env", "dev") == 2
    assert "python -m generator synth" in capsys.readouterr().err


def test_refuses_a_missing_template(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    (repo.root / "templates" / "dev.json").unlink()
    assert repo.run("plan", "--env", "dev") == 2
    assert "templates/dev.json does not exist" in capsys.readouterr().err


def test_status_reports_the_deployed_template_is_the_committed_one(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    # moto has no drift detection: for a real-AWS environment unknown drift is exit 1.
    assert repo.run("status", "--env", "dev") == 1
    assert "template: up to date" in repo.output
    assert "drift: NOT ESTABLISHED" in repo.output
    with_second_queue(repo)
    assert repo.run("status", "--env", "dev") == 1
    assert "template: DIFFERS" in repo.output


def test_status_of_an_emulated_environment_counts_only_the_template(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generator.deploy.aws import make_clients

    repo.use(clients=lambda connection, env: make_clients(REGION))
    repo.write_env("dev", DEV_ENV + "emulator: true\n")
    assert repo.run("deploy", "--env", "dev") == 0
    assert repo.run("status", "--env", "dev") == 0
    assert "template: up to date" in repo.output
    assert "ignored for the emulated environment dev" in repo.output
    with_second_queue(repo)
    assert repo.run("status", "--env", "dev") == 1


def test_destroy_empties_every_version_and_deletes_the_stack(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    s3 = boto3.client("s3", region_name=REGION)
    bucket = f"serverlessapp-files-dev-{ACCOUNT}"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="uploads/a.txt", Body=b"1")
    s3.put_object(Bucket=bucket, Key="uploads/a.txt", Body=b"2")
    s3.delete_object(Bucket=bucket, Key="uploads/a.txt")  # leaves a delete marker
    assert repo.run("destroy", "--env", "dev", "--yes") == 0
    assert "3 object versions and delete markers deleted" in repo.output
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_destroy_refuses_an_environment_that_retains_data(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write_env("dev", f'account_id: "{ACCOUNT}"\nregion: {REGION}\n')
    assert repo.run("destroy", "--env", "dev", "--yes") == 2
    assert "retain_data=True" in capsys.readouterr().err


def test_destroy_without_yes_and_without_a_terminal_refuses(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    assert repo.run("destroy", "--env", "dev") == 2


def test_a_template_too_large_to_inline_goes_through_the_artifact_bucket(repo: Repo) -> None:
    template = app_template("dev", repo.artifact)
    template["Metadata"]["Padding"] = "x" * 60_000  # over CloudFormation's 51,200-byte inline limit
    repo.write_template("dev", template)
    assert repo.run("deploy", "--env", "dev") == 0
    keys = boto3.client("s3", region_name=REGION).list_objects_v2(
        Bucket=BUCKET, Prefix="templates/"
    )["Contents"]
    assert [k["Key"].split("/")[1] for k in keys] == [STACK]
