"""Every logical ID and physical name, in one place.

Logical IDs are a contract with live stacks: renaming one makes CloudFormation replace the
resource. Physical names and exports are a contract with people and systems outside this repo
(see the design's "Contracts"). ``tests/test_naming.py`` pins both.
"""

from __future__ import annotations

from collections.abc import Mapping

PROJECT = "ServerlessApp"
OWNER = "TAP"
BASE_TAG_KEYS = ("Project", "Environment", "Owner")
METRICS_NAMESPACE = "ServerlessApp/Lambda"
SERVICE_NAME = "ServerlessApp"
LAMBDA_HANDLER = "app.lambda_handler"
ROTATION_HANDLER = "rotation.lambda_handler"  # same artifact as LAMBDA_HANDLER
LAMBDA_RUNTIME = "python3.13"
UPLOAD_PREFIX = "uploads/"
RESULTS_PREFIX = "processed/"
ARTIFACT_PREFIX = "handler/"
ACCESS_LOG_PREFIX = "data-bucket/"


class LogicalId:
    """Logical IDs of the application stack (stable across environments)."""

    KEY = "EncryptionKey"
    KEY_ALIAS = "EncryptionKeyAlias"
    DATA_BUCKET = "DataBucket"
    DATA_BUCKET_POLICY = "DataBucketPolicy"
    ACCESS_LOG_BUCKET = "AccessLogBucket"
    ACCESS_LOG_BUCKET_POLICY = "AccessLogBucketPolicy"
    SECRET = "Secret"
    ROLE = "FunctionRole"
    ROLE_POLICY = "FunctionPolicy"
    LOG_GROUP = "FunctionLogGroup"
    FUNCTION = "Function"
    INVOKE_PERMISSION = "FunctionInvokePermission"
    EVENT_INVOKE_CONFIG = "FunctionEventInvokeConfig"
    DEAD_LETTER_QUEUE = "DeadLetterQueue"
    DEAD_LETTER_QUEUE_POLICY = "DeadLetterQueuePolicy"
    ALARM_TOPIC = "AlarmTopic"
    ALARM_TOPIC_POLICY = "AlarmTopicPolicy"
    ALARM_SUBSCRIPTION = "AlarmEmailSubscription"
    ERRORS_ALARM = "ErrorsAlarm"
    DURATION_ALARM = "DurationAlarm"
    THROTTLES_ALARM = "ThrottlesAlarm"
    DLQ_DEPTH_ALARM = "DeadLetterQueueDepthAlarm"
    ERROR_RATE_ALARM = "ErrorRateAlarm"
    DEAD_LETTER_ERRORS_ALARM = "DeadLetterErrorsAlarm"
    DESTINATION_FAILURES_ALARM = "DestinationDeliveryFailuresAlarm"
    DASHBOARD = "Dashboard"
    ROTATION_ROLE = "SecretRotationRole"
    ROTATION_POLICY = "SecretRotationPolicy"
    ROTATION_LOG_GROUP = "SecretRotationLogGroup"
    ROTATION_FUNCTION = "SecretRotationFunction"
    ROTATION_PERMISSION = "SecretRotationInvokePermission"
    ROTATION_SCHEDULE = "SecretRotationSchedule"
    ROTATION_ERRORS_ALARM = "SecretRotationErrorsAlarm"
    # Queue ingest mode (``ingest.mode: queue``) only.
    INGEST_QUEUE = "IngestQueue"
    INGEST_QUEUE_POLICY = "IngestQueuePolicy"
    INGEST_EVENT_SOURCE_MAPPING = "IngestEventSourceMapping"
    INGEST_AGE_ALARM = "IngestOldestMessageAgeAlarm"
    OUT_INGEST_QUEUE_URL = "IngestQueueUrl"
    OUT_INGEST_QUEUE_ARN = "IngestQueueArn"
    # Outputs keep the reference stack's names.
    OUT_BUCKET = "S3BucketName"
    OUT_FUNCTION_ARN = "LambdaFunctionArn"
    OUT_SECRET_ARN = "SecretArn"
    OUT_TOPIC_ARN = "AlarmTopicArn"
    OUT_DLQ_URL = "DeadLetterQueueUrl"
    OUT_DLQ_ARN = "DeadLetterQueueArn"
    OUT_FUNCTION_NAME = "LambdaFunctionName"


class BootstrapId:
    """Logical IDs of the per-account-and-region bootstrap stack."""

    ARTIFACT_BUCKET = "ArtifactBucket"
    ARTIFACT_BUCKET_POLICY = "ArtifactBucketPolicy"
    OUT_ARTIFACT_BUCKET = "ArtifactBucketName"


def stack_name(env: str) -> str:
    """CloudFormation stack of one environment."""
    return f"TapStack{env}"


BOOTSTRAP_STACK_NAME = "ServerlessAppBootstrap"

# Change set names start with who made them, for what: IAM's cloudformation:ChangeSetName
# condition holds each CI role to its own (ci-access): a pull request's plan may create and
# delete only `pr-*`, the main branch's kept plan only `kept-*`, and the environment's deploy
# role may execute only `kept-*`. `deploy-*`: a deploy that plans and executes in one go (an
# administrator's, or a preview's).
CHANGE_SET_PR = "pr"
CHANGE_SET_KEPT = "kept"
CHANGE_SET_DEPLOY = "deploy"


def data_bucket(env: str, account: str) -> str:
    """The data bucket's physical name."""
    return f"serverlessapp-files-{env}-{account}"


def access_log_bucket(env: str, account: str) -> str:
    """Where the data bucket's server access logs go (never the data bucket itself)."""
    return f"serverlessapp-access-logs-{env}-{account}"


def artifact_bucket(account: str, region: str) -> str:
    """The per-account-and-region bucket holding handler artifacts."""
    return f"serverlessapp-artifacts-{account}-{region}"


def artifact_key(sha256: str) -> str:
    """Content-addressed key of a handler artifact."""
    return f"{ARTIFACT_PREFIX}{sha256}.zip"


def function_name(env: str) -> str:
    """The Lambda function's physical name."""
    return f"ServerlessAppLambda{env}"


def role_name(env: str) -> str:
    """The function's execution role."""
    return f"ServerlessAppLambdaRole{env}"


def log_group(env: str) -> str:
    """The function's log group."""
    return f"/aws/lambda/{function_name(env)}"


def secret_name(env: str) -> str:
    """The secret's name."""
    return f"ServerlessApp/{env}/app"


def rotation_function_name(env: str) -> str:
    """The secret's rotation function."""
    return f"ServerlessAppSecretRotation{env}"


def rotation_role_name(env: str) -> str:
    """The rotation function's execution role."""
    return f"ServerlessAppSecretRotationRole{env}"


def rotation_log_group(env: str) -> str:
    """The rotation function's log group."""
    return f"/aws/lambda/{rotation_function_name(env)}"


def key_alias(env: str) -> str:
    """Alias of the stack's KMS key."""
    return f"alias/serverlessapp-{env}"


def queue_name(env: str) -> str:
    """The dead-letter queue's name."""
    return f"ServerlessApp-DLQ-{env}"


def ingest_queue_name(env: str) -> str:
    """The queue that buffers upload notifications in queue ingest mode."""
    return f"ServerlessApp-Ingest-{env}"


def topic_name(env: str) -> str:
    """The alarm topic's name."""
    return f"ServerlessApp-Alarms-{env}"


def dashboard_name(env: str) -> str:
    """The CloudWatch dashboard's name."""
    return f"ServerlessApp-{env}"


def alarm_name(kind: str, env: str) -> str:
    """Alarm names: ``Lambda-Errors`` gives ``ServerlessApp-Lambda-Errors-<env>``."""
    return f"ServerlessApp-{kind}-{env}"


def export_name(kind: str, env: str) -> str:
    """Export names: ``S3Bucket`` gives ``ServerlessApp-S3Bucket-<env>``."""
    return f"ServerlessApp-{kind}-{env}"


def base_tags(env: str | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Tags every taggable resource and stack carry, then ``extra`` (an environment's own tags).

    ``env`` None: resources shared by every environment (the bootstrap stack, the CI identity
    provider), which carry no Environment tag.
    """
    where = {"Environment": env} if env is not None else {}
    return {"Project": PROJECT, **where, "Owner": OWNER, **(extra or {})}


TEMPLATES_DIR = "templates"
ENVIRONMENTS_DIR = "environments"
BOOTSTRAP_TEMPLATE = "bootstrap.json"


def template_file(env: str) -> str:
    """Path of an environment's template, relative to the repo root."""
    return f"{TEMPLATES_DIR}/{env}.json"


CI_ACCESS_STACK_NAME = "ServerlessAppCiAccess"


def plan_role_name(env: str) -> str:
    """The CI plan role assumed by pull-request and drift jobs."""
    return f"ServerlessAppCiPlanRole{env}"


def deploy_role_name(env: str) -> str:
    """The CI deploy role assumed by jobs bound to the GitHub environment ``env``."""
    return f"ServerlessAppCiDeployRole{env}"


def preview_role_name(env: str) -> str:
    """The CI role that deploys and destroys the preview stacks ``TapStack<env>-*``."""
    return f"ServerlessAppCiPreviewRole{env}"


PREVIEWS_SUFFIX = "-previews"


def preview_cloudformation_role_name(env: str) -> str:
    """The role CloudFormation assumes to change the resources of ``env``'s preview stacks.

    Named like the CloudFormation role of an environment ``<env>-previews``, so the preview
    role's ``PassRole`` on ``ServerlessAppCloudFormationRole<env>-*`` reaches it and nothing else
    (real environment names have no hyphen)."""
    return cloudformation_role_name(f"{env}{PREVIEWS_SUFFIX}")


def cloudformation_role_name(env: str) -> str:
    """The role CloudFormation assumes to change the stack's resources."""
    return f"ServerlessAppCloudFormationRole{env}"


def cloudformation_policy_name(concern: str, env: str) -> str:
    """A managed policy of the CloudFormation role, one per concern (``Storage``, ``Function``)."""
    return f"ServerlessAppCloudFormation{concern}{env}"


class CiId:
    """Logical ids of the ci-access template (stable: renaming one replaces the resource)."""

    REPOSITORY = "GitHubRepository"
    CREATE_PROVIDER = "CreateOidcProvider"
    PROVIDER_CONDITION = "CreateOidcProviderCondition"
    PROVIDER = "GitHubOidcProvider"
    OUT_PROVIDER = "GitHubOidcProviderArn"

    @staticmethod
    def suffix(env: str) -> str:
        """What follows a logical id's prefix for this environment (``dev`` -> ``Dev``)."""
        return env[:1].upper() + env[1:]

    @classmethod
    def in_account(cls, env: str) -> str:
        """The condition that the stack is deployed in this environment's account."""
        return f"InAccount{cls.suffix(env)}"

    @classmethod
    def plan_role(cls, env: str) -> str:
        """Logical id of an environment's plan role."""
        return f"PlanRole{cls.suffix(env)}"

    @classmethod
    def plan_main_role(cls, env: str) -> str:
        """Logical id of an environment's default-branch plan role (the deploy workflow's plan)."""
        return f"PlanMainRole{cls.suffix(env)}"

    @classmethod
    def drift_role(cls, env: str) -> str:
        """Logical id of an environment's read-only drift role."""
        return f"DriftRole{cls.suffix(env)}"

    @classmethod
    def boundary(cls, env: str) -> str:
        """Logical id of the permissions boundary of an environment's app-stack roles."""
        return f"AppRoleBoundary{cls.suffix(env)}"

    @classmethod
    def deploy_role(cls, env: str) -> str:
        """Logical id of an environment's deploy role."""
        return f"DeployRole{cls.suffix(env)}"

    @classmethod
    def cloudformation_role(cls, env: str) -> str:
        """Logical id of an environment's CloudFormation role."""
        return f"CloudFormationRole{cls.suffix(env)}"

    @classmethod
    def policy(cls, env: str, concern: str) -> str:
        """Logical id of one of the CloudFormation role's managed policies."""
        return f"CloudFormation{concern}Policy{cls.suffix(env)}"


def plan_main_role_name(env: str) -> str:
    """The CI role of the deploy workflow's plan job on the default branch (keeps a change set)."""
    return f"ServerlessAppCiPlanMainRole{env}"


def drift_role_name(env: str) -> str:
    """The read-only CI role of the scheduled drift check on the default branch."""
    return f"ServerlessAppCiDriftRole{env}"


def boundary_policy_name(env: str) -> str:
    """The permissions boundary every IAM role of the app stack carries (made by ci-access).

    Previews have their own: a preview ``dev-pr42`` (real environment names have no hyphen) and
    the pattern of all of them, ``dev-*``, carry ``ServerlessAppBoundary-dev-previews``, which
    covers only ``dev-*`` names. So a pull request's stack never gets a role that reaches dev's
    resources, and dev's roles never reach a preview's.
    """
    base, hyphen, _ = env.partition("-")
    return f"ServerlessAppBoundary-{base}{PREVIEWS_SUFFIX if hyphen else ''}"


def app_role_names(env: str) -> tuple[str, ...]:
    """Every IAM role the app stack creates: CloudFormation may create them only bounded.

    The rotation function's role is listed whether or not the environment rotates (its name is
    fixed; a role that does not exist grants nothing)."""
    return (role_name(env), rotation_role_name(env))
