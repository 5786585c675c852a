"""The signing secret read together with its version id, through Powertools' TTL cache.

Imported lazily (by ``aws.read_signing_key``): Powertools' parameters module is only needed once
a record actually gets processed.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from .errors import SecretUnreadable
from .signing import SigningKey


class VersionedSecretsProvider(SecretsProvider):  # type: ignore[misc]
    """Powertools' SecretsProvider whose cached value keeps the ``VersionId`` with the string.

    Powertools caches whatever ``_get`` returns, so the password and the version that holds it
    enter and leave the cache together: a result can never name a version other than the one
    whose password signed it, even across a rotation inside the cache's TTL.
    """

    def _get(self, name: str, **sdk_options: Any) -> dict[str, str]:
        sdk_options["SecretId"] = name
        # AWS's default, said explicitly: moto 5.2.5 keeps serving the old version to a request
        # without a stage after UpdateSecretVersionStage moved AWSCURRENT.
        sdk_options.setdefault("VersionStage", "AWSCURRENT")
        response = self.client.get_secret_value(**sdk_options)
        return {
            "VersionId": str(response.get("VersionId", "")),
            "SecretString": str(response.get("SecretString", "")),
        }


def signing_key_from(value: Any, secret_arn: str) -> SigningKey:
    """The password and version id from a cached ``_get`` value (errors name the secret only)."""
    version_id = value.get("VersionId") if isinstance(value, dict) else None
    raw = value.get("SecretString") if isinstance(value, dict) else None
    try:
        document = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        document = None
    password = document.get("password") if isinstance(document, dict) else None
    if not isinstance(password, str) or not password:
        raise SecretUnreadable(
            f"secret {secret_arn} has no non-empty string 'password' field; "
            'expected JSON {"username": ..., "password": ...}'
        )
    if not isinstance(version_id, str) or not version_id:
        raise SecretUnreadable(
            f"secret {secret_arn} was returned without a VersionId; expected Secrets Manager's "
            "GetSecretValue response"
        )
    return SigningKey(password=password, version_id=version_id)
