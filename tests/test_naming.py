"""Names that live stacks and the outside world depend on. A change here must be deliberate:
renaming a logical ID replaces the resource."""

from __future__ import annotations

from pathlib import Path

from generator import naming
from generator.config import load_environments
from generator.contracts import ArtifactRef
from generator.stack import build_template
from generator.stack.bootstrap import build_bootstrap_template

ARTIFACT = ArtifactRef(key=naming.artifact_key("0" * 64), sha256="0" * 64)

APP_LOGICAL_IDS = {
    "AccessLogBucket", "AccessLogBucketPolicy", "AlarmTopic", "AlarmTopicPolicy", "Dashboard",
    "DataBucket", "DataBucketPolicy", "DeadLetterQueue", "DeadLetterQueueDepthAlarm",
    "DeadLetterQueuePolicy",
    "DurationAlarm", "EncryptionKey", "EncryptionKeyAlias", "ErrorsAlarm", "ErrorRateAlarm",
    "DeadLetterErrorsAlarm", "DestinationDeliveryFailuresAlarm",
    "Function", "FunctionEventInvokeConfig", "FunctionInvokePermission", "FunctionLogGroup",
    "FunctionPolicy", "FunctionRole", "Secret", "ThrottlesAlarm",
    "SecretRotationRole", "SecretRotationPolicy", "SecretRotationLogGroup",
    "SecretRotationFunction", "SecretRotationInvokePermission", "SecretRotationSchedule",
    "SecretRotationErrorsAlarm",
}  # fmt: skip
OUTPUT_IDS = {
    "S3BucketName", "LambdaFunctionArn", "LambdaFunctionName", "SecretArn", "AlarmTopicArn",
    "DeadLetterQueueUrl", "DeadLetterQueueArn",
}  # fmt: skip
# Queue ingest mode adds the queue and its mapping; S3 no longer invokes the function.
QUEUE_LOGICAL_IDS = (APP_LOGICAL_IDS - {"FunctionInvokePermission"}) | {
    "IngestQueue", "IngestQueuePolicy", "IngestEventSourceMapping", "IngestOldestMessageAgeAlarm",
}  # fmt: skip
QUEUE_OUTPUT_IDS = OUTPUT_IDS | {"IngestQueueUrl", "IngestQueueArn"}


def test_logical_ids_are_pinned_for_every_environment() -> None:
    for env in load_environments(Path("environments")).values():
        template = build_template(env, ARTIFACT).to_dict()
        queue = env.ingest.mode == "queue"
        assert set(template["Resources"]) == (QUEUE_LOGICAL_IDS if queue else APP_LOGICAL_IDS), (
            env.name
        )
        assert set(template["Outputs"]) == (QUEUE_OUTPUT_IDS if queue else OUTPUT_IDS), env.name


def test_bootstrap_logical_ids_are_pinned() -> None:
    template = build_bootstrap_template().to_dict()
    assert set(template["Resources"]) == {"ArtifactBucket", "ArtifactBucketPolicy"}
    assert set(template["Outputs"]) == {"ArtifactBucketName"}


def test_physical_names_keep_the_contract() -> None:
    assert naming.stack_name("prod") == "TapStackprod"
    assert naming.data_bucket("prod", "123456789012") == "serverlessapp-files-prod-123456789012"
    assert naming.function_name("prod") == "ServerlessAppLambdaprod"
    assert naming.log_group("prod") == "/aws/lambda/ServerlessAppLambdaprod"
    assert naming.alarm_name("Lambda-Errors", "prod") == "ServerlessApp-Lambda-Errors-prod"
    assert naming.alarm_name("Lambda-Duration", "prod") == "ServerlessApp-Lambda-Duration-prod"
    assert naming.export_name("S3Bucket", "prod") == "ServerlessApp-S3Bucket-prod"
    assert naming.METRICS_NAMESPACE == "ServerlessApp/Lambda"
    assert naming.LAMBDA_HANDLER == "app.lambda_handler"
    assert naming.ROTATION_HANDLER == "rotation.lambda_handler"
    assert naming.rotation_function_name("prod") == "ServerlessAppSecretRotationprod"
    assert naming.rotation_log_group("prod") == "/aws/lambda/ServerlessAppSecretRotationprod"
    assert naming.UPLOAD_PREFIX == "uploads/"
    assert naming.base_tags("prod") == {
        "Project": "ServerlessApp", "Environment": "prod", "Owner": "TAP",
    }  # fmt: skip
    assert naming.artifact_key("ab" * 32) == f"handler/{'ab' * 32}.zip"


def test_ci_access_names_keep_the_contract() -> None:
    # The one-time ci-access setup (docs/ci.md) and the rollout's role ARNs name these.
    assert naming.CI_ACCESS_STACK_NAME == "ServerlessAppCiAccess"
    assert naming.plan_role_name("prod") == "ServerlessAppCiPlanRoleprod"
    assert naming.deploy_role_name("prod") == "ServerlessAppCiDeployRoleprod"
    assert naming.cloudformation_role_name("prod") == "ServerlessAppCloudFormationRoleprod"
    assert naming.plan_main_role_name("prod") == "ServerlessAppCiPlanMainRoleprod"
    assert naming.drift_role_name("prod") == "ServerlessAppCiDriftRoleprod"
    # The app stack names the boundary by this; the CloudFormation role conditions on it.
    assert naming.boundary_policy_name("prod") == "ServerlessAppBoundary-prod"
