"""The processing core: pure apart from the ObjectStore and the signing-key function it is given."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from . import events
from .errors import EventMismatch, RecordError, SizeMismatch, SkipRecord
from .objects import Body, Hasher, ObjectHead, ObjectStore, Pin, StoredObject, TimeLeft, deadline
from .settings import Settings
from .signing import STATUS_PROCESSED, STATUS_TOO_LARGE, SigningKey, build_result, result_bytes
from .value import Value

CHUNK_SIZE = 1024 * 1024  # bounded reads: memory stays flat whatever the object's size
MAX_KEY_BYTES = 1024  # S3's limit on a key's UTF-8 length
DUPLICATE = "duplicate"


# Value types are `Value` classes, not dataclasses or NamedTuples: those generate and compile
# code when their class is created, which every cold start pays (see value.py). For the same
# reason the ranged read of large objects is a module of its own (ranged.py), imported on use;
# what both reads share (the store interface, the pin, the deadline) is in objects.py.


class Processed(Value):
    """A record whose result was written."""

    __match_args__ = (
        "index",
        "bucket",
        "key",
        "version_id",
        "size",
        "sha256",
        "result_key",
        "status",
    )
    __slots__ = __match_args__
    index: int
    bucket: str
    key: str
    version_id: str | None
    size: int
    sha256: str | None  # None when the object was too large to read
    result_key: str
    status: str

    def __init__(
        self,
        index: int,
        bucket: str,
        key: str,
        version_id: str | None,
        size: int,
        sha256: str | None,
        result_key: str,
        status: str = STATUS_PROCESSED,
    ) -> None:
        self.index, self.bucket, self.key, self.version_id = index, bucket, key, version_id
        self.size, self.sha256, self.result_key, self.status = size, sha256, result_key, status


class Skipped(Value):
    """A record (or a whole event, index None) deliberately not processed."""

    __match_args__ = ("reason", "index", "bucket", "key")
    __slots__ = __match_args__
    reason: str
    index: int | None
    bucket: str | None
    key: str | None

    def __init__(
        self, reason: str, index: int | None, bucket: str | None = None, key: str | None = None
    ) -> None:
        self.reason, self.index, self.bucket, self.key = reason, index, bucket, key


class Failed(Value):
    """A record that failed; the event is retried once every record was tried."""

    __match_args__ = ("index", "where", "code", "message")
    __slots__ = __match_args__
    index: int
    where: str
    code: str
    message: str

    def __init__(self, index: int, where: str, code: str, message: str) -> None:
        self.index, self.where, self.code, self.message = index, where, code, message


Outcome = Processed | Skipped | Failed


def digest_stream(
    body: Body,
    chunk_size: int = CHUNK_SIZE,
    check: Callable[[str], None] | None = None,
    digest: Hasher | None = None,
) -> tuple[int, str]:
    """Byte count and hex SHA-256 of a body, read in chunks of at most ``chunk_size``."""
    digest = digest if digest is not None else hashlib.sha256()
    size = 0
    while chunk := body.read(chunk_size):
        digest.update(chunk)
        size += len(chunk)
        if check is not None:
            check(f"after {size} bytes")
    return size, digest.hexdigest()


def result_key(settings: Settings, key: str, version_id: str | None, etag: str) -> str:
    """Where an object version's result goes: one key per version (or per content, by ETag).

    ``processed/<key without the upload prefix>/v-<version id>.json``, or ``.../e-<etag>.json``
    when no version pins the bytes. Version ids and ETags hold no ``/``, so distinct objects never
    share a result key. A key too long for S3 falls back to the SHA-256 of the object key.
    """
    tag = f"v-{version_id}" if version_id else f"e-{etag}"
    relative = key[len(settings.upload_prefix) :] if key.startswith(settings.upload_prefix) else key
    candidate = f"{settings.results_prefix}{relative}/{tag}.json"
    if len(candidate.encode("utf-8")) <= MAX_KEY_BYTES:
        return candidate
    hashed = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{settings.results_prefix}_long/{hashed}/{tag}.json"


def error_code(exc: BaseException) -> str:
    """A short name for a failure: the AWS error code, the handler's code, or the type name."""
    if isinstance(exc, RecordError):
        return exc.code
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return code
    return type(exc).__name__


def too_large(ref: events.ObjectEvent, settings: Settings) -> bool:
    """Whether the event's size is over the environment's limit (decided before any read)."""
    return settings.max_object_bytes is not None and ref.size > settings.max_object_bytes


def confirm_head(ref: events.ObjectEvent, head: ObjectHead) -> None:
    """Raise unless the object S3 holds is the one the event describes (size, and ETag)."""
    if head.size != ref.size:
        raise SizeMismatch(
            f"the object holds {head.size} bytes; the event announced {ref.size}: "
            "no too_large result is signed for it"
        )
    if ref.etag and head.etag != ref.etag:
        raise EventMismatch(
            f"the object's ETag is {head.etag}; the event announced {ref.etag}: "
            "no too_large result is signed for it"
        )


def record_too_large(
    ref: events.ObjectEvent,
    store: ObjectStore,
    password: Callable[[], SigningKey],
    settings: Settings,
) -> Processed | Skipped:
    """A signed too_large result from the object's own metadata: a HEAD and one write, no read.

    The event only says which object to look at: anyone who can invoke the function (or send to
    its queue) can write one, and results are write-once, so a result signed from the event's
    claims would block the true one forever. The version, ETag and size signed are HeadObject's,
    and an event they contradict fails the record instead.
    """
    try:
        head = store.head(ref.bucket, ref.key, ref.version_id, ref.etag)
    except SkipRecord as skip:
        return Skipped(skip.reason, ref.index, ref.bucket, ref.key)
    confirm_head(ref, head)
    secret = password()
    version_id = ref.version_id or (head.version_id if head.version_id != "null" else None)
    result = build_result(
        bucket=ref.bucket,
        key=ref.key,
        version_id=version_id,
        size=head.size,
        sha256=None,
        etag=head.etag,
        content_type=head.content_type,
        signing_key=secret,
        status=STATUS_TOO_LARGE,
    )
    target = result_key(settings, ref.key, version_id, head.etag)
    if not store.put_if_absent(ref.bucket, target, result_bytes(result)):
        return Skipped(DUPLICATE, ref.index, ref.bucket, ref.key)
    return Processed(
        ref.index, ref.bucket, ref.key, version_id, head.size, None, target, STATUS_TOO_LARGE
    )


def pin_for(ref: events.ObjectEvent, stored: StoredObject) -> Pin:
    """The version the first read saw, or its ETag when the bucket keeps no versions."""
    version_id = ref.version_id or (
        stored.version_id if stored.version_id not in (None, "null") else None
    )
    return Pin(ref.bucket, ref.key, version_id, None if version_id else stored.etag)


def process_object(
    ref: events.ObjectEvent,
    store: ObjectStore,
    password: Callable[[], SigningKey],
    settings: Settings,
    time_left: TimeLeft | None = None,
) -> Processed | Skipped:
    """Read one object version, check it, and write its signed result (once).

    An object of at most one part is one GET; a larger one is read as ranged GETs of the version
    the first part pinned. Either way a digest is written only when every byte was read.
    """
    if too_large(ref, settings):
        return record_too_large(ref, store, password, settings)
    check = deadline(time_left, settings.stop_margin_seconds)
    check("before reading")
    ranged = ref.size > settings.read_part_bytes
    first_range = (0, settings.read_part_bytes - 1) if ranged else None
    try:
        stored = store.open(ref.bucket, ref.key, ref.version_id, ref.etag, first_range)
    except SkipRecord as skip:
        return Skipped(skip.reason, ref.index, ref.bucket, ref.key)
    try:
        # The secret before the bytes: an unreadable secret fails without reading the object.
        secret = password()
        if ranged and stored.size is not None and stored.size != ref.size:
            raise SizeMismatch(
                f"the object holds {stored.size} bytes; the event announced {ref.size}"
            )
        if ranged:
            pin = pin_for(ref, stored)
            # Imported here: only objects larger than one part need it, and a cold start
            # compiles every module it imports from source.
            from .ranged import digest_ranged

            size, sha256 = digest_ranged(stored, pin, ref.size, store, settings, time_left)
        else:
            size, sha256 = digest_stream(stored.body, check=check)
    finally:
        stored.body.close()
    if size != ref.size:
        raise SizeMismatch(f"read {size} bytes; the event announced {ref.size}")
    # The version that was read pins the bytes even when the event named none.
    version_id = pin_for(ref, stored).version_id
    result = build_result(
        bucket=ref.bucket,
        key=ref.key,
        version_id=version_id,
        size=size,
        sha256=sha256,
        etag=stored.etag,
        content_type=stored.content_type,
        signing_key=secret,
    )
    target = result_key(settings, ref.key, version_id, stored.etag)
    if not store.put_if_absent(ref.bucket, target, result_bytes(result)):
        return Skipped(DUPLICATE, ref.index, ref.bucket, ref.key)
    return Processed(ref.index, ref.bucket, ref.key, version_id, size, sha256, target)


T = TypeVar("T")


def once(fetch: Callable[[], T]) -> Callable[[], T]:
    """``fetch`` called at most once: later calls return its value or re-raise its error."""
    memo: list[Any] = []

    def call() -> T:
        if not memo:
            try:
                memo.append((True, fetch()))
            except Exception as exc:
                memo.append((False, exc))
        ok, value = memo[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    return call


def process_event(
    event: Any,
    store: ObjectStore,
    password: Callable[[], SigningKey],
    settings: Settings,
    time_left: TimeLeft | None = None,
) -> Iterator[Outcome]:
    """Every record's outcome, in order. One failing record never stops the others.

    Raises InvalidEvent only when the event is not an S3 notification at all.
    """
    records = events.event_records(event)
    if isinstance(records, events.EventSkip):
        yield Skipped(records.reason, None)
        return
    # One secret read per invocation at most, even when it fails for every record.
    password = once(password)
    for index, record in enumerate(records):
        where = f"record {index}"
        try:
            parsed = events.parse_record(index, record, settings)
            if isinstance(parsed, events.EventSkip):
                yield Skipped(parsed.reason, index, parsed.bucket, parsed.key)
                continue
            where = parsed.describe()
            yield process_object(parsed, store, password, settings, time_left)
        except Exception as exc:  # every record is tried; failures are re-raised
            yield Failed(index, where, error_code(exc), str(exc))
