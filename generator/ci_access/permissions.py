"""The CI roles' permissions as data: what each is granted and what is deliberately withheld.

Granted: the action lists the ci-access template's statements are made of. Withheld: handler
permissions that the CloudFormation registry schemas list for a deployed resource type but that a
role does not get, each with its reason (tests/test_ci_access.py proves every handler permission
is either granted or listed here, and that every withheld one is still called and its feature
unused by the templates).
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import awslambda as lam
from awacs import cloudformation as cfn
from awacs import cloudwatch, iam, kms, logs, s3, secretsmanager, sns, sqs

# --- granted -----------------------------------------------------------------------------------

STACK_READ = [
    cfn.DescribeStacks,
    cfn.DescribeStackEvents,
    cfn.DescribeStackResource,
    cfn.DescribeStackResources,
    cfn.ListStackResources,
    cfn.GetTemplate,
    cfn.GetTemplateSummary,
    cfn.GetStackPolicy,
    cfn.ListChangeSets,
    cfn.DescribeChangeSet,
    cfn.DescribeStackResourceDrifts,
]
STACK_CHANGE_SETS = [
    cfn.CreateChangeSet,
    cfn.DeleteChangeSet,
    # Stack tags (template hash, commit) are set on the change set.
    cfn.TagResource,
]
STACK_DRIFT = [cfn.DetectStackDrift, cfn.DetectStackResourceDrift]
# Executing a kept change set: GetTemplate (with ChangeSetName) and DescribeChangeSet let the apply
# check the change set is the reviewed one; it may delete a refused one, never create one.
STACK_APPLY = [
    *STACK_READ,
    cfn.ExecuteChangeSet,
    cfn.DeleteChangeSet,
    cfn.SetStackPolicy,
    cfn.UpdateTerminationProtection,
]


# Read handlers' permissions of the stacks' resource types (the CloudFormation registry schemas
# list them; tests/test_ci_access.py checks every one is granted or excepted with a reason).
READ_BUCKET = [
    s3.ListBucket,  # HeadBucket: reveals object keys, never their contents
    s3.GetBucketLocation,
    s3.GetBucketAcl,
    s3.GetBucketPolicy,
    s3.GetBucketVersioning,
    s3.GetEncryptionConfiguration,
    s3.GetBucketPublicAccessBlock,
    s3.GetLifecycleConfiguration,
    s3.GetBucketLogging,
    s3.GetBucketNotification,
    s3.GetBucketTagging,
    s3.ListTagsForResource,
    s3.GetBucketOwnershipControls,
    s3.GetBucketCORS,
    s3.GetBucketObjectLockConfiguration,
    s3.GetAccelerateConfiguration,
    s3.GetAnalyticsConfiguration,
    s3.GetInventoryConfiguration,
    s3.GetMetricsConfiguration,
    s3.GetReplicationConfiguration,
    s3.GetBucketWebsite,
    s3.GetBucketAbac,
    s3.GetIntelligentTieringConfiguration,
    s3.GetBucketMetadataTableConfiguration,
]
READ_FUNCTION = [
    lam.GetFunction,
    lam.GetFunctionConfiguration,
    lam.GetFunctionConcurrency,
    lam.GetFunctionEventInvokeConfig,
    lam.GetFunctionCodeSigningConfig,
    lam.GetFunctionRecursionConfig,
    lam.GetFunctionScalingConfig,
    lam.GetRuntimeManagementConfig,
    lam.GetPolicy,
    lam.ListTags,
    lam.ListVersionsByFunction,
]
READ_ROLE = [
    iam.GetRole,
    iam.GetRolePolicy,
    iam.ListRolePolicies,
    iam.ListAttachedRolePolicies,
    iam.ListRoleTags,
]
READ_LOG_GROUP = [
    logs.ListTagsForResource,
    logs.ListTagsLogGroup,
    logs.GetDataProtectionPolicy,
]
READ_MONITORING = [
    cloudwatch.DescribeAlarms,
    cloudwatch.ListTagsForResource,
    cloudwatch.GetDashboard,
]
READ_MESSAGING = [
    sqs.GetQueueAttributes,
    sqs.GetQueueUrl,
    sqs.ListQueueTags,
    sns.GetTopicAttributes,
    sns.ListTagsForResource,
    sns.ListSubscriptionsByTopic,
    sns.GetSubscriptionAttributes,
    sns.GetDataProtectionPolicy,
]
READ_KEY = [kms.DescribeKey, kms.GetKeyPolicy, kms.GetKeyRotationStatus, kms.ListResourceTags]


# Bucket configuration that CloudFormation's bucket handlers set or reset. Withheld (see
# CLOUDFORMATION_WITHHELD below): website hosting, replication, inventory and analytics exports
# and metadata tables (they publish or copy data elsewhere and no bucket of ours uses them), and
# every object-level action.
CONFIGURE_BUCKET = [
    s3.PutBucketPolicy,
    s3.DeleteBucketPolicy,
    s3.PutBucketVersioning,
    s3.PutEncryptionConfiguration,
    s3.PutBucketPublicAccessBlock,
    s3.PutLifecycleConfiguration,
    s3.PutBucketLogging,
    s3.PutBucketNotification,
    s3.PutBucketTagging,
    s3.TagResource,
    s3.UntagResource,
    s3.PutBucketOwnershipControls,
    s3.PutBucketAcl,
    s3.PutBucketCORS,
    s3.PutBucketObjectLockConfiguration,
    s3.PutAccelerateConfiguration,
    s3.PutMetricsConfiguration,
    s3.PutIntelligentTieringConfiguration,
    s3.PutBucketAbac,
    s3.DeleteBucketWebsite,
]


# What the CloudFormation role manages, by concern (create, update, delete and tag).
MANAGE_BUCKETS = [s3.CreateBucket, s3.DeleteBucket, *CONFIGURE_BUCKET]
MANAGE_FUNCTION = [
    lam.CreateFunction,
    lam.DeleteFunction,
    lam.UpdateFunctionCode,
    lam.UpdateFunctionConfiguration,
    lam.PutFunctionConcurrency,
    lam.DeleteFunctionConcurrency,
    lam.AddPermission,
    lam.RemovePermission,
    lam.TagResource,
    lam.UntagResource,
    lam.PutFunctionEventInvokeConfig,
    lam.UpdateFunctionEventInvokeConfig,
    lam.DeleteFunctionEventInvokeConfig,
    lam.PutRuntimeManagementConfig,
    lam.PutFunctionRecursionConfig,
    lam.PublishVersion,
]
# Role changes IAM authorizes with ``iam:PermissionsBoundary`` (the role's boundary, or the one it
# is created with): allowed on the app stack's roles only with the environment's boundary.
BOUNDED_ROLE_CHANGES = [
    iam.CreateRole,
    iam.PutRolePolicy,
    iam.DeleteRolePolicy,
    iam.DetachRolePolicy,
    iam.PutRolePermissionsBoundary,
]
# Role changes with no permission effect (names, tags, session length, deletion).
ROLE_SETTINGS = [
    iam.DeleteRole,
    iam.UpdateRole,
    iam.UpdateRoleDescription,
    iam.TagRole,
    iam.UntagRole,
]
MANAGE_LOG_GROUP = [
    logs.CreateLogGroup,
    logs.DeleteLogGroup,
    logs.PutRetentionPolicy,
    logs.DeleteRetentionPolicy,
    logs.AssociateKmsKey,
    logs.DisassociateKmsKey,
    logs.DeleteDataProtectionPolicy,
    logs.TagResource,
    logs.UntagResource,
    logs.TagLogGroup,
    logs.UntagLogGroup,
]
MANAGE_ALARMS = [
    cloudwatch.PutMetricAlarm,
    cloudwatch.DeleteAlarms,
    cloudwatch.TagResource,
    cloudwatch.UntagResource,
]
MANAGE_QUEUE = [
    sqs.CreateQueue,
    sqs.DeleteQueue,
    sqs.SetQueueAttributes,
    sqs.TagQueue,
    sqs.UntagQueue,
]
MANAGE_TOPIC = [
    sns.CreateTopic,
    sns.DeleteTopic,
    sns.SetTopicAttributes,
    sns.Subscribe,
    sns.Unsubscribe,
    sns.SetSubscriptionAttributes,
    sns.TagResource,
    sns.UntagResource,
]
MANAGE_SECRET = [
    secretsmanager.CreateSecret,
    secretsmanager.DeleteSecret,
    secretsmanager.UpdateSecret,
    secretsmanager.TagResource,
    secretsmanager.UntagResource,
    # The RotationSchedule resource: it sets the schedule and starts the first rotation.
    secretsmanager.RotateSecret,
    secretsmanager.CancelRotateSecret,
]
# RotateSecret also needs its caller to be allowed to invoke the rotation function.
START_ROTATION = [lam.InvokeFunction]
# Queue ingest mode only: the event source mapping from the ingest queue to the function.
# CreateEventSourceMapping takes no resource ARN: the function it targets is its condition.
CREATE_INGEST_MAPPING = [lam.CreateEventSourceMapping]
MANAGE_INGEST_MAPPING = [lam.UpdateEventSourceMapping, lam.DeleteEventSourceMapping]
READ_INGEST_MAPPING = [lam.GetEventSourceMapping, lam.TagResource, lam.UntagResource, lam.ListTags]
MANAGE_ALIASES = [kms.CreateAlias, kms.DeleteAlias, kms.UpdateAlias]
# kms:PutKeyPolicy is granted on its own statement (SetKeyPolicy: never bypassing the lockout
# safety check).
MANAGE_KEY = [
    kms.EnableKeyRotation,
    kms.DisableKeyRotation,
    kms.UpdateKeyDescription,
    kms.EnableKey,
    kms.DisableKey,
    kms.ScheduleKeyDeletion,
    kms.TagResource,
    kms.UntagResource,
    *MANAGE_ALIASES,
    # Secrets Manager encrypts the generated value with a data key from the caller's grant.
    kms.Decrypt,
    kms.GenerateDataKey,
]


# --- denied ------------------------------------------------------------------------------------

# Explicitly denied to the CloudFormation role, on any role or policy, whatever else is attached:
# - removing a boundary, or attaching a managed policy (the stack attaches none; a bounded role
#   with AdministratorAccess would still be capped, but nothing needs it);
# - changing a trust policy: the app roles' trust is fixed (lambda.amazonaws.com), and a changed
#   one is how a role gets "trusted from outside"; a trust change needs the ci-access stack
#   (an administrator) to grant it for that change;
# - creating, versioning or deleting managed policies (the boundary is ci-access's; the app stack
#   creates no managed policy).
NEVER_ON_ROLES = [
    iam.DeleteRolePermissionsBoundary,
    iam.AttachRolePolicy,
    iam.UpdateAssumeRolePolicy,
    iam.CreatePolicy,
    iam.CreatePolicyVersion,
    iam.SetDefaultPolicyVersion,
    iam.DeletePolicy,
    iam.DeletePolicyVersion,
]


# --- withheld ----------------------------------------------------------------------------------

# The CloudFormation registry schema of each resource type (bundled with cfn-lint) lists the
# permissions its create, read, update and delete handlers call. The CloudFormation role must
# hold all of them and the drift role the read ones (drift detection reads with the caller's
# permissions), except the ones below, each with its reason.


@dataclass(frozen=True)
class Withheld:
    """A handler permission a role does not get, and why."""

    reason: str
    # The handler calls it only for these properties: no resource of the type may set them.
    unused: tuple[str, ...] = ()
    # The schema names an API operation that IAM authorizes with this action instead.
    granted_as: str | None = None


def _api_name(iam_action: str) -> Withheld:
    return Withheld("an API operation name, not an IAM action", granted_as=iam_action)


_BUCKET = "AWS::S3::Bucket"
_FUNCTION = "AWS::Lambda::Function"
_LOG_GROUP = "AWS::Logs::LogGroup"
_TOPIC = "AWS::SNS::Topic"
_SECRET = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type, not a password
_VPC = ("VpcConfig", "FileSystemConfigs")
_METADATA = ("MetadataTableConfiguration", "MetadataConfiguration")
_LOG_DELIVERY = Withheld(
    "audit findings delivery of a data protection policy", ("DataProtectionPolicy",)
)

CLOUDFORMATION_WITHHELD: dict[tuple[str, str], Withheld] = {
    # S3: names of API operations in the schema where IAM knows another action.
    (_BUCKET, "s3:PutBucketReplication"): _api_name("s3:PutReplicationConfiguration"),
    (_BUCKET, "s3:DeleteBucketReplication"): _api_name("s3:PutReplicationConfiguration"),
    (_BUCKET, "s3:DeleteBucketCors"): _api_name("s3:PutBucketCORS"),
    (_BUCKET, "s3:DeleteBucketEncryption"): _api_name("s3:PutEncryptionConfiguration"),
    (_BUCKET, "s3:DeleteBucketLifecycle"): _api_name("s3:PutLifecycleConfiguration"),
    (_BUCKET, "s3:DeleteBucketMetricsConfiguration"): _api_name("s3:PutMetricsConfiguration"),
    (_BUCKET, "s3:DeleteBucketAnalyticsConfiguration"): _api_name("s3:PutAnalyticsConfiguration"),
    (_BUCKET, "s3:PutObjectLockConfiguration"): _api_name("s3:PutBucketObjectLockConfiguration"),
    # S3: features that publish or copy data elsewhere, unused by every bucket of ours.
    (_BUCKET, "s3:PutReplicationConfiguration"): Withheld(
        "replication copies objects to another bucket", ("ReplicationConfiguration",)
    ),
    (_BUCKET, "iam:PassRole"): Withheld(
        "passes the replication role", ("ReplicationConfiguration",)
    ),
    (_BUCKET, "s3:PutBucketWebsite"): Withheld(
        "website hosting serves objects publicly", ("WebsiteConfiguration",)
    ),
    (_BUCKET, "s3:PutInventoryConfiguration"): Withheld(
        "inventory exports object listings to another bucket", ("InventoryConfigurations",)
    ),
    (_BUCKET, "s3:PutAnalyticsConfiguration"): Withheld(
        "analytics exports to another bucket", ("AnalyticsConfigurations",)
    ),
    **{
        (_BUCKET, action): Withheld("metadata tables write to S3 Tables", _METADATA)
        for action in (
            "s3:CreateBucketMetadataTableConfiguration",
            "s3:DeleteBucketMetadataTableConfiguration",
            "s3:UpdateBucketMetadataJournalTableConfiguration",
            "s3:UpdateBucketMetadataInventoryTableConfiguration",
            "s3:UpdateBucketMetadataAnnotationTableConfiguration",
            "s3tables:CreateNamespace",
            "s3tables:CreateTable",
            "s3tables:CreateTableBucket",
            "s3tables:GetTable",
            "s3tables:PutTableBucketPolicy",
            "s3tables:PutTableEncryption",
            "s3tables:PutTablePolicy",
            "s3tables:GetTableMetadataLocation",
            "s3tables:UpdateTableMetadataLocation",
        )
    },
    # S3: object-level actions; no property of ours makes the handlers write objects, and the
    # role must not be able to delete or re-permission data.
    (_BUCKET, "s3:DeleteObject"): Withheld("object-level: never on data", ("ObjectLockEnabled",)),
    (_BUCKET, "s3:PutObjectAcl"): Withheld("object-level: never on data", ("AccessControl",)),
    # Lambda: features the function does not use.
    **{
        (_FUNCTION, action): Withheld("network or file system attachment", _VPC)
        for action in (
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "ec2:DescribeNetworkInterfaces",
            "elasticfilesystem:DescribeMountTargets",
            "s3files:ListMountTargets",
        )
    },
    (_FUNCTION, "kms:CreateGrant"): Withheld(
        "environment encryption with a customer key", ("KmsKeyArn",)
    ),
    (_FUNCTION, "kms:Encrypt"): Withheld(
        "environment encryption with a customer key", ("KmsKeyArn",)
    ),
    (_FUNCTION, "lambda:GetLayerVersion"): Withheld("layers", ("Layers",)),
    **{
        (_FUNCTION, action): Withheld("code signing", ("CodeSigningConfigArn",))
        for action in (
            "lambda:GetCodeSigningConfig",
            "lambda:PutFunctionCodeSigningConfig",
            "lambda:DeleteFunctionCodeSigningConfig",
        )
    },
    (_FUNCTION, "lambda:PutFunctionScalingConfig"): Withheld(
        "Lambda Managed Instances", ("FunctionScalingConfig", "CapacityProviderConfig")
    ),
    (_FUNCTION, "lambda:PassCapacityProvider"): Withheld(
        "Lambda Managed Instances", ("FunctionScalingConfig", "CapacityProviderConfig")
    ),
    (_FUNCTION, "lambda:AssociateRuntimeAlias"): Withheld(
        "customer-managed runtimes only (Runtime custom); ours is a managed Python runtime"
    ),
    # Logs: features the log group does not use.
    (_LOG_GROUP, "logs:PutDataProtectionPolicy"): Withheld(
        "data protection policy", ("DataProtectionPolicy",)
    ),
    (_LOG_GROUP, "logs:CreateLogDelivery"): _LOG_DELIVERY,
    (_LOG_GROUP, "firehose:TagDeliveryStream"): _LOG_DELIVERY,
    (_LOG_GROUP, "s3:REST.PUT.OBJECT"): Withheld(
        "an S3 access-log operation name, not an IAM action (log delivery to S3)",
        ("DataProtectionPolicy",),
    ),
    (_LOG_GROUP, "logs:PutIndexPolicy"): Withheld("field indexes", ("FieldIndexPolicies",)),
    (_LOG_GROUP, "logs:DeleteIndexPolicy"): Withheld("field indexes", ("FieldIndexPolicies",)),
    (_LOG_GROUP, "logs:PutResourcePolicy"): Withheld(
        "log group resource policy", ("ResourcePolicyDocument",)
    ),
    (_LOG_GROUP, "logs:DeleteResourcePolicy"): Withheld(
        "log group resource policy", ("ResourcePolicyDocument",)
    ),
    (_LOG_GROUP, "logs:PutLogGroupDeletionProtection"): Withheld(
        "deletion protection", ("DeletionProtectionEnabled",)
    ),
    (_LOG_GROUP, "logs:PutBearerTokenAuthentication"): Withheld(
        "bearer token ingestion", ("BearerTokenAuthenticationEnabled",)
    ),
    # SNS: features the topic does not use.
    (_TOPIC, "sns:PutDataProtectionPolicy"): Withheld(
        "message data protection", ("DataProtectionPolicy",)
    ),
    (_TOPIC, "iam:PassRole"): Withheld("delivery status logging role", ("DeliveryStatusLogging",)),
    (_TOPIC, "iam:GetRole"): Withheld("delivery status logging role", ("DeliveryStatusLogging",)),
    # IAM: the app roles keep their boundary and trust, and get no managed policy.
    ("AWS::IAM::Role", "iam:DeleteRolePermissionsBoundary"): Withheld(
        "the app roles' boundary is never removed (an explicit Deny)"
    ),
    ("AWS::IAM::Role", "iam:AttachRolePolicy"): Withheld(
        "managed policies on an app role (an explicit Deny)", ("ManagedPolicyArns",)
    ),
    ("AWS::IAM::Role", "iam:UpdateAssumeRolePolicy"): Withheld(
        "the app roles' trust is fixed; changing it is how a role is trusted from outside "
        "(an explicit Deny: an administrator changes ci-access for such a change)"
    ),
    **{
        ("AWS::IAM::Policy", f"iam:{verb}{principal}Policy"): Withheld(
            "inline policies of users and groups", (f"{principal}s",)
        )
        for verb in ("Get", "Put", "Delete")
        for principal in ("User", "Group")
    },
    # Secrets Manager: replication to other regions.
    (_SECRET, "secretsmanager:ReplicateSecretToRegions"): Withheld(
        "replica regions", ("ReplicaRegions",)
    ),
    (_SECRET, "secretsmanager:RemoveRegionsFromReplication"): Withheld(
        "replica regions", ("ReplicaRegions",)
    ),
}

DRIFT_WITHHELD: dict[tuple[str, str], Withheld] = {
    # Drift of the secret then reports NOT_CHECKED (a failure for `status`): by design.
    (_SECRET, "secretsmanager:GetSecretValue"): Withheld("CI never reads the secret's value"),
    (_FUNCTION, "kms:Decrypt"): Withheld(
        "decrypts environment variables encrypted with a customer key", ("KmsKeyArn",)
    ),
}
