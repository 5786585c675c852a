"""The permissions boundary of the app stack's IAM roles: the most any of them can ever do.

The boundary is a managed policy named ``ServerlessAppBoundary-<env>``. The ci-access stack
(deployed by an account administrator) creates it, not the app stack: a boundary that the
CloudFormation role could rewrite would cap nothing. The app stack refers to it by its fixed name,
every role it creates carries it (``PermissionsBoundary``), and the CloudFormation role may create
or change those roles only while they carry it (``iam:PermissionsBoundary`` conditions in
``generator/ci_access/``).

A role's own policy still decides what it does; the boundary only bounds it. So a change set that
puts ``*:*`` on the function role, or attaches ``AdministratorAccess``, leaves the role able to do
no more than what is listed here: its data bucket's prefixes, its secret, its queues, its log group,
X-Ray, and the stack's key only through S3, Secrets Manager and SQS; plus, where the signing key
rotates, the rotation function's steps on that one secret and its own log group.

Add a grant to ``boundary_grants`` when a stack module gives one of its roles a new permission
(a queue it reads, a secret it rotates); ``tests/policy/test_iam_simulation.py`` proves the result
with an IAM policy evaluator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from awacs import kms, logs, s3, secretsmanager, sqs, xray
from awacs.aws import (
    Action,
    Allow,
    Condition,
    PolicyDocument,
    Statement,
    StringEquals,
    StringLike,
)
from troposphere import Sub

from generator import arns, naming
from generator.config import Environment

# Where a role may send the key's use from: the services that encrypt the stack's data.
KEY_SERVICES = ("s3", "secretsmanager", "sqs")


@dataclass(frozen=True)
class Grant:
    """One statement of the boundary: actions on resources (ARN templates for ``Fn::Sub``)."""

    sid: str
    actions: tuple[Action, ...]
    resources: tuple[str, ...]
    condition: Condition | None = None


# What Lambda's poller does with the ingest queue in queue mode, as the function's role: its
# identity policy (generator/stack/permissions.py) and this boundary name the same actions.
POLL_INGEST_QUEUE = (
    sqs.ReceiveMessage,
    sqs.DeleteMessage,
    sqs.GetQueueAttributes,
    sqs.ChangeMessageVisibility,
)


def boundary_arn(env_name: str, account: str = arns.ACCOUNT) -> Sub:
    """The boundary's ARN (``account`` a literal id, or the pseudo-parameter in the app stack)."""
    return Sub(
        arns.arn(
            "iam", f"policy/{naming.boundary_policy_name(env_name)}", region="", account=account
        )
    )


def boundary_grants(env: Environment) -> list[Grant]:
    """What any role of the app stack may ever be granted: the function role's envelope, and the
    rotation function's when the environment rotates its signing key."""
    bucket = arns.bucket_arn(naming.data_bucket(env.name, env.account_id))
    secret = arns.env_arn(env, "secretsmanager", arns.secret_resource(naming.secret_name(env.name)))
    log_group = arns.env_arn(env, "logs", f"log-group:{naming.log_group(env.name)}")
    # A preview pattern (``dev-*``) matches its previews' key tags with StringLike.
    matching = StringLike if "*" in env.name else StringEquals
    key_via = Condition(
        matching(
            {
                "kms:ViaService": [f"{s}.{env.region}.amazonaws.com" for s in KEY_SERVICES],
                "aws:ResourceTag/Environment": env.name,
                "aws:ResourceTag/Project": naming.PROJECT,
            }
        )
    )
    grants = [
        Grant(
            "ReadUploads",
            (s3.GetObject, s3.GetObjectVersion),
            (f"{bucket}/{env.storage.upload_prefix}*",),
        ),
        Grant("WriteResults", (s3.PutObject,), (f"{bucket}/{env.storage.results_prefix}*",)),
        Grant("ListDataBucket", (s3.ListBucket,), (bucket,)),
        Grant(
            "ReadOwnSecret",
            (secretsmanager.GetSecretValue, secretsmanager.DescribeSecret),
            (secret,),
        ),
        Grant(
            "SendToDeadLetterQueue",
            (sqs.SendMessage,),
            (arns.env_arn(env, "sqs", naming.queue_name(env.name)),),
        ),
        Grant(
            "WriteOwnLogGroup",
            (logs.CreateLogStream, logs.PutLogEvents),
            (log_group, f"{log_group}:*"),
        ),
        # X-Ray's segment APIs have no resource-level permissions: AWS requires "*".
        Grant("XRayTracing", (xray.PutTraceSegments, xray.PutTelemetryRecords), ("*",)),
        # The key's id is random: any key of this environment, only through the stack's services.
        Grant(
            "KeyThroughTheStacksServices",
            (kms.Decrypt, kms.GenerateDataKey),
            (arns.env_arn(env, "kms", "key/*"),),
            key_via,
        ),
    ]
    if env.ingest.mode == "queue":
        grants.append(
            Grant(
                "PollOwnIngestQueue",
                POLL_INGEST_QUEUE,
                (arns.env_arn(env, "sqs", naming.ingest_queue_name(env.name)),),
            )
        )
    if env.secret.rotation_days > 0:
        grants += rotation_grants(env)
    return grants


def rotation_grants(env: Environment) -> list[Grant]:
    """What only the rotation function's role needs, on top of the shared grants above (its
    secret's reads, X-Ray and the key through Secrets Manager).

    One boundary caps both roles, so these also cap the function role; its own policy never
    grants them (docs/security.md says why one boundary, and what that leaves).
    """
    secret = arns.env_arn(env, "secretsmanager", arns.secret_resource(naming.secret_name(env.name)))
    log_group = arns.env_arn(env, "logs", f"log-group:{naming.rotation_log_group(env.name)}")
    return [
        Grant(
            "RotateOwnSecret",
            (secretsmanager.PutSecretValue, secretsmanager.UpdateSecretVersionStage),
            (secret,),
        ),
        # GetRandomPassword has no resource: it returns random characters, touching nothing.
        Grant("GeneratePassword", (secretsmanager.GetRandomPassword,), ("*",)),
        Grant(
            "WriteRotationLogGroup",
            (logs.CreateLogStream, logs.PutLogEvents),
            (log_group, f"{log_group}:*"),
        ),
    ]


def boundary_document(grants: Sequence[Grant]) -> PolicyDocument:
    """The boundary policy from its grants (Allow only: a boundary caps, it never grants)."""
    statements = []
    for grant in grants:
        statement = Statement(
            Sid=grant.sid,
            Effect=Allow,
            Action=list(grant.actions),
            Resource=[r if r == "*" else Sub(r) for r in grant.resources],
        )
        if grant.condition is not None:
            statement.Condition = grant.condition
        statements.append(statement)
    return PolicyDocument(Version="2012-10-17", Statement=statements)
