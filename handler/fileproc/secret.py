"""The signing secret's value read together with its version id.

Standard library only: the handler reads the secret with one direct GetSecretValue (in
``aws.read_signing_key``) and caches the ``SigningKey`` built here, so the password and the
version that holds it enter and leave the cache together: a result can never name a version
other than the one whose password signed it, even across a rotation inside the cache's TTL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import SecretUnreadable
from .signing import SigningKey


def secret_value(response: Mapping[str, Any]) -> dict[str, str]:
    """The two fields of a GetSecretValue response the handler keeps: VersionId, SecretString."""
    return {
        "VersionId": str(response.get("VersionId") or ""),
        "SecretString": str(response.get("SecretString") or ""),
    }


def signing_key_from(value: Any, secret_arn: str) -> SigningKey:
    """The password and version id from a ``secret_value`` (errors name the secret only)."""
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
