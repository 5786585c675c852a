"""AWS access: clients made once per execution environment, and S3 errors sorted into skip or fail.

Tests replace clients by calling ``reset()`` inside their moto context, or pass their own
``S3Store(client)``.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .core import OBJECT_GONE, SUPERSEDED, StoredObject
from .errors import SecretUnreadable, SkipRecord
from .settings import Settings
from .signing import SigningKey

# Standard retry mode backs off on throttling and 5xx inside one invocation; what still fails
# after that fails the record, and Lambda's own retries take over.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=30,
    tcp_keepalive=True,
)
# The object (or the version the event named) no longer exists: deleted before we got to it.
GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})
# The conditional request lost: for a read, the key holds newer bytes; for the result write,
# the result already exists (412). A 409 (another write of the same result in flight) is not a
# duplicate: that writer may still fail, so the record is retried and the retry sees a 412.
PRECONDITION_CODES = frozenset({"PreconditionFailed", "412"})


@functools.cache
def s3_client() -> Any:
    """The S3 client, created on first use and kept for warm invocations."""
    return boto3.client("s3", config=CLIENT_CONFIG)


@functools.cache
def secrets_client() -> Any:
    """The Secrets Manager client, created on first use."""
    return boto3.client("secretsmanager", config=CLIENT_CONFIG)


@functools.cache
def secrets_provider() -> Any:
    """Powertools' secrets provider over our client; it keeps the value (with its version id)
    cached across invocations."""
    from .secret import VersionedSecretsProvider

    return VersionedSecretsProvider(boto3_client=secrets_client())


def reset() -> None:
    """Forget clients and the cached secret (tests, after changing the mocked world)."""
    for cached in (s3_client, secrets_client, secrets_provider):
        cached.cache_clear()


def client_error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError ("" when the response carries none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Store:
    """The core's ObjectStore over an S3 client."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        """The client given, or the shared one."""
        return self._client if self._client is not None else s3_client()

    def open(
        self, bucket: str, key: str, version_id: str | None, if_match: str | None
    ) -> StoredObject:
        """GetObject by version id, or by ETag when the event names no version."""
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        elif if_match:
            params["IfMatch"] = f'"{if_match}"'
        try:
            response = self.client.get_object(**params)
        except ClientError as exc:
            code = client_error_code(exc)
            if code in GONE_CODES:
                raise SkipRecord(OBJECT_GONE) from exc
            if code in PRECONDITION_CODES and "IfMatch" in params:
                # The key now holds other bytes; their own event produces their result.
                raise SkipRecord(SUPERSEDED) from exc
            raise
        return StoredObject(
            body=response["Body"],
            etag=str(response.get("ETag", "")).strip('"'),
            version_id=response.get("VersionId"),
            content_type=response.get("ContentType"),
        )

    def put_if_absent(self, bucket: str, key: str, body: bytes) -> bool:
        """PutObject with If-None-Match: *, so a result is written once and never overwritten."""
        try:
            self.client.put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except ClientError as exc:
            code = client_error_code(exc)
            if code in PRECONDITION_CODES:
                return False
            raise
        return True


def read_signing_key(settings: Settings) -> SigningKey:
    """The signing key: the secret's ``password`` and the ``VersionId`` holding it, cached for
    SECRET_CACHE_SECONDS."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    from .secret import signing_key_from

    try:
        value = secrets_provider().get(settings.secret_arn, max_age=settings.secret_cache_seconds)
    except GetParameterError as exc:
        # The message names the secret and the cause, never its value.
        raise SecretUnreadable(
            f"cannot read secret {settings.secret_arn}: {type(exc).__name__}: {exc}"
        ) from exc
    return signing_key_from(value, settings.secret_arn)
