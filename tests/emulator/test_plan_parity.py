"""A recorded real-AWS DescribeChangeSet (IncludePropertyValues) and the emulator's change set for
the same change render to the same plan, in the terminal and in Markdown."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.stub import Stubber

from generator.deploy import plan
from generator.deploy.changeset import ChangeSet, describe_change_set
from generator.deploy.guard import judge
from tests.deploy.conftest import recorded
from tests.emulator.conftest import REGION, template

RECORDED = recorded("describe_change_set_values.json")
STACK = RECORDED["StackName"]
NAME = RECORDED["ChangeSetName"]


def resources(memory: int, retention: int) -> dict[str, Any]:
    """The part of the app stack the change touches (names as dev's)."""
    return {
        "DeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": "ServerlessApp-DLQ-dev"},
        },
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": "ServerlessAppLambdadev",
                "Handler": "app.lambda_handler",
                "Runtime": "python3.13",
                "Role": "arn:aws:iam::123456789012:role/ServerlessAppLambdadev",
                "Code": {"ZipFile": "def lambda_handler(event, context):\n    return event\n"},
                "MemorySize": memory,
                "Timeout": 30,
            },
        },
        "FunctionLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": "/aws/lambda/ServerlessAppLambdadev",
                "RetentionInDays": retention,
            },
        },
    }


def lambda_role() -> None:
    """The function's role, made outside the stack (moto checks that Lambda may assume it)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
             "Action": "sts:AssumeRole"}
        ],
    }  # fmt: skip
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="ServerlessAppLambdadev", AssumeRolePolicyDocument=json.dumps(trust))


def emulated_change_set(cfn: Any) -> ChangeSet:
    lambda_role()
    tags = {t["Key"]: t["Value"] for t in RECORDED["Tags"]}
    before = [{"Key": k, "Value": "previous" if k == "template-sha256" else v}
              for k, v in tags.items()]  # fmt: skip
    cfn.create_stack(StackName=STACK, TemplateBody=template(resources(256, 7)), Tags=before)
    created = cfn.create_change_set(
        StackName=STACK, ChangeSetName=NAME, ChangeSetType="UPDATE",
        TemplateBody=template(resources(512, 14)), Tags=RECORDED["Tags"],
    )  # fmt: skip
    return describe_change_set(cfn, created["Id"])


def recorded_change_set() -> ChangeSet:
    client = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response(
        "describe_change_set",
        RECORDED,
        {"ChangeSetName": RECORDED["ChangeSetId"], "IncludePropertyValues": True},
    )
    with stubber:
        return describe_change_set(client, RECORDED["ChangeSetId"])


def view(change_set: ChangeSet) -> plan.Plan:
    return plan.Plan("dev", STACK, change_set, "UPDATE", judge(change_set.changes, ()))


def test_recorded_aws_and_emulator_render_identically(cfn: Any) -> None:
    real, local = view(recorded_change_set()), view(emulated_change_set(cfn))
    assert plan.render_text(local) == plan.render_text(real)
    assert plan.render_markdown(local) == plan.render_markdown(real)
    text = plan.render_text(real)
    assert "MemorySize: 256 → 512" in text
    assert "RetentionInDays: 7 → 14" in text
    assert "Tags only: 1 resource changes only the stack's own tags" in text


def test_recorded_response_carries_contexts_as_aws_documents() -> None:
    function = RECORDED["Changes"][0]["ResourceChange"]
    assert json.loads(function["BeforeContext"])["Properties"]["MemorySize"] == "256"
    assert json.loads(function["AfterContext"])["Properties"]["MemorySize"] == "512"
