"""The function's settings, read once from its environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ConfigurationError

DEFAULT_UPLOAD_PREFIX = "uploads/"
DEFAULT_RESULTS_PREFIX = "processed/"
DEFAULT_SECRET_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Settings:
    """What the handler needs to know about its deployment."""

    secret_arn: str
    bucket_name: str | None
    upload_prefix: str
    results_prefix: str
    environment: str
    secret_cache_seconds: int


def _cache_seconds(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_SECRET_CACHE_SECONDS
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(
            f"SECRET_CACHE_SECONDS is {raw!r}; expected a whole number of seconds >= 0"
        )
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
    )
