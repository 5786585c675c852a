"""Stack deletion in the emulator: every resource goes unless retained, a deleted stack creates
nothing again when read, the same stack can be created again, a failure is DELETE_FAILED."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from generator import naming
from generator.emulator.moto_fixes.deletion import deletion_waves, dependencies, references
from tests.emulator.conftest import ACCOUNT, REGION, handler_zip, template

STACK = "TapStacklocal"


def _execute(cfn: Any, body: str, stack: str = STACK) -> str:
    """Create ``stack`` through a change set, as the deploy does; its status."""
    change_set = cfn.create_change_set(
        StackName=stack, ChangeSetName="create", TemplateBody=body, ChangeSetType="CREATE",
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )  # fmt: skip
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    return str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])


def _delete(cfn: Any, stack: str = STACK) -> str:
    """Delete ``stack`` by id, as the destroy does; its status, read back by id."""
    stack_id = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName=stack_id)
    # Reading a deleted stack's outputs and resources is what made moto create them again.
    described = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
    cfn.list_stack_resources(StackName=stack_id)
    return str(described["StackStatus"])


def _leftovers() -> dict[str, list[str]]:
    """What of the local stack's kinds of resources exists (scheduled keys do not count)."""
    kms = boto3.client("kms", region_name=REGION)

    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    keys = [k["KeyId"] for k in kms.list_keys()["Keys"]]
    # Sorted: moto lists some kinds (IAM roles) in an order that differs between two creations.
    found = {
        "buckets": [
            b["Name"]
            for b in client("s3").list_buckets()["Buckets"]
            if not b["Name"].startswith("serverlessapp-artifacts-")
        ],
        "secrets": [s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"]],
        "queues": client("sqs").list_queues().get("QueueUrls", []),
        "topics": [t["TopicArn"] for t in client("sns").list_topics()["Topics"]],
        "log groups": [
            g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]
        ],
        "keys": [
            k for k in keys
            if kms.describe_key(KeyId=k)["KeyMetadata"]["KeyState"] != "PendingDeletion"
        ],
        "aliases": [a["AliasName"] for a in kms.list_aliases()["Aliases"]
                    if not a["AliasName"].startswith("alias/aws/")],
        "alarms": [a["AlarmName"] for a in client("cloudwatch").describe_alarms()["MetricAlarms"]],
        "dashboards": [
            d["DashboardName"] for d in client("cloudwatch").list_dashboards()["DashboardEntries"]
        ],
        "functions": [f["FunctionName"] for f in client("lambda").list_functions()["Functions"]],
        "roles": [r["RoleName"] for r in client("iam").list_roles()["Roles"]],
    }  # fmt: skip
    return {kind: sorted(names) for kind, names in found.items()}


@pytest.fixture
def local_template(repo_root: Path) -> str:
    """The local environment's template, its function artifact uploaded where it points."""
    path = repo_root / "templates" / "local.json"
    if not path.exists():
        pytest.skip("templates/local.json is not there yet")
    body = path.read_text(encoding="utf-8")
    code = json.loads(body)["Resources"][naming.LogicalId.FUNCTION]["Properties"]["Code"]
    s3 = boto3.client("s3", region_name=REGION)
    bucket = naming.artifact_bucket(ACCOUNT, REGION)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=code["S3Key"], Body=handler_zip("def handler(e, c): ...\n"))
    return body


def test_deleting_the_local_stack_deletes_every_resource_and_it_can_be_created_again(
    cfn: Any, local_template: str
) -> None:
    assert _execute(cfn, local_template) == "CREATE_COMPLETE"
    created = _leftovers()
    assert all(created.values()), f"the template should create every kind: {created}"
    keys = boto3.client("kms", region_name=REGION).list_keys()["Keys"]

    assert _delete(cfn) == "DELETE_COMPLETE"
    assert _leftovers() == {kind: [] for kind in created}
    kms = boto3.client("kms", region_name=REGION)
    states = {kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] for k in keys}
    assert states == {"PendingDeletion"}  # scheduled, as CloudFormation does, not vanished

    assert _execute(cfn, local_template) == "CREATE_COMPLETE"
    again = _leftovers()
    assert len(again.pop("keys")) == len(created.pop("keys"))  # a new key, the old one scheduled
    # Listing order is not part of the contract (two roles now: the function's and rotation's).
    assert {kind: sorted(names) for kind, names in again.items()} == {
        kind: sorted(names) for kind, names in created.items()
    }


def test_a_retained_resource_survives_the_stack_delete(cfn: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    resources = {
        "Kept": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
                 "Properties": {"BucketName": "kept-bucket"}},
        "Gone": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Delete",
                 "Properties": {"QueueName": "gone-queue"}},
    }  # fmt: skip
    outputs = {"Bucket": {"Value": {"Ref": "Kept"}}, "Queue": {"Value": {"Ref": "Gone"}}}
    assert _execute(cfn, template(resources, outputs), "app") == "CREATE_COMPLETE"
    stack_id = cfn.describe_stacks(StackName="app")["Stacks"][0]["StackId"]

    assert _delete(cfn, "app") == "DELETE_COMPLETE"
    s3.head_bucket(Bucket="kept-bucket")
    assert sqs.list_queues().get("QueueUrls", []) == []
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    assert {(e["LogicalResourceId"], e["ResourceStatus"]) for e in events} >= {
        ("Kept", "DELETE_SKIPPED"),
        ("Gone", "DELETE_COMPLETE"),
    }


def test_fails_the_delete_on_a_bucket_that_is_not_empty_and_keeps_the_stack(cfn: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "full-bucket"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
    }
    outputs = {"Name": {"Value": {"Ref": "Bucket"}, "Export": {"Name": "app-bucket"}}}
    assert _execute(cfn, template(resources, outputs), "app") == "CREATE_COMPLETE"
    s3.put_object(Bucket="full-bucket", Key="k", Body=b"x")

    cfn.delete_stack(StackName="app")
    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "DELETE_FAILED"
    assert stack["Outputs"][0]["OutputValue"] == "full-bucket"
    assert [e["Name"] for e in cfn.list_exports()["Exports"]] == ["app-bucket"]
    failed = [
        e for e in cfn.describe_stack_events(StackName="app")["StackEvents"]
        if e["ResourceStatus"] == "DELETE_FAILED" and e["LogicalResourceId"] == "Bucket"
    ]  # fmt: skip
    assert failed
    assert failed[0]["ResourceType"] == "AWS::S3::Bucket"
    assert "BucketNotEmpty" in failed[0]["ResourceStatusReason"]

    s3.delete_object(Bucket="full-bucket", Key="k")
    assert _delete(cfn, "app") == "DELETE_COMPLETE"
    with pytest.raises(ClientError, match=r"NoSuchBucket|Not Found|404"):
        s3.head_bucket(Bucket="full-bucket")
    assert cfn.list_exports()["Exports"] == []


def test_deleting_a_missing_stack_succeeds(cfn: Any) -> None:
    cfn.delete_stack(StackName="never-created")


# ------------------------------------------------------------------------------ ordering


def test_references_finds_ref_getatt_and_sub_names() -> None:
    fragment = {"A": {"Ref": "One"},
                "B": [{"Fn::GetAtt": ["Two", "Arn"]}, {"Fn::GetAtt": "Three.Arn"}],
                "C": {"Fn::Sub": "${Four}-${Five.Arn}-${AWS::Region}"},
                "D": {"Fn::Sub": ["${Six}", {"Six": {"Ref": "Seven"}}]}}  # fmt: skip
    # "Six" is the Sub's own variable: dependencies() keeps only the template's resources.
    assert references(fragment) == {"One", "Two", "Three", "Four", "Five", "Six", "Seven"}


def test_deletes_dependents_before_what_they_depend_on() -> None:
    graph = dependencies({
        "Bucket": {"DependsOn": "Permission", "Properties": {"K": {"Fn::GetAtt": ["Key", "Arn"]}}},
        "Permission": {"Properties": {"FunctionName": {"Ref": "Function"}}},
        "Function": {"Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Role": {}, "Key": {},
        "Alarm": {"Properties": {"Dimensions": [{"Value": {"Ref": "Function"}}]}},
    })  # fmt: skip
    waves = deletion_waves(graph)
    order = {name: index for index, wave in enumerate(waves) for name in wave}
    for resource, needed in graph.items():
        for dependency in needed:
            assert order[resource] < order[dependency], (resource, dependency, waves)


def test_a_dependency_cycle_still_deletes_everything() -> None:
    waves = deletion_waves({"A": {"B"}, "B": {"A"}, "C": set()})
    assert sorted(name for wave in waves for name in wave) == ["A", "B", "C"]
