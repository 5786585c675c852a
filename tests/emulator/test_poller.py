"""The emulator's SQS event source mappings, in-process: a mapping created by CloudFormation is
polled in batches, only the messages the function did not report as failed are deleted, and a
message received ``maxReceiveCount`` times goes to the dead-letter queue."""

from __future__ import annotations

import time
from typing import Any

import boto3

from generator.emulator import extension
from generator.emulator.delivery import Deliverer
from tests.emulator.conftest import REGION, handler_zip, template

# Fails every message whose body is "bad", reporting it; fails the whole batch on "crash".
PARTIAL = """
def handler(event, context):
    bodies = [r["body"] for r in event["Records"]]
    if "crash" in bodies:
        raise RuntimeError("crash")
    failed = [r["messageId"] for r in event["Records"] if r["body"] == "bad"]
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
"""
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:ingest"
VISIBILITY_SECONDS = 1


def _until_visible_again() -> None:
    time.sleep(VISIBILITY_SECONDS + 0.2)


def _stack(cfn: Any, batch_size: int = 10) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="code")
    s3.put_object(Bucket="code", Key="f.zip", Body=handler_zip(PARTIAL))
    role = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r", "AssumeRolePolicyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Service": "lambda.amazonaws.com"}}]}}}  # fmt: skip
    resources = {
        "Role": role,
        "Function": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": "f", "Runtime": "python3.13", "Handler": "app.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]}, "Timeout": 10,
            "Code": {"S3Bucket": "code", "S3Key": "f.zip"}}},
        "Dlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "dlq"}},
        # A failed message is visible again after 1 s (the test waits that long, not 6x 10 s).
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": "ingest", "VisibilityTimeout": VISIBILITY_SECONDS,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]},
                              "maxReceiveCount": 2}}},
        "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {
            "FunctionName": {"Ref": "Function"},
            "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]}, "BatchSize": batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 2}}},
    }  # fmt: skip
    cfn.create_stack(StackName="s", TemplateBody=template(resources))


def _bodies(sqs: Any, name: str) -> list[str]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
    return sorted(m["Body"] for m in got.get("Messages", []))


def test_only_failed_messages_stay_and_are_dead_lettered_after_max_receives(
    cfn: Any, emulated: Deliverer
) -> None:
    _stack(cfn)
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName="ingest")["QueueUrl"]
    for body in ("good-1", "bad", "good-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)  # moto must not invoke by itself
    poller = extension.poller()

    assert poller.tick(evaluate=False) == 1  # one batch: all three messages
    assert poller.tick(evaluate=False) == 0  # the bad one is invisible until its timeout ends
    _until_visible_again()
    assert poller.tick(evaluate=False) == 1  # the bad one, received a second time
    _until_visible_again()
    assert poller.tick(evaluate=False) == 0  # its next receive dead-letters it instead
    assert _bodies(sqs, "ingest") == []
    assert _bodies(sqs, "dlq") == ["bad"]
    invocations = boto3.client("cloudwatch", region_name=REGION).get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="Invocations",
        Dimensions=[{"Name": "FunctionName", "Value": "f"}],
        StartTime="2020-01-01", EndTime="2100-01-01", Period=86400 * 30, Statistics=["Sum"],
    )["Datapoints"]  # fmt: skip
    assert sum(p["Sum"] for p in invocations) == 2


def test_a_failed_invocation_leaves_the_whole_batch(cfn: Any, emulated: Deliverer) -> None:
    _stack(cfn, batch_size=5)
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName="ingest")["QueueUrl"]
    for body in ("good", "crash"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    assert extension.poller().tick(evaluate=False) == 1
    _until_visible_again()
    assert _bodies(sqs, "ingest") == ["crash", "good"]


def test_a_deleted_mapping_is_no_longer_polled(cfn: Any, emulated: Deliverer) -> None:
    _stack(cfn)
    lam = boto3.client("lambda", region_name=REGION)
    (mapping,) = lam.list_event_source_mappings(FunctionName="f")["EventSourceMappings"]
    assert mapping["EventSourceArn"] == QUEUE_ARN
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="ingest")["QueueUrl"], MessageBody="x")
    assert extension.poller().tick(evaluate=False) == 0
    assert _bodies(sqs, "ingest") == ["x"]
