"""Reading S3 notification events: which records to process, which to skip, and why.

S3 URL-encodes object keys in events the way HTML forms do: a space arrives as ``+``, a plus as
``%2B``, non-ASCII as percent-encoded UTF-8, and some producers (moto among them) encode ``/`` as
``%2F`` too. ``urllib.parse.unquote_plus`` undoes exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from .errors import InvalidEvent, InvalidRecord
from .settings import Settings
from .value import Value

# Skip reasons, as they appear in logs.
TEST_EVENT = "test_event"
NO_RECORDS = "no_records"
NOT_OBJECT_CREATED = "not_object_created"
OTHER_BUCKET = "other_bucket"
RESULTS_PREFIX = "results_prefix"
OUTSIDE_UPLOAD_PREFIX = "outside_upload_prefix"


class ObjectEvent(Value):
    """One ``ObjectCreated`` record to process, with its key decoded."""

    __match_args__ = ("index", "bucket", "key", "version_id", "size", "etag")
    __slots__ = __match_args__
    index: int
    bucket: str
    key: str
    version_id: str | None  # None when the event pins no version (unversioned bucket, or "null")
    size: int
    etag: str | None

    def __init__(
        self,
        index: int,
        bucket: str,
        key: str,
        version_id: str | None,
        size: int,
        etag: str | None,
    ) -> None:
        self.index, self.bucket, self.key = index, bucket, key
        self.version_id, self.size, self.etag = version_id, size, etag

    def describe(self) -> str:
        """How logs and errors name this record."""
        version = f" version {self.version_id}" if self.version_id else ""
        return f"record {self.index} s3://{self.bucket}/{self.key}{version}"


class EventSkip(Value):
    """A record (or a whole event, with ``index`` None) that is skipped, and why."""

    __match_args__ = ("reason", "index", "bucket", "key")
    __slots__ = __match_args__
    reason: str
    index: int | None
    bucket: str | None
    key: str | None

    def __init__(
        self,
        reason: str,
        index: int | None = None,
        bucket: str | None = None,
        key: str | None = None,
    ) -> None:
        self.reason, self.index, self.bucket, self.key = reason, index, bucket, key


def event_records(event: Any) -> list[Any] | EventSkip:
    """The event's records, or why the whole event is skipped (raises InvalidEvent)."""
    if not isinstance(event, Mapping):
        raise InvalidEvent(f"event is a {type(event).__name__}; expected a JSON object")
    if event.get("Event") == "s3:TestEvent":
        return EventSkip(TEST_EVENT)
    records = event.get("Records")
    if records is None or records == []:
        return EventSkip(NO_RECORDS)
    if not isinstance(records, list):
        raise InvalidEvent(f"event Records is a {type(records).__name__}; expected a list")
    return records


def _field(parent: Any, name: str, kind: type, where: str) -> Any:
    value = parent.get(name) if isinstance(parent, Mapping) else None
    # bool is an int subclass; a size of True is not a size.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidRecord(f"{where}.{name} is {value!r}; expected a {kind.__name__}")
    return value


def decode_key(raw: str) -> str:
    """The object key from its event encoding (raises InvalidRecord on undecodable bytes)."""
    try:
        key = unquote_plus(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidRecord(f"object key {raw!r} is not percent-encoded UTF-8") from exc
    if not key:
        raise InvalidRecord(f"object key {raw!r} decodes to an empty key")
    return key


def parse_record(index: int, record: Any, settings: Settings) -> ObjectEvent | EventSkip:
    """Validate one record and decide whether it is processed or skipped."""
    where = f"Records[{index}]"
    source = record.get("eventSource") if isinstance(record, Mapping) else None
    if source != "aws:s3":
        raise InvalidRecord(f"{where}.eventSource is {source!r}; expected 'aws:s3'")
    event_name = _field(record, "eventName", str, where)
    s3 = _field(record, "s3", Mapping, where)
    bucket = _field(_field(s3, "bucket", Mapping, f"{where}.s3"), "name", str, f"{where}.s3.bucket")
    obj = _field(s3, "object", Mapping, f"{where}.s3")
    key = decode_key(_field(obj, "key", str, f"{where}.s3.object"))
    if not event_name.startswith("ObjectCreated:"):
        return EventSkip(NOT_OBJECT_CREATED, index, bucket, key)
    if settings.bucket_name is not None and bucket != settings.bucket_name:
        return EventSkip(OTHER_BUCKET, index, bucket, key)
    if key.startswith(settings.results_prefix):
        return EventSkip(RESULTS_PREFIX, index, bucket, key)
    if not key.startswith(settings.upload_prefix):
        return EventSkip(OUTSIDE_UPLOAD_PREFIX, index, bucket, key)
    size = _field(obj, "size", int, f"{where}.s3.object")
    if size < 0:
        raise InvalidRecord(f"{where}.s3.object.size is {size}; expected a size >= 0")
    version_id = obj.get("versionId")
    etag = obj.get("eTag")
    for name, value in (("versionId", version_id), ("eTag", etag)):
        if value is not None and (not isinstance(value, str) or not value):
            raise InvalidRecord(
                f"{where}.s3.object.{name} is {value!r}; expected a non-empty string or none"
            )
    return ObjectEvent(
        index=index,
        bucket=bucket,
        key=key,
        # "null" is the version of objects written while versioning was off or suspended: it is
        # reused by the next such write, so it does not pin the bytes; the ETag does.
        version_id=None if version_id in (None, "null") else version_id,
        size=size,
        etag=etag.strip('"') if etag else None,
    )


# ------------------------------------------------------------------------------------------------
# Queue ingest mode: SQS batches whose message bodies are S3 notifications (read in sqs.py, which
# only a queue-mode function imports).
# ------------------------------------------------------------------------------------------------

SQS_SOURCE = "aws:sqs"


def is_sqs_batch(event: Any) -> bool:
    """Whether the event is an SQS batch from an event source mapping (not an S3 notification)."""
    if not isinstance(event, Mapping):
        return False
    records = event.get("Records")
    return (
        isinstance(records, list)
        and bool(records)
        and isinstance(records[0], Mapping)
        and records[0].get("eventSource") == SQS_SOURCE
    )
