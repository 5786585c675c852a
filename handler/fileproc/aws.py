"""AWS access: clients made once per execution environment, and S3 errors sorted into skip or fail.

The clients come from botocore, not boto3: the handler uses no boto3 feature (resources, transfer
manager), and importing boto3 (s3transfer, concurrent.futures' process pool, multiprocessing) costs
every cold start about a tenth of it. boto3.client("s3") builds the same botocore client from the
same environment (region, credentials, AWS_ENDPOINT_URL); only the User-Agent differs.

Tests replace clients by calling ``reset()`` inside their moto context, or pass their own
``S3Store(client)``.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.session import Session

from .errors import SecretUnreadable, SkipRecord
from .objects import OBJECT_GONE, SUPERSEDED, ObjectHead, StoredObject
from .secret import secret_value, signing_key_from
from .settings import MAX_READ_CONCURRENCY, Settings
from .signing import SigningKey

# Standard retry mode backs off on throttling and 5xx inside one invocation; what still fails
# after that fails the record, and Lambda's own retries take over. The pool holds one connection
# per part in flight plus the first part's, so ranged reads never queue for a connection.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=5,
    read_timeout=30,
    tcp_keepalive=True,
    max_pool_connections=MAX_READ_CONCURRENCY + 1,
)
# The object (or the version the event named) no longer exists: deleted before we got to it.
GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "NotFound"})
# The conditional request lost: for a read, the key holds newer bytes; for the result write,
# the result already exists (412). A 409 (another write of the same result in flight) is not a
# duplicate: that writer may still fail, so the record is retried and the retry sees a 412.
PRECONDITION_CODES = frozenset({"PreconditionFailed", "412"})


@functools.cache
def session() -> Session:
    """One botocore session: both clients share what it loads (endpoints, partitions)."""
    return Session()


@functools.cache
def s3_client() -> Any:
    """The S3 client, created on first use and kept for warm invocations."""
    return session().create_client("s3", config=CLIENT_CONFIG)


@functools.cache
def secrets_client() -> Any:
    """The Secrets Manager client, created on first use."""
    return session().create_client("secretsmanager", config=CLIENT_CONFIG)


# The signing key per secret ARN and when it was read (monotonic seconds), for warm reuse. The
# password and its version id are one cached value, so they can never come from two versions.
_SIGNING_KEYS: dict[str, tuple[float, SigningKey]] = {}


def reset() -> None:
    """Forget clients and the cached secret (tests, after changing the mocked world)."""
    for cached in (session, s3_client, secrets_client):
        cached.cache_clear()
    _SIGNING_KEYS.clear()


def client_error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError ("" when the response carries none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def object_size(response: dict[str, Any]) -> int | None:
    """The whole object's size: the total of a ranged GET's Content-Range, else Content-Length."""
    content_range = response.get("ContentRange")
    if isinstance(content_range, str) and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.get("ContentLength")
    return length if isinstance(length, int) else None


def _named(bucket: str, key: str, version_id: str | None, if_match: str | None) -> dict[str, Any]:
    """A request for one object: by version id, or guarded by ETag when there is none."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    elif if_match:
        params["IfMatch"] = f'"{if_match}"'
    return params


def _skipping(call: Any, params: dict[str, Any]) -> dict[str, Any]:
    """``call(**params)``; an object that is gone or was replaced raises SkipRecord."""
    try:
        response: dict[str, Any] = call(**params)
    except ClientError as exc:
        code = client_error_code(exc)
        if code in GONE_CODES:
            raise SkipRecord(OBJECT_GONE) from exc
        if code in PRECONDITION_CODES and "IfMatch" in params:
            # The key now holds other bytes; their own event produces their result.
            raise SkipRecord(SUPERSEDED) from exc
        raise
    return response


class S3Store:
    """The core's ObjectStore over an S3 client."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        """The client given, or the shared one."""
        return self._client if self._client is not None else s3_client()

    def open(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        if_match: str | None,
        byte_range: tuple[int, int] | None = None,
    ) -> StoredObject:
        """GetObject by version id, or by ETag when the event names no version."""
        params = _named(bucket, key, version_id, if_match)
        if byte_range is not None:
            params["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        response = _skipping(self.client.get_object, params)
        return StoredObject(
            body=response["Body"],
            etag=str(response.get("ETag", "")).strip('"'),
            version_id=response.get("VersionId"),
            content_type=response.get("ContentType"),
            size=object_size(response),
        )

    def head(
        self, bucket: str, key: str, version_id: str | None, if_match: str | None
    ) -> ObjectHead:
        """HeadObject, naming the object as ``open`` does."""
        response = _skipping(self.client.head_object, _named(bucket, key, version_id, if_match))
        length = response.get("ContentLength")
        return ObjectHead(
            etag=str(response.get("ETag", "")).strip('"'),
            version_id=response.get("VersionId"),
            content_type=response.get("ContentType"),
            size=length if isinstance(length, int) else -1,
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
    """The signing key: the secret's ``password`` and the ``VersionId`` holding it, reused for
    SECRET_CACHE_SECONDS."""
    arn = settings.secret_arn
    cached = _SIGNING_KEYS.get(arn)
    if cached is not None and time.monotonic() - cached[0] < settings.secret_cache_seconds:
        return cached[1]
    try:
        # AWSCURRENT is AWS's default, said explicitly: moto 5.2.5 keeps serving the old version
        # to a request without a stage after UpdateSecretVersionStage moved AWSCURRENT.
        response = secrets_client().get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    except (ClientError, BotoCoreError) as exc:
        # The message names the secret and the cause, never its value.
        raise SecretUnreadable(f"cannot read secret {arn}: {type(exc).__name__}: {exc}") from exc
    signing_key = signing_key_from(secret_value(response), arn)
    _SIGNING_KEYS[arn] = (time.monotonic(), signing_key)
    return signing_key
