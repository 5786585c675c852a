"""Git wins, never silently: drift refuses a deploy (exit 3) by default, or is reverted with a
drift-aware change set (REVERT_DRIFT) when the environment opts in. On recorded responses."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY

from generator.deploy import apply
from generator.deploy.changeset import ChangeSetRequest, create_change_set, describe_change_set
from generator.deploy.driftplan import REFUSE, REVERT, assess
from generator.deploy.guard import judge
from generator.deploy.recovery import Ready
from generator.deploy.stacks import Stack
from generator.errors import ExitCode, GeneratorError
from tests.deploy.conftest import FakeClock, recorded
from tests.deploy.test_recorded import CHANGE_SET_ID, Make, context, spec, stub_change_set

STACK = "TapStackdev"
DEPLOYED = Stack.parse({"StackName": STACK, "StackStatus": "UPDATE_COMPLETE"})


def stub_drift(stubber: Any) -> None:
    stubber.add_response(
        "detect_stack_drift", {"StackDriftDetectionId": "d-1"}, {"StackName": STACK}
    )
    stubber.add_response(
        "describe_stack_drift_detection_status",
        {
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/TapStackdev/abc",
            "StackDriftDetectionId": "d-1",
            "StackDriftStatus": "DRIFTED",
            "DetectionStatus": "DETECTION_COMPLETE",
            "Timestamp": "2025-03-02T09:00:00+00:00",
        },
        {"StackDriftDetectionId": "d-1"},
    )
    stubber.add_response(
        "describe_stack_resource_drifts",
        recorded("describe_stack_resource_drifts.json"),
        {"StackName": STACK, "StackResourceDriftStatusFilters": ANY},
    )


def test_assess_names_the_drifted_properties(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stub_drift(stubber)
    view = assess(cfn, STACK, '{"Resources": {}}', FakeClock(), 600, REFUSE)
    assert view.refuses
    assert view.drifted_ids() == [
        "DataBucket (VersioningConfiguration/Status)",
        "DeadLetterQueue",
    ]
    assert view.marks("DataBucket") == (
        "drifted outside git: /VersioningConfiguration/Status NOT_EQUAL: expected Enabled "
        "actual Suspended",
    )


def test_deploy_refuses_drift_with_exit_3_and_deletes_the_change_set(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stub_drift(stubber)
    view = assess(cfn, STACK, '{"Resources": {}}', FakeClock(), 600, REFUSE)
    stub_change_set(stubber)
    change_set = describe_change_set(cfn, CHANGE_SET_ID)
    stubber.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    # Every replacement allowed, so the guard passes: only the drift refuses.
    allow = tuple(v.logical_id for v in judge(change_set.changes, ()).blocked)
    planned = apply.Planned(
        change_set, "UPDATE", judge(change_set.changes, allow), (), False, drift=view
    )
    with pytest.raises(GeneratorError) as caught:
        apply.execute(context(cfn, FakeClock(), []), spec(allow), planned)
    assert caught.value.exit_code == ExitCode.BLOCKED
    assert "DataBucket (VersioningConfiguration/Status)" in str(caught.value)
    assert "deploy.drift: revert" in str(caught.value)


def test_revert_policy_asks_for_a_drift_aware_change_set(stubbed: Make) -> None:
    cfn, _ = stubbed("cloudformation")
    ctx = context(cfn, FakeClock(), [])
    reverting = apply.StackSpec(
        environment="dev", stack_name=STACK, template_body='{"Resources": {}}', tags={},
        termination_protection=False, drift_policy=REVERT,
    )  # fmt: skip
    request = apply._request(ctx, reverting, Ready("UPDATE", DEPLOYED), [])
    assert request.deployment_mode == "REVERT_DRIFT"
    first = apply._request(ctx, reverting, Ready("CREATE", None), [])
    assert first.deployment_mode is None  # nothing deployed yet, nothing to revert
    refusing = apply._request(ctx, spec(), Ready("UPDATE", DEPLOYED), [])
    assert refusing.deployment_mode is None


def test_create_change_set_sends_the_deployment_mode(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    request = ChangeSetRequest(
        stack_name=STACK, name="cs", change_set_type="UPDATE", template_body="{}",
        template_url=None, parameters=(), tags={}, description="d",
        deployment_mode="REVERT_DRIFT",
    )  # fmt: skip
    expected = {
        "StackName": STACK, "ChangeSetName": "cs", "ChangeSetType": "UPDATE", "Parameters": [],
        "Capabilities": ANY, "Tags": [], "Description": "d", "NotificationARNs": [],
        "RollbackConfiguration": ANY, "TemplateBody": "{}", "DeploymentMode": "REVERT_DRIFT",
    }  # fmt: skip
    stubber.add_response("create_change_set", {"Id": CHANGE_SET_ID}, expected)
    assert create_change_set(cfn, request) == CHANGE_SET_ID
