"""Rotation function ``rotation.lambda_handler``: Secrets Manager's four rotation steps for the
signing key (a generated password), shipped in the same artifact as ``app.lambda_handler``.

Secrets Manager calls it once per step with ``{"Step", "SecretId", "ClientRequestToken"}``; the
token is the new version's id. Every step is safe to run again (Secrets Manager retries a failed
rotation from the step that failed):

- ``createSecret`` puts a new random password as the AWSPENDING version, unless that version
  already holds a value (a retry);
- ``setSecret`` does nothing: a signing key is not a credential of another system (no database
  user to update). The handler signs with AWSCURRENT and verifiers read the version a result
  names, so nothing needs the new key before ``finishSecret`` makes it current;
- ``testSecret`` checks that the pending value is one the handler can sign with (a JSON object
  with a non-empty string ``password``); there is no external system to log in to;
- ``finishSecret`` moves AWSCURRENT to the new version (Secrets Manager moves AWSPREVIOUS to the
  old one) and takes AWSPENDING off it. Old versions are not deleted: results signed with them
  keep verifying (see docs/signing-key-rotation.md for how long Secrets Manager keeps them).

Standard library and boto3 only (boto3 comes with the Lambda runtime), so a rotation never waits
on Powertools' import.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger("rotation")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
CURRENT, PENDING = "AWSCURRENT", "AWSPENDING"
DEFAULT_PASSWORD_LENGTH = 32
# The secret's GenerateSecretString exclusions (generator/stack/secrets.py passes the same).
DEFAULT_EXCLUDE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/\"\\"


class RotationError(Exception):
    """A rotation request this function refuses; the message names secret, version and cause."""


def _client() -> Any:
    return boto3.client("secretsmanager")


def lambda_handler(event: Mapping[str, Any], context: Any, client: Any | None = None) -> None:
    """Run one rotation step for the version named by ``ClientRequestToken``."""
    client = client if client is not None else _client()
    step, secret_id, token = _request(event)
    _check_version(client, secret_id, token, step)
    logger.info("rotation step %s for %s version %s", step, secret_id, token)
    if step == "createSecret":
        create_secret(client, secret_id, token)
    elif step == "setSecret":
        return  # nothing to set: see the module docstring
    elif step == "testSecret":
        test_secret(client, secret_id, token)
    else:
        finish_secret(client, secret_id, token)


def _request(event: Mapping[str, Any]) -> tuple[str, str, str]:
    step, secret_id, token = (event.get(k) for k in ("Step", "SecretId", "ClientRequestToken"))
    if step not in STEPS:
        raise RotationError(f"Step is {step!r}; expected one of {', '.join(STEPS)}")
    if not isinstance(secret_id, str) or not secret_id:
        raise RotationError(f"SecretId is {secret_id!r}; expected the secret's ARN or name")
    if not isinstance(token, str) or not token:
        raise RotationError(f"ClientRequestToken is {token!r}; expected the new version's id")
    return step, secret_id, token


def _check_version(client: Any, secret_id: str, token: str, step: str) -> None:
    """Refuse a token that is not a version of the secret staged for this rotation."""
    stages = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    if token not in stages:
        raise RotationError(
            f"secret {secret_id} has no version {token}; expected the version Secrets Manager "
            "created for this rotation"
        )
    if CURRENT in stages[token] or PENDING in stages[token]:
        return
    raise RotationError(
        f"version {token} of secret {secret_id} has stages {stages[token]} at {step}; "
        f"expected {PENDING} (or {CURRENT} once the rotation finished)"
    )


def _has_value(client: Any, secret_id: str, token: str) -> bool:
    try:
        client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise
    return True


def create_secret(client: Any, secret_id: str, token: str) -> None:
    """Put a new password as AWSPENDING; a retry after a successful put changes nothing."""
    if _has_value(client, secret_id, token):
        logger.info("version %s of %s already has its value", token, secret_id)
        return
    current = json.loads(
        client.get_secret_value(SecretId=secret_id, VersionStage=CURRENT)["SecretString"]
    )
    password = client.get_random_password(
        PasswordLength=int(os.environ.get("PASSWORD_LENGTH", DEFAULT_PASSWORD_LENGTH)),
        ExcludeCharacters=os.environ.get("EXCLUDE_CHARACTERS", DEFAULT_EXCLUDE_CHARACTERS),
        IncludeSpace=False,
    )["RandomPassword"]
    # Every other field (the username) carries over; only the key changes.
    document = {**current, "password": password} if isinstance(current, dict) else {}
    document.setdefault("password", password)
    client.put_secret_value(
        SecretId=secret_id,
        ClientRequestToken=token,
        SecretString=json.dumps(document),
        VersionStages=[PENDING],
    )
    logger.info("put version %s of %s as %s", token, secret_id, PENDING)


def test_secret(client: Any, secret_id: str, token: str) -> None:
    """The pending value must be a JSON object with a non-empty string ``password``."""
    try:
        raw = client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        # Already current (a retried finish): test what the handler now reads.
        raw = client.get_secret_value(SecretId=secret_id, VersionId=token)
    try:
        document = json.loads(raw["SecretString"])
    except (KeyError, ValueError):
        document = None
    password = document.get("password") if isinstance(document, dict) else None
    if not isinstance(password, str) or not password:
        raise RotationError(
            f"version {token} of secret {secret_id} has no non-empty string 'password'; "
            'expected JSON {"username": ..., "password": ...}'
        )


def finish_secret(client: Any, secret_id: str, token: str) -> None:
    """Move AWSCURRENT to the new version (Secrets Manager moves AWSPREVIOUS to the old one)."""
    stages = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    current = next((v for v, labels in stages.items() if CURRENT in labels), None)
    if current != token:
        request = {"SecretId": secret_id, "VersionStage": CURRENT, "MoveToVersionId": token}
        if current is not None:
            request["RemoveFromVersionId"] = current
        client.update_secret_version_stage(**request)
        logger.info("version %s of %s is now %s (was %s)", token, secret_id, CURRENT, current)
    if PENDING in stages.get(token, []):
        # Done: no version stays pending, so the next rotation cannot mistake this one for a
        # rotation in progress.
        client.update_secret_version_stage(
            SecretId=secret_id, VersionStage=PENDING, RemoveFromVersionId=token
        )
