"""What moto cannot produce, on recorded responses through botocore's Stubber."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from generator.config import parse_environment
from generator.deploy import apply, plan, protection
from generator.deploy.aws import Identity, check_account
from generator.deploy.changeset import describe_change_set
from generator.deploy.drift import stack_drift
from generator.deploy.guard import judge
from generator.deploy.recovery import prepare_stack
from generator.deploy.stacks import Stack, StackResource, wait_for_stack
from generator.errors import ExitCode, GeneratorError
from tests.deploy.conftest import ACCOUNT, REGION, FakeClock, Make, recorded, stack, stub_clients
from tests.deploy.fakes import FakeCloudFormation, Step

STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/TapStackdev/abc"
CHANGE_SET_ID = recorded("describe_change_set_replacement_page1.json")["ChangeSetId"]
TEMPLATE = {
    "Resources": {
        "DataBucket": {"Type": "AWS::S3::Bucket"},
        "DeadLetterQueue": {"Type": "AWS::SQS::Queue"},
        "Function": {"Type": "AWS::Lambda::Function"},
    }
}


def env(**settings_: Any) -> Any:
    data = {"account_id": ACCOUNT, "region": REGION, **settings_}
    return parse_environment("dev", data, "environments/dev.yaml")


def stub_change_set(stubber: Stubber, description: str | None = None) -> None:
    pages = [recorded(f"describe_change_set_replacement_page{n}.json") for n in (1, 2)]
    if description is not None:
        for page in pages:
            page["Description"] = description
    values = {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True}
    stubber.add_response("describe_change_set", pages[0], values)
    stubber.add_response(
        "describe_change_set",
        pages[1],
        {**values, "NextToken": "page-2"},
    )


def event(
    event_id: str,
    status: str,
    logical_id: str = "TapStackdev",
    reason: str = "",
    resource_type: str = "AWS::CloudFormation::Stack",
) -> dict[str, Any]:
    raw = {
        "StackId": STACK_ID,
        "EventId": event_id,
        "StackName": "TapStackdev",
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Timestamp": datetime.fromisoformat("2025-03-01T12:00:00+00:00"),
        "ResourceStatus": status,
    }
    if reason:
        raw["ResourceStatusReason"] = reason
    return raw


def events(*items: dict[str, Any]) -> dict[str, Any]:
    return {"StackEvents": list(items)}


def context(cfn: Any, clock: FakeClock, lines: list[str], environment: Any = None) -> apply.Context:
    return apply.Context(
        clients=stub_clients(cfn),
        identity=Identity(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/deployer", "aws"),
        env=environment or env(),
        clock=clock,
        out=lines.append,
        timeout_seconds=600,
    )


def spec(allow: tuple[str, ...] = ()) -> apply.StackSpec:
    return apply.StackSpec(
        environment="dev",
        stack_name="TapStackdev",
        template_body=json.dumps(TEMPLATE),
        tags={},
        allow=allow,
        termination_protection=False,
    )


# ----------------------------------------------------------------- replacement details


def test_reads_every_page_of_changes_with_replacement_details(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stub_change_set(stubber)
    change_set = describe_change_set(cfn, CHANGE_SET_ID)
    assert [c.logical_id for c in change_set.changes] == [
        "DataBucket", "Function", "EncryptionKey", "FunctionLogGroup", "ThrottlesAlarm",
    ]  # fmt: skip
    bucket = change_set.changes[0]
    assert bucket.replacement == "True"
    assert bucket.details[0].name == "BucketName"
    assert bucket.details[0].requires_recreation == "Always"


def test_guard_blocks_replacement_conditional_replacement_and_removal_of_stateful(
    stubbed: Make,
) -> None:
    cfn, stubber = stubbed("cloudformation")
    stub_change_set(stubber)
    verdict = judge(describe_change_set(cfn, CHANGE_SET_ID).changes, allow=())
    assert not verdict.ok
    assert [str(v) for v in verdict.blocked] == [
        "DataBucket (AWS::S3::Bucket): replaced because BucketName changed",
        "EncryptionKey (AWS::KMS::Key): possibly replaced (Conditional) because KeySpec changed",
        "FunctionLogGroup (AWS::Logs::LogGroup): removed",
    ]


def test_guard_allows_exactly_the_listed_ids(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stub_change_set(stubber)
    changes = describe_change_set(cfn, CHANGE_SET_ID).changes
    verdict = judge(changes, allow=("DataBucket", "EncryptionKey"))
    assert [v.logical_id for v in verdict.blocked] == ["FunctionLogGroup"]
    assert [v.logical_id for v in verdict.allowed] == ["DataBucket", "EncryptionKey"]
    assert judge(changes, allow=("DataBucket", "EncryptionKey", "FunctionLogGroup")).ok


def test_plan_marks_every_destructive_change_loudly(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stub_change_set(stubber)
    change_set = describe_change_set(cfn, CHANGE_SET_ID)
    view = plan.Plan("dev", "TapStackdev", change_set, "UPDATE", judge(change_set.changes, ()))
    text = plan.render_text(view)
    rows = {line.split()[2]: line for line in text.splitlines() if line.startswith("!!  ")}
    assert set(rows) == {"DataBucket", "EncryptionKey", "FunctionLogGroup"}
    assert "Properties: BucketName (recreates: Always)" in rows["DataBucket"]
    assert "Summary: 1 to add, 3 to modify, 1 to remove, 2 replacements" in text
    assert "BLOCKED: DataBucket" in text
    markdown = plan.render_markdown(view)
    assert "> [!CAUTION]" in markdown
    assert "> - `DataBucket` (AWS::S3::Bucket): replacement True" in markdown
    assert "| :warning: | Modify | `DataBucket` | AWS::S3::Bucket | True |" in markdown


def test_execute_refuses_a_blocked_change_set_and_deletes_it(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stub_change_set(stubber)
    change_set = describe_change_set(cfn, CHANGE_SET_ID)
    stubber.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    planned = apply.Planned(change_set, "UPDATE", judge(change_set.changes, ()), (), False)
    with pytest.raises(GeneratorError) as caught:
        apply.execute(context(cfn, FakeClock(), []), spec(), planned)
    assert caught.value.exit_code == ExitCode.BLOCKED


# ------------------------------------------------------------------- stack policy lifting


def test_update_lifts_the_stack_policy_only_for_allowed_ids_and_restores_it() -> None:
    deployed = [
        StackResource.parse(r)
        for r in recorded("list_stack_resources_update_rollback_failed.json")[
            "StackResourceSummaries"
        ]
    ]
    planned = apply.Planned(
        change_set=recorded_change_set(), change_set_type="UPDATE",
        verdict=judge((), ("DataBucket",)), deployed=tuple(deployed), created_stack=False,
    )  # fmt: skip
    cfn = FakeCloudFormation(
        before={"StackStatus": "UPDATE_COMPLETE", "EnableTerminationProtection": False},
        history=[event("e1", "UPDATE_COMPLETE")],
        steps=[
            Step([event("e3", "UPDATE_COMPLETE"), event("e2", "UPDATE_IN_PROGRESS")],
                 "UPDATE_COMPLETE"),
        ],
    )  # fmt: skip
    lines: list[str] = []
    apply.execute(context(cfn, FakeClock(), lines), spec(allow=("DataBucket",)), planned)
    assert lines[-1] == "TapStackdev: UPDATE_COMPLETE"
    assert cfn.executed
    # During the update only the allowed DataBucket may be replaced; afterwards all are guarded.
    lifted = protection.encode_policy(protection.stack_policy({"DeadLetterQueue"}))
    full = protection.encode_policy(protection.stack_policy({"DataBucket", "DeadLetterQueue"}))
    assert cfn.policies == [lifted, full]


def recorded_change_set() -> Any:
    from generator.deploy.changeset import ChangeSet

    return ChangeSet(CHANGE_SET_ID, "cs", STACK_ID, "TapStackdev", "CREATE_COMPLETE", "AVAILABLE")


# ------------------------------------------------------------------ failures and recovery


def test_failed_create_reports_the_earliest_failed_resource_not_the_rollback(
    stubbed: Make,
) -> None:
    cfn, stubber = stubbed("cloudformation")
    planned = apply.Planned(recorded_change_set(), "CREATE", judge((), ()), (), True)
    stubber.add_response(
        "describe_stack_events",
        events(event("ev-00", "REVIEW_IN_PROGRESS", reason="User Initiated")),
    )
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    stubber.add_response(
        "describe_stack_events", recorded("describe_stack_events_failed_create.json")
    )
    stubber.add_response("describe_stacks", stack("ROLLBACK_COMPLETE"))
    stubber.add_response("describe_stacks", stack("ROLLBACK_COMPLETE"))
    lines: list[str] = []
    with pytest.raises(GeneratorError) as caught:
        apply.execute(context(cfn, FakeClock(), lines), spec(), planned)
    assert caught.value.exit_code == ExitCode.FAILED
    message = str(caught.value)
    cause = message.split("Root cause (earliest failed resources):\n")[1]
    assert cause.startswith("  Function [AWS::Lambda::Function] CREATE_FAILED: Resource handler")
    assert "NoSuchKey" in cause
    assert "Rollback requested" not in cause
    assert "DeadLetterQueue" not in cause
    assert len([line for line in lines if "  ROLLBACK_COMPLETE" in line]) == 1  # one line per event
    assert len(lines) == 11  # "executing ..." plus ten events, oldest first
    assert "CREATE_IN_PROGRESS" in lines[1]


def test_update_rollback_failed_names_blockers_and_the_continue_command(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", stack("UPDATE_ROLLBACK_FAILED"))
    stubber.add_response(
        "list_stack_resources", recorded("list_stack_resources_update_rollback_failed.json")
    )
    with pytest.raises(GeneratorError) as caught:
        prepare_stack(cfn, "TapStackdev", env(), FakeClock(), [].append, 600)
    assert caught.value.exit_code == ExitCode.FAILED
    message = str(caught.value)
    assert "Function [AWS::Lambda::Function] UPDATE_FAILED: Resource handler" in message
    assert "aws cloudformation continue-update-rollback --stack-name TapStackdev --region " \
        "us-east-1\n" in message  # fmt: skip
    assert "--resources-to-skip Function" in message
    assert "DataBucket" not in message


def _deleted_resources() -> dict[str, Any]:
    summaries = recorded("list_stack_resources_update_rollback_failed.json")[
        "StackResourceSummaries"
    ]
    return {
        "StackResourceSummaries": [
            {**s, "ResourceStatus": "DELETE_COMPLETE", "ResourceStatusReason": ""}
            for s in summaries
        ]
    }


def test_rollback_complete_is_deleted_and_recreated_when_nothing_is_retained(
    stubbed: Make,
) -> None:
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", stack("ROLLBACK_COMPLETE"))
    stubber.add_response("list_stack_resources", _deleted_resources())
    stubber.add_response("describe_stack_events", events(event("e1", "ROLLBACK_COMPLETE")))
    stubber.add_response("delete_stack", {}, {"StackName": STACK_ID})
    stubber.add_response(
        "describe_stack_events",
        events(event("e3", "DELETE_COMPLETE"), event("e2", "DELETE_IN_PROGRESS"),
               event("e1", "ROLLBACK_COMPLETE")),
    )  # fmt: skip
    stubber.add_response("describe_stacks", stack("DELETE_COMPLETE"))
    lines: list[str] = []
    environment = env(retain_data=False, deploy={"recreate_failed_stack": True})
    ready = prepare_stack(cfn, "TapStackdev", environment, FakeClock(), lines.append, 600)
    assert ready.change_set_type == "CREATE"
    assert ready.stack is None
    assert any("retains nothing: deleting it" in line for line in lines)


def test_rollback_complete_stops_with_the_delete_command_when_data_is_retained(
    stubbed: Make,
) -> None:
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", stack("ROLLBACK_COMPLETE"))
    environment = env(retain_data=True, deploy={"recreate_failed_stack": True})
    with pytest.raises(GeneratorError) as caught:
        prepare_stack(cfn, "TapStackdev", environment, FakeClock(), [].append, 600)
    assert caught.value.exit_code == ExitCode.FAILED
    assert "`aws cloudformation delete-stack --stack-name TapStackdev --region us-east-1`" in str(
        caught.value
    )


def test_rollback_complete_holding_retained_resources_is_not_deleted(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", stack("ROLLBACK_COMPLETE"))
    kept = _deleted_resources()
    kept["StackResourceSummaries"][0]["ResourceStatus"] = "DELETE_SKIPPED"
    stubber.add_response("list_stack_resources", kept)
    environment = env(retain_data=False, deploy={"recreate_failed_stack": True})
    with pytest.raises(GeneratorError) as caught:
        prepare_stack(cfn, "TapStackdev", environment, FakeClock(), [].append, 600)
    assert "still holds ['DataBucket']" in str(caught.value)


def test_another_deploy_in_progress_is_waited_out(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"))
    stubber.add_response("describe_stack_events", events(event("e1", "UPDATE_IN_PROGRESS")))
    stubber.add_response("describe_stack_events", events(event("e1", "UPDATE_IN_PROGRESS")))
    stubber.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"))
    stubber.add_response(
        "describe_stack_events",
        events(event("e2", "UPDATE_COMPLETE"), event("e1", "UPDATE_IN_PROGRESS")),
    )
    stubber.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    stubber.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    clock, lines = FakeClock(), []
    ready = prepare_stack(cfn, "TapStackdev", env(), clock, lines.append, 600)
    assert ready.change_set_type == "UPDATE"
    assert clock.sleeps == [1.0]  # the first look is after a second (then 3 s, 5 s, every 5 s)
    assert lines[0] == "stack TapStackdev is UPDATE_IN_PROGRESS (another operation); waiting " \
        "for it to finish"  # fmt: skip
    assert "UPDATE_COMPLETE" in lines[1]


def test_times_out_while_the_stack_is_still_in_progress(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    for _ in range(5):  # at 0 s, 1 s, 3 s, 5 s and 10 s
        stubber.add_response("describe_stack_events", events(event("e1", "UPDATE_IN_PROGRESS")))
        stubber.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"))
    with pytest.raises(GeneratorError) as caught:
        wait_for_stack(cfn, STACK_ID, FakeClock(), [].append, 10, since_event="e1")
    assert caught.value.exit_code == ExitCode.TIMED_OUT
    assert "still UPDATE_IN_PROGRESS" in str(caught.value)


def test_prints_a_heartbeat_while_nothing_happens(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    for _ in range(16):  # 65 s of silence: at 0, 1, 3 s, then every 5 s
        stubber.add_response("describe_stack_events", events(event("e1", "UPDATE_IN_PROGRESS")))
        stubber.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"))
    stubber.add_response("describe_stack_events", events(event("e1", "UPDATE_IN_PROGRESS")))
    stubber.add_response("describe_stacks", stack("UPDATE_COMPLETE"))
    lines: list[str] = []
    outcome = wait_for_stack(cfn, STACK_ID, FakeClock(), lines.append, 600, since_event="e1")
    assert outcome.succeeded
    assert lines == ["... still UPDATE_IN_PROGRESS (1m00s elapsed)"]


# --------------------------------------------------------------------- account and settings


def test_rejects_credentials_of_another_account(stubbed: Make) -> None:
    sts, stubber = stubbed("sts")
    stubber.add_response(
        "get_caller_identity",
        {"Account": "999999999999", "Arn": "arn:aws:iam::999999999999:user/x", "UserId": "AID"},
    )
    with pytest.raises(GeneratorError) as caught:
        check_account(sts, ACCOUNT, "dev")
    assert caught.value.exit_code == ExitCode.USAGE
    assert "999999999999" in str(caught.value)
    assert ACCOUNT in str(caught.value)


def test_turns_termination_protection_on_only_when_it_differs(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response(
        "update_termination_protection",
        {"StackId": STACK_ID},
        {"StackName": "TapStackdev", "EnableTerminationProtection": True},
    )
    assert protection.reconcile_termination_protection(cfn, "TapStackdev", False, True)
    assert not protection.reconcile_termination_protection(cfn, "TapStackdev", True, True)


def test_status_lists_drifted_resources(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-1"})
    in_progress = {
        "StackId": STACK_ID, "StackDriftDetectionId": "d-1",
        "DetectionStatus": "DETECTION_IN_PROGRESS",
        "Timestamp": datetime.fromisoformat("2025-03-02T09:00:00+00:00"),
    }  # fmt: skip
    stubber.add_response("describe_stack_drift_detection_status", in_progress)
    stubber.add_response(
        "describe_stack_drift_detection_status",
        {**in_progress, "DetectionStatus": "DETECTION_COMPLETE", "StackDriftStatus": "DRIFTED"},
    )
    stubber.add_response(
        "describe_stack_resource_drifts",
        recorded("describe_stack_resource_drifts.json"),
        {"StackName": "TapStackdev", "StackResourceDriftStatusFilters": ANY},
    )
    report = stack_drift(cfn, "TapStackdev", FakeClock(), 600)
    assert report.status == "DRIFTED"
    assert [(d.logical_id, d.status) for d in report.drifted] == [
        ("DataBucket", "MODIFIED"),
        ("DeadLetterQueue", "DELETED"),
    ]
    assert report.drifted[0].differences == (
        "/VersioningConfiguration/Status NOT_EQUAL: expected Enabled actual Suspended",
    )


def stub_kept_template(stubber: Stubber, template: dict[str, Any]) -> None:
    """GetTemplate of the kept change set (its own template, as CloudFormation kept it)."""
    stubber.add_response(
        "get_template",
        {"TemplateBody": json.dumps(template, indent=1)},
        {"StackName": "TapStackdev", "ChangeSetName": CHANGE_SET_ID, "TemplateStage": "Original"},
    )


def test_refuses_a_kept_plan_when_the_stack_changed_since(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    kept_spec = spec()
    stub_change_set(stubber)  # made at 2025-03-01T12:00:00Z
    stub_kept_template(stubber, TEMPLATE)
    changed = datetime.fromisoformat("2025-03-01T13:00:00+00:00")
    stubber.add_response("describe_stacks", stack("UPDATE_COMPLETE", LastUpdatedTime=changed))
    # The rollback triggers a plan would set come from the stack's alarms.
    stubber.add_response(
        "list_stack_resources", recorded("list_stack_resources_update_rollback_failed.json")
    )
    with pytest.raises(GeneratorError) as caught:
        apply.load_kept(context(cfn, FakeClock(), []), kept_spec, CHANGE_SET_ID)
    assert caught.value.exit_code == ExitCode.BLOCKED
    assert (
        "stack TapStackdev was updated at 2025-03-01T13:00:00+00:00 after the plan was made at "
        "2025-03-01T12:00:00+00:00" in str(caught.value)
    )


def test_accepts_a_kept_plan_when_template_and_stack_are_unchanged(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    kept_spec = spec(allow=("DataBucket", "EncryptionKey", "FunctionLogGroup"))
    planned_on = datetime.fromisoformat("2025-02-01T00:00:00+00:00")
    # The recorded Description names another template: it is not read.
    stub_change_set(stubber)
    stub_kept_template(stubber, TEMPLATE)
    stubber.add_response("describe_stacks", stack("UPDATE_COMPLETE", LastUpdatedTime=planned_on))
    stubber.add_response(
        "list_stack_resources", recorded("list_stack_resources_update_rollback_failed.json")
    )
    planned = apply.load_kept(context(cfn, FakeClock(), []), kept_spec, CHANGE_SET_ID)
    assert planned.change_set_type == "UPDATE"
    assert planned.verdict.ok


def _stack(*, protected: bool) -> Stack:
    return Stack("ServerlessAppBootstrap", STACK_ID, "UPDATE_COMPLETE",
                 termination_protection=protected)  # fmt: skip


def test_bootstrap_protection_is_only_ever_turned_on(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    bootstrap = apply.StackSpec(
        "dev", "ServerlessAppBootstrap", json.dumps(TEMPLATE), {},
        termination_protection=False, protection_only_enables=True,
    )  # fmt: skip
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []})
    stubber.add_response("set_stack_policy", {})
    apply.reconcile(context(cfn, FakeClock(), []), bootstrap, _stack(protected=True))
    stubber.assert_no_pending_responses()
    protect = apply.StackSpec(
        "dev", "ServerlessAppBootstrap", json.dumps(TEMPLATE), {},
        termination_protection=True, protection_only_enables=True,
    )  # fmt: skip
    stubber.add_response(
        "update_termination_protection",
        {"StackId": STACK_ID},
        {"StackName": "ServerlessAppBootstrap", "EnableTerminationProtection": True},
    )
    stubber.add_response("list_stack_resources", {"StackResourceSummaries": []})
    stubber.add_response("set_stack_policy", {})
    lines: list[str] = []
    apply.reconcile(context(cfn, FakeClock(), lines), protect, _stack(protected=False))
    assert lines == ["termination protection of ServerlessAppBootstrap: on"]


def test_passes_the_cloudformation_role_and_explicit_settings_to_the_change_set(
    stubbed: Make,
) -> None:
    from generator.deploy.changeset import ChangeSetRequest, create_change_set

    cfn, stubber = stubbed("cloudformation")
    role = f"arn:aws:iam::{ACCOUNT}:role/ServerlessAppCloudFormation-dev"
    trigger = {"Arn": "arn:aws:cloudwatch:us-east-1:1:alarm:a", "Type": "AWS::CloudWatch::Alarm"}
    stubber.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ID, "StackId": STACK_ID},
        {
            "StackName": "TapStackdev", "ChangeSetName": "cs", "ChangeSetType": "UPDATE",
            "Parameters": [], "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            "Tags": [{"Key": "Environment", "Value": "dev"}], "Description": "d",
            "NotificationARNs": ["arn:aws:sns:us-east-1:123456789012:ops"],
            "RollbackConfiguration": {"RollbackTriggers": [trigger], "MonitoringTimeInMinutes": 5},
            "RoleARN": role, "TemplateBody": "{}",
        },
    )  # fmt: skip
    request = ChangeSetRequest(
        "TapStackdev", "cs", "UPDATE", "{}", None, (), {"Environment": "dev"}, "d",
        ("arn:aws:sns:us-east-1:123456789012:ops",), (trigger,), 5, role,
    )  # fmt: skip
    assert create_change_set(cfn, request) == CHANGE_SET_ID


def test_plan_leaves_the_empty_stack_when_the_role_may_not_delete_it(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    stubber.add_response("delete_change_set", {})
    stubber.add_response("describe_stacks", stack("REVIEW_IN_PROGRESS"))
    stubber.add_client_error("delete_stack", "AccessDenied", "not authorized: DeleteStack")
    planned = apply.Planned(recorded_change_set(), "CREATE", judge((), ()), (), created_stack=True)
    lines: list[str] = []
    apply.discard(context(cfn, FakeClock(), lines), planned)
    assert "left the empty stack TapStackdev in REVIEW_IN_PROGRESS" in lines[0]
