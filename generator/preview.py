"""Preview stacks: a short-lived copy of an environment, e.g. one per pull request. Pure.

A preview of environment ``dev`` named ``pr42`` is the environment ``dev-pr42``: its stack is
``TapStackdev-pr42`` and every physical name (buckets, function, role, secret, key alias, queue,
topic, alarms, dashboard, exports) carries ``dev-pr42`` where the base carries ``dev``. Real
environment names never contain a hyphen, so no preview name can equal a real environment's, and
the CI preview role can be limited to ``TapStack<env>-*``. A preview keeps nothing (retain_data
and termination protection off), e-mails nobody and reserves no concurrency, and its stack
carries tags saying what it previews, for which pull request, and when it expires; the expiry is
computed by the caller from an injected clock, never here. Only ``load_preview`` reads files
(the environment files, to refuse a preview named like an environment).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from generator import contracts, naming
from generator.config import ENV_NAME_PATTERN, Environment, load_environments
from generator.errors import ExitCode, GeneratorError

# Tag keys on a preview's stack (and, for the first two, on every resource: they are in the
# template), defined with the other stack tags in contracts.
PREVIEW_OF_TAG = contracts.PREVIEW_OF_TAG
PREVIEW_TAG = contracts.PREVIEW_TAG
PULL_REQUEST_TAG = contracts.PULL_REQUEST_TAG
EXPIRES_AT_TAG = contracts.EXPIRES_AT_TAG
SEPARATOR = "-"
PREVIEW_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DEFAULT_TTL_HOURS = contracts.PREVIEW_TTL_HOURS
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_ACCOUNT = "0" * 12
# Every physical name that grows with the environment's name, and the service's limit on it.
_NAME_LIMITS: tuple[tuple[str, Callable[[str], str], int], ...] = (
    ("S3 bucket name", lambda e: naming.data_bucket(e, _ACCOUNT), 63),
    ("S3 bucket name", lambda e: naming.access_log_bucket(e, _ACCOUNT), 63),
    ("IAM role name", naming.role_name, 64),
    ("Lambda function name", naming.function_name, 64),
    ("IAM inline policy name", lambda e: f"{naming.function_name(e)}Access", 128),
    ("CloudFormation stack name", naming.stack_name, 128),
    ("SQS queue name", naming.queue_name, 80),
    ("SNS topic name", naming.topic_name, 256),
    ("CloudWatch alarm name", lambda e: naming.alarm_name("Lambda-ErrorRate", e), 255),
    ("CloudWatch dashboard name", naming.dashboard_name, 255),
    ("KMS alias", naming.key_alias, 256),
    ("Secrets Manager name", naming.secret_name, 512),
    ("log group name", naming.log_group, 512),
    ("export name", lambda e: naming.export_name("DeadLetterQueueArn", e), 255),
)


def longest_name_limit() -> tuple[int, str]:
    """The longest environment-or-preview name every physical name allows, and which limits it."""
    return min((limit - len(build("")), label) for label, build, limit in _NAME_LIMITS)


def max_preview_length(env: str) -> int:
    """How long a preview name of ``env`` may be (``<env>-<preview>`` must fit every name)."""
    room, _ = longest_name_limit()
    return room - len(env) - len(SEPARATOR)


def preview_name(env: str, preview: str) -> str:
    """The name a preview's resources carry where the base carries ``env``."""
    return f"{env}{SEPARATOR}{preview}"


def validate(env: str, preview: str, environments: Iterable[str] = ()) -> str:
    """The preview name, or a GeneratorError saying what was received and what is expected."""
    limit = max_preview_length(env)
    room, label = longest_name_limit()
    if not PREVIEW_PATTERN.match(preview):
        raise GeneratorError(
            f"--preview: got {preview!r}; expected lowercase letters and digits, words "
            "joined by single hyphens (e.g. pr42)",
            ExitCode.USAGE,
        )
    if len(preview) > limit:
        raise GeneratorError(
            f"--preview: got {preview!r} ({len(preview)} characters); expected at most {limit} "
            f"for environment {env} ({preview_name(env, '')}NAME must fit the {label}: "
            f"{room} characters)",
            ExitCode.USAGE,
        )
    if preview in set(environments):
        raise GeneratorError(
            f"--preview: got {preview!r}, the name of an environment; expected another name "
            "(a preview is never confused with a real environment)",
            ExitCode.USAGE,
        )
    return preview


def preview_environment(env: Environment, preview: str, pull_request: int | None) -> Environment:
    """The preview's environment: the base's settings under the preview's name, keeping nothing.

    ``preview`` must have passed ``validate``. The result bypasses the file name check on
    purpose: its name is ``<env>-<preview>``, which no environment file can have.
    """
    if SEPARATOR in env.name or not ENV_NAME_PATTERN.match(env.name):
        raise GeneratorError(
            f"--preview: environment {env.name!r} is itself a preview; expected a base environment",
            ExitCode.USAGE,
        )
    tags = {**env.tags, PREVIEW_OF_TAG: env.name, PREVIEW_TAG: preview}
    if pull_request is not None:
        tags[PULL_REQUEST_TAG] = str(pull_request)
    return env.model_copy(
        update={
            "name": preview_name(env.name, preview),
            "retain_data": False,
            "termination_protection": False,
            "tags": dict(sorted(tags.items())),
            "function": env.function.model_copy(update={"reserved_concurrency": None}),
            "alarms": env.alarms.model_copy(update={"email": None}),
            "deploy": env.deploy.model_copy(
                update={"recreate_failed_stack": True, "allow_replace": (), "notification_arns": ()}
            ),
        }
    )


def load_preview(
    root: Path, env: str, preview: str, pull_request: int | None = None
) -> Environment:
    """The preview ``preview`` of the environment file ``env`` under ``root``, validated."""
    directory = root / naming.ENVIRONMENTS_DIR
    envs = load_environments(directory, None, root)
    if env not in envs:  # the loader names the file it expected
        load_environments(directory, [env], root)
    validate(env, preview, envs)
    return preview_environment(envs[env], preview, pull_request)


def expires_at(now: datetime, ttl: timedelta) -> str:
    """The ``ExpiresAt`` tag value: UTC, to the second, ISO 8601 (sorts as text)."""
    return (now.astimezone(UTC) + ttl).strftime(_TIME_FORMAT)


def parse_time(text: str) -> datetime | None:
    """An ``ExpiresAt`` value as a time, or None when it is not one."""
    try:
        return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def stack_tags(expiry: str) -> dict[str, str]:
    """Tags only the preview's stack carries (not in the template, which stays pure)."""
    return {EXPIRES_AT_TAG: expiry}


@dataclass(frozen=True)
class PreviewStack:
    """A preview found in an account: its stack, base environment and tags."""

    stack_name: str
    preview_of: str
    preview: str
    pull_request: str | None
    expires_at: str | None

    def expired(self, now: datetime) -> bool:
        """Past its expiry; a preview without a readable expiry counts as expired."""
        when = parse_time(self.expires_at or "")
        return when is None or when <= now


def as_preview(name: str, tags: Mapping[str, str], env: str) -> PreviewStack | None:
    """The preview a stack (its name and tags) is, when it is a preview of ``env`` (by name AND
    tag)."""
    prefix = naming.stack_name(env) + SEPARATOR
    if not name.startswith(prefix) or tags.get(PREVIEW_OF_TAG) != env:
        return None
    return PreviewStack(
        stack_name=name,
        preview_of=env,
        preview=name.removeprefix(prefix),
        pull_request=tags.get(PULL_REQUEST_TAG),
        expires_at=tags.get(EXPIRES_AT_TAG),
    )
