"""The emulator's change sets read like CloudFormation's: Scope, Details with values on request,
and Replacement from the registry schemas' createOnlyProperties."""

from __future__ import annotations

from typing import Any

from generator.emulator.moto_fixes import change_details as changes
from tests.emulator.conftest import template

STACK = "TapStackdetails"


def queue(name: str, retention: int = 1209600) -> dict[str, Any]:
    return {
        "DeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": name, "MessageRetentionPeriod": retention},
        },
        "LogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": "/aws/lambda/details", "RetentionInDays": 7},
        },
    }


def deploy(cfn: Any, resources: dict[str, Any], tags: dict[str, str] | None = None) -> None:
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    cfn.create_stack(StackName=STACK, TemplateBody=template(resources), Tags=tag_list)


def change_set(
    cfn: Any, resources: dict[str, Any], values: bool, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
    created = cfn.create_change_set(
        StackName=STACK, ChangeSetName="next", ChangeSetType="UPDATE",
        TemplateBody=template(resources), Tags=tag_list,
    )  # fmt: skip
    reply: dict[str, Any] = cfn.describe_change_set(
        ChangeSetName=created["Id"], IncludePropertyValues=values
    )
    return {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in reply["Changes"]}


def test_reports_changed_property_with_values_when_asked(cfn: Any) -> None:
    deploy(cfn, queue("dlq-a"))
    changed = queue("dlq-a")
    changed["LogGroup"]["Properties"]["RetentionInDays"] = 14
    found = change_set(cfn, changed, values=True)
    log_group = found["LogGroup"]
    assert log_group["Scope"] == ["Properties"]
    assert log_group["Replacement"] == "False"
    assert log_group["Details"] == [
        {
            "Target": {
                "Attribute": "Properties",
                "Name": "RetentionInDays",
                "Path": "/Properties/RetentionInDays",
                "RequiresRecreation": "Never",
                "AttributeChangeType": "Modify",
                "BeforeValue": "7",
                "AfterValue": "14",
            },
            "Evaluation": "Static",
            "ChangeSource": "DirectModification",
        }
    ]
    assert "DeadLetterQueue" not in found


def test_omits_values_unless_asked(cfn: Any) -> None:
    deploy(cfn, queue("dlq-a"))
    changed = queue("dlq-a")
    changed["LogGroup"]["Properties"]["RetentionInDays"] = 14
    target = change_set(cfn, changed, values=False)["LogGroup"]["Details"][0]["Target"]
    assert target["Name"] == "RetentionInDays"
    assert "BeforeValue" not in target
    assert "AfterValue" not in target


def test_plans_replacement_when_create_only_property_changes(cfn: Any) -> None:
    deploy(cfn, queue("dlq-a"))
    dead_letter = change_set(cfn, queue("dlq-b"), values=True)["DeadLetterQueue"]
    assert dead_letter["Replacement"] == "True"
    assert dead_letter["PolicyAction"] == "ReplaceAndDelete"
    (detail,) = dead_letter["Details"]
    assert detail["Target"]["Name"] == "QueueName"
    assert detail["Target"]["RequiresRecreation"] == "Always"


def test_retags_taggable_resources_when_stack_tags_change(cfn: Any) -> None:
    deploy(cfn, queue("dlq-a"), tags={"template-sha256": "a"})
    changed = queue("dlq-a")
    changed["LogGroup"]["Properties"]["RetentionInDays"] = 14
    found = change_set(cfn, changed, values=True, tags={"template-sha256": "b"})
    assert found["DeadLetterQueue"]["Scope"] == ["Tags"]
    assert found["LogGroup"]["Scope"] == ["Properties", "Tags"]


def test_create_only_properties_come_from_the_registry_schemas() -> None:
    assert "QueueName" in changes.create_only_properties("AWS::SQS::Queue")
    assert "BucketName" in changes.create_only_properties("AWS::S3::Bucket")
    assert "MemorySize" not in changes.create_only_properties("AWS::Lambda::Function")
    assert changes.requires_recreation("AWS::Lambda::Function", "FunctionName") == "Always"
    assert changes.create_only_properties("AWS::NoSuch::Type") == ()


def test_nested_changes_are_reported_by_leaf_path() -> None:
    before = {"Properties": {"Environment": {"Variables": {"A": "1", "B": "2"}}}}
    after = {"Properties": {"Environment": {"Variables": {"A": "1", "B": "3"}}}}
    (detail,) = changes.property_details("AWS::Lambda::Function", before, after)
    assert detail["Target"]["Path"] == "/Properties/Environment/Variables/B"
    assert detail["Target"]["Name"] == "Environment"
