"""Queue ingest mode: SQS batches of S3 notifications, partial batch responses, redeliveries.

The fixture ``sqs_batch.json`` holds four messages: a good upload, an upload whose notification
announces the wrong size (the function rejects it), an ``s3:TestEvent`` and a body that is not a
notification at all.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import app
import pytest
from fileproc import events, sqs
from fileproc.errors import InvalidEvent, RecordsFailed

from tests.handler.conftest import World, load_event

GOOD, BAD, TEST_EVENT, NOT_JSON = (f"0b7c2a61-0000-4000-8000-00000000000{i}" for i in range(1, 5))


def batch(world: World) -> dict[str, Any]:
    """The fixture with its two uploads made real: one good, one whose size is announced wrong."""
    event = load_event("sqs_batch")
    for record in event["Records"]:
        if record["messageId"] not in (GOOD, BAD):
            continue
        body = json.loads(record["body"])
        obj = body["Records"][0]["s3"]["object"]
        key = "uploads/good file.txt" if record["messageId"] == GOOD else "uploads/bad.txt"
        data = b"queued bytes\n"
        put = world.put(key, data)
        obj.update(versionId=put["VersionId"], eTag=put["ETag"].strip('"'), size=len(data))
        if record["messageId"] == BAD:
            obj["size"] = len(data) + 1  # what a truncated upload's notification would say
        record["body"] = json.dumps(body)
    return event


def only(event: dict[str, Any], *message_ids: str) -> dict[str, Any]:
    picked = copy.deepcopy(event)
    picked["Records"] = [r for r in picked["Records"] if r["messageId"] in message_ids]
    return picked


def test_reports_only_the_failed_messages(world: World) -> None:
    reply = world.invoke(batch(world))
    assert reply == {"batchItemFailures": [{"itemIdentifier": BAD}, {"itemIdentifier": NOT_JSON}]}
    (result_key,) = world.result_keys()
    assert result_key.startswith("processed/good file.txt/v-")
    assert world.result(result_key)["key"] == "uploads/good file.txt"


def test_test_events_are_skipped_not_failed(world: World) -> None:
    reply = world.invoke(only(load_event("sqs_batch"), TEST_EVENT))
    assert reply == {"batchItemFailures": []}
    assert world.result_keys() == []


def test_a_redelivered_batch_writes_nothing_new(world: World) -> None:
    event = only(batch(world), GOOD, TEST_EVENT)
    assert world.invoke(event) == {"batchItemFailures": []}
    first = {k: world.result(k) for k in world.result_keys()}
    assert world.invoke(event) == {"batchItemFailures": []}  # the same messages, received again
    assert {k: world.result(k) for k in world.result_keys()} == first


def test_a_batch_where_every_message_failed_raises(world: World) -> None:
    event = only(batch(world), BAD, NOT_JSON)
    with pytest.raises(RecordsFailed, match="2 of 2 records failed"):
        world.invoke(event)
    assert world.result_keys() == []


def test_direct_notifications_are_not_mistaken_for_batches() -> None:
    assert events.is_sqs_batch(load_event("sqs_batch"))
    assert not events.is_sqs_batch(load_event("aws_object_created_put"))
    assert not events.is_sqs_batch(load_event("s3_test_event"))
    assert not events.is_sqs_batch({"Records": []})
    assert not events.is_sqs_batch([])


def test_rejects_a_batch_message_without_an_id() -> None:
    event = load_event("sqs_batch")
    del event["Records"][2]["messageId"]
    with pytest.raises(InvalidEvent, match=r"Records\[2\]\.messageId"):
        sqs.queue_messages(event)


def test_queue_mode_stops_before_the_deadline_and_reports_the_message(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.handler.conftest import metric_totals
    from tests.handler.test_large_objects import TimedContext

    event = only(batch(world), GOOD, TEST_EVENT)
    calls = world.count_calls()

    reply = app.lambda_handler(event, TimedContext(remaining_ms=1000))  # under the 5 s default

    # The good upload's message is received again (a retry with a fresh deadline); the test
    # event needs no time and is not reported. Nothing was read or written.
    assert reply == {"batchItemFailures": [{"itemIdentifier": GOOD}]}
    assert calls == []
    assert world.result_keys() == []
    assert metric_totals(capsys.readouterr().out)["ReadsOutOfTime"] == 1


def test_a_queued_message_claiming_a_size_its_object_lacks_fails_and_signs_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Anyone allowed to send to the queue could claim 1 TB for any key; the genuine 200 kB
    # upload in the same batch still gets its too_large result.
    monkeypatch.setenv("MAX_OBJECT_BYTES", "100000")
    app.settings.cache_clear()
    event = only(batch(world), GOOD, BAD)
    for record in event["Records"]:
        body = json.loads(record["body"])
        obj = body["Records"][0]["s3"]["object"]
        key = "uploads/good file.txt" if record["messageId"] == GOOD else "uploads/bad.txt"
        data = b"g" * 200_000 if record["messageId"] == GOOD else b"12345"
        put = world.put(key, data)
        obj.update(versionId=put["VersionId"], eTag=put["ETag"].strip('"'), size=len(data))
        if record["messageId"] == BAD:
            obj["size"] = 10**12
        record["body"] = json.dumps(body)

    reply = world.invoke(event)

    assert reply == {"batchItemFailures": [{"itemIdentifier": BAD}]}
    (result_key,) = world.result_keys()
    result = world.result(result_key)
    assert (result["key"], result["status"], result["size"]) == (
        "uploads/good file.txt",
        "too_large",
        200_000,
    )
