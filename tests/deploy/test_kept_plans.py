"""Kept plans: read errors are failures, a vanished change set is stale, a REVIEW_IN_PROGRESS
stack is not; a plan is fresh only by CloudFormation's own facts (the change set's template,
parameters, capabilities and status, the stack's last change and role), never by the change
set's Description, which its creator writes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import boto3
import pytest

from generator.contracts import TEMPLATE_TAG
from generator.deploy import apply, driftplan
from generator.deploy.changeset import (
    PlanRecord,
    canonical_template_sha256,
    describe_change_set,
    template_sha256,
    wait_for_change_set,
)
from generator.deploy.drift import DriftReport
from generator.errors import ExitCode, GeneratorError
from generator.render import to_json
from tests.deploy.conftest import (
    ACCOUNT,
    REGION,
    FakeClock,
    Make,
    Repo,
    app_template,
)
from tests.deploy.fakes import FakeKeptPlan
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


# ------------------------------------------------ freshness from CloudFormation's own facts

PLANNED_AT = datetime.fromisoformat("2025-03-01T12:00:00+00:00")
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/abc"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/TapStackdev-cloudformation"
COMMITTED = {
    "Resources": {
        "DataBucket": {"Type": "AWS::S3::Bucket"},
        "DeadLetterQueue": {"Type": "AWS::SQS::Queue"},
    }
}
OTHER = {"Resources": {"DataBucket": {"Type": "AWS::S3::Bucket"}}}


def committed_spec(template: dict[str, Any] = COMMITTED, **changes: Any) -> apply.StackSpec:
    """The app stack as the committed file says, written the way the generator writes it."""
    base = apply.StackSpec(
        environment="dev", stack_name=STACK, template_body=to_json(template), tags={},
        termination_protection=False,
    )  # fmt: skip
    return replace(base, **changes)


def kept(
    template: Any = COMMITTED,
    description: str = "",
    stack_fields: dict[str, Any] | None = None,
    **change_set_fields: Any,
) -> FakeKeptPlan:
    """A kept change set made at PLANNED_AT on a stack last updated a month before."""
    change_set = {
        "ChangeSetId": CHANGE_SET_ID,
        "ChangeSetName": "kept-dev-1",
        "StackId": STACK_ID,
        "StackName": STACK,
        "Status": "CREATE_COMPLETE",
        "ExecutionStatus": "AVAILABLE",
        "CreationTime": PLANNED_AT,
        "Description": description,
        "Parameters": [],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        "Changes": [],
        **change_set_fields,
    }
    stack_now = {
        "StackName": STACK,
        "StackId": STACK_ID,
        "StackStatus": "UPDATE_COMPLETE",
        "CreationTime": datetime.fromisoformat("2025-01-01T00:00:00+00:00"),
        "LastUpdatedTime": datetime.fromisoformat("2025-02-01T00:00:00+00:00"),
        **(stack_fields or {}),
    }
    return FakeKeptPlan(change_set, template, stack_now)


def load(cfn: FakeKeptPlan, kept_spec: apply.StackSpec | None = None) -> apply.Planned:
    return apply.load_kept(
        context(cfn, FakeClock(), []), kept_spec or committed_spec(), CHANGE_SET_ID
    )


def refusal(cfn: FakeKeptPlan, kept_spec: apply.StackSpec | None = None) -> str:
    """Why the kept plan is refused (it must be refused as stale: exit 3)."""
    with pytest.raises(GeneratorError) as caught:
        load(cfn, kept_spec)
    assert caught.value.exit_code == ExitCode.BLOCKED
    assert "stale plan" in str(caught.value)
    return str(caught.value)


def test_executes_a_fresh_kept_plan_judged_by_its_own_template() -> None:
    cfn = kept()
    planned = load(cfn)
    assert planned.change_set_type == "UPDATE"
    assert planned.change_set.id == CHANGE_SET_ID
    assert cfn.template_reads == [
        {"StackName": STACK, "ChangeSetName": CHANGE_SET_ID, "TemplateStage": "Original"}
    ]


def test_accepts_the_template_as_text_in_any_json_layout() -> None:
    # boto3 parses a JSON body into a dict; a client that does not hands over the text.
    assert load(kept(template=json.dumps(COMMITTED))).change_set_type == "UPDATE"
    assert load(kept(template=json.dumps(COMMITTED, indent=4))).change_set_type == "UPDATE"


def test_refuses_a_kept_plan_made_from_another_template() -> None:
    message = refusal(kept(template=OTHER))
    ours = canonical_template_sha256(OTHER)
    committed = template_sha256(to_json(COMMITTED))
    assert (
        f"change set kept-dev-1's template (sha256 {ours}) is not the committed "
        f"templates/dev.json (sha256 {committed})"
    ) in message


def test_refuses_a_forged_description_over_another_template() -> None:
    # Whoever creates the change set writes its Description: a record naming the committed
    # template's hash and the stack's last update proves nothing.
    forged = PlanRecord(committed_spec().template_hash, "2025-02-01T00:00:00+00:00").encode()
    message = refusal(kept(template=OTHER, description=forged))
    assert "is not the committed templates/dev.json" in message


@pytest.mark.parametrize(
    "description",
    [
        "edited by hand",
        PlanRecord("0" * 64, "1999-01-01T00:00:00+00:00").encode(),  # names another template
        "",
    ],
)
def test_ignores_the_description_of_a_kept_plan_over_the_committed_template(
    description: str,
) -> None:
    assert load(kept(description=description)).change_set.description == description


def test_refuses_a_kept_plan_when_the_stack_was_updated_after_it() -> None:
    later = datetime.fromisoformat("2025-03-01T12:30:00+00:00")
    message = refusal(kept(stack_fields={"LastUpdatedTime": later}))
    assert (
        "stack TapStackdev was updated at 2025-03-01T12:30:00+00:00 after the plan was made at "
        "2025-03-01T12:00:00+00:00 (UPDATE_COMPLETE)"
    ) in message


@pytest.mark.parametrize("status", ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"])
def test_refuses_a_kept_plan_while_the_stack_is_changing(status: str) -> None:
    message = refusal(kept(stack_fields={"StackStatus": status}))
    assert f"stack TapStackdev is {status}: it is changing after the plan" in message


def test_refuses_a_kept_plan_when_the_stack_is_gone() -> None:
    cfn = kept()
    cfn.stack = None
    assert "stack TapStackdev no longer exists" in refusal(cfn)


@pytest.mark.parametrize(
    ("status", "execution"),
    [
        ("CREATE_COMPLETE", "OBSOLETE"),
        ("CREATE_COMPLETE", "EXECUTE_COMPLETE"),
        ("CREATE_COMPLETE", "UNAVAILABLE"),
        ("CREATE_PENDING", "UNAVAILABLE"),
        ("FAILED", "UNAVAILABLE"),
    ],
)
def test_refuses_a_kept_plan_that_is_not_available(status: str, execution: str) -> None:
    cfn = kept(Status=status, ExecutionStatus=execution)
    message = refusal(cfn)
    assert f"is {status}/{execution}; expected CREATE_COMPLETE/AVAILABLE" in message
    assert cfn.template_reads == []  # refused before anything else is read


def test_refuses_a_kept_plan_of_another_stack() -> None:
    cfn = kept(StackName="TapStackprod")
    with pytest.raises(GeneratorError) as caught:
        load(cfn)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "belongs to stack TapStackprod" in str(caught.value)


def test_refuses_a_kept_plan_when_the_stack_runs_with_another_role() -> None:
    other = f"arn:aws:iam::{ACCOUNT}:role/Admin"
    message = refusal(kept(stack_fields={"RoleARN": other}), committed_spec(role_arn=ROLE))
    assert (
        f"stack TapStackdev runs with role {other}, not the expected CloudFormation role {ROLE}"
        in message
    )
    message = refusal(kept(), committed_spec(role_arn=ROLE))  # no role yet: cannot be verified
    assert "runs with role (none)" in message


def test_accepts_a_kept_plan_on_a_stack_with_the_expected_role() -> None:
    planned = load(kept(stack_fields={"RoleARN": ROLE}), committed_spec(role_arn=ROLE))
    assert planned.change_set_type == "UPDATE"


def test_refuses_a_new_stack_given_a_role_nobody_asked_for() -> None:
    # A change set that creates its stack gives the stack its role: there it can be read back.
    cfn = kept(stack_fields={"StackStatus": "REVIEW_IN_PROGRESS", "RoleARN": ROLE})
    assert cfn.stack is not None
    del cfn.stack["LastUpdatedTime"]  # never executed: never updated
    assert "no --role-arn was given" in refusal(cfn)
    assert load(cfn, committed_spec(role_arn=ROLE)).change_set_type == "CREATE"


def test_refuses_a_kept_plan_with_other_parameters() -> None:
    template = {
        **COMMITTED,
        "Parameters": {
            "LogLevel": {"Type": "String", "Default": "INFO"},
            "Token": {"Type": "String", "Default": "x", "NoEcho": True},
        },
    }
    kept_spec = committed_spec(template)
    masked = {"ParameterKey": "Token", "ParameterValue": "****"}
    fresh = kept(
        template, Parameters=[{"ParameterKey": "LogLevel", "ParameterValue": "INFO"}, masked]
    )
    assert load(fresh, kept_spec).change_set_type == "UPDATE"  # a NoEcho value cannot be read
    debug = kept(
        template, Parameters=[{"ParameterKey": "LogLevel", "ParameterValue": "DEBUG"}, masked]
    )
    assert "sets parameter LogLevel to 'DEBUG'; expected 'INFO'" in refusal(debug, kept_spec)


def test_refuses_a_kept_plan_that_acknowledges_macros() -> None:
    cfn = kept(Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"])
    assert "acknowledges capabilities ['CAPABILITY_AUTO_EXPAND']" in refusal(cfn)


def test_refuses_a_drift_aware_change_set_when_drift_is_to_be_refused() -> None:
    # REVERT_DRIFT would overwrite the drift that deploy.drift: refuse stops for.
    message = refusal(kept(DeploymentMode="REVERT_DRIFT"), committed_spec(drift_policy="refuse"))
    assert "has DeploymentMode REVERT_DRIFT; expected (none) (deploy.drift: refuse)" in message


def test_refuses_a_change_set_that_would_not_revert_drift_when_it_should() -> None:
    message = refusal(kept(), committed_spec(drift_policy="revert"))
    assert "has DeploymentMode (none); expected REVERT_DRIFT (deploy.drift: revert)" in message


def test_names_every_reason_a_kept_plan_is_stale_at_once() -> None:
    later = datetime.fromisoformat("2025-03-02T00:00:00+00:00")
    message = refusal(kept(template=OTHER, stack_fields={"LastUpdatedTime": later}))
    assert "is not the committed templates/dev.json" in message
    assert "was updated at 2025-03-02T00:00:00+00:00" in message


def test_refuses_a_kept_plan_that_would_retag_the_stack() -> None:
    tags = {"Environment": "dev", "Owner": "TAP"}
    wanted = committed_spec(tags=tags)
    same = [{"Key": "Owner", "Value": "TAP"}, {"Key": "Environment", "Value": "dev"}]
    assert load(kept(Tags=same), wanted)  # in any order
    message = refusal(
        kept(Tags=[{"Key": "Environment", "Value": "prod"}, {"Key": "Extra", "Value": "x"}]),
        wanted,
    )
    assert (
        "tags the stack otherwise than the environment implies: sets Environment to 'prod' "
        "(expected 'dev'), adds Extra='x', drops Owner (expected 'TAP')"
    ) in message


def test_refuses_a_kept_plan_that_notifies_another_topic() -> None:
    ours = f"arn:aws:sns:{REGION}:{ACCOUNT}:deploys"
    wanted = committed_spec(notification_arns=(ours,))
    assert load(kept(NotificationARNs=[ours]), wanted)
    assert "sends stack events to (none); expected deploy.notification_arns" in refusal(
        kept(), wanted
    )
    other = f"arn:aws:sns:{REGION}:999999999999:elsewhere"
    assert f"sends stack events to ['{other}']" in refusal(kept(NotificationARNs=[other]))


ALARMED = {
    "Resources": {
        **COMMITTED["Resources"],
        "ErrorsAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Metadata": {"ServerlessApp": {"rollbackTrigger": True}},
        },
    }
}
ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:Errors-dev"
DEPLOYED_ALARM = {
    "LogicalResourceId": "ErrorsAlarm",
    "PhysicalResourceId": "Errors-dev",
    "ResourceType": "AWS::CloudWatch::Alarm",
    "ResourceStatus": "UPDATE_COMPLETE",
}


def test_refuses_a_kept_plan_without_the_rollback_triggers_a_plan_would_set() -> None:
    wanted = committed_spec(ALARMED, rollback_monitoring_minutes=10)
    triggered = {
        "RollbackTriggers": [{"Arn": ALARM_ARN, "Type": "AWS::CloudWatch::Alarm"}],
        "MonitoringTimeInMinutes": 10,
    }
    fresh = kept(ALARMED, RollbackConfiguration=triggered)
    fresh.resources = [DEPLOYED_ALARM]
    assert load(fresh, wanted)
    untriggered = kept(ALARMED, RollbackConfiguration={"RollbackTriggers": []})
    untriggered.resources = [DEPLOYED_ALARM]
    message = refusal(untriggered, wanted)
    assert f"has the rollback triggers (none); expected ['{ALARM_ARN}']" in message
    assert "monitors its rollback triggers for 0 minutes; expected 10" in message
    # Before the alarm exists no plan names it; a change set that does is not this tool's plan.
    assert f"has the rollback triggers ['{ALARM_ARN}']; expected (none)" in refusal(
        kept(ALARMED, RollbackConfiguration=triggered), wanted
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ImportExistingResources": True}, "imports existing resources"),
        ({"Changes": [{"Type": "Resource", "ResourceChange": {
            "Action": "Import", "LogicalResourceId": "DataBucket",
            "ResourceType": "AWS::S3::Bucket"}}]}, "imports ['DataBucket'] into the stack"),
        ({"OnStackFailure": "DELETE"}, "has OnStackFailure DELETE; expected ROLLBACK"),
    ],
)  # fmt: skip
def test_refuses_a_kept_plan_that_imports_or_does_not_roll_back(
    fields: dict[str, Any], reason: str
) -> None:
    assert reason in refusal(kept(**fields))


def test_accepts_the_failure_mode_cloudformation_reports_by_default() -> None:
    assert load(kept(OnStackFailure="ROLLBACK", ImportExistingResources=False))


# ------------------------------------------------------------------------ the template hash


def test_the_canonical_hash_of_a_committed_template_is_its_file_hash() -> None:
    body = to_json(COMMITTED)
    assert canonical_template_sha256(COMMITTED) == template_sha256(body)
    assert canonical_template_sha256(body) == template_sha256(body)
    assert canonical_template_sha256(json.dumps(COMMITTED)) == template_sha256(body)


def test_a_template_with_duplicate_keys_never_matches() -> None:
    # Parsers disagree on which duplicate wins, so such a body is hashed as text.
    body = '{"Resources": {}, "Resources": ' + json.dumps(COMMITTED["Resources"]) + "}"
    assert canonical_template_sha256(body) == template_sha256(body)
    assert canonical_template_sha256(body) != canonical_template_sha256(COMMITTED)


def test_a_yaml_template_never_matches_a_committed_json_one() -> None:
    body = "Resources:\n  DataBucket:\n    Type: AWS::S3::Bucket\n"
    assert canonical_template_sha256(body) == template_sha256(body)


# ------------------------------------------------------------- through the CLI, on moto


def _queues(repo: Repo, *names: str) -> None:
    repo.write_template(
        "dev", app_template("dev", repo.artifact, {n: {"Type": "AWS::SQS::Queue"} for n in names})
    )


def _kept(repo: Repo) -> str:
    return (repo.root / ".state" / "plan-dev.changeset").read_text(encoding="utf-8").strip()


def test_deploy_refuses_a_kept_plan_when_the_stack_was_deployed_after_it(
    repo: Repo, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    _queues(repo, "SecondQueue")
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    kept_id = _kept(repo)
    _queues(repo, "ThirdQueue")
    assert repo.run("deploy", "--env", "dev") == 0  # the stack moves on without the plan
    _queues(repo, "SecondQueue")  # the committed template is the planned one again
    assert repo.run("deploy", "--env", "dev", "--change-set", kept_id) == 3
    error = capsys.readouterr().err
    # CloudFormation deleted the plan when the other deploy executed its change set.
    assert "stale plan: cannot read change set" in error
    assert "does not exist" in error
    client = boto3.client("cloudformation", region_name=REGION)
    resources = client.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    assert "SecondQueue" not in {r["LogicalResourceId"] for r in resources}


def test_deploy_refuses_a_change_set_forged_with_a_fresh_looking_description(
    repo: Repo, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    client = boto3.client("cloudformation", region_name=REGION)
    committed = (repo.root / "templates" / "dev.json").read_text(encoding="utf-8")
    stack_now = client.describe_stacks(StackName=STACK)["Stacks"][0]
    forged = client.create_change_set(
        StackName=STACK,
        ChangeSetName="kept-forged",
        ChangeSetType="UPDATE",
        TemplateBody=json.dumps(
            app_template("dev", repo.artifact, {"Backdoor": {"Type": "AWS::SQS::Queue"}})
        ),
        Description=PlanRecord(
            template_sha256(committed), stack_now["CreationTime"].isoformat()
        ).encode(),
    )["Id"]
    assert repo.run("deploy", "--env", "dev", "--change-set", forged) == 3
    assert "change set kept-forged's template (sha256 " in capsys.readouterr().err
    resources = client.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    assert "Backdoor" not in {r["LogicalResourceId"] for r in resources}


def test_deploy_refuses_a_pull_requests_change_set(
    repo: Repo, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # A pull request's plan (pr-*) is never applied, even over the committed template: the
    # deploy role's IAM policy refuses it too (ci-access, cloudformation:ChangeSetName).
    assert repo.run("deploy", "--env", "dev") == 0
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    client = boto3.client("cloudformation", region_name=REGION)
    committed = (repo.root / "templates" / "dev.json").read_text(encoding="utf-8")
    from_pr = client.create_change_set(
        StackName=STACK,
        ChangeSetName="pr-dev-1",
        ChangeSetType="UPDATE",
        TemplateBody=committed,
    )["Id"]
    assert repo.run("deploy", "--env", "dev", "--change-set", from_pr) == 3
    assert "change set pr-dev-1 was not kept by `plan --keep`" in capsys.readouterr().err


def test_plan_names_its_change_sets_by_purpose(
    repo: Repo, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # What IAM holds each CI role to: `plan` in a pull request makes pr-*, `plan --keep` kept-*.
    assert repo.run("deploy", "--env", "dev") == 0
    repo.write_template(
        "dev", app_template("dev", repo.artifact, {"SecondQueue": {"Type": "AWS::SQS::Queue"}})
    )
    repo.lines.clear()
    capsys.readouterr()
    assert repo.run("plan", "--env", "dev") == 0
    shown = "\n".join(repo.lines) + capsys.readouterr().out
    assert "change set pr-dev-" in shown, shown
    assert "kept-dev-" not in shown, shown
    repo.lines.clear()
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    shown = "\n".join(repo.lines) + capsys.readouterr().out
    assert "change set kept-dev-" in shown, shown


def test_deploy_executes_a_change_set_of_the_committed_template_whatever_its_description(
    repo: Repo, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    _queues(repo, "SecondQueue")
    client = boto3.client("cloudformation", region_name=REGION)
    committed = (repo.root / "templates" / "dev.json").read_text(encoding="utf-8")
    stack_now = client.describe_stacks(StackName=STACK)["Stacks"][0]
    tags = {t["Key"]: t["Value"] for t in stack_now["Tags"]}
    tags[TEMPLATE_TAG] = template_sha256(committed)

    def by_hand(name: str, **inputs: Any) -> str:
        return str(
            client.create_change_set(
                StackName=STACK, ChangeSetName=name, ChangeSetType="UPDATE",
                TemplateBody=committed, Description="not a plan record at all", **inputs,
            )["Id"]
        )  # fmt: skip

    untagged = by_hand("kept-untagged")  # leaves the stack's template-sha256 tag as it was
    assert repo.run("deploy", "--env", "dev", "--change-set", untagged) == 3
    assert "tags the stack otherwise than the environment implies: drops Environment" in (
        capsys.readouterr().err
    )
    made = by_hand("kept-by-hand", Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])
    assert repo.run("deploy", "--env", "dev", "--change-set", made) == 0, repo.output
    resources = client.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    assert "SecondQueue" in {r["LogicalResourceId"] for r in resources}


@pytest.mark.parametrize(
    ("inputs", "reason"),
    [
        ({"NotificationARNs": [f"arn:aws:sns:{REGION}:{ACCOUNT}:elsewhere"]},
         "sends stack events to ['arn:aws:sns:"),
        ({"ImportExistingResources": True}, "imports existing resources"),
        ({"OnStackFailure": "DO_NOTHING"}, "has OnStackFailure DO_NOTHING; expected ROLLBACK"),
        ({"RollbackConfiguration": {"RollbackTriggers": [], "MonitoringTimeInMinutes": 30}},
         "monitors its rollback triggers for 30 minutes; expected 0"),
    ],
)  # fmt: skip
def test_deploy_refuses_a_kept_change_set_made_with_other_inputs(
    repo: Repo, aws: None, capsys: pytest.CaptureFixture[str], inputs: dict[str, Any], reason: str
) -> None:
    """Every CreateChangeSet input CloudFormation reports back is compared, on the emulator's
    CloudFormation (which keeps them, as AWS does), not only on recorded answers."""
    assert repo.run("deploy", "--env", "dev") == 0
    _queues(repo, "SecondQueue")
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    client = boto3.client("cloudformation", region_name=REGION)
    planned = client.describe_change_set(ChangeSetName=_kept(repo))
    sns = boto3.client("sns", region_name=REGION)
    sns.create_topic(Name="elsewhere")
    twin = client.create_change_set(
        StackName=STACK, ChangeSetName="kept-twin", ChangeSetType="UPDATE",
        TemplateBody=(repo.root / "templates" / "dev.json").read_text(encoding="utf-8"),
        Tags=planned["Tags"], **inputs,
    )["Id"]  # fmt: skip
    assert repo.run("deploy", "--env", "dev", "--change-set", twin) == 3
    error = capsys.readouterr().err
    assert "stale plan: change set kept-twin" in error
    assert reason in error
    assert "tags the stack" not in error  # the plan's own tags, copied: only the input differs
    resources = client.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    assert "SecondQueue" not in {r["LogicalResourceId"] for r in resources}


def test_plan_keep_stages_the_artifact_and_the_apply_creates_no_change_set(
    repo: Repo, aws: None
) -> None:
    """Issue 10's roles: the plan-main role writes artifacts and creates change sets; the apply
    role does neither, so an apply with the bootstrap stack up to date needs neither."""
    assert repo.run("deploy", "--env", "dev") == 0  # the bootstrap stack and bucket
    s3 = boto3.client("s3", region_name=REGION)
    bucket = "serverlessapp-artifacts-123456789012-" + REGION
    s3.delete_object(Bucket=bucket, Key=repo.artifact.key)  # a new handler build, not yet there
    extra = {"ExtraQueue": {"Type": "AWS::SQS::Queue"}}
    repo.write_template("dev", app_template("dev", repo.artifact, extra))
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    assert "uploaded (for the apply)" in repo.output
    assert s3.head_object(Bucket=bucket, Key=repo.artifact.key)["ContentLength"] > 0
    kept = (repo.root / ".state" / "plan-dev.changeset").read_text(encoding="utf-8").strip()

    created: list[str] = []
    real = repo.runtime.clients

    def spying(connection: Any, env: Any) -> Any:
        made = real(connection, env)
        made.cloudformation.meta.events.register(
            "provide-client-params.cloudformation.CreateChangeSet",
            lambda params, **_: created.append(params["StackName"]),
        )
        return made

    repo.use(clients=spying)
    assert repo.run("deploy", "--env", "dev", "--change-set", kept) == 0, repo.output
    assert created == []
    assert "bootstrap stack" not in repo.output  # the apply never touches it
    assert "staged by the plan, verified" in repo.output


def test_applying_a_kept_plan_does_not_detect_drift_again(
    repo: Repo, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The apply role holds no drift-detection reads; the plan assessed drift, and the kept plan
    is refused as stale if the stack changed since."""
    assert repo.run("deploy", "--env", "dev") == 0
    repo.write_template(
        "dev", app_template("dev", repo.artifact, {"ExtraQueue": {"Type": "AWS::SQS::Queue"}})
    )
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    kept = (repo.root / ".state" / "plan-dev.changeset").read_text(encoding="utf-8").strip()
    detected: list[str] = []

    def never(*args: Any) -> DriftReport:
        detected.append(args[1])
        return DriftReport("DRIFTED", ())

    monkeypatch.setattr(driftplan, "stack_drift", never)
    assert repo.run("deploy", "--env", "dev", "--change-set", kept) == 0, repo.output
    assert detected == []


def test_a_kept_plan_is_applied_with_the_committed_allowances_only(
    repo: Repo, aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    _queues(repo, "SecondQueue")
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    kept = _kept(repo)
    argv = ("deploy", "--env", "dev", "--change-set", kept, "--allow-replace", "DataBucket")
    assert repo.run(*argv) == 2
    assert "a kept plan is applied with the committed allowances only" in capsys.readouterr().err


def test_a_blocked_plan_keeps_nothing_and_a_newer_plan_supersedes_an_older_one(
    repo: Repo, aws: None
) -> None:
    client = boto3.client("cloudformation", region_name=REGION)
    assert repo.run("deploy", "--env", "dev") == 0

    def waiting() -> list[str]:
        listed = client.list_change_sets(StackName=STACK)["Summaries"]
        return [c["ChangeSetName"] for c in listed if c["ExecutionStatus"] == "AVAILABLE"]

    _queues(repo, "SecondQueue")
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    older = _kept(repo)
    _queues(repo, "ThirdQueue")
    assert repo.run("plan", "--env", "dev", "--keep") == 0
    newer = _kept(repo)
    assert waiting() == [newer.split("/")[1]]  # the older plan is gone
    assert older != newer
    # A change the guard blocks (the dead-letter queue, stateful, removed) is not kept at all.
    only_the_bucket = app_template("dev", repo.artifact)
    del only_the_bucket["Resources"]["DeadLetterQueue"]
    repo.write_template("dev", only_the_bucket)
    assert repo.run("plan", "--env", "dev", "--keep") == 3
    assert "not kept: the guard blocks it" in repo.output
    assert not (repo.root / ".state" / "plan-dev.changeset").exists()
    assert [n for n in waiting() if n.startswith("kept-")] == [newer.split("/")[1]]
