"""The whole path against moto: S3 with versioning, Secrets Manager, the Lambda entry point."""

from __future__ import annotations

import hashlib
import io
import json
import time
from typing import Any

import boto3
import pytest
from fileproc import aws
from fileproc.errors import RecordsFailed
from fileproc.signing import verify_result

from tests.handler.conftest import (
    BUCKET,
    PASSWORD,
    World,
    combine,
    inject_error,
    load_event,
    metric_totals,
    object_event,
)

pytestmark = pytest.mark.integration


def _only_result(world: World) -> dict[str, Any]:
    keys = world.result_keys()
    assert len(keys) == 1, keys
    return world.result(keys[0])


def test_processes_a_file_and_writes_a_signed_result(world: World) -> None:
    body = b"hello, world"
    put = world.put("uploads/reports/2026/summary.txt", body, ContentType="text/plain")
    event = load_event("aws_object_created_put")
    event["Records"][0]["s3"]["object"]["versionId"] = put["VersionId"]

    outcome = world.invoke(event)

    expected_key = f"processed/reports/2026/summary.txt/v-{put['VersionId']}.json"
    assert outcome == {"processed": [expected_key], "skipped": []}
    result = world.result(expected_key)
    assert result["bucket"] == BUCKET
    assert result["key"] == "uploads/reports/2026/summary.txt"
    assert result["version_id"] == put["VersionId"]
    assert result["size"] == len(body)
    assert result["sha256"] == hashlib.sha256(body).hexdigest()
    assert result["etag"] == put["ETag"].strip('"')
    assert result["content_type"] == "text/plain"
    assert result["format"] == "serverlessapp.result/v2"
    current = world.secrets.get_secret_value(SecretId=world.secret_arn)["VersionId"]
    assert result["key_version"] == current
    assert verify_result(result, PASSWORD)
    assert not verify_result(result, "another-password")


def test_result_object_is_json_typed(world: World) -> None:
    world.invoke(world.event_for("uploads/a.txt", b"a"))
    head = world.s3.head_object(Bucket=BUCKET, Key=world.result_keys()[0])
    assert head["ContentType"] == "application/json"


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("uploads/with space.txt", "uploads/with+space.txt"),
        ("uploads/a+b.txt", "uploads/a%2Bb.txt"),
        ("uploads/ünïcødé/日本語 ファイル.txt", None),
        ("uploads/emoji 🚀/x.bin", None),
        ("uploads/100%/done?.txt", None),
        ("uploads/deep/er/than/that/file", "uploads%2Fdeep%2Fer%2Fthan%2Fthat%2Ffile"),
        ("uploads/tricky%2B.txt", "uploads/tricky%252B.txt"),
        ("uploads/quote'\"&=;.txt", None),
    ],
)
def test_decodes_awkward_keys(world: World, key: str, encoded: str | None) -> None:
    body = key.encode("utf-8")
    put = world.put(key, body)
    event = object_event(key, len(body), version_id=put["VersionId"], raw_key=encoded)

    world.invoke(event)

    result = _only_result(world)
    assert result["key"] == key
    assert result["sha256"] == hashlib.sha256(body).hexdigest()


def test_processes_an_empty_file(world: World) -> None:
    world.invoke(world.event_for("uploads/empty", b""))

    result = _only_result(world)
    assert result["size"] == 0
    assert result["sha256"] == hashlib.sha256(b"").hexdigest()


def test_versioned_overwrite_gives_each_version_its_own_result(world: World) -> None:
    first = world.event_for("uploads/doc.txt", b"version one")
    second = world.event_for("uploads/doc.txt", b"version two, longer")

    world.invoke(first)
    world.invoke(second)

    results = [world.result(k) for k in world.result_keys()]
    assert sorted(r["sha256"] for r in results) == sorted(
        hashlib.sha256(b).hexdigest() for b in (b"version one", b"version two, longer")
    )
    assert len({r["version_id"] for r in results}) == 2


def test_duplicate_delivery_writes_nothing_new(world: World, capsys: Any) -> None:
    event = world.event_for("uploads/dup.txt", b"same bytes")
    world.invoke(event)
    key = world.result_keys()[0]
    before = world.s3.head_object(Bucket=BUCKET, Key=key)
    capsys.readouterr()

    outcome = world.invoke(event)

    assert outcome == {"processed": [], "skipped": ["duplicate"]}
    after = world.s3.head_object(Bucket=BUCKET, Key=key)
    assert after["ETag"] == before["ETag"]
    assert after.get("VersionId") == before.get("VersionId")
    versions = world.s3.list_object_versions(Bucket=BUCKET, Prefix="processed/")
    assert len(versions["Versions"]) == 1
    totals = metric_totals(capsys.readouterr().out)
    assert totals["DuplicateDeliveries"] == 1
    assert totals["RecordsSkipped"] == 1
    assert "FilesProcessed" not in totals


def test_late_event_for_older_version_never_overwrites_newer_result(world: World) -> None:
    old = world.event_for("uploads/race.txt", b"old")
    new = world.event_for("uploads/race.txt", b"newer bytes")
    world.invoke(new)
    newer_key = world.result_keys()[0]
    newer_before = world.result(newer_key)

    world.invoke(old)

    assert world.result(newer_key) == newer_before
    assert len(world.result_keys()) == 2


def test_late_event_without_version_is_skipped_when_the_key_holds_newer_bytes(
    world: World,
) -> None:
    old_put = world.put("uploads/unpinned.txt", b"old")
    world.put("uploads/unpinned.txt", b"newer bytes")
    # moto's notifications (and unversioned buckets) carry no versionId: the ETag pins the bytes.
    late = object_event("uploads/unpinned.txt", 3, etag=old_put["ETag"].strip('"'))

    outcome = world.invoke(late)

    assert outcome == {"processed": [], "skipped": ["superseded"]}
    assert world.result_keys() == []


def test_skips_an_object_deleted_before_processing(world: World) -> None:
    event = world.event_for("uploads/gone.txt", b"bye")
    version = event["Records"][0]["s3"]["object"]["versionId"]
    world.s3.delete_object(Bucket=BUCKET, Key="uploads/gone.txt", VersionId=version)

    assert world.invoke(event) == {"processed": [], "skipped": ["object_gone"]}
    assert world.result_keys() == []


def test_skips_an_unversioned_key_that_no_longer_exists(world: World) -> None:
    event = object_event("uploads/never-there.txt", 3, etag="0" * 32)
    assert world.invoke(event) == {"processed": [], "skipped": ["object_gone"]}


@pytest.mark.parametrize(
    ("operation", "code", "status"),
    [
        ("GetObject", "AccessDenied", 403),
        ("PutObject", "AccessDenied", 403),
        ("GetObject", "SlowDown", 503),
        ("GetObject", "InternalError", 500),
        ("PutObject", "ServiceUnavailable", 503),
    ],
)
def test_fails_on_denied_throttled_or_5xx_calls(
    world: World, operation: str, code: str, status: int
) -> None:
    event = world.event_for("uploads/denied.txt", b"x")
    inject_error(aws.s3_client(), operation, code, status)

    with pytest.raises(RecordsFailed, match=rf"uploads/denied\.txt.*\({code}\)"):
        world.invoke(event)
    assert world.result_keys() == []


def test_conditional_write_conflict_is_retried_not_dropped(world: World) -> None:
    # The other in-flight writer may still fail; only an existing result (412) is a duplicate.
    event = world.event_for("uploads/racing.txt", b"x")
    injected = inject_error(aws.s3_client(), "PutObject", "ConditionalRequestConflict", 409)

    with pytest.raises(RecordsFailed, match=r"\(ConditionalRequestConflict\)"):
        world.invoke(event)
    assert injected() == 1
    assert world.result_keys() == []


def test_fails_on_size_mismatch(world: World) -> None:
    event = world.event_for("uploads/short.txt", b"12345")
    event["Records"][0]["s3"]["object"]["size"] = 6

    with pytest.raises(RecordsFailed, match=r"\(SizeMismatch\)"):
        world.invoke(event)
    assert world.result_keys() == []


@pytest.mark.parametrize(
    "secret_string",
    ["not json", json.dumps({"username": "admin"}), json.dumps({"password": ""}), "[]"],
)
def test_fails_if_the_secret_has_no_usable_password(world: World, secret_string: str) -> None:
    world.secrets.put_secret_value(SecretId=world.secret_arn, SecretString=secret_string)
    event = world.event_for("uploads/a.txt", b"a")

    with pytest.raises(RecordsFailed, match=r"\(SecretUnreadable\)"):
        world.invoke(event)


def test_fails_if_the_secret_cannot_be_read(world: World) -> None:
    event = world.event_for("uploads/a.txt", b"a")
    inject_error(aws.secrets_client(), "GetSecretValue", "AccessDeniedException", 400)

    with pytest.raises(RecordsFailed, match=r"\(SecretUnreadable\)"):
        world.invoke(event)


def test_one_bad_record_does_not_hide_the_others(world: World, capsys: Any) -> None:
    event = load_event("multi_record")
    bodies = [b"first", b"second", b"third"]
    for record, body in zip(event["Records"], bodies, strict=True):
        key = record["s3"]["object"]["key"]
        put = world.put(key, body)
        record["s3"]["object"].update(size=len(body), versionId=put["VersionId"])
    event["Records"][1]["s3"]["object"]["size"] = 999

    with pytest.raises(RecordsFailed) as raised:
        world.invoke(event)

    assert raised.value.failures == (
        f"record 1 s3://{BUCKET}/uploads/batch/two.txt version "
        f"{event['Records'][1]['s3']['object']['versionId']} (SizeMismatch)",
    )
    assert "1 of 3 records failed" in str(raised.value)
    written = {world.result(k)["key"] for k in world.result_keys()}
    assert written == {"uploads/batch/one.txt", "uploads/batch/three.txt"}
    totals = metric_totals(capsys.readouterr().out)
    assert totals["FilesProcessed"] == 2
    assert totals["ProcessingErrors"] == 1


def test_multi_record_event_with_deleted_object_processes_the_rest(world: World) -> None:
    kept = world.event_for("uploads/kept.txt", b"kept")
    gone = world.event_for("uploads/gone.txt", b"gone")
    world.s3.delete_object(
        Bucket=BUCKET,
        Key="uploads/gone.txt",
        VersionId=gone["Records"][0]["s3"]["object"]["versionId"],
    )

    outcome = world.invoke(combine(gone, kept))

    assert outcome["skipped"] == ["object_gone"]
    assert len(outcome["processed"]) == 1


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("s3_test_event", "test_event"),
        ("no_records", "no_records"),
        ("outside_prefix", "outside_upload_prefix"),
        ("results_prefix", "results_prefix"),
        ("object_removed", "not_object_created"),
    ],
)
def test_skips_events_that_are_not_uploads(world: World, fixture: str, reason: str) -> None:
    calls = world.count_calls()

    assert world.invoke(load_event(fixture)) == {"processed": [], "skipped": [reason]}
    assert calls == []


def test_results_never_retrigger_the_function(world: World) -> None:
    world.invoke(world.event_for("uploads/loop.txt", b"loop"))
    result_key = world.result_keys()[0]
    assert not result_key.startswith("uploads/")
    # Even if a notification for the result arrived, it is skipped without an AWS call.
    event = object_event(result_key, 10, version_id="v1")
    calls = world.count_calls()

    assert world.invoke(event) == {"processed": [], "skipped": ["results_prefix"]}
    assert calls == []
    assert world.result_keys() == [result_key]


def test_skips_records_of_another_bucket(world: World) -> None:
    event = world.event_for("uploads/a.txt", b"a")
    event["Records"][0]["s3"]["bucket"]["name"] = "someone-elses-bucket"

    assert world.invoke(event) == {"processed": [], "skipped": ["other_bucket"]}


def test_warm_invocation_makes_only_the_read_and_the_write(world: World) -> None:
    cold = world.event_for("uploads/cold.txt", b"cold")
    warm = world.event_for("uploads/warm.txt", b"warm")
    calls = world.count_calls()

    world.invoke(cold)
    assert calls == ["GetObject", "GetSecretValue", "PutObject"]
    calls.clear()
    world.invoke(warm)

    assert calls == ["GetObject", "PutObject"]


def test_a_rotated_secret_is_used_once_the_cache_expires(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_CACHE_SECONDS", "1")
    import app

    app.settings.cache_clear()
    world.invoke(world.event_for("uploads/before.txt", b"before"))
    rotated = "R0tated-Pa55word-0123456789abcdef"
    before = world.secrets.get_secret_value(SecretId=world.secret_arn)["VersionId"]
    after = world.secrets.put_secret_value(
        SecretId=world.secret_arn,
        SecretString=json.dumps({"username": "admin", "password": rotated}),
    )["VersionId"]
    world.invoke(world.event_for("uploads/cached.txt", b"cached"))
    time.sleep(1.1)
    world.invoke(world.event_for("uploads/after.txt", b"after"))

    by_key = {r["key"]: r for r in (world.result(k) for k in world.result_keys())}
    assert verify_result(by_key["uploads/before.txt"], PASSWORD)
    assert verify_result(by_key["uploads/cached.txt"], PASSWORD)  # within the cache TTL
    assert verify_result(by_key["uploads/after.txt"], rotated)
    # The cached password kept its own version id: each result names the key that signed it.
    assert [by_key[f"uploads/{n}.txt"]["key_version"] for n in ("before", "cached", "after")] == [
        before,
        before,
        after,
    ]


def test_never_logs_the_secret_or_the_contents(
    world: World, capsys: Any, logs: io.StringIO
) -> None:
    contents = b"CONFIDENTIAL-PAYLOAD-7f3a"
    world.invoke(world.event_for("uploads/private.txt", contents))
    bad = world.event_for("uploads/private2.txt", contents)
    bad["Records"][0]["s3"]["object"]["size"] = 1
    with pytest.raises(RecordsFailed):
        world.invoke(bad)

    out = capsys.readouterr()
    written = logs.getvalue() + out.out + out.err
    assert "uploads/private.txt" in written
    assert "SizeMismatch" in written
    assert PASSWORD not in written
    assert contents.decode() not in written


def test_logs_are_json_with_the_request_id(world: World, logs: io.StringIO) -> None:
    world.invoke(world.event_for("uploads/a.txt", b"a"))

    lines = [json.loads(x) for x in logs.getvalue().splitlines()]
    processed = [x for x in lines if x["message"] == "processed"]
    assert len(processed) == 1
    assert processed[0]["function_request_id"] == "11111111-2222-3333-4444-555555555555"
    assert processed[0]["service"] == "ServerlessApp"
    assert processed[0]["key"] == "uploads/a.txt"


def test_emits_metrics_as_emf_with_the_environment_dimension(world: World, capsys: Any) -> None:
    world.invoke(world.event_for("uploads/a.txt", b"abc"))

    docs = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert len(docs) == 1
    directive = docs[0]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "ServerlessApp/Lambda"
    assert directive["Dimensions"] == [["Environment"]]
    assert docs[0]["Environment"] == "dev"
    assert docs[0]["FilesProcessed"] == [1.0] or docs[0]["FilesProcessed"] == 1.0
    assert docs[0]["BytesProcessed"] in (3.0, [3.0])


def test_processes_the_event_moto_s3_notifications_produce(world: World) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    world.s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "uploads",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                }
            ]
        },
    )
    key = "uploads/2024/Q1 report+final (v2) ü.csv"
    world.put(key, b"a,b\n1,2\n")
    bodies = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    ]
    live = next(b for b in bodies if "Records" in b)
    fixture = load_event("moto_s3_notification")

    # The committed fixture has exactly the shape and encoding moto produces.
    live_record, fixture_record = live["Records"][0], fixture["Records"][0]
    assert live_record.keys() == fixture_record.keys()
    assert live_record["s3"]["object"] == fixture_record["s3"]["object"]
    for event in (live, fixture):
        world.invoke(event)
    assert world.invoke(live) == {"processed": [], "skipped": ["duplicate"]}
    assert [r["key"] for r in map(world.result, world.result_keys())] == [key]
    assert all(b.get("Event") == "s3:TestEvent" for b in bodies if "Records" not in b)
