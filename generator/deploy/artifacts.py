"""The handler artifact in the bootstrap stack's bucket, and templates too large to inline."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from generator.deploy.aws import error_code, error_message
from generator.errors import ExitCode, GeneratorError

# CloudFormation takes at most this many bytes inline; larger templates go through S3.
MAX_TEMPLATE_BODY_BYTES = 51_200
TEMPLATE_PREFIX = "templates/"


class ArtifactLike(Protocol):
    """What the deploy needs of the handler artifact (``generator.package.Artifact``)."""

    @property
    def path(self) -> Path:
        """The zip on disk."""
        ...

    @property
    def sha256(self) -> str:
        """Hex sha256 of the zip."""
        ...

    @property
    def size(self) -> int:
        """Bytes."""
        ...

    @property
    def key(self) -> str:
        """The object key in the artifact bucket."""
        ...


def _head(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        reply: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise GeneratorError(
            f"cannot read s3://{bucket}/{key}: {error_message(exc) or error_code(exc)}",
            ExitCode.FAILED,
        ) from None
    return reply


def upload_artifact(s3: Any, bucket: str, artifact: ArtifactLike) -> bool:
    """Upload the zip under its content-addressed key unless present; return whether uploaded."""
    existing = _head(s3, bucket, artifact.key)
    if existing is not None:
        size = int(existing.get("ContentLength", -1))
        if size != artifact.size:
            raise GeneratorError(
                f"s3://{bucket}/{artifact.key} holds {size} bytes; expected {artifact.size} "
                f"(sha256 {artifact.sha256}). Delete the object and deploy again",
                ExitCode.FAILED,
            )
        return False
    data = artifact.path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != artifact.sha256:
        raise GeneratorError(
            f"{artifact.path} has sha256 {digest}; expected {artifact.sha256}. Run "
            "`python -m generator synth` to rebuild it",
            ExitCode.USAGE,
        )
    try:
        s3.put_object(
            Bucket=bucket,
            Key=artifact.key,
            Body=data,
            ContentType="application/zip",
            # S3 verifies the body against this checksum and rejects a corrupted upload.
            ChecksumSHA256=base64.b64encode(bytes.fromhex(artifact.sha256)).decode("ascii"),
            Metadata={"sha256": artifact.sha256},
        )
    except ClientError as exc:
        raise GeneratorError(
            f"cannot upload {artifact.path} to s3://{bucket}/{artifact.key}: {error_message(exc)}",
            ExitCode.FAILED,
        ) from None
    return True


def template_location(
    s3: Any, bucket: str, stack: str, body: str, template_hash: str
) -> str | None:
    """Upload a template too large to inline and return its URL; None when it fits inline."""
    if len(body.encode("utf-8")) <= MAX_TEMPLATE_BODY_BYTES:
        return None
    key = f"{TEMPLATE_PREFIX}{stack}/{template_hash}.json"
    if _head(s3, bucket, key) is None:
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode("utf-8"))
    # Path style on the client's own endpoint: right for every partition and for emulators.
    return f"{str(s3.meta.endpoint_url).rstrip('/')}/{bucket}/{key}"
