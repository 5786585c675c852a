"""What reading one object version involves, shared by the core's read and the ranged read.

The store interface (``ObjectStore``, the ``StoredObject`` it opens, the ``ObjectHead`` it
describes and the skip reasons it raises), the ``Pin`` every ranged GET names, the ``Hasher`` the
bytes feed, and the invocation's ``deadline``. A module of its own so that ``core`` and
``ranged`` both import it and neither imports the other: ``core`` imports ``ranged`` only for an
object larger than one part, so a small file's cold start never compiles it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .errors import OutOfTime
from .value import Value

# Why ObjectStore.open skips a record (SkipRecord's reason): the object or the version the event
# named no longer exists, or the key holds newer bytes than the ETag the read was guarded by.
OBJECT_GONE = "object_gone"
SUPERSEDED = "superseded"

# Seconds left in the invocation (the Lambda context's remaining time); None: no deadline.
TimeLeft = Callable[[], float]


class Hasher(Protocol):
    """What the read feeds: hashlib's sha256, or a test double that watches the order."""

    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...

    def hexdigest(self) -> str: ...


class Body(Protocol):
    """A readable object body (botocore's StreamingBody or a test double)."""

    def read(self, amt: int | None = ...) -> bytes: ...

    def close(self) -> None: ...


class StoredObject(Value):
    """An opened object version: its metadata and its unread body."""

    __match_args__ = ("body", "etag", "version_id", "content_type", "size")
    __slots__ = __match_args__
    body: Body
    etag: str
    version_id: str | None
    content_type: str | None
    size: int | None  # the whole object's size (a ranged read's Content-Range total)

    def __init__(
        self,
        body: Body,
        etag: str,
        version_id: str | None,
        content_type: str | None,
        size: int | None = None,
    ) -> None:
        self.body, self.etag, self.version_id = body, etag, version_id
        self.content_type, self.size = content_type, size


class ObjectHead(Value):
    """An object version's metadata as S3 holds it (HeadObject), without its bytes."""

    __match_args__ = ("etag", "version_id", "content_type", "size")
    __slots__ = __match_args__
    etag: str
    version_id: str | None
    content_type: str | None
    size: int

    def __init__(
        self, etag: str, version_id: str | None, content_type: str | None, size: int
    ) -> None:
        self.etag, self.version_id = etag, version_id
        self.content_type, self.size = content_type, size


class ObjectStore(Protocol):
    """The three S3 operations the core needs."""

    def open(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        if_match: str | None,
        byte_range: tuple[int, int] | None = None,
    ) -> StoredObject:
        """Open an object (or the inclusive ``byte_range`` of it) for reading.

        Raises SkipRecord if it is gone or was replaced. Called from several threads at once.
        """
        ...

    def head(
        self, bucket: str, key: str, version_id: str | None, if_match: str | None
    ) -> ObjectHead:
        """An object's metadata, named like ``open`` names it; raises SkipRecord like ``open``."""
        ...

    def put_if_absent(self, bucket: str, key: str, body: bytes) -> bool:
        """Create ``key`` unless it exists; False means it already existed."""
        ...


class Pin(Value):
    """What every ranged GET of one object names, so all parts come from the same bytes."""

    __match_args__ = ("bucket", "key", "version_id", "if_match")
    __slots__ = __match_args__
    bucket: str
    key: str
    version_id: str | None
    if_match: str | None  # the ETag, when no version pins the bytes (unversioned bucket)

    def __init__(self, bucket: str, key: str, version_id: str | None, if_match: str | None) -> None:
        self.bucket, self.key, self.version_id, self.if_match = bucket, key, version_id, if_match


def deadline(time_left: TimeLeft | None, margin: float) -> Callable[[str], None]:
    """A check that raises OutOfTime once less than ``margin`` seconds are left."""

    def check(doing: str) -> None:
        if time_left is None:
            return
        left = time_left()
        if left < margin:
            raise OutOfTime(
                f"{left:.1f} s left of the invocation, under the stop margin of {margin:g} s, "
                f"{doing}; stopped with nothing written so the retry starts over"
            )

    return check
