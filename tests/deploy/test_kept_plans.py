"""Kept plans: read errors are failures, a vanished change set is stale, a REVIEW_IN_PROGRESS
stack is not."""

from __future__ import annotations

import boto3
import pytest

from generator.deploy import apply
from generator.deploy.changeset import PlanRecord, describe_change_set, wait_for_change_set
from generator.errors import ExitCode, GeneratorError
from tests.deploy.conftest import (
    REGION,
    FakeClock,
    Make,
    Repo,
)
from tests.deploy.test_recorded import (
    CHANGE_SET_ID,
    context,
    spec,
)

STACK = "TapStackdev"


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
