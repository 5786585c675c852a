"""The handler artifact in the bootstrap stack's bucket, and templates too large to inline.

Both live under content-addressed keys, so an object already stored under our key is reused
only after its content is proven to be ours: someone able to write the key first must not get
their bytes deployed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator.contracts import ArtifactFile
from generator.deploy.aws import error_code, error_message
from generator.errors import ExitCode, GeneratorError

# CloudFormation takes at most this many bytes inline; larger templates go through S3.
MAX_TEMPLATE_BODY_BYTES = 51_200
TEMPLATE_PREFIX = "templates/"
# Pull requests' large templates: one prefix per run, expired after a day (the bootstrap stack).
PULL_REQUEST_TEMPLATE_PREFIX = "templates/pr/"


def checksum_sha256(hex_digest: str) -> str:
    """S3's ``ChecksumSHA256`` form (base64 of the raw digest) of a hex sha256."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def hex_from_checksum(checksum: str) -> str | None:
    """The hex digest of a full-object ``ChecksumSHA256``; None for a multipart composite."""
    if "-" in checksum:  # "<base64>-<parts>": a checksum of part checksums, not of the bytes
        return None
    try:
        raw = base64.b64decode(checksum, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == hashlib.sha256().digest_size else None


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        # ChecksumMode=ENABLED: S3 returns the checksum it recorded when the object was written.
        reply: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise GeneratorError(
            f"cannot read s3://{bucket}/{key}: {error_message(exc) or error_code(exc)}",
            ExitCode.FAILED,
        ) from None
    return reply


def _download_sha256(s3: Any, bucket: str, key: str) -> str:
    """The sha256 of the object's bytes, read back (for objects stored without a SHA-256)."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        for chunk in iter(lambda: body.read(1 << 20), b""):
            digest.update(chunk)
    except (ClientError, BotoCoreError) as exc:
        reason = error_message(exc) if isinstance(exc, ClientError) else str(exc)
        raise GeneratorError(
            f"cannot read s3://{bucket}/{key} to verify it: {reason}", ExitCode.FAILED
        ) from None
    return digest.hexdigest()


def stored_sha256(s3: Any, bucket: str, key: str, head: dict[str, Any]) -> str:
    """The sha256 of an existing object: its recorded checksum, else its downloaded bytes."""
    recorded = hex_from_checksum(str(head.get("ChecksumSHA256") or ""))
    return recorded if recorded is not None else _download_sha256(s3, bucket, key)


def verify_existing(s3: Any, bucket: str, key: str, head: dict[str, Any], expected: str) -> None:
    """Refuse (exit 4) an object under our content-addressed key that is not our content."""
    found = stored_sha256(s3, bucket, key, head)
    if found != expected:
        raise GeneratorError(
            f"s3://{bucket}/{key} is not ours: its content has sha256 {found}; expected "
            f"{expected}. Someone else wrote that key; nothing was deployed. Find out who, "
            "delete the object and deploy again",
            ExitCode.FAILED,
        )


def _put(s3: Any, bucket: str, key: str, data: bytes, sha256_hex: str, content_type: str) -> None:
    """Create the object, never overwrite one (the CI roles may only write this way, ci-access);
    an object written meanwhile under the key is verified instead."""
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            # S3 verifies the body against this checksum, rejects a corrupted upload, and
            # records it, so that the next deploy can check the stored object by HeadObject.
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum_sha256(sha256_hex),
            Metadata={"sha256": sha256_hex},
            # A conditional write: S3 refuses it (412) when the key exists.
            IfNoneMatch="*",
        )
    except ClientError as exc:
        existing = _head(s3, bucket, key) if error_code(exc) == "PreconditionFailed" else None
        if existing is not None:
            verify_existing(s3, bucket, key, existing, sha256_hex)
            return
        raise GeneratorError(
            f"cannot upload to s3://{bucket}/{key}: {error_message(exc)}", ExitCode.FAILED
        ) from None


def upload_artifact(s3: Any, bucket: str, artifact: ArtifactFile) -> bool:
    """Upload the zip under its content-addressed key unless present; return whether uploaded.

    An object already under the key is verified to be this zip (exit 4 when it is not).
    """
    existing = _head(s3, bucket, artifact.key)
    if existing is not None:
        verify_existing(s3, bucket, artifact.key, existing, artifact.sha256)
        return False
    data = artifact.path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != artifact.sha256:
        raise GeneratorError(
            f"{artifact.path} has sha256 {digest}; expected {artifact.sha256}. Run "
            "`python -m generator synth` to rebuild it",
            ExitCode.USAGE,
        )
    _put(s3, bucket, artifact.key, data, artifact.sha256, "application/zip")
    return True


def verify_staged(s3: Any, bucket: str, artifact: ArtifactFile) -> None:
    """The artifact a kept plan staged is there and is this zip (the apply uploads nothing)."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        raise GeneratorError(
            f"the artifact bucket {bucket} does not exist (or is not readable); expected the "
            "account's bootstrap stack, which an administrator's `deploy` creates before the "
            "first plan is kept (docs/ci.md)",
            ExitCode.BLOCKED,
        ) from None
    existing = _head(s3, bucket, artifact.key)
    if existing is None:
        raise GeneratorError(
            f"s3://{bucket}/{artifact.key} is missing; expected the artifact `plan --keep` staged "
            "for this plan. Plan again (`plan --keep` uploads it)",
            ExitCode.BLOCKED,
        )
    verify_existing(s3, bucket, artifact.key, existing, artifact.sha256)


def pull_request_prefix() -> str:
    """Where a pull request's plan puts a large template: a prefix of its own run. Write-once
    keys shared with main's plans would let any pull request pre-create the key of a template
    main is about to plan, and block it."""
    return f"{PULL_REQUEST_TEMPLATE_PREFIX}{secrets.token_hex(8)}/"


def template_location(
    s3: Any, bucket: str, stack: str, body: str, template_hash: str, prefix: str = TEMPLATE_PREFIX
) -> str | None:
    """Upload a template too large to inline and return its URL; None when it fits inline.

    An object already under the template's key is verified to be this template (exit 4 when
    it is not).
    """
    data = body.encode("utf-8")
    if len(data) <= MAX_TEMPLATE_BODY_BYTES:
        return None
    key = f"{prefix}{stack}/{template_hash}.json"
    digest = hashlib.sha256(data).hexdigest()  # what CloudFormation must read back
    existing = _head(s3, bucket, key)
    if existing is None:
        _put(s3, bucket, key, data, digest, "application/json")
    else:
        verify_existing(s3, bucket, key, existing, digest)
    # Path style on the client's own endpoint: right for every partition and for emulators.
    # Not pinned with ?versionId=: CloudFormation documents TemplateURL as an S3 object URL
    # without saying it honours a version, so the key's content is verified instead.
    return f"{str(s3.meta.endpoint_url).rstrip('/')}/{bucket}/{key}"
