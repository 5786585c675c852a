"""The emulator refuses what CloudFormation refuses (moto allows all of it), and applies a change
set asynchronously, so a deploy meets the same states and refusals as on AWS."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from generator.emulator import moto_fixes

REGION = "us-east-1"


def template(*queues: str) -> str:
    return json.dumps({"Resources": {q: {"Type": "AWS::SQS::Queue"} for q in queues}})


@pytest.fixture
def cfn() -> Iterator[Any]:
    with mock_aws(), moto_fixes.installed():
        yield boto3.client("cloudformation", region_name=REGION)


def change_set(cfn: Any, name: str, body: str, kind: str = "UPDATE") -> str:
    made = cfn.create_change_set(
        StackName="app", ChangeSetName=name, TemplateBody=body, ChangeSetType=kind
    )
    return str(made["Id"])


def created(cfn: Any) -> None:
    cfn.execute_change_set(ChangeSetName=change_set(cfn, "create", template("A"), "CREATE"))


def refusal(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def test_refuses_to_execute_a_change_set_twice(cfn: Any) -> None:
    created(cfn)
    again = change_set(cfn, "again", template("A", "B"))
    cfn.execute_change_set(ChangeSetName=again)
    code, message = refusal(lambda: cfn.execute_change_set(ChangeSetName=again))
    assert code == "InvalidChangeSetStatus"
    assert "cannot be executed in its current execution status of [EXECUTE_COMPLETE]" in message


def test_executing_one_change_set_deletes_the_stacks_others(cfn: Any) -> None:
    created(cfn)
    first = change_set(cfn, "first", template("A", "B"))
    second = change_set(cfn, "second", template("A", "C"))
    cfn.execute_change_set(ChangeSetName=first)
    code, _ = refusal(lambda: cfn.execute_change_set(ChangeSetName=second))
    assert code == "ChangeSetNotFound"
    names = [s["ChangeSetName"] for s in cfn.list_change_sets(StackName="app")["Summaries"]]
    assert "second" not in names


def test_refuses_a_second_change_set_of_the_same_name(cfn: Any) -> None:
    created(cfn)
    change_set(cfn, "same", template("A", "B"))
    code, message = refusal(lambda: change_set(cfn, "same", template("A", "C")))
    assert (code, message) == ("AlreadyExistsException", "ChangeSet [same] already exists")


def test_refuses_a_create_change_set_for_a_stack_that_exists(cfn: Any) -> None:
    created(cfn)
    code, message = refusal(lambda: change_set(cfn, "again", template("B"), "CREATE"))
    assert code == "ValidationError"
    assert "already exists and cannot be created again with the changeSetType [CREATE]" in message


def test_a_missing_change_set_is_change_set_not_found(cfn: Any) -> None:
    created(cfn)
    code, _ = refusal(lambda: cfn.describe_change_set(ChangeSetName="nothing", StackName="app"))
    assert code == "ChangeSetNotFound"


def test_lists_only_the_named_stacks_change_sets(cfn: Any) -> None:
    created(cfn)
    cfn.create_change_set(
        StackName="other", ChangeSetName="o", TemplateBody=template("Z"), ChangeSetType="CREATE"
    )
    listed = cfn.list_change_sets(StackName="app")["Summaries"]
    assert {s["StackName"] for s in listed} == {"app"}


def test_applies_asynchronously_and_refuses_changes_while_in_progress() -> None:
    with mock_aws(), moto_fixes.installed(apply_delay_seconds=0.3):
        cfn = boto3.client("cloudformation", region_name=REGION)
        made = change_set(cfn, "create", template("A"), "CREATE")
        cfn.execute_change_set(ChangeSetName=made)
        stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_IN_PROGRESS"
        described = cfn.describe_change_set(ChangeSetName=made)
        assert described["ExecutionStatus"] == "EXECUTE_IN_PROGRESS"
        code, message = refusal(lambda: change_set(cfn, "meanwhile", template("A", "B")))
        assert code == "ValidationError"
        assert "is in CREATE_IN_PROGRESS state and can not be updated" in message
        deadline = time.monotonic() + 10
        while cfn.describe_stacks(StackName="app")["Stacks"][0]["StackStatus"].endswith(
            "_IN_PROGRESS"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        events = [e["ResourceStatus"] for e in cfn.describe_stack_events(StackName="app")[
            "StackEvents"] if e["LogicalResourceId"] == "app"]  # fmt: skip
        assert events[:2] == ["CREATE_COMPLETE", "CREATE_IN_PROGRESS"]  # newest first
