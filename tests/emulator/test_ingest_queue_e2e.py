"""Queue ingest mode end to end through the CLI: deploy `localqueue` (the `local` environment with
``ingest.mode: queue``) to the embedded emulator, upload a batch of files and one delivery that
fails, and see every good file processed once, only the bad message received again and then
dead-lettered, and the Errors and DLQ-Depth alarms in ALARM with the alarm topic notified.

The failing delivery is a second notification, on the ingest queue, announcing the wrong size
for a real upload (what a truncated delivery looks like): the function rejects it with
``SizeMismatch``, while that upload's own notification is processed like the others.
The bad message is received again only after the queue's visibility timeout, and dead-lettered
on the next receive after its second. The deployed timeout (30 s, 6x the environment's 5 s
function timeout) is checked, then shortened through the SQS API to a value still above the
function timeout, as an operator could: the flow is the same and the test waits ~25 s, not ~70 s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator import naming
from generator.emulator import launcher
from generator.emulator.observability.alarm_demo import mismatched_notification
from tests.emulator.conftest import cli_ok

pytestmark = [pytest.mark.e2e, pytest.mark.slow(30)]

ENV = "localqueue"
REGION = "us-east-1"
BUCKET = naming.data_bucket(ENV, "123456789012")
GOOD_FILES = 5
SHORT_VISIBILITY = 10  # seconds: twice the environment's 5 s function timeout


def wait_for(what: str, check: Callable[[], Any], timeout_seconds: float) -> Any:
    """``check()``'s first truthy value, polled; fails naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1.0)
    pytest.fail(f"timed out after {timeout_seconds:.0f}s waiting for {what}")


def metric_sum(cloudwatch: Any, name: str) -> float:
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace=naming.METRICS_NAMESPACE, MetricName=name,
        Dimensions=[{"Name": "Environment", "Value": ENV}],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1),
        Period=7200, Statistics=["Sum"],
    )["Datapoints"]  # fmt: skip
    return float(sum(p["Sum"] for p in points))


def test_queue_mode_processes_good_files_once_and_dead_letters_the_bad_one(
    repo_root: Path, cli_env: dict[str, str]
) -> None:
    cli_ok(repo_root, cli_env, "deploy", "--env", ENV)
    running = launcher.status(Path(cli_env["SERVERLESSAPP_STATE_DIR"]))
    assert running is not None

    def client(service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=running.endpoint)

    s3, sqs, sns, cloudwatch = client("s3"), client("sqs"), client("sns"), client("cloudwatch")
    inbox = sqs.create_queue(QueueName="alarm-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    topic = f"arn:aws:sns:{REGION}:123456789012:{naming.topic_name(ENV)}"
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["Attributes"]["QueueArn"])
    ingest = sqs.get_queue_url(QueueName=naming.ingest_queue_name(ENV))["QueueUrl"]
    dead_letters = sqs.get_queue_url(QueueName=naming.queue_name(ENV))["QueueUrl"]
    deployed_visibility = sqs.get_queue_attributes(
        QueueUrl=ingest, AttributeNames=["VisibilityTimeout"]
    )["Attributes"]["VisibilityTimeout"]
    assert deployed_visibility == "30"
    # Above the function's 5 s timeout, so a slow good delivery is never received twice.
    sqs.set_queue_attributes(
        QueueUrl=ingest, Attributes={"VisibilityTimeout": str(SHORT_VISIBILITY)}
    )

    def idle() -> bool:
        # S3's test event, received when the queue was created, with the deployed 30 s; every
        # message from here on is received with the short timeout.
        counts = sqs.get_queue_attributes(QueueUrl=ingest, AttributeNames=["All"])["Attributes"]
        return (
            counts["ApproximateNumberOfMessages"]
            == counts["ApproximateNumberOfMessagesNotVisible"]
            == "0"
        )

    wait_for("the ingest queue to be idle", idle, 30)

    keys = [f"uploads/batch/file {i}.txt" for i in range(GOOD_FILES)]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=BUCKET, Key=key, Body=f"file {i}\n".encode())
    body = b"announced with the wrong size\n"
    bad = s3.put_object(Bucket=BUCKET, Key="uploads/bad.txt", Body=body)
    notification = mismatched_notification(
        BUCKET, "uploads/bad.txt", bad["VersionId"], bad["ETag"], len(body), REGION
    )
    sqs.send_message(QueueUrl=ingest, MessageBody=json.dumps(notification))

    def results() -> list[str]:
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=naming.RESULTS_PREFIX)
        return sorted(o["Key"] for o in listed.get("Contents", []))

    keys.append("uploads/bad.txt")  # its own notification is a good one
    found = wait_for("every result", lambda: len(results()) == len(keys) and results(), 90)
    documents = [json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in found]
    assert sorted(d["key"] for d in documents) == sorted(keys)

    def dead_letter_count() -> int:
        # Counted, not received: a received message is invisible, and DLQ-Depth counts visible.
        found = sqs.get_queue_attributes(
            QueueUrl=dead_letters, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(found["Attributes"]["ApproximateNumberOfMessages"])

    wait_for("the bad message in the dead-letter queue", dead_letter_count, 150)
    attributes = sqs.get_queue_attributes(QueueUrl=ingest, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"

    # Every good file processed once; the bad message failed on each of its two receives.
    assert results() == found
    assert metric_sum(cloudwatch, "FilesProcessed") == len(keys)
    assert metric_sum(cloudwatch, "DuplicateDeliveries") == 0
    assert metric_sum(cloudwatch, "MessagesFailed") == 2

    def states() -> dict[str, str]:
        described = cloudwatch.describe_alarms()["MetricAlarms"]
        return {a["AlarmName"]: a["StateValue"] for a in described}

    errors, depth = (naming.alarm_name(k, ENV) for k in ("Lambda-Errors", "DLQ-Depth"))
    wait_for("Errors and DLQ-Depth in ALARM",
             lambda: states()[errors] == states()[depth] == "ALARM", 30)  # fmt: skip

    def notified() -> set[str]:
        messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        told = set()
        for message in messages.get("Messages", []):
            document = json.loads(json.loads(message["Body"])["Message"])
            if document["NewStateValue"] == "ALARM":
                told.add(document["AlarmName"])
        return told

    seen: set[str] = set()
    wait_for("the topic's ALARM notifications",
             lambda: seen.update(notified()) or {errors, depth} <= seen, 30)  # fmt: skip

    (letter,) = sqs.receive_message(QueueUrl=dead_letters, WaitTimeSeconds=1)["Messages"]
    assert json.loads(letter["Body"]) == notification
