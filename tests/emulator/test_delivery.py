"""Function invocations without Docker: the deployed code in a subprocess, its environment, and
the async path's retries and failure destination."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from generator.emulator.delivery import Deliverer, Invocation, child_environment, run_handler
from tests.emulator.conftest import REGION, handler_zip

pytestmark = pytest.mark.slow(6)

ECHO = """
import os
def handler(event, context):
    keys = ("AWS_ENDPOINT_URL", "BUCKET_NAME", "AWS_ACCESS_KEY_ID", "AWS_LAMBDA_FUNCTION_NAME")
    return {"event": event, "env": {k: os.environ.get(k) for k in keys},
            "remaining": context.get_remaining_time_in_millis() > 0}
"""
FAIL = "def handler(event, context):\n    raise RuntimeError('boom')\n"


def _invocation(source: str, **changes: Any) -> Invocation:
    base: dict[str, Any] = {
        "account_id": "123456789012", "region": REGION, "function_name": "f",
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "handler": "app.handler",
        "code": handler_zip(source), "environment": {"BUCKET_NAME": "b", "AWS_ENDPOINT_URL": "x"},
        "timeout_seconds": 10, "memory_mb": 128, "log_group": "/aws/lambda/f",
    }  # fmt: skip
    base.update(changes)
    return Invocation(**base)


def test_handler_runs_with_the_function_environment_and_the_emulator_endpoint(
    tmp_path: Path,
) -> None:
    outcome = run_handler(_invocation(ECHO), {"a": 1}, "http://127.0.0.1:5", tmp_path)
    assert outcome.ok
    assert outcome.payload["event"] == {"a": 1}
    assert outcome.payload["env"] == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5",  # the function cannot point elsewhere
        "BUCKET_NAME": "b",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": "f",
    }
    assert outcome.payload["remaining"]


def test_child_environment_never_carries_the_callers_credentials(monkeypatch: Any) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-looking")
    monkeypatch.setenv("AWS_PROFILE", "prod")
    env = child_environment(_invocation(ECHO), "http://e", "req")
    assert env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert "AWS_PROFILE" not in env


def test_a_raising_handler_is_a_failed_outcome_with_its_error(tmp_path: Path) -> None:
    outcome = run_handler(_invocation(FAIL), {}, "http://e", tmp_path)
    assert not outcome.ok
    assert outcome.payload["errorType"] == "RuntimeError"
    assert outcome.payload["errorMessage"] == "boom"
    assert "RuntimeError: boom" in outcome.logs


def test_a_handler_past_its_timeout_is_a_failed_outcome(tmp_path: Path) -> None:
    slow = "import time\ndef handler(e, c):\n    time.sleep(30)\n"
    outcome = run_handler(_invocation(slow, timeout_seconds=1), {}, "http://e", tmp_path)
    assert not outcome.ok
    assert "timed out" in outcome.payload["errorMessage"]


def test_async_failure_retries_then_reaches_the_on_failure_queue(emulated: Deliverer) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="failures")["QueueUrl"]
    arn = "arn:aws:sqs:us-east-1:123456789012:failures"
    emulated.invoke_async(_invocation(FAIL, max_retries=1, on_failure=arn), {"n": 1})
    assert emulated.wait_idle(60)
    messages = sqs.receive_message(QueueUrl=url)["Messages"]
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"n": 1}
    assert record["responsePayload"]["errorMessage"] == "boom"


def test_async_failure_without_destination_goes_to_the_dead_letter_queue(
    emulated: Deliverer,
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq = "arn:aws:sqs:us-east-1:123456789012:dlq"
    emulated.invoke_async(_invocation(FAIL, max_retries=0, dead_letter_target=dlq), {"n": 2})
    assert emulated.wait_idle(60)
    assert json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]) == {"n": 2}


def test_invocation_output_lands_in_the_function_log_group(emulated: Deliverer) -> None:
    logs = boto3.client("logs", region_name=REGION)
    emulated.invoke_sync(_invocation("def handler(e, c):\n    print('hello log')\n"), {})
    events = logs.filter_log_events(logGroupName="/aws/lambda/f")["events"]
    assert any(e["message"] == "hello log" for e in events)
