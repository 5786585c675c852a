"""The signing secret's rotation: a rotation function shipped in the handler's artifact, its own
least-privilege role and KMS-encrypted log group, Secrets Manager's permission to invoke it, and
the schedule.

Present only when ``secret.rotation_days`` is above 0. The function (``handler/rotation.py``)
runs Secrets Manager's four steps for a generated password; results name the key version that
signed them, so rotating never makes an older result unverifiable.
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import secretsmanager
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, Ref, Template, awslambda, iam
from troposphere import secretsmanager as sm

from generator import naming
from generator.config import Environment
from generator.contracts import ArtifactRef
from generator.stack.common import policy_document, skip_checkov, tags
from generator.stack.encryption import KeyHandle
from generator.stack.function import (
    add_log_group,
    artifact_code,
    invoke_permission,
    json_logging,
)
from generator.stack.permissions import add_lambda_role, log_and_trace_statements
from generator.stack.secrets import EXCLUDED_CHARACTERS, PASSWORD_LENGTH

# Four short Secrets Manager calls per step; well below Secrets Manager's own wait.
ROTATION_TIMEOUT_SECONDS = 30
ROTATION_MEMORY_MB = 128


@dataclass(frozen=True)
class RotationHandles:
    """What monitoring needs of the rotation function."""

    function: Ref
    arn: GetAtt


def rotation_enabled(env: Environment) -> bool:
    """Whether this environment rotates its signing key."""
    return env.secret.rotation_days > 0


def add_rotation_role(template: Template, env: Environment) -> GetAtt:
    """The rotation function's execution role (the key policy names it, so it exists before the
    key; its permissions come from ``rotation_policy``)."""
    return add_lambda_role(
        template,
        env,
        naming.LogicalId.ROTATION_ROLE,
        naming.rotation_role_name(env.name),
        naming.rotation_function_name(env.name),
    )


def rotation_policy(secret: Ref, log_group_arn: GetAtt) -> PolicyDocument:
    """Exactly the rotation steps: read, put and re-label versions of this one secret.

    KMS use (to decrypt and encrypt the secret's values) is granted by the key policy, only
    through Secrets Manager.
    """
    return policy_document(
        Statement(
            Sid="RotateOwnSecret",
            Effect=Allow,
            Action=[
                secretsmanager.DescribeSecret,
                secretsmanager.GetSecretValue,
                secretsmanager.PutSecretValue,
                secretsmanager.UpdateSecretVersionStage,
            ],
            Resource=[secret],
        ),
        Statement(
            # GetRandomPassword has no resource: it returns random characters, touching nothing.
            Sid="GeneratePassword",
            Effect=Allow,
            Action=[secretsmanager.GetRandomPassword],
            Resource=["*"],
        ),
        *log_and_trace_statements(log_group_arn),
    )


def add_rotation(
    template: Template,
    env: Environment,
    artifact: ArtifactRef,
    role_arn: GetAtt,
    secret: Ref,
    key: KeyHandle,
) -> RotationHandles:
    """Log group, policy, function, Secrets Manager's invoke permission and the schedule."""
    group = add_log_group(
        template,
        env,
        key,
        naming.LogicalId.ROTATION_LOG_GROUP,
        naming.rotation_log_group(env.name),
    )
    policy = iam.PolicyType(
        naming.LogicalId.ROTATION_POLICY,
        PolicyName=f"{naming.rotation_function_name(env.name)}Access",
        PolicyDocument=rotation_policy(secret, GetAtt(group, "Arn")),
        Roles=[Ref(naming.LogicalId.ROTATION_ROLE)],
    )
    template.add_resource(policy)
    function = awslambda.Function(
        naming.LogicalId.ROTATION_FUNCTION,
        FunctionName=naming.rotation_function_name(env.name),
        Description=f"ServerlessApp signing-key rotation ({env.name}); handler sha256 "
        f"{artifact.sha256}",
        Runtime=naming.LAMBDA_RUNTIME,
        Handler=naming.ROTATION_HANDLER,
        Architectures=["arm64"],
        Code=artifact_code(artifact),
        Role=role_arn,
        MemorySize=ROTATION_MEMORY_MB,
        Timeout=ROTATION_TIMEOUT_SECONDS,
        Environment=awslambda.Environment(
            Variables={
                # The secret's own GenerateSecretString rules, so a rotated key looks the same.
                "PASSWORD_LENGTH": str(PASSWORD_LENGTH),
                "EXCLUDE_CHARACTERS": EXCLUDED_CHARACTERS,
                "LOG_LEVEL": env.function.log_level,
            }
        ),
        LoggingConfig=json_logging(group, env.function.log_level),
        TracingConfig=awslambda.TracingConfig(Mode="Active"),
        RecursiveLoop="Terminate",
        DependsOn=[policy.title],
        Tags=tags(env),
    )
    skip_checkov(
        function,
        {
            "CKV_AWS_115": "Only Secrets Manager invokes it, one rotation step at a time; "
            "reserving concurrency would take from the account's unreserved pool for nothing.",
            "CKV_AWS_116": "Secrets Manager invokes it synchronously and retries a failed "
            "rotation itself; a dead-letter queue only receives asynchronous events.",
            "CKV_AWS_117": "It calls only Secrets Manager over TLS; a VPC would add NAT or "
            "endpoint cost for no isolation gain.",
            "CKV_AWS_173": "The environment holds only the password rules and the log level.",
        },
    )
    template.add_resource(function)
    # Only Secrets Manager rotating this stack's secret.
    permission = invoke_permission(
        naming.LogicalId.ROTATION_PERMISSION, function, "secretsmanager", secret
    )
    template.add_resource(permission)
    template.add_resource(
        sm.RotationSchedule(
            naming.LogicalId.ROTATION_SCHEDULE,
            SecretId=secret,
            RotationLambdaARN=GetAtt(function, "Arn"),
            RotationRules=sm.RotationRules(AutomaticallyAfterDays=env.secret.rotation_days),
            # Secrets Manager invokes the function as soon as the schedule exists.
            DependsOn=[permission.title],
        )
    )
    return RotationHandles(function=Ref(function), arn=GetAtt(function, "Arn"))
