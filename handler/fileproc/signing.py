"""The result document: its canonical form, its HMAC-SHA256 signature and their verification.

Standard library only, so consumers can copy this file to verify results without the handler's
dependencies.

Canonical form: every field of the result except ``signature``, serialized as JSON with keys
sorted by code point, no whitespace (``separators=(",", ":")``), non-ASCII characters unescaped,
encoded as UTF-8. The signature is the lowercase hex HMAC-SHA256 of those bytes, keyed by the
UTF-8 bytes of the secret's password. ``format`` and ``signature_algorithm`` are signed too, so
neither can be swapped after the fact.

Format ``serverlessapp.result/v2`` adds ``key_version``: the Secrets Manager ``VersionId`` of the
secret value whose password signed the result. It is signed like every other field, so it cannot
be pointed at another key; a verifier fetches that exact version (``GetSecretValue`` with
``VersionId``), which keeps results signed before a rotation verifiable after it. Results of the
earlier format ``serverlessapp.result/v1`` (no ``key_version``) still verify with the key that
signed them. A v2 result also signs ``status``: ``processed`` (``sha256`` is the digest of the
object's bytes) or ``too_large`` (the object exceeded the environment's ``max_object_bytes`` and
was not read: ``sha256`` is null; ``size``, ``etag`` and ``version_id`` are HeadObject's).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

RESULT_FORMAT = "serverlessapp.result/v2"
RESULT_FORMAT_V1 = "serverlessapp.result/v1"
SIGNATURE_ALGORITHM = "HMAC-SHA256"
SIGNED_FIELDS_V1 = (
    "bucket",
    "content_type",
    "etag",
    "format",
    "key",
    "sha256",
    "signature_algorithm",
    "size",
    "version_id",
)
# v2 signs, besides the v1 fields, the key version and what the result says about the object.
SIGNED_FIELDS = tuple(sorted((*SIGNED_FIELDS_V1, "key_version", "status")))
# The fields each format signs: a result must hold exactly these plus ``signature``.
FIELDS_BY_FORMAT = {RESULT_FORMAT: SIGNED_FIELDS, RESULT_FORMAT_V1: SIGNED_FIELDS_V1}
# What a v2 result says about the object: its digest was computed, or it was too large to read
# (``sha256`` is then null and ``size`` is the size the event announced).
STATUS_PROCESSED = "processed"
STATUS_TOO_LARGE = "too_large"
STATUSES = frozenset({STATUS_PROCESSED, STATUS_TOO_LARGE})


# A NamedTuple, not a dataclass: a dataclass compiles generated methods at every cold start.
class SigningKey(NamedTuple):
    """A signing password and the secret version it came from (never logged, never stored)."""

    password: str
    version_id: str

    def __repr__(self) -> str:  # a traceback or log line must never show the password
        return f"SigningKey(version_id={self.version_id!r})"


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
    signing_key: SigningKey,
    status: str = STATUS_PROCESSED,
) -> dict[str, Any]:
    """A signed result document for one object version, naming the key version that signed it."""
    fields: dict[str, Any] = {
        "bucket": bucket,
        "content_type": content_type,
        "etag": etag,
        "format": RESULT_FORMAT,
        "key": key,
        "key_version": signing_key.version_id,
        "sha256": sha256,
        "signature_algorithm": SIGNATURE_ALGORITHM,
        "size": size,
        "status": status,
        "version_id": version_id,
    }
    return {**fields, "signature": sign(fields, signing_key.password)}


def result_bytes(result: Mapping[str, Any]) -> bytes:
    """How a result is stored: canonical JSON plus a newline (readable, and byte-stable)."""
    return canonical_bytes(result) + b"\n"


def key_version(result: Any) -> str | None:
    """The secret version a result names as its signer; None for v1 results and non-results."""
    if not isinstance(result, Mapping) or result.get("format") != RESULT_FORMAT:
        return None
    value = result.get("key_version")
    return value if isinstance(value, str) and value else None


def _signed_fields(result: Any) -> tuple[str, ...] | None:
    """The fields ``result`` signs if it has exactly the shape of a v1 or v2 result, else None."""
    if not isinstance(result, Mapping):
        return None
    fields = FIELDS_BY_FORMAT.get(result.get("format"))  # type: ignore[arg-type]
    if fields is None or set(result) != {*fields, "signature"}:
        return None
    if result["signature_algorithm"] != SIGNATURE_ALGORITHM:
        return None
    if result["format"] == RESULT_FORMAT and (
        key_version(result) is None or result["status"] not in STATUSES
    ):
        return None  # a v2 result names its key version and says what it found
    signature = result["signature"]
    if not isinstance(signature, str) or not signature.isascii():
        return None
    return fields


def verify_result(result: Any, password: str) -> bool:
    """True if ``result`` is a well-formed v1 or v2 result whose signature matches ``password``."""
    fields = _signed_fields(result)
    if fields is None:
        return False
    try:
        expected = sign({name: result[name] for name in fields}, password)
    except (TypeError, ValueError):  # a field that JSON cannot serialize was not signed by us
        return False
    return hmac.compare_digest(expected, result["signature"])


def verify_with_versions(result: Any, password_of: Callable[[str | None], str | None]) -> bool:
    """True if ``result`` verifies with the password of the key version it names.

    ``password_of(version_id)`` returns that version's password, or None when the version does
    not exist; it is called with None for a v1 result (which names no version: the caller decides
    which key signed those, normally the one current before rotation was switched on).
    """
    if not isinstance(result, Mapping):
        return False
    if result.get("format") == RESULT_FORMAT and key_version(result) is None:
        return False
    password = password_of(key_version(result))
    return password is not None and verify_result(result, password)


def secret_password_of(client: Any, secret_id: str) -> Callable[[str | None], str | None]:
    """``password_of`` over a boto3 Secrets Manager client: GetSecretValue by VersionId.

    None (a v1 result) reads the AWSCURRENT version. A version that no longer exists (or the
    request is refused) gives None, so the result does not verify.
    """

    def password_of(version_id: str | None) -> str | None:
        request: dict[str, str] = {"SecretId": secret_id}
        if version_id is None:
            request["VersionStage"] = "AWSCURRENT"
        else:
            request["VersionId"] = version_id
        try:
            value = json.loads(client.get_secret_value(**request)["SecretString"])
        except Exception as exc:  # botocore's ClientError, kept importable without botocore
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in {"ResourceNotFoundException", "InvalidParameterException"}:
                return None
            raise
        password = value.get("password") if isinstance(value, dict) else None
        return password if isinstance(password, str) and password else None

    return password_of
