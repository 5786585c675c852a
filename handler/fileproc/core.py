"""The processing core: pure apart from the ObjectStore and the signing-key function it is given."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from . import events
from .errors import RecordError, SizeMismatch, SkipRecord
from .settings import Settings
from .signing import SigningKey, build_result, result_bytes

CHUNK_SIZE = 1024 * 1024  # bounded reads: memory stays flat whatever the object's size
MAX_KEY_BYTES = 1024  # S3's limit on a key's UTF-8 length
DUPLICATE = "duplicate"
OBJECT_GONE = "object_gone"
SUPERSEDED = "superseded"


class Body(Protocol):
    """A readable object body (botocore's StreamingBody or a test double)."""

    def read(self, amt: int | None = ...) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class StoredObject:
    """An opened object version: its metadata and its unread body."""

    body: Body
    etag: str
    version_id: str | None
    content_type: str | None


class ObjectStore(Protocol):
    """The two S3 operations the core needs."""

    def open(
        self, bucket: str, key: str, version_id: str | None, if_match: str | None
    ) -> StoredObject:
        """Open an object for reading; raise SkipRecord if it is gone or was replaced."""
        ...

    def put_if_absent(self, bucket: str, key: str, body: bytes) -> bool:
        """Create ``key`` unless it exists; False means it already existed."""
        ...


@dataclass(frozen=True)
class Processed:
    """A record whose result was written."""

    index: int
    bucket: str
    key: str
    version_id: str | None
    size: int
    sha256: str
    result_key: str


@dataclass(frozen=True)
class Skipped:
    """A record (or a whole event, index None) deliberately not processed."""

    reason: str
    index: int | None
    bucket: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Failed:
    """A record that failed; the event is retried once every record was tried."""

    index: int
    where: str
    code: str
    message: str


Outcome = Processed | Skipped | Failed


def digest_stream(body: Body, chunk_size: int = CHUNK_SIZE) -> tuple[int, str]:
    """Byte count and hex SHA-256 of a body, read in chunks of at most ``chunk_size``."""
    digest = hashlib.sha256()
    size = 0
    while chunk := body.read(chunk_size):
        digest.update(chunk)
        size += len(chunk)
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


def process_object(
    ref: events.ObjectEvent,
    store: ObjectStore,
    password: Callable[[], SigningKey],
    settings: Settings,
) -> Processed | Skipped:
    """Read one object version, check it, and write its signed result (once)."""
    try:
        stored = store.open(ref.bucket, ref.key, ref.version_id, ref.etag)
    except SkipRecord as skip:
        return Skipped(skip.reason, ref.index, ref.bucket, ref.key)
    try:
        # The secret before the bytes: an unreadable secret fails without reading the object.
        secret = password()
        size, sha256 = digest_stream(stored.body)
    finally:
        stored.body.close()
    if size != ref.size:
        raise SizeMismatch(f"read {size} bytes; the event announced {ref.size}")
    # The version that was read pins the bytes even when the event named none.
    version_id = ref.version_id or (
        stored.version_id if stored.version_id not in (None, "null") else None
    )
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
    event: Any, store: ObjectStore, password: Callable[[], SigningKey], settings: Settings
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
            yield process_object(parsed, store, password, settings)
        except Exception as exc:  # every record is tried; failures are re-raised
            yield Failed(index, where, error_code(exc), str(exc))
