"""The data bucket, its separate access-log bucket, and their TLS-only policies."""

from __future__ import annotations

from dataclasses import dataclass

from awacs import s3 as s3_actions
from awacs.aws import (
    Allow,
    ArnLike,
    ArnNotEquals,
    Condition,
    Deny,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Ref, Sub, Tags, Template, s3

from generator import arns, naming
from generator.config import Environment
from generator.stack.common import (
    bucket_arn,
    deny_insecure_transport,
    objects_arn,
    policy_document,
    retain,
    skip_checkov,
    tags,
)
from generator.stack.encryption import ACCOUNT, KeyHandle

_BLOCK_ALL = s3.PublicAccessBlockConfiguration(
    BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
)
_OWNER_ENFORCED = s3.OwnershipControls(
    Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
)


@dataclass(frozen=True)
class BucketNames:
    """Physical names as ``Fn::Sub`` strings, known before the buckets exist (no cycles)."""

    data: str
    access_logs: str

    @classmethod
    def of(cls, env: Environment) -> BucketNames:
        """The names in an environment's template."""
        return cls(
            data=naming.data_bucket(env.name, ACCOUNT),
            access_logs=naming.access_log_bucket(env.name, ACCOUNT),
        )


def private_bucket(
    logical_id: str,
    name: str,
    encryption: s3.ServerSideEncryptionByDefault,
    rules: list[s3.LifecycleRule],
    bucket_tags: Tags,
    **properties: object,
) -> s3.Bucket:
    """A bucket with the baseline every bucket here shares: versioned, encrypted by default,
    all public access blocked, ACLs disabled, and a lifecycle."""
    rule = s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=encryption)
    if encryption.SSEAlgorithm == "aws:kms":
        rule.BucketKeyEnabled = True  # fewer KMS requests; meaningless for SSE-S3
    return s3.Bucket(
        logical_id,
        BucketName=Sub(name),
        BucketEncryption=s3.BucketEncryption(ServerSideEncryptionConfiguration=[rule]),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=_BLOCK_ALL,
        OwnershipControls=_OWNER_ENFORCED,
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=rules),
        Tags=bucket_tags,
        **properties,
    )


def tls_only_policy(logical_id: str, bucket: Ref, name: str, *extra: Statement) -> s3.BucketPolicy:
    """A bucket policy that denies any request not made over TLS, plus ``extra`` statements."""
    return s3.BucketPolicy(
        logical_id,
        Bucket=bucket,
        PolicyDocument=policy_document(
            deny_insecure_transport(
                [s3_actions.Action("*")], [bucket_arn(name), objects_arn(name)]
            ),
            *extra,
        ),
    )


def add_access_log_bucket(template: Template, env: Environment, names: BucketNames) -> Ref:
    """The access-log bucket: SSE-S3 (log delivery cannot use a KMS key), delivery by policy."""
    bucket = private_bucket(
        naming.LogicalId.ACCESS_LOG_BUCKET,
        names.access_logs,
        s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"),
        [
            s3.LifecycleRule(
                Id="ExpireAccessLogs",
                Status="Enabled",
                ExpirationInDays=env.storage.access_log_expiration_days,
                NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=1),
                AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                    DaysAfterInitiation=1
                ),
            )
        ],
        tags(env),
    )
    skip_checkov(
        bucket,
        {
            "CKV_AWS_18": "This is the access-log destination; logging it into itself would loop.",
            "CKV_AWS_145": "S3 server access log delivery supports only SSE-S3, not SSE-KMS.",
        },
    )
    template.add_resource(retain(bucket, env))
    log_delivery = Statement(
        Sid="S3ServerAccessLogDelivery",
        Effect=Allow,
        Principal=Principal("Service", "logging.s3.amazonaws.com"),
        Action=[s3_actions.PutObject],
        Resource=[objects_arn(names.access_logs, naming.ACCESS_LOG_PREFIX)],
        Condition=Condition(
            [
                ArnLike("aws:SourceArn", bucket_arn(names.data)),
                StringEquals("aws:SourceAccount", Ref("AWS::AccountId")),
            ]
        ),
    )
    template.add_resource(
        tls_only_policy(
            naming.LogicalId.ACCESS_LOG_BUCKET_POLICY, Ref(bucket), names.access_logs, log_delivery
        )
    )
    return Ref(bucket)


def add_data_bucket(
    template: Template,
    env: Environment,
    names: BucketNames,
    key: KeyHandle,
    access_logs: Ref,
    function_arn: GetAtt,
    invoke_permission_id: str,
    ingest_queue: tuple[GetAtt, str] | None = None,
) -> Ref:
    """The data bucket: versioned, KMS-encrypted, private, TLS-only; uploads invoke the function
    (or, with ``ingest_queue`` (its ARN and its policy's logical ID), go to that queue)."""
    uploads = s3.Filter(
        S3Key=s3.S3Key(Rules=[s3.Rules(Name="prefix", Value=env.storage.upload_prefix)])
    )
    if ingest_queue is None:
        notifications = s3.NotificationConfiguration(
            LambdaConfigurations=[
                s3.LambdaConfigurations(
                    Event="s3:ObjectCreated:*", Filter=uploads, Function=function_arn
                )
            ]
        )
        # S3 checks that it may invoke the function when the notification is put.
        depends_on = [invoke_permission_id, naming.LogicalId.ACCESS_LOG_BUCKET_POLICY]
    else:
        queue_arn, queue_policy_id = ingest_queue
        notifications = s3.NotificationConfiguration(
            QueueConfigurations=[
                s3.QueueConfigurations(Event="s3:ObjectCreated:*", Filter=uploads, Queue=queue_arn)
            ]
        )
        # S3 checks that it may send to the queue when the notification is put.
        depends_on = [queue_policy_id, naming.LogicalId.ACCESS_LOG_BUCKET_POLICY]
    bucket = private_bucket(
        naming.LogicalId.DATA_BUCKET,
        names.data,
        s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=key.arn),
        [
            s3.LifecycleRule(
                Id="ExpireNoncurrentVersions",
                Status="Enabled",
                NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
                    NoncurrentDays=env.storage.noncurrent_version_expiration_days
                ),
            ),
            s3.LifecycleRule(
                Id="AbortIncompleteMultipartUploads",
                Status="Enabled",
                AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                    DaysAfterInitiation=env.storage.abort_incomplete_multipart_upload_days
                ),
            ),
        ],
        tags(env),
        LoggingConfiguration=s3.LoggingConfiguration(
            DestinationBucketName=access_logs,
            LogFilePrefix=naming.ACCESS_LOG_PREFIX,
        ),
        NotificationConfiguration=notifications,
        DependsOn=depends_on,
    )
    template.add_resource(retain(bucket, env))
    template.add_resource(
        tls_only_policy(
            naming.LogicalId.DATA_BUCKET_POLICY,
            Ref(bucket),
            names.data,
            only_the_function_writes_results(env, names.data),
        )
    )
    return Ref(bucket)


def only_the_function_writes_results(env: Environment, bucket_name: str) -> Statement:
    """Deny writes under the results prefix to every principal but the function's role.

    Otherwise any in-account writer could put a key under ``processed/`` first, and the
    handler's write-once put would read the real result as a duplicate. The role's ARN is built
    from its name (no dependency on the role resource, which the key policy already names).
    """
    role = Sub(arns.arn("iam", f"role/{naming.role_name(env.name)}", region=""))
    return Statement(
        Sid="OnlyTheFunctionWritesResults",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[s3_actions.PutObject],
        Resource=[objects_arn(bucket_name, env.storage.results_prefix)],
        Condition=Condition(ArnNotEquals("aws:PrincipalArn", role)),
    )
