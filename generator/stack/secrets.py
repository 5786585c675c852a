"""The application secret: a generated password, encrypted with the stack's key."""

from __future__ import annotations

import json

from troposphere import Ref, Template
from troposphere import secretsmanager as sm

from generator import naming
from generator.config import Environment
from generator.contracts import ResourceMetadata
from generator.stack.common import retain, skip_checkov, tags
from generator.stack.encryption import KeyHandle

# The reference stack's exclusions: characters that break shells, URLs and JSON embedding.
EXCLUDED_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/\"\\"
PASSWORD_LENGTH = 32


def add_secret(template: Template, env: Environment, key: KeyHandle) -> Ref:
    """Add the secret; ``Ref`` gives its ARN."""
    secret = sm.Secret(
        naming.LogicalId.SECRET,
        Name=naming.secret_name(env.name),
        Description="Secrets for ServerlessApp Lambda function",
        KmsKeyId=key.arn,
        GenerateSecretString=sm.GenerateSecretString(
            SecretStringTemplate=json.dumps({"username": "admin"}),
            GenerateStringKey="password",
            ExcludeCharacters=EXCLUDED_CHARACTERS,
            IncludeSpace=False,
            PasswordLength=PASSWORD_LENGTH,
        ),
        Tags=tags(env),
    )
    if env.secret.rotation_days == 0:
        skip_checkov(
            secret,
            {
                "CKV2_AWS_57": "Rotation is turned off in this environment (secret.rotation_days: "
                "0); with it on, generator/stack/rotation.py adds the schedule and its function.",
            },
        )
    # Drift detection reads the secret's value; CI's plan role may not, so `status` skips it.
    secret.Metadata = {
        # No checkov skip when rotation is on, so the secret may have no Metadata yet.
        **(getattr(secret, "Metadata", None) or {}),
        **ResourceMetadata(
            drift_not_checked="drift detection needs the secret's value, which no CI role "
            "may read; the stack policy and CloudTrail guard it instead"
        ).to_metadata(),
    }
    template.add_resource(retain(secret, env))
    return Ref(secret)
