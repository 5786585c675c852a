"""Pure pieces of the deploy: names, parameters, tags, policies, triggers, records."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from generator.contracts import STATEFUL_TYPES
from generator.deploy import apply, protection
from generator.deploy.changeset import (
    Change,
    PlanRecord,
    change_set_name,
    explicit_parameters,
    is_no_changes,
)
from generator.deploy.guard import judge
from generator.deploy.pipeline import git_commit, template_handler
from generator.deploy.stacks import Event, Stack, StackResource, root_cause
from generator.errors import ExitCode, GeneratorError


def test_change_set_name_is_valid_and_names_purpose_env_hash_and_the_millisecond() -> None:
    moment = datetime(2025, 3, 1, 12, 0, 5, 123456, tzinfo=UTC)
    name = change_set_name("prod", "ab" * 32, moment, nonce="0f1e2d")
    assert name == "deploy-prod-abababababab-20250301T120005123Z-0f1e2d"
    kept = change_set_name("prod", "ab" * 32, moment, "kept", nonce="0f1e2d")
    assert kept.startswith("kept-prod-abababababab-20250301T120005123Z-")
    assert re.fullmatch(r"[A-Za-z][-A-Za-z0-9]{0,127}", name)


def test_two_change_sets_named_in_the_same_moment_differ() -> None:
    moment = datetime(2025, 3, 1, 12, 0, 5, tzinfo=UTC)
    names = {change_set_name("prod", "ab" * 32, moment) for _ in range(50)}
    assert len(names) == 50


def test_every_parameter_gets_an_explicit_value() -> None:
    template = {"Parameters": {"B": {"Type": "String", "Default": "x"}, "A": {"Type": "String"}}}
    assert explicit_parameters(template, {"A": "1"}) == [
        {"ParameterKey": "A", "ParameterValue": "1"},
        {"ParameterKey": "B", "ParameterValue": "x"},
    ]


def test_rejects_a_parameter_without_default_or_value() -> None:
    with pytest.raises(GeneratorError, match="'A' has no default"):
        explicit_parameters({"Parameters": {"A": {"Type": "String"}}}, {})


def test_rejects_an_undeclared_parameter() -> None:
    with pytest.raises(GeneratorError) as caught:
        explicit_parameters({}, {"Nope": "1"})
    assert caught.value.exit_code == ExitCode.USAGE


def test_recognises_cloudformations_no_changes_reasons() -> None:
    assert is_no_changes(
        "The submitted information didn't contain changes. Submit different information to "
        "create a change set."
    )
    assert is_no_changes("No updates are to be performed.")
    assert not is_no_changes("Template format error: Unresolved resource dependencies")


def test_stack_policy_denies_replace_and_delete_on_stateful_ids_only() -> None:
    template = {
        "Resources": {
            "DataBucket": {"Type": "AWS::S3::Bucket"},
            "Secret": {"Type": "AWS::SecretsManager::Secret"},
            "Function": {"Type": "AWS::Lambda::Function"},
        }
    }
    policy = protection.policy_for_template(template)
    allow, deny = policy["Statement"]
    assert allow == {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
    assert deny["Action"] == ["Update:Replace", "Update:Delete"]
    assert deny["Resource"] == ["LogicalResourceId/DataBucket", "LogicalResourceId/Secret"]


def test_policy_during_update_lifts_only_allowed_ids_and_keeps_removed_ones_protected() -> None:
    template = {"Resources": {"DataBucket": {"Type": "AWS::S3::Bucket"}}}
    policy = protection.policy_during_update(template, ["OldQueue"], allow=["DataBucket"])
    assert policy["Statement"][1]["Resource"] == ["LogicalResourceId/OldQueue"]


def test_policy_without_stateful_resources_only_allows() -> None:
    assert protection.stack_policy([]) == {
        "Statement": [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
    }


def test_stateful_types_include_the_stacks_data_holders() -> None:
    assert {
        "AWS::S3::Bucket", "AWS::SecretsManager::Secret", "AWS::KMS::Key",
        "AWS::SQS::Queue", "AWS::Logs::LogGroup",
    } <= STATEFUL_TYPES  # fmt: skip


def _alarm(logical_id: str, name: str, status: str = "CREATE_COMPLETE") -> StackResource:
    return StackResource(logical_id, "AWS::CloudWatch::Alarm", name, status)


TRIGGER = {"ServerlessApp": {"rollbackTrigger": True}}


def test_rollback_triggers_only_for_marked_template_alarms_that_already_exist() -> None:
    template = {
        "Resources": {
            "ErrorsAlarm": {"Type": "AWS::CloudWatch::Alarm", "Metadata": TRIGGER},
            "NewAlarm": {"Type": "AWS::CloudWatch::Alarm", "Metadata": TRIGGER},
            "QueueDepthAlarm": {"Type": "AWS::CloudWatch::Alarm"},
        }
    }
    deployed = [
        _alarm("ErrorsAlarm", "ServerlessApp-Lambda-Errors-dev"),
        _alarm("QueueDepthAlarm", "ServerlessApp-DLQ-Depth-dev"),
        _alarm("Gone", "Old"),
    ]
    assert protection.rollback_triggers(template, deployed, "aws-cn", "cn-north-1", "1" * 12) == [
        {
            "Arn": "arn:aws-cn:cloudwatch:cn-north-1:111111111111:alarm:"
            "ServerlessApp-Lambda-Errors-dev",
            "Type": "AWS::CloudWatch::Alarm",
        }
    ]


def test_rollback_triggers_are_capped_at_five() -> None:
    ids = [f"Alarm{i}" for i in range(7)]
    template = {
        "Resources": {i: {"Type": "AWS::CloudWatch::Alarm", "Metadata": TRIGGER} for i in ids}
    }
    deployed = [_alarm(i, f"name-{i}") for i in ids]
    assert len(protection.rollback_triggers(template, deployed, "aws", "us-east-1", "1" * 12)) == 5


def test_tags_keep_the_deployed_commit_when_nothing_else_changed() -> None:
    spec = apply.StackSpec(
        "dev", "TapStackdev", "{}",
        {"template-sha256": "t", "handler-sha256": "h", "git-commit": "new"},
    )  # fmt: skip
    tags = {"template-sha256": "t", "handler-sha256": "h", "git-commit": "old"}
    same = Stack("TapStackdev", "id", "UPDATE_COMPLETE", tags=tags)
    assert apply.effective_tags(spec, same)["git-commit"] == "old"
    other = Stack(
        "TapStackdev", "id", "UPDATE_COMPLETE", tags={"template-sha256": "t0", "git-commit": "old"}
    )
    assert apply.effective_tags(spec, other)["git-commit"] == "new"


def test_plan_record_round_trips_and_rejects_foreign_descriptions() -> None:
    record = PlanRecord("ab" * 32, "2025-03-01T12:00:00+00:00")
    assert PlanRecord.decode(record.encode()) == record
    assert len(record.encode()) <= 1024  # CloudFormation's limit on a description
    assert PlanRecord.decode("made by hand") is None


def test_git_commit_falls_back_to_github_sha(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SHA", "d" * 40)

    def fail(*args: object, **kwargs: object) -> None:
        raise subprocess.CalledProcessError(128, "git")

    monkeypatch.setattr(subprocess, "run", fail)
    assert git_commit(tmp_path) == "d" * 40
    monkeypatch.delenv("GITHUB_SHA")
    assert git_commit(tmp_path) == "unknown"


def test_rejects_a_template_without_handler_metadata() -> None:
    with pytest.raises(GeneratorError, match="handlerSha256"):
        template_handler({"Resources": {}}, "templates/dev.json")


def test_root_cause_skips_cancelled_resources_and_the_stack_itself() -> None:
    def ev(lid: str, rtype: str, status: str, reason: str) -> Event:
        return Event(lid, None, lid, rtype, status, reason)

    found = root_cause(
        [
            ev("Queue", "AWS::SQS::Queue", "CREATE_FAILED", "Resource creation cancelled"),
            ev("Function", "AWS::Lambda::Function", "CREATE_FAILED", "NoSuchKey"),
            ev("TapStackdev", "AWS::CloudFormation::Stack", "CREATE_FAILED", "Rollback requested"),
        ],
        "TapStackdev",
    )
    assert [e.logical_id for e in found] == ["Function"]


def test_guard_ignores_replacement_of_stateless_resources() -> None:
    change = Change("Modify", "Function", "AWS::Lambda::Function", replacement="True")
    assert judge([change], ()).ok


def test_rejects_a_role_arn_that_is_not_one(capsys: pytest.CaptureFixture[str]) -> None:
    from generator.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["deploy", "--env", "dev", "--role-arn", "ServerlessAppCloudFormation-dev"])
    assert caught.value.code == 2
    assert "expected an IAM role ARN" in capsys.readouterr().err


def test_plan_summary_says_how_many_modifications_only_retag() -> None:
    from generator.deploy.changeset import ChangeSet
    from generator.deploy.plan import Plan, summary

    changes = (
        Change("Modify", "Function", "AWS::Lambda::Function", scope=("Properties", "Tags")),
        Change("Modify", "DataBucket", "AWS::S3::Bucket", scope=("Tags",)),
        Change("Modify", "Secret", "AWS::SecretsManager::Secret", scope=("Tags",)),
        Change("Add", "Dashboard", "AWS::CloudWatch::Dashboard"),
    )
    change_set = ChangeSet("id", "name", "stack-id", "TapStackdev", "CREATE_COMPLETE",
                           "AVAILABLE", changes=changes)  # fmt: skip
    plan = Plan("dev", "TapStackdev", change_set, "UPDATE", judge(changes, ()))
    assert summary(plan).startswith("1 to add, 3 to modify (2 only their tags), 0 to remove")
