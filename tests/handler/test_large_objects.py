"""The read path for large objects: concurrent ranged GETs of one pinned version, the stop before
the timeout, and the signed too_large result above the environment's limit."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import app
import pytest
from fileproc import core, events, objects, ranged
from fileproc.errors import EventMismatch, OutOfTime, RecordsFailed, SizeMismatch
from fileproc.objects import SUPERSEDED
from fileproc.settings import settings_from_env
from fileproc.signing import RESULT_FORMAT, STATUS_TOO_LARGE, SigningKey, verify_result
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.handler.conftest import (
    BUCKET,
    PASSWORD,
    FakeContext,
    World,
    metric_totals,
    object_event,
)
from tests.handler.fakes import MemoryStore, etag_of

CONFIG = settings_from_env({"SECRET_ARN": "arn:x", "BUCKET_NAME": BUCKET})
KEY = "uploads/big.bin"
SIGNING_KEY = SigningKey(PASSWORD, "key-v1")


def configured(part: int, concurrency: int, **extra: Any) -> Any:
    """The test settings with the read-ahead shape given."""
    return CONFIG._replace(read_part_bytes=part, read_concurrency=concurrency, **extra)


def object_ref(store: MemoryStore, body: bytes, *, versioned: bool = True) -> events.ObjectEvent:
    """Upload ``body`` and return the record S3 would announce for it."""
    version_id, etag = store.upload(BUCKET, KEY, body)
    return events.ObjectEvent(0, BUCKET, KEY, version_id if versioned else None, len(body), etag)


class Hashed:
    """sha256 that also counts how many bytes it has consumed (shared with the store)."""

    def __init__(self) -> None:
        self.inner = hashlib.sha256()
        self.count = 0

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self.inner.update(data)
        self.count += len(data)

    def hexdigest(self) -> str:
        return self.inner.hexdigest()


@dataclass
class WatchingStore(MemoryStore):
    """A MemoryStore that records every open: its pin, its range, and the bytes hashed by then."""

    opens: list[tuple[str | None, str | None, tuple[int, int] | None, int]] = field(
        default_factory=list
    )
    hashed: Hashed | None = None
    after_first_open: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def open(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        if_match: str | None,
        byte_range: tuple[int, int] | None = None,
    ) -> objects.StoredObject:
        with self.lock:
            seen = self.hashed.count if self.hashed is not None else 0
            self.opens.append((version_id, if_match, byte_range, seen))
            first = len(self.opens) == 1
        stored = super().open(bucket, key, version_id, if_match, byte_range)
        if first and self.after_first_open is not None:
            self.after_first_open()
        return stored


def read_all(
    store: MemoryStore, ref: events.ObjectEvent, config: Any, hashed: Hashed | None = None
) -> tuple[int, str]:
    """Digest an object larger than one part the way process_object does, watching the hash."""
    first = store.open(
        ref.bucket, ref.key, ref.version_id, ref.etag, (0, config.read_part_bytes - 1)
    )
    return ranged.digest_ranged(
        first, core.pin_for(ref, first), ref.size, store, config, None, hashed
    )


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=40_000),
    part=st.integers(min_value=1, max_value=9_000),
    concurrency=st.integers(min_value=1, max_value=5),
)
@example(size=4096, part=4096, concurrency=2)  # exactly one part: the single GET
@example(size=4097, part=4096, concurrency=2)  # one byte more: a one-byte second part
@example(size=3 * 4096, part=4096, concurrency=2)  # whole parts only
@example(size=3 * 4096 - 1, part=4096, concurrency=3)
@example(size=1, part=1, concurrency=1)
def test_ranged_reads_give_the_digest_of_a_single_read(
    size: int, part: int, concurrency: int
) -> None:
    body = bytes((i * 7 + size) % 251 for i in range(size))
    store = MemoryStore()
    ref = object_ref(store, body)

    outcome = core.process_object(ref, store, lambda: SIGNING_KEY, configured(part, concurrency))

    assert isinstance(outcome, core.Processed)
    assert (outcome.size, outcome.sha256) == (size, hashlib.sha256(body).hexdigest())
    assert store.reads == (1 if size <= part else -(-size // part))


@settings(max_examples=30, deadline=None)
@given(
    parts=st.integers(min_value=2, max_value=40),
    part=st.integers(min_value=1, max_value=2_000),
    concurrency=st.integers(min_value=1, max_value=6),
)
def test_never_more_than_the_read_ahead_is_requested_beyond_the_hash(
    parts: int, part: int, concurrency: int
) -> None:
    body = bytes(i % 256 for i in range(parts * part))
    store = WatchingStore()
    ref = object_ref(store, body)
    hashed = store.hashed = Hashed()

    size, digest = read_all(store, ref, configured(part, concurrency), hashed)

    assert (size, digest) == (len(body), hashlib.sha256(body).hexdigest())
    # A part starting at `start` is requested only once the hash has consumed all but
    # `concurrency` parts before it: the parts held or downloading never exceed the bound.
    for _, _, byte_range, seen in store.opens[1:]:
        assert byte_range is not None
        assert byte_range[0] - seen <= concurrency * part


def test_every_range_request_names_the_version_the_first_read_pinned() -> None:
    old = b"old bytes " * 1000
    store = WatchingStore()
    version_id, etag = store.upload(BUCKET, KEY, old)
    # The event names no version; a newer upload lands while the object is being read.
    ref = events.ObjectEvent(0, BUCKET, KEY, None, len(old), etag)
    store.after_first_open = lambda: store.upload(BUCKET, KEY, b"new" * 5000)

    outcome = core.process_object(ref, store, lambda: SIGNING_KEY, configured(1000, 3))

    assert isinstance(outcome, core.Processed)
    assert outcome.sha256 == hashlib.sha256(old).hexdigest()
    assert outcome.version_id == version_id
    # The first read, before any part: the event's ETag guards it, as no version is known yet.
    assert store.opens[0][:3] == (None, etag, (0, 999))
    # The other parts are opened by concurrent reads, in whatever order their threads run: each
    # range exactly once, and every one names the version the first read pinned (no ETag).
    requested = sorted(
        (byte_range, version, if_match) for version, if_match, byte_range, _ in store.opens[1:]
    )
    assert requested == [((n * 1000, n * 1000 + 999), version_id, None) for n in range(1, 10)]


def test_without_versions_every_range_request_is_guarded_by_the_etag() -> None:
    body = b"0123456789" * 500
    store = WatchingStore()
    ref = object_ref(store, body, versioned=False)

    # The fake always reports a version id; the pin falls back to the ETag when it is "null".
    store.objects[(BUCKET, KEY)] = [("null", body)]
    outcome = core.process_object(ref, store, lambda: SIGNING_KEY, configured(1024, 2))

    assert isinstance(outcome, core.Processed)
    assert outcome.version_id is None
    assert {o[:2] for o in store.opens} == {(None, ref.etag)}


def test_a_part_shorter_than_its_range_fails_the_record() -> None:
    body = b"x" * 5000
    store = MemoryStore()
    announced = object_ref(store, body)
    ref = events.ObjectEvent(
        announced.index, announced.bucket, announced.key, announced.version_id, 9000, announced.etag
    )

    with pytest.raises(SizeMismatch, match="holds 5000 bytes; the event announced 9000"):
        core.process_object(ref, store, lambda: SIGNING_KEY, configured(1000, 2))
    assert store.results == {}


def test_too_large_gets_a_signed_result_from_the_objects_head_without_any_read() -> None:
    store = MemoryStore()
    ref = object_ref(store, b"y" * 101)

    outcome = core.process_object(
        ref, store, lambda: SIGNING_KEY, CONFIG._replace(max_object_bytes=100)
    )

    assert isinstance(outcome, core.Processed)
    assert outcome.status == STATUS_TOO_LARGE
    assert (store.reads, store.heads) == (0, 1)
    result = json.loads(next(iter(store.results.values())))
    assert result["status"] == STATUS_TOO_LARGE
    assert result["sha256"] is None
    assert result["size"] == 101
    # What S3 holds, from HeadObject: the version, its ETag and content type.
    assert (result["version_id"], result["etag"]) == (ref.version_id, etag_of(b"y" * 101))
    assert result["content_type"] == "application/octet-stream"
    # One result format: a too_large result is v2 and names the key version that signed it.
    assert (result["format"], result["key_version"]) == (RESULT_FORMAT, "key-v1")
    assert verify_result(result, PASSWORD)


def claiming(ref: events.ObjectEvent, **claims: Any) -> events.ObjectEvent:
    """The record for ``ref`` with some of its fields replaced (a forged or stale event)."""
    return ref._replace(**claims)


def test_signs_no_too_large_result_for_an_event_claiming_a_terabyte_for_five_bytes() -> None:
    store = MemoryStore()
    ref = claiming(object_ref(store, b"12345"), size=10**12)

    with pytest.raises(SizeMismatch, match="holds 5 bytes; the event announced 1000000000000"):
        core.process_object(
            ref, store, lambda: SIGNING_KEY, CONFIG._replace(max_object_bytes=100_000)
        )
    assert store.results == {}
    assert store.reads == 0


def test_a_genuine_200_kb_object_over_a_100_kb_limit_gets_a_too_large_result() -> None:
    store = MemoryStore()
    ref = object_ref(store, b"g" * 200_000)

    outcome = core.process_object(
        ref, store, lambda: SIGNING_KEY, CONFIG._replace(max_object_bytes=100_000)
    )

    assert isinstance(outcome, core.Processed)
    assert (outcome.status, outcome.size) == (STATUS_TOO_LARGE, 200_000)
    assert store.reads == 0


def test_signs_no_too_large_result_for_an_event_naming_another_etag() -> None:
    store = MemoryStore()
    ref = claiming(object_ref(store, b"e" * 101), etag="0" * 32)

    with pytest.raises(EventMismatch, match="the event announced 0000"):
        core.process_object(ref, store, lambda: SIGNING_KEY, CONFIG._replace(max_object_bytes=100))
    assert store.results == {}


def test_a_too_large_object_replaced_since_its_event_is_skipped_unversioned() -> None:
    store = MemoryStore()
    ref = object_ref(store, b"o" * 101, versioned=False)
    store.upload(BUCKET, KEY, b"n" * 102)  # the key now holds other bytes (their own event)

    outcome = core.process_object(
        ref, store, lambda: SIGNING_KEY, CONFIG._replace(max_object_bytes=100)
    )

    assert outcome == core.Skipped(SUPERSEDED, 0, BUCKET, KEY)
    assert store.results == {}


def test_an_object_at_the_limit_is_read() -> None:
    store = MemoryStore()
    ref = object_ref(store, b"y" * 100)

    outcome = core.process_object(
        ref, store, lambda: SIGNING_KEY, CONFIG._replace(max_object_bytes=100)
    )

    assert isinstance(outcome, core.Processed)
    assert outcome.status == "processed"
    assert store.reads == 1


class Clock:
    """Seconds left in a fake invocation: each reading costs ``step`` seconds."""

    def __init__(self, left: float, step: float = 0.0) -> None:
        self.left, self.step, self.readings = left, step, 0

    def __call__(self) -> float:
        self.readings += 1
        value = self.left
        self.left -= self.step
        return value


def test_stops_before_reading_when_the_margin_is_already_reached() -> None:
    store = MemoryStore()
    ref = object_ref(store, b"z" * 10)
    config = CONFIG._replace(stop_margin_seconds=5.0)

    with pytest.raises(OutOfTime, match="before reading"):
        core.process_object(ref, store, lambda: SIGNING_KEY, config, Clock(4.9))
    assert store.reads == 0
    assert store.results == {}


def test_stops_during_a_ranged_read_before_the_deadline_with_nothing_written() -> None:
    store = MemoryStore()
    ref = object_ref(store, b"w" * 50_000)
    config = configured(1000, 2, stop_margin_seconds=5.0)
    clock = Clock(8.0, step=0.5)  # every check costs half a second of the invocation

    with pytest.raises(OutOfTime, match="stop margin of 5 s"):
        core.process_object(ref, store, lambda: SIGNING_KEY, config, clock)
    assert clock.left > 0  # stopped while time remained, not killed at zero
    assert store.results == {}
    assert store.reads < 50


def test_stops_waiting_for_a_part_that_does_not_arrive_before_the_margin() -> None:
    release = threading.Event()

    class Stalled(MemoryStore):
        def open(self, *args: Any, **kwargs: Any) -> objects.StoredObject:
            byte_range = args[4] if len(args) > 4 else kwargs.get("byte_range")
            if byte_range is not None and byte_range[0] > 0:
                release.wait(5)  # a stream that never delivers (released when the test ends)
            return super().open(*args, **kwargs)

    store = Stalled()
    ref = object_ref(store, b"s" * 3000)
    try:
        with pytest.raises(OutOfTime, match="did not arrive"):
            # 5.01 s left and a 5 s margin: the wait for the second part gives up after ~10 ms.
            core.process_object(
                ref,
                store,
                lambda: SIGNING_KEY,
                configured(1000, 2, stop_margin_seconds=5.0),
                Clock(5.01),
            )
    finally:
        release.set()
    assert store.results == {}


class TimedContext(FakeContext):
    """A Lambda context whose remaining time is fixed."""

    def __init__(self, remaining_ms: int) -> None:
        super().__init__()
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_out_of_time_fails_the_event_and_is_counted(world: World, capsys: Any) -> None:
    event = world.event_for("uploads/late.bin", b"late")
    calls = world.count_calls()

    with pytest.raises(RecordsFailed, match="OutOfTime"):
        app.lambda_handler(event, TimedContext(remaining_ms=1000))  # under the 5 s default

    assert calls == []
    totals = metric_totals(capsys.readouterr().out)
    assert totals["ReadsOutOfTime"] == 1
    assert totals["ProcessingErrors"] == 1


def test_too_large_on_the_first_attempt_through_the_handler(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("MAX_OBJECT_BYTES", "1000")
    app.settings.cache_clear()
    event = world.event_for("uploads/huge.bin", b"h" * 1001)
    calls = world.count_calls()

    response = world.invoke(event)

    assert calls == ["HeadObject", "GetSecretValue", "PutObject"]  # never read
    result = world.result(response["processed"][0])
    assert result["status"] == STATUS_TOO_LARGE
    assert (result["size"], result["etag"]) == (1001, event_object(event)["eTag"])
    assert verify_result(result, PASSWORD)
    totals = metric_totals(capsys.readouterr().out)
    assert totals["FilesTooLarge"] == 1
    assert "FilesProcessed" not in totals


def event_object(event: dict[str, Any]) -> dict[str, Any]:
    return dict(event["Records"][0]["s3"]["object"])


def test_a_forged_size_through_the_handler_is_a_failed_record_not_a_result(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("MAX_OBJECT_BYTES", "100000")
    app.settings.cache_clear()
    event = world.event_for("uploads/small.bin", b"12345")
    event["Records"][0]["s3"]["object"]["size"] = 10**12  # anyone who may invoke can claim
    calls = world.count_calls()

    with pytest.raises(RecordsFailed, match="SizeMismatch"):
        world.invoke(event)

    assert calls == ["HeadObject"]  # no secret read, nothing written
    assert world.result_keys() == []
    totals = metric_totals(capsys.readouterr().out)
    assert totals["ProcessingErrors"] == 1
    assert "FilesTooLarge" not in totals
    # The genuine event still gets its result afterwards: nothing was written in its place.
    event["Records"][0]["s3"]["object"]["size"] = 5
    assert world.invoke(event)["processed"]


def test_a_too_large_event_for_bytes_no_longer_there_is_skipped(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_OBJECT_BYTES", "2")
    app.settings.cache_clear()
    old = world.put("uploads/unpinned.bin", b"old")
    world.put("uploads/unpinned.bin", b"newer bytes")
    late = object_event("uploads/unpinned.bin", 3, etag=old["ETag"].strip('"'))  # HEAD: 412
    gone = world.event_for("uploads/gone.bin", b"bye")
    world.s3.delete_object(
        Bucket=BUCKET, Key="uploads/gone.bin", VersionId=event_object(gone)["versionId"]
    )  # HEAD: 404

    assert world.invoke(late) == {"processed": [], "skipped": ["superseded"]}
    assert world.invoke(gone) == {"processed": [], "skipped": ["object_gone"]}
    assert world.result_keys() == []


def test_a_large_object_through_the_handler_is_read_in_pinned_ranges(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("READ_PART_MIB", "1")
    monkeypatch.setenv("READ_CONCURRENCY", "3")
    app.settings.cache_clear()
    body = bytes(range(256)) * (4096 * 3 + 100)  # 3 MiB and 25 600 bytes: four parts
    event = world.event_for("uploads/large.bin", body)
    version_id = event["Records"][0]["s3"]["object"]["versionId"]
    requests: list[dict[str, Any]] = []
    from fileproc import aws

    aws.s3_client().meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: requests.append(dict(params))
    )

    response = world.invoke(event)

    result = world.result(response["processed"][0])
    assert result["sha256"] == hashlib.sha256(body).hexdigest()
    assert verify_result(result, PASSWORD)
    assert sorted(r["Range"] for r in requests) == sorted(
        f"bytes={n * 1048576}-{min((n + 1) * 1048576, len(body)) - 1}" for n in range(4)
    )
    assert {r["VersionId"] for r in requests} == {version_id}


def test_a_file_of_exactly_one_part_is_still_one_read_and_one_write_warm(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("READ_PART_MIB", "1")
    app.settings.cache_clear()
    world.invoke(world.event_for("uploads/warmup.txt", b"warm up"))
    event = world.event_for("uploads/one-part.bin", b"p" * 1048576)
    calls = world.count_calls()

    world.invoke(event)

    assert calls == ["GetObject", "PutObject"]
