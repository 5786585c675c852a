"""The demo's second half, in the emulator only: a delivery that fails, and the alarm it sets off.

After the good upload, the demo uploads one more file (whose own notification is processed as
usual) and hands the function a second notification for it that announces the wrong size (what a
truncated or corrupted delivery looks like): in direct mode as S3 would, an asynchronous
invocation; in queue mode as a message on the ingest queue. The function rejects that one
(``SizeMismatch``), Lambda's ``Errors`` metric counts it, and the emulator's alarm evaluation puts
``ServerlessApp-Lambda-Errors-<env>`` in ALARM and notifies the alarm topic.
To show the topic's side, the demo subscribes an inbox queue of its own to the topic (only in the
emulator; nothing is created in an AWS account) and prints the notification it receives.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator import naming
from generator.clock import Clock, Deadline, SystemClock, until
from generator.config import Environment, visibility_timeout_seconds

INBOX_PREFIX = "ServerlessApp-DemoAlarmInbox-"


def inbox_name(env: str) -> str:
    """The demo's own queue subscribed to the alarm topic."""
    return f"{INBOX_PREFIX}{env}"


def mismatched_notification(
    bucket: str, key: str, version_id: str | None, etag: str, size: int, region: str
) -> dict[str, Any]:
    """An ObjectCreated notification for a real object that announces ``size + 1`` bytes."""
    obj: dict[str, Any] = {"key": key, "size": size + 1, "eTag": etag.strip('"')}
    if version_id:
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": obj,
                },
            }
        ]
    }


@dataclass(frozen=True)
class AlarmSeen:
    """What the demo observed: the alarm's state and reason, and the topic's notification."""

    alarm: str
    state: str
    reason: str
    notification: dict[str, Any] | None


def subscribe_inbox(sqs: Any, sns: Any, env: Environment) -> str:
    """The inbox queue's URL, subscribed (once) to the environment's alarm topic."""
    url = str(sqs.create_queue(QueueName=inbox_name(env.name))["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = f"arn:aws:sns:{env.region}:{env.account_id}:{naming.topic_name(env.name)}"
    listed = sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])
    if not any(s.get("Endpoint") == arn for s in listed):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return url


def deliver_failing(
    env: Environment, clients: Callable[[str], Any], bucket: str, key: str, body: bytes
) -> str:
    """Upload ``key`` (processed as usual), then hand the function a second notification for
    it, announcing the wrong size, that it must reject."""
    s3 = clients("s3")
    reply = s3.put_object(Bucket=bucket, Key=key, Body=body)
    event = mismatched_notification(
        bucket, key, reply.get("VersionId"), str(reply["ETag"]), len(body), env.region
    )
    if env.ingest.mode == "queue":
        sqs = clients("sqs")
        url = sqs.get_queue_url(QueueName=naming.ingest_queue_name(env.name))["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
        return (
            f"sent a second notification announcing {len(body) + 1} bytes for s3://{bucket}/{key} "
            f"({len(body)} bytes) to {naming.ingest_queue_name(env.name)}; it is received again "
            f"after {visibility_timeout_seconds(env)}s and dead-lettered after "
            f"{env.ingest.max_receive_count} receives"
        )
    clients("lambda").invoke(
        FunctionName=naming.function_name(env.name),
        InvocationType="Event",
        Payload=json.dumps(event).encode("utf-8"),
    )
    return (
        f"invoked {naming.function_name(env.name)} asynchronously with a second notification "
        f"announcing "
        f"{len(body) + 1} bytes for s3://{bucket}/{key} ({len(body)} bytes); it is retried "
        f"{env.function.async_retries} times, then dead-lettered"
    )


def wait_for_alarm(
    cloudwatch: Any,
    sqs: Any,
    inbox_url: str,
    alarm: str,
    timeout_seconds: float,
    notification_seconds: float | None = None,
    clock: Clock | None = None,
) -> AlarmSeen | None:
    """Wait for ``alarm`` to be in ALARM and for its notification in the inbox (None: never)."""
    clock = clock or SystemClock()
    deadline = Deadline(clock, timeout_seconds)
    state, reason = "", ""

    def in_alarm() -> bool:
        nonlocal state, reason
        found = cloudwatch.describe_alarms(AlarmNames=[alarm]).get("MetricAlarms", [])
        if found:
            state, reason = found[0]["StateValue"], found[0].get("StateReason", "")
        return state == "ALARM"

    if not until(deadline, 1.0, in_alarm):
        return None
    notification: dict[str, Any] | None = None

    def notified() -> bool:
        nonlocal notification
        for message in sqs.receive_message(
            QueueUrl=inbox_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            sqs.delete_message(QueueUrl=inbox_url, ReceiptHandle=message["ReceiptHandle"])
            document = _alarm_message(message["Body"])
            if document.get("AlarmName") == alarm and document.get("NewStateValue") == "ALARM":
                notification = document
        return notification is not None

    # Already in ALARM before the demo: its notification went out then, so wait only briefly.
    seconds = deadline.remaining()
    if notification_seconds is not None:
        seconds = min(seconds, notification_seconds)
    # receive_message long-polls for a second itself: no sleep between attempts.
    until(Deadline(clock, seconds), 0.0, notified)
    return AlarmSeen(alarm, state, reason, notification)


def _alarm_message(body: str) -> dict[str, Any]:
    """The CloudWatch message inside an SNS-to-SQS envelope (or the raw body)."""
    try:
        envelope = json.loads(body)
        inner = envelope.get("Message", body) if isinstance(envelope, dict) else body
        document = json.loads(inner) if isinstance(inner, str) else inner
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def run(env: Environment, clients: Callable[[str], Any], timeout_seconds: float) -> bool:
    """Deliver a failing upload, then print the Errors alarm's state and the topic's message.

    Returns whether the alarm reached ALARM within ``timeout_seconds``.
    """
    sqs, cloudwatch = clients("sqs"), clients("cloudwatch")
    alarm = naming.alarm_name("Lambda-Errors", env.name)
    inbox = subscribe_inbox(sqs, clients("sns"), env)
    # A demo less than a minute ago emptied it; older notifications are told apart below.
    with contextlib.suppress(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=inbox)
    before = cloudwatch.describe_alarms(AlarmNames=[alarm]).get("MetricAlarms", [])
    already = bool(before) and before[0]["StateValue"] == "ALARM"
    bucket = naming.data_bucket(env.name, env.account_id)
    key = f"{env.storage.upload_prefix}demo-failing-{int(time.time())}.txt"
    print()
    print("now a delivery that fails (the emulator evaluates the stack's alarms):")
    print(deliver_failing(env, clients, bucket, key, b"this delivery announces the wrong size\n"))
    seen = wait_for_alarm(cloudwatch, sqs, inbox, alarm, timeout_seconds, 10.0 if already else None)
    if seen is None:
        print(f"alarm {alarm}: not in ALARM after {timeout_seconds:.0f}s; expected it to fire")
        return False
    print(f"alarm {alarm}: {seen.state} ({seen.reason})")
    topic = naming.topic_name(env.name)
    if seen.notification is not None:
        print(f"topic {topic} notified (received by the demo's queue {inbox_name(env.name)}):")
        print(json.dumps(seen.notification, indent=2, sort_keys=True))
    elif already:
        print(f"topic {topic}: told when the alarm first fired (it was already in ALARM)")
    else:
        print(f"topic {topic}: no notification reached {inbox_name(env.name)}")
        return False
    return True
