"""The result document: its canonical form, its HMAC-SHA256 signature and their verification.

Standard library only, so consumers can copy this file to verify results without the handler's
dependencies.

Canonical form (format ``serverlessapp.result/v1``): every field of the result except
``signature``, serialized as JSON with keys sorted by code point, no whitespace
(``separators=(",", ":")``), non-ASCII characters unescaped, encoded as UTF-8. The signature is
the lowercase hex HMAC-SHA256 of those bytes, keyed by the UTF-8 bytes of the secret's password.
``format`` and ``signature_algorithm`` are signed too, so neither can be swapped after the fact.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

RESULT_FORMAT = "serverlessapp.result/v1"
SIGNATURE_ALGORITHM = "HMAC-SHA256"
SIGNED_FIELDS = (
    "bucket",
    "content_type",
    "etag",
    "format",
    "key",
    "sha256",
    "signature_algorithm",
    "size",
    "status",
    "version_id",
)
# What the result says about the object: its digest was computed, or it was too large to read
# (``sha256`` is then null and ``size`` is the size the event announced).
STATUS_PROCESSED = "processed"
STATUS_TOO_LARGE = "too_large"


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted-key, whitespace-free, UTF-8 JSON."""
    return json.dumps(
        dict(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def sign(fields: Mapping[str, Any], password: str) -> str:
    """Hex HMAC-SHA256 of the canonical bytes of ``fields``, keyed by ``password``."""
    return hmac.new(password.encode("utf-8"), canonical_bytes(fields), hashlib.sha256).hexdigest()


def build_result(
    *,
    bucket: str,
    key: str,
    version_id: str | None,
    size: int,
    sha256: str | None,
    etag: str,
    content_type: str | None,
    password: str,
    status: str = STATUS_PROCESSED,
) -> dict[str, Any]:
    """A signed result document for one object version."""
    fields: dict[str, Any] = {
        "bucket": bucket,
        "content_type": content_type,
        "etag": etag,
        "format": RESULT_FORMAT,
        "key": key,
        "sha256": sha256,
        "signature_algorithm": SIGNATURE_ALGORITHM,
        "size": size,
        "status": status,
        "version_id": version_id,
    }
    return {**fields, "signature": sign(fields, password)}


def result_bytes(result: Mapping[str, Any]) -> bytes:
    """How a result is stored: canonical JSON plus a newline (readable, and byte-stable)."""
    return canonical_bytes(result) + b"\n"


def verify_result(result: Any, password: str) -> bool:
    """True if ``result`` is a well-formed v1 result whose signature matches ``password``."""
    if not isinstance(result, Mapping) or set(result) != {*SIGNED_FIELDS, "signature"}:
        return False
    if result["format"] != RESULT_FORMAT or result["signature_algorithm"] != SIGNATURE_ALGORITHM:
        return False
    signature = result["signature"]
    if not isinstance(signature, str) or not signature.isascii():
        return False
    fields = {name: result[name] for name in SIGNED_FIELDS}
    try:
        expected = sign(fields, password)
    except (TypeError, ValueError):  # a field that JSON cannot serialize was not signed by us
        return False
    return hmac.compare_digest(expected, signature)
