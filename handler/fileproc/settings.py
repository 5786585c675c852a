"""The function's settings, read once from its environment variables."""

from __future__ import annotations

from collections.abc import Mapping

from .errors import ConfigurationError
from .value import Value

MIB = 1024 * 1024
DEFAULT_UPLOAD_PREFIX = "uploads/"
DEFAULT_RESULTS_PREFIX = "processed/"
DEFAULT_SECRET_CACHE_SECONDS = 300
# The stack always sets the read settings (sized for the function's memory); these apply only to
# a handler run without them: 4 parts of 8 MiB in flight is 32 MiB, safe in 128 MB.
DEFAULT_READ_PART_MIB = 8
DEFAULT_READ_CONCURRENCY = 4
MAX_READ_CONCURRENCY = 16  # the S3 client's connection pool is sized for this many parts
DEFAULT_STOP_MARGIN_SECONDS = 5.0


class Settings(Value):
    """What the handler needs to know about its deployment."""

    __match_args__ = (
        "secret_arn",
        "bucket_name",
        "upload_prefix",
        "results_prefix",
        "environment",
        "secret_cache_seconds",
        "max_object_bytes",
        "read_part_bytes",
        "read_concurrency",
        "stop_margin_seconds",
    )
    __slots__ = __match_args__
    secret_arn: str
    bucket_name: str | None
    upload_prefix: str
    results_prefix: str
    environment: str
    secret_cache_seconds: int
    # Objects larger than this get a signed too_large result without being read (None: no limit).
    max_object_bytes: int | None
    # Objects larger than one part are read as concurrent ranged GETs of this many bytes each,
    # at most read_concurrency of them in flight: memory is bounded by their product.
    read_part_bytes: int
    read_concurrency: int
    # A read stops (retry-safe OutOfTime) when less than this is left of the invocation.
    stop_margin_seconds: float

    def __init__(
        self,
        secret_arn: str,
        bucket_name: str | None,
        upload_prefix: str,
        results_prefix: str,
        environment: str,
        secret_cache_seconds: int,
        max_object_bytes: int | None = None,
        read_part_bytes: int = DEFAULT_READ_PART_MIB * MIB,
        read_concurrency: int = DEFAULT_READ_CONCURRENCY,
        stop_margin_seconds: float = DEFAULT_STOP_MARGIN_SECONDS,
    ) -> None:
        self.secret_arn, self.bucket_name = secret_arn, bucket_name
        self.upload_prefix, self.results_prefix = upload_prefix, results_prefix
        self.environment, self.secret_cache_seconds = environment, secret_cache_seconds
        self.max_object_bytes, self.read_part_bytes = max_object_bytes, read_part_bytes
        self.read_concurrency, self.stop_margin_seconds = read_concurrency, stop_margin_seconds


def _whole(
    name: str, raw: str | None, default: int, minimum: int, unit: str, maximum: int | None = None
) -> int:
    """A whole-number setting, ``default`` when unset; raises ConfigurationError out of range."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and <= {maximum}" if maximum is not None else ""
        raise ConfigurationError(
            f"{name} is {raw!r}; expected a whole number of {unit} >= {minimum}{upper}"
        )
    return value


def _cache_seconds(raw: str | None) -> int:
    return _whole("SECRET_CACHE_SECONDS", raw, DEFAULT_SECRET_CACHE_SECONDS, 0, "seconds")


def _max_object_bytes(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None  # no limit
    return _whole("MAX_OBJECT_BYTES", raw, 0, 1, "bytes")


def _seconds(name: str, raw: str | None, default: float) -> float:
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also rejects NaN
        raise ConfigurationError(f"{name} is {raw!r}; expected a number of seconds >= 0")
    return value


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Validated settings from environment variables (raises ConfigurationError)."""
    secret_arn = env.get("SECRET_ARN", "")
    if not secret_arn:
        raise ConfigurationError("SECRET_ARN is not set; expected the ARN of the signing secret")
    upload_prefix = env.get("UPLOAD_PREFIX") or DEFAULT_UPLOAD_PREFIX
    results_prefix = env.get("RESULTS_PREFIX") or DEFAULT_RESULTS_PREFIX
    # Results under the upload prefix would be fed back to the function; uploads under the
    # results prefix would all be skipped. Either is a deployment mistake, not a runtime choice.
    if results_prefix.startswith(upload_prefix) or upload_prefix.startswith(results_prefix):
        raise ConfigurationError(
            f"RESULTS_PREFIX {results_prefix!r} and UPLOAD_PREFIX {upload_prefix!r} overlap; "
            "expected two prefixes neither of which starts with the other"
        )
    return Settings(
        secret_arn=secret_arn,
        bucket_name=env.get("BUCKET_NAME") or None,
        upload_prefix=upload_prefix,
        results_prefix=results_prefix,
        environment=env.get("ENVIRONMENT") or "unknown",
        secret_cache_seconds=_cache_seconds(env.get("SECRET_CACHE_SECONDS")),
        max_object_bytes=_max_object_bytes(env.get("MAX_OBJECT_BYTES")),
        read_part_bytes=MIB
        * _whole("READ_PART_MIB", env.get("READ_PART_MIB"), DEFAULT_READ_PART_MIB, 1, "MiB"),
        read_concurrency=_whole(
            "READ_CONCURRENCY",
            env.get("READ_CONCURRENCY"),
            DEFAULT_READ_CONCURRENCY,
            1,
            "parts",
            MAX_READ_CONCURRENCY,
        ),
        stop_margin_seconds=_seconds(
            "STOP_MARGIN_SECONDS", env.get("STOP_MARGIN_SECONDS"), DEFAULT_STOP_MARGIN_SECONDS
        ),
    )
