"""The stack's customer-managed KMS key and who may use it."""

from __future__ import annotations

from dataclasses import dataclass

from awacs import kms
from awacs.aws import (
    Allow,
    ArnEquals,
    ArnLike,
    BoolIfExists,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Ref, Sub, Template
from troposphere import kms as tkms

from generator import arns, naming
from generator.config import Environment
from generator.stack.common import bucket_arn, policy_document, retain, tags

ACCOUNT = "${AWS::AccountId}"

# Administration only: key use is granted below, statement by statement.
_ADMIN_ACTIONS = [
    kms.CancelKeyDeletion, kms.CreateAlias, kms.DeleteAlias, kms.DescribeKey,
    kms.DisableKey, kms.DisableKeyRotation, kms.EnableKey, kms.EnableKeyRotation,
    kms.GetKeyPolicy, kms.GetKeyRotationStatus, kms.ListAliases, kms.ListGrants,
    kms.ListKeyPolicies, kms.ListResourceTags, kms.PutKeyPolicy, kms.RevokeGrant,
    kms.ScheduleKeyDeletion, kms.TagResource, kms.UntagResource, kms.UpdateAlias,
    kms.UpdateKeyDescription,
]  # fmt: skip
_USE_ACTIONS = [kms.Decrypt, kms.GenerateDataKey, kms.DescribeKey]


@dataclass(frozen=True)
class KeyHandle:
    """The key, for resources that encrypt with it."""

    logical_id: str

    @property
    def arn(self) -> GetAtt:
        """The key's ARN."""
        return GetAtt(self.logical_id, "Arn")


def _via(*services: str) -> Condition:
    # One StringEquals holding both keys: a second StringEquals in the list would replace it.
    return Condition(
        StringEquals(
            {
                "kms:CallerAccount": Ref("AWS::AccountId"),
                "kms:ViaService": [Sub(f"{s}.${{AWS::Region}}.amazonaws.com") for s in services],
            }
        )
    )


def _log_group_arn(name: str) -> Sub:
    return Sub(arns.arn("logs", "log-group:" + name))


def rotation_role_statement(rotation_role_arn: GetAtt) -> Statement:
    """The rotation function reads and writes the secret's versions, only through Secrets
    Manager."""
    return Statement(
        Sid="RotationRoleThroughSecretsManager",
        Effect=Allow,
        Principal=Principal("AWS", rotation_role_arn),
        Action=[kms.Encrypt, *_USE_ACTIONS],
        Resource=["*"],
        Condition=_via("secretsmanager"),
    )


def key_policy(
    env: Environment, function_role_arn: GetAtt, rotation_role_arn: GetAtt | None = None
) -> PolicyDocument:
    """Account administers; only the log groups, alarms, the function (and the rotation
    function) and in-account S3/Secrets Manager callers (uploaders, CloudFormation creating the
    secret) may use the key."""
    log_group_arn: Sub | list[Sub] = _log_group_arn(naming.log_group(env.name))
    if rotation_role_arn is not None:
        log_group_arn = [log_group_arn, _log_group_arn(naming.rotation_log_group(env.name))]
    document = policy_document(
        Statement(
            # Grants only for AWS resources (what services create for their own use): a
            # grant is a second, invisible key policy (Control Tower CT.KMS.PR.3).
            Sid="GrantsOnlyForAwsResources",
            Effect=Deny,
            Principal=Principal("AWS", "*"),
            Action=[kms.CreateGrant],
            Resource=["*"],
            Condition=Condition(
                BoolIfExists(
                    {
                        "kms:GrantIsForAWSResource": "false",
                        "aws:PrincipalIsAWSService": "false",
                    }
                )
            ),
        ),
        Statement(
            Sid="AccountAdministersKey",
            Effect=Allow,
            Principal=Principal("AWS", Sub(arns.arn("iam", "root", region=""))),
            Action=_ADMIN_ACTIONS,
            Resource=["*"],  # in a key policy "*" means this key
        ),
        Statement(
            # Uploaders write the bucket, operators read results and drain the dead-letter
            # queue, CloudFormation creates the secret: each only through its service, and
            # only when the principal's own IAM policy allows it too. No kms:Encrypt: S3,
            # Secrets Manager and SQS encrypt with data keys (GenerateDataKey).
            Sid="AccountPrincipalsThroughTheStacksServices",
            Effect=Allow,
            Principal=Principal("AWS", Sub(arns.arn("iam", "root", region=""))),
            Action=_USE_ACTIONS,
            Resource=["*"],
            Condition=_via("s3", "secretsmanager", "sqs"),
        ),
        Statement(
            Sid="FunctionRoleThroughItsServices",
            Effect=Allow,
            Principal=Principal("AWS", function_role_arn),
            Action=_USE_ACTIONS,
            Resource=["*"],
            Condition=_via("s3", "secretsmanager", "sqs"),
        ),
        Statement(
            Sid="CloudWatchLogsForTheFunctionLogGroup",
            Effect=Allow,
            Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
            Action=[
                kms.Encrypt,
                kms.Decrypt,
                kms.ReEncryptFrom,
                kms.ReEncryptTo,
                kms.GenerateDataKey,
                kms.DescribeKey,
            ],
            Resource=["*"],
            Condition=Condition(ArnEquals("kms:EncryptionContext:aws:logs:arn", log_group_arn)),
        ),
        Statement(
            Sid="CloudWatchAlarmsPublishToEncryptedTopic",
            Effect=Allow,
            Principal=Principal("Service", "cloudwatch.amazonaws.com"),
            Action=[kms.Decrypt, kms.GenerateDataKey],
            Resource=["*"],
            # Only for this stack's topic: SNS always passes the topic's ARN as encryption
            # context. The topic policy narrows publishing to this stack's alarms.
            Condition=Condition(
                StringEquals(
                    "kms:EncryptionContext:aws:sns:topicArn",
                    Sub(arns.arn("sns", naming.topic_name(env.name))),
                )
            ),
        ),
        *_ingest_statements(env),
    )
    if rotation_role_arn is not None:
        document.Statement.append(rotation_role_statement(rotation_role_arn))
    return document


def _ingest_statements(env: Environment) -> list[Statement]:
    """Queue mode: S3 encrypts its notifications for the ingest queue with this key; only for
    this account's data bucket, and only for that queue (SQS's encryption context)."""
    if env.ingest.mode != "queue":
        return []
    return [
        Statement(
            Sid="DataBucketNotificationsToIngestQueue",
            Effect=Allow,
            Principal=Principal("Service", "s3.amazonaws.com"),
            Action=[kms.GenerateDataKey, kms.Decrypt],
            Resource=["*"],
            Condition=Condition(
                [
                    StringEquals(
                        {
                            "aws:SourceAccount": Ref("AWS::AccountId"),
                            "kms:EncryptionContext:aws:sqs:arn": Sub(
                                arns.arn("sqs", naming.ingest_queue_name(env.name))
                            ),
                        }
                    ),
                    ArnLike("aws:SourceArn", bucket_arn(naming.data_bucket(env.name, ACCOUNT))),
                ]
            ),
        )
    ]


def add_key(
    template: Template,
    env: Environment,
    function_role_arn: GetAtt,
    rotation_role_arn: GetAtt | None = None,
) -> KeyHandle:
    """Add the key (rotation on) and its alias."""
    key = tkms.Key(
        naming.LogicalId.KEY,
        Description=f"ServerlessApp {env.name}: data bucket, secret, queue, topic and logs",
        EnableKeyRotation=True,
        KeyPolicy=key_policy(env, function_role_arn, rotation_role_arn),
        Tags=tags(env),
    )
    if not env.retain_data:
        key.PendingWindowInDays = 7  # the shortest wait AWS allows before deleting a key
    template.add_resource(retain(key, env))
    template.add_resource(
        tkms.Alias(
            naming.LogicalId.KEY_ALIAS,
            AliasName=naming.key_alias(env.name),
            TargetKeyId=Ref(key),
        )
    )
    return KeyHandle(naming.LogicalId.KEY)
