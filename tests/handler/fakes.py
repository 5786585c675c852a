"""An in-memory ObjectStore for fast, property-based tests of the processing core."""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass, field

from fileproc.errors import SkipRecord
from fileproc.objects import OBJECT_GONE, SUPERSEDED, ObjectHead, StoredObject


@functools.lru_cache(maxsize=16)
def etag_of(body: bytes) -> str:
    """S3's ETag of a single-part upload (an MD5), computed once per body: a ranged read opens
    the object once per part, and hashing the whole body each time made the property tests of
    small parts quadratic in the object's size."""
    return hashlib.md5(body).hexdigest()  # noqa: S324 -- S3's ETag is an MD5


@dataclass
class MemoryStore:
    """Versioned objects and write-once results, in dicts."""

    objects: dict[tuple[str, str], list[tuple[str, bytes]]] = field(default_factory=dict)
    results: dict[tuple[str, str], bytes] = field(default_factory=dict)
    reads: int = 0
    heads: int = 0

    def upload(self, bucket: str, key: str, body: bytes) -> tuple[str, str]:
        """Store a new version; returns (version id, etag)."""
        versions = self.objects.setdefault((bucket, key), [])
        version_id = f"v{len(versions) + 1}"
        versions.append((version_id, body))
        return version_id, etag_of(body)

    def _find(
        self, bucket: str, key: str, version_id: str | None, if_match: str | None
    ) -> tuple[str, bytes]:
        """The version a request names: by id, or the latest guarded by ETag."""
        versions = self.objects.get((bucket, key))
        if not versions:
            raise SkipRecord(OBJECT_GONE)
        if version_id is not None:
            matches = [b for v, b in versions if v == version_id]
            if not matches:
                raise SkipRecord(OBJECT_GONE)
            return version_id, matches[0]
        found_id, body = versions[-1]
        if if_match and etag_of(body) != if_match:
            raise SkipRecord(SUPERSEDED)
        return found_id, body

    def head(
        self, bucket: str, key: str, version_id: str | None, if_match: str | None
    ) -> ObjectHead:
        """HeadObject semantics: the named version's metadata, no bytes."""
        self.heads += 1
        found_id, body = self._find(bucket, key, version_id, if_match)
        return ObjectHead(etag_of(body), found_id, "application/octet-stream", len(body))

    def open(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        if_match: str | None,
        byte_range: tuple[int, int] | None = None,
    ) -> StoredObject:
        """GetObject semantics: by version, or latest guarded by ETag; Range as S3 serves it."""
        self.reads += 1
        found_id, body = self._find(bucket, key, version_id, if_match)
        etag = etag_of(body)
        size = len(body)
        if byte_range is not None:
            body = body[byte_range[0] : byte_range[1] + 1]
        return StoredObject(io.BytesIO(body), etag, found_id, "application/octet-stream", size)

    def put_if_absent(self, bucket: str, key: str, body: bytes) -> bool:
        """If-None-Match: * semantics."""
        if (bucket, key) in self.results:
            return False
        self.results[(bucket, key)] = body
        return True
