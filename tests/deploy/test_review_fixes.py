"""Integrity of stored objects, fail-closed status, waits, one deadline, outcomes, destroy."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.parsers import ResponseParserError
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from moto import mock_aws

from generator.clock import Deadline
from generator.deploy import apply
from generator.deploy.artifacts import template_location, upload_artifact
from generator.deploy.changeset import PlanRecord, describe_change_set, wait_for_change_set
from generator.deploy.drift import stack_drift
from generator.deploy.events import Event, Outcome, failure_message
from generator.deploy.guard import judge
from generator.errors import ExitCode, GeneratorError
from tests.deploy.conftest import (
    ACCOUNT,
    DEV_ENV,
    REGION,
    FakeClock,
    Repo,
    app_template,
    stack,
    stub_clients,
)
from tests.deploy.test_recorded import (
    CHANGE_SET_ID,
    STACK_ID,
    _change_set,
    context,
    event,
    events,
    spec,
)

Make = Callable[[str], tuple[Any, Stubber]]
BUCKET = f"serverlessapp-artifacts-{ACCOUNT}-{REGION}"
STACK = "TapStackdev"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _large(repo: Repo) -> str:
    template = app_template("dev", repo.artifact)
    template["Metadata"]["Padding"] = "x" * 60_000  # over the 51,200-byte inline limit
    repo.write_template("dev", template)
    return (repo.root / "templates" / "dev.json").read_text(encoding="utf-8")


# ------------------------------------------------------------- 1. stored objects are ours


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


# --------------------------------------------------------------- 2. status fails closed


def _drift_status(stubber: Stubber, detection: str, drift: str) -> None:
    stubber.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-1"})
    stubber.add_response(
        "describe_stack_drift_detection_status",
        {
            "StackId": STACK_ID, "StackDriftDetectionId": "d-1", "DetectionStatus": detection,
            "StackDriftStatus": drift, "DetectionStatusReason": "Failed to detect drift on "
            "resource [Function]", "Timestamp": datetime.fromisoformat("2025-03-02T09:00:00+00:00"),
        },
    )  # fmt: skip


def test_drift_is_not_established_when_detection_failed(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    _drift_status(stubber, "DETECTION_FAILED", "IN_SYNC")
    stubber.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": []})
    report = stack_drift(cfn, STACK, FakeClock(), 600)
    assert not report.established
    assert "Failed to detect drift on resource [Function]" in report.why_unknown()


def test_drift_is_not_established_when_resources_were_not_checked(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    _drift_status(stubber, "DETECTION_COMPLETE", "IN_SYNC")
    not_checked = {
        "StackId": STACK_ID, "LogicalResourceId": "Function", "ResourceType":
        "AWS::Lambda::Function", "StackResourceDriftStatus": "NOT_CHECKED",
        "Timestamp": datetime.fromisoformat("2025-03-02T09:00:00+00:00"),
    }  # fmt: skip
    stubber.add_response(
        "describe_stack_resource_drifts",
        {"StackResourceDrifts": [not_checked]},
        {"StackName": STACK, "StackResourceDriftStatusFilters": ANY},
    )
    report = stack_drift(cfn, STACK, FakeClock(), 600)
    assert not report.established
    assert report.not_checked == ("Function",)
    assert report.drifted == ()


def test_an_unparseable_drift_answer_is_reported_as_unavailable_on_this_endpoint() -> None:
    class Emulator:
        def detect_stack_drift(self, **_: Any) -> Any:
            raise ResponseParserError("Unable to parse response (not well-formed), invalid XML")

    report = stack_drift(Emulator(), STACK, FakeClock(), 600)
    assert report.unavailable
    assert report.note == "drift detection unavailable on this endpoint"


def _status_session(repo: Repo, stubbed: Make, monkeypatch: pytest.MonkeyPatch) -> Stubber:
    cfn, cfn_stub = stubbed("cloudformation")
    sts, sts_stub = stubbed("sts")
    sts_stub.add_response(
        "get_caller_identity",
        {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:role/plan", "UserId": "AROA"},
    )
    repo.use(clients=lambda connection, env: stub_clients(cfn, None, sts))
    body = (repo.root / "templates" / "dev.json").read_bytes()
    tags = [{"Key": "template-sha256", "Value": hashlib.sha256(body).hexdigest()}]
    cfn_stub.add_response("describe_stacks", stack("UPDATE_COMPLETE", Tags=tags))
    return cfn_stub


def test_status_exits_1_and_says_why_when_drift_detection_failed(
    repo: Repo, stubbed: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfn_stub = _status_session(repo, stubbed, monkeypatch)
    _drift_status(cfn_stub, "DETECTION_FAILED", "IN_SYNC")
    cfn_stub.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": []})
    assert repo.run("status", "--env", "dev") == 1
    assert "  template: up to date" in repo.lines
    assert any(
        line.startswith("  drift: NOT ESTABLISHED (drift detection incomplete: Failed to detect")
        for line in repo.lines
    ), repo.output


def test_status_of_an_emulated_environment_ignores_an_endpoint_without_drift_detection(
    repo: Repo, stubbed: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write_env("dev", DEV_ENV + "emulator: true\n")
    cfn_stub = _status_session(repo, stubbed, monkeypatch)
    cfn_stub.add_client_error("detect_stack_drift", "InternalFailure", "not implemented", 500)
    assert repo.run("status", "--env", "dev") == 0
    assert any("ignored for the emulated environment dev" in line for line in repo.lines)


# ------------------------------------------------- 3. a stale status right after execute


def test_execute_does_not_accept_the_previous_final_status_as_its_outcome(
    stubbed: Make,
) -> None:
    cfn, stubber = stubbed("cloudformation")
    planned = apply.Planned(_change_set(), "UPDATE", judge((), ()), (), False)
    earlier = datetime.fromisoformat("2025-02-01T00:00:00+00:00")
    stubber.add_response(
        "describe_stacks",
        stack("UPDATE_COMPLETE", LastUpdatedTime=earlier, EnableTerminationProtection=False),
    )
    stubber.add_response("set_stack_policy", {})
    stubber.add_response("describe_stack_events", events(event("e1", "UPDATE_COMPLETE")))
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    # First poll: nothing new yet, and the stack still shows the previous update's result.
    stubber.add_response("describe_stack_events", events(event("e1", "UPDATE_COMPLETE")))
    stubber.add_response("describe_stacks", stack("UPDATE_COMPLETE", LastUpdatedTime=earlier))
    stubber.add_response(
        "describe_change_set",
        {"ChangeSetId": CHANGE_SET_ID, "ExecutionStatus": "AVAILABLE", "Status": "CREATE_COMPLETE"},
        {"ChangeSetName": CHANGE_SET_ID},
    )
    # Second poll: the update ran and failed.
    stubber.add_response(
        "describe_stack_events",
        events(
            event("e4", "UPDATE_ROLLBACK_COMPLETE"),
            event("e3", "UPDATE_FAILED", "DeadLetterQueue", "Access denied", "AWS::SQS::Queue"),
            event("e2", "UPDATE_IN_PROGRESS", reason="User Initiated"),
            event("e1", "UPDATE_COMPLETE"),
        ),
    )
    stubber.add_response("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE"))
    stubber.add_response("describe_stacks", stack("UPDATE_ROLLBACK_COMPLETE"))
    stubber.add_response("set_stack_policy", {})
    clock = FakeClock()
    with pytest.raises(GeneratorError) as caught:
        apply.execute(context(cfn, clock, []), spec(), planned)
    assert caught.value.exit_code == ExitCode.FAILED
    assert "DeadLetterQueue [AWS::SQS::Queue] UPDATE_FAILED: Access denied" in str(caught.value)
    assert clock.sleeps == [5.0]


# ------------------------------------------------------------------ 4. one deadline


def test_execute_waits_only_for_what_is_left_of_the_deploys_deadline(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    planned = apply.Planned(_change_set(), "CREATE", judge((), ()), (), True)
    stubber.add_response("describe_stack_events", events(event("e1", "REVIEW_IN_PROGRESS")))
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    for _ in range(3):  # 10 s left of a 600 s limit: polls at 0, 5 and 10 s, then exit 5
        stubber.add_response("describe_stack_events", events(event("e1", "REVIEW_IN_PROGRESS")))
        stubber.add_response("describe_stacks", stack("CREATE_IN_PROGRESS"))
    stubber.add_response("describe_stacks", stack("CREATE_IN_PROGRESS"))
    stubber.add_response("set_stack_policy", {})
    clock = FakeClock()
    ctx = context(cfn, clock, [])
    ctx = replace(ctx, deadline=Deadline(clock, 10))
    with pytest.raises(GeneratorError) as caught:
        apply.execute(ctx, spec(), planned)
    assert caught.value.exit_code == ExitCode.TIMED_OUT
    assert clock.t == 1010.0


def test_execute_refuses_to_start_once_the_deadline_has_passed(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    planned = apply.Planned(_change_set(), "UPDATE", judge((), ()), (), False)
    stubber.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    clock = FakeClock()
    ctx = context(cfn, clock, [])
    ctx = replace(ctx, deadline=Deadline(clock, -1))
    with pytest.raises(GeneratorError) as caught:
        apply.execute(ctx, spec(), planned)  # no execute_change_set: the stubber would refuse
    assert caught.value.exit_code == ExitCode.TIMED_OUT
    assert "nothing was executed" in str(caught.value)


class TickingClock(FakeClock):
    """Every reading of the time costs 20 seconds: the phases of a deploy add up."""

    def now(self) -> float:
        self.t += 20.0
        return self.t


def test_one_deadline_bounds_the_whole_deploy(
    repo: Repo, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo.use(clock=TickingClock())
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    # Each phase alone takes well under a minute; together (bootstrap, plan, wait) they do not.
    assert repo.run("deploy", "--env", "dev", "--timeout-minutes", "1") == 5
    assert ":hourglass: **Timed out** (exit 5)" in summary.read_text(encoding="utf-8")


# ------------------------------------------------ 5. change set read errors are failures


def test_a_change_set_that_cannot_be_read_during_creation_is_a_failure_not_blocked(
    stubbed: Make,
) -> None:
    cfn, stubber = stubbed("cloudformation")
    stubber.add_client_error("describe_change_set", "AccessDenied", "not authorized")
    with pytest.raises(GeneratorError) as caught:
        wait_for_change_set(cfn, CHANGE_SET_ID, FakeClock())
    assert caught.value.exit_code == ExitCode.FAILED


def test_a_kept_plan_whose_change_set_is_gone_is_stale(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stubber.add_client_error("describe_change_set", "ChangeSetNotFound", "ChangeSet not found")
    with pytest.raises(GeneratorError) as caught:
        apply.load_kept(context(cfn, FakeClock(), []), spec(), CHANGE_SET_ID)
    assert caught.value.exit_code == ExitCode.BLOCKED
    assert "stale plan" in str(caught.value)
    stubber.add_client_error("describe_change_set", "Throttling", "Rate exceeded")
    with pytest.raises(GeneratorError) as caught:
        describe_change_set(cfn, CHANGE_SET_ID)
    assert caught.value.exit_code == ExitCode.FAILED


# ------------------------------------------------- 6. kept plans on a REVIEW_IN_PROGRESS stack


def test_a_kept_plan_on_a_review_in_progress_stack_is_not_stale(repo: Repo, aws: None) -> None:
    client = boto3.client("cloudformation", region_name=REGION)
    assert repo.run("deploy", "--env", "dev") == 0  # the bootstrap stack and bucket
    client.delete_stack(StackName=STACK)
    assert repo.run("plan", "--env", "dev", "--keep") == 0  # leaves STACK in REVIEW_IN_PROGRESS
    assert client.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == (
        "REVIEW_IN_PROGRESS"
    )
    assert repo.run("plan", "--env", "dev", "--keep") == 0  # planned on that stack
    kept = (repo.root / ".state" / "plan-dev.changeset").read_text(encoding="utf-8").strip()
    record = PlanRecord.decode(client.describe_change_set(ChangeSetName=kept)["Description"])
    assert record is not None
    assert record.stack_last_updated == "new"
    assert repo.run("deploy", "--env", "dev", "--change-set", kept) == 0, repo.output
    assert f"{STACK}: CREATE_COMPLETE" in repo.lines


# --------------------------------------------------------- 7. the outcome in the job summary


def test_deploy_outcomes_are_appended_to_the_step_summary(
    repo: Repo, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert repo.run("deploy", "--env", "dev") == 0
    text = summary.read_text(encoding="utf-8")
    assert "### Deploy outcome for TapStackdev (environment dev)" in text
    assert ":white_check_mark: **Applied** change set `deploy-dev-" in text
    assert "**Applied:** 2 to add, 0 to modify, 0 to remove" in text
    summary.unlink()
    assert repo.run("deploy", "--env", "dev") == 0
    assert "**No changes**: already up to date." in summary.read_text(encoding="utf-8")
    summary.unlink()
    template = app_template("dev", repo.artifact)
    del template["Resources"]["DeadLetterQueue"]
    repo.write_template("dev", template)
    assert repo.run("deploy", "--env", "dev") == 3
    text = summary.read_text(encoding="utf-8")
    assert ":no_entry: **Blocked** (exit 3)" in text
    assert "- `DeadLetterQueue` (AWS::SQS::Queue): removed" in text


def test_a_failed_deploy_puts_its_root_cause_in_the_step_summary(
    repo: Repo, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    repo.write_template(
        "dev",
        app_template("dev", repo.artifact, {"Bad": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": {"Fn::GetAtt": ["Missing", "Arn"]}}}}),
    )  # fmt: skip
    assert repo.run("deploy", "--env", "dev") == 4
    text = summary.read_text(encoding="utf-8")
    assert ":x: **Failed** (exit 4)" in text
    assert "```text" in text


# -------------------------------------------------------- 9. a reason for every failed create


def test_failed_create_without_a_resource_failure_names_the_stack_events_reason() -> None:
    stamp = datetime.fromisoformat("2025-03-01T12:00:00+00:00")
    failed = Event(
        "e2", stamp, STACK, "AWS::CloudFormation::Stack", "CREATE_FAILED",
        "BucketAlreadyExists: serverlessapp-files-dev-123456789012 already exists",
    )  # fmt: skip
    started = Event("e1", stamp, STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "")
    message = failure_message(
        "Creation", STACK, Outcome("ROLLBACK_COMPLETE", "", (started, failed))
    )
    assert message.splitlines()[-1] == (
        "  TapStackdev CREATE_FAILED: BucketAlreadyExists: serverlessapp-files-dev-123456789012 "
        "already exists"
    )
    bare = failure_message("Creation", STACK, Outcome("ROLLBACK_COMPLETE", "", (started,)))
    assert "describe-stack-events --stack-name TapStackdev" in bare


def test_resources_the_template_declares_uncheckable_do_not_fail_drift() -> None:
    from generator.deploy.drift import DriftReport, uncheckable

    body = json.dumps({"Resources": {
        "Secret": {"Type": "AWS::SecretsManager::Secret",
                   "Metadata": {"ServerlessApp": {"driftNotChecked": "value unreadable"}}},
        "Function": {"Type": "AWS::Lambda::Function"},
    }})  # fmt: skip
    reasons = uncheckable(body)
    assert reasons == {"Secret": "value unreadable"}
    only_secret = DriftReport("IN_SYNC", (), "incomplete", ("Secret",), detection_failed=True)
    excused = only_secret.excusing(reasons)
    assert excused.established
    assert excused.excused == ("Secret",)
    both = DriftReport("IN_SYNC", (), "incomplete", ("Function", "Secret"), detection_failed=True)
    assert not both.excusing(reasons).established
    assert both.excusing(reasons).not_checked == ("Function",)
