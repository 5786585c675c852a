"""Rotate the signing key now, and verify results by the key version each one names.

Domain functions for the ``rotate`` command (and ``upload``'s verification); no argparse. They
work against the emulator and a real account alike: rotation is Secrets Manager's
``RotateSecret`` on the secret whose schedule the stack configured, so the stack's own rotation
function runs its four steps (in the emulator, from the deployed artifact in a subprocess).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from generator import naming
from generator.clock import Clock, Deadline, SystemClock, poll
from generator.config import Environment
from generator.errors import ExitCode, GeneratorError

CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"


@dataclass(frozen=True)
class Rotation:
    """What one rotation changed: the version that was current, and the one that is now."""

    secret: str
    previous_version: str
    current_version: str


@dataclass(frozen=True)
class Verification:
    """Every result under the results prefix, verified by the key version it names."""

    valid_by_version: dict[str, int]
    invalid: list[str]

    @property
    def valid(self) -> int:
        """How many results verified."""
        return sum(self.valid_by_version.values())


def current_version(stages: Mapping[str, list[str]]) -> str | None:
    """The version holding AWSCURRENT in a DescribeSecret ``VersionIdsToStages``."""
    return next((v for v, labels in stages.items() if CURRENT in labels), None)


def rotate_now(
    secrets: Any,
    env: Environment,
    timeout_seconds: float = 60.0,
    clock: Clock | None = None,
) -> Rotation:
    """Start a rotation with the stack's rotation function and wait until AWSCURRENT moved."""
    secret = naming.secret_name(env.name)
    described = secrets.describe_secret(SecretId=secret)
    if not described.get("RotationEnabled") or not described.get("RotationLambdaARN"):
        raise GeneratorError(
            f"secret {secret} has no rotation function; expected secret.rotation_days above 0 in "
            f"environments/{env.name}.yaml and a deploy of it",
            ExitCode.FAILED,
        )
    before = current_version(described.get("VersionIdsToStages", {}))
    if before is None:
        raise GeneratorError(f"secret {secret} has no {CURRENT} version; expected one")
    # Set before the call: the wait covers the whole rotation, not just what follows it.
    deadline = Deadline(clock or SystemClock(), timeout_seconds)
    # Secrets Manager runs the steps asynchronously (moto: before the call returns). The
    # function is named again although the schedule names it: moto 5.2.5 forgets a configured
    # function when RotateSecret omits it, and then just relabels an empty version.
    token = str(
        secrets.rotate_secret(
            SecretId=secret,
            RotationLambdaARN=described["RotationLambdaARN"],
            RotateImmediately=True,
        )["VersionId"]
    )
    last_seen: list[str | None] = [before]

    def finished() -> Rotation | None:
        stages = secrets.describe_secret(SecretId=secret).get("VersionIdsToStages", {})
        last_seen[0] = current_version(stages)
        if last_seen[0] == token and PENDING not in stages.get(token, []):
            return Rotation(secret, before, token)
        return None

    def timed_out(now: float) -> GeneratorError:
        return GeneratorError(
            f"secret {secret}: version {token} did not become {CURRENT} within "
            f"{timeout_seconds:.0f}s ({CURRENT} is still {last_seen[0]}); expected the rotation "
            f"function to finish. See the log group {naming.rotation_log_group(env.name)}",
            ExitCode.TIMED_OUT,
        )

    return poll(deadline, 1.0, finished, timed_out)


def verify_by_version(signing: ModuleType, secrets: Any, env: Environment, result: Any) -> bool:
    """Whether ``result`` verifies with the secret version it names (GetSecretValue by id)."""
    password_of = signing.secret_password_of(secrets, naming.secret_name(env.name))
    return bool(signing.verify_with_versions(result, password_of))


def verify_all_results(
    signing: ModuleType, s3: Any, secrets: Any, env: Environment
) -> Verification:
    """Verify every result in the data bucket, each by the key version it names."""
    bucket = naming.data_bucket(env.name, env.account_id)
    password_of = signing.secret_password_of(secrets, naming.secret_name(env.name))
    cache: dict[str | None, str | None] = {}

    def cached(version: str | None) -> str | None:
        if version not in cache:
            cache[version] = password_of(version)
        return cache[version]

    valid: Counter[str] = Counter()
    invalid: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=env.storage.results_prefix):
        for item in page.get("Contents", []):
            key = str(item["Key"])
            try:
                result = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            except ValueError:
                invalid.append(key)
                continue
            if signing.verify_with_versions(result, cached):
                valid[signing.key_version(result) or "(v1: current key)"] += 1
            else:
                invalid.append(key)
    return Verification(dict(sorted(valid.items())), invalid)
