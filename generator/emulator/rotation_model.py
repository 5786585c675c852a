"""``AWS::SecretsManager::RotationSchedule`` for the emulator (moto 5.2.5 has no such type).

Like the types in ``generator.emulator.models`` it reports an inert type name until the extension
is installed. Creating the schedule records the rotation function and the interval on moto's
secret (what ``DescribeSecret`` then shows); it does not rotate at once, and the emulator has no
clock that runs the schedule. ``python -m generator rotate --env local`` calls ``RotateSecret``,
and moto then invokes the rotation function's four steps, which the extension runs from the
deployed artifact in a subprocess like every other invocation.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from moto.core.common_models import CloudFormationModel
from moto.secretsmanager.models import secretsmanager_backends

from generator.emulator.models import ResourceType

SECONDS_PER_DAY = 86400


def configure_rotation(secret: Any, lambda_arn: str, days: int, now: float) -> None:
    """Record a rotation schedule on a moto ``FakeSecret`` (what RotateSecret's rules would)."""
    secret.rotation_lambda_arn = lambda_arn
    secret.auto_rotate_after_days = days
    secret.rotation_enabled = days > 0
    secret.rotation_requested = days > 0  # moto shows the rotation fields only when set
    secret.next_rotation_date = int(now) + days * SECONDS_PER_DAY


class RotationSchedule(ResourceType, CloudFormationModel):
    """``AWS::SecretsManager::RotationSchedule`` with a ``RotationLambdaARN``: Ref is the
    secret's ARN, as CloudFormation's."""

    AWS_TYPE = "AWS::SecretsManager::RotationSchedule"
    REF = "secret_arn"
    GET_ATT: ClassVar[Mapping[str, str]] = {}

    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn

    @classmethod
    def _create(
        cls, resource_name: str, props: dict[str, Any], account_id: str, region_name: str
    ) -> RotationSchedule:
        backend = secretsmanager_backends[account_id][region_name]
        secret = backend.describe_secret(str(props["SecretId"]))
        rules = props.get("RotationRules") or {}
        configure_rotation(
            secret,
            str(props.get("RotationLambdaARN") or ""),
            int(rules.get("AutomaticallyAfterDays", 0)),
            time.time(),
        )
        return cls(str(secret.arn))

    @classmethod
    def _remove(
        cls, physical_id: str, props: Mapping[str, Any], account_id: str, region_name: str
    ) -> None:
        backend = secretsmanager_backends[account_id][region_name]
        # The secret may already be gone (deleted first, or by hand).
        with contextlib.suppress(Exception):
            configure_rotation(backend.describe_secret(physical_id), "", 0, time.time())
