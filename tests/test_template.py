"""The application template, read back as a dict: every property the stack promises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator import naming
from generator.config import Environment, load_environments, parse_environment
from generator.contracts import STATEFUL_TYPES, ArtifactRef
from generator.stack import build_template
from generator.stack.secrets import EXCLUDED_CHARACTERS

SHA = "ab" * 32
ARTIFACT = ArtifactRef(key=naming.artifact_key(SHA), sha256=SHA)
ENVS = load_environments(Path("environments"))
L = naming.LogicalId


def render(env: Environment) -> dict[str, Any]:
    return build_template(env, ARTIFACT).to_dict()


@pytest.fixture(params=sorted(ENVS), ids=sorted(ENVS))
def env(request: pytest.FixtureRequest) -> Environment:
    return ENVS[request.param]


@pytest.fixture
def tpl(env: Environment) -> dict[str, Any]:
    return render(env)


def props(tpl: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return tpl["Resources"][logical_id]["Properties"]


def sub(value: Any) -> str:
    assert set(value) == {"Fn::Sub"}, value
    return value["Fn::Sub"]


def statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s.get("Sid", f"#{i}"): s for i, s in enumerate(document["Statement"])}


def test_data_bucket_is_versioned_private_kms_encrypted_and_logged(
    tpl: dict[str, Any], env: Environment
) -> None:
    p = props(tpl, L.DATA_BUCKET)
    assert sub(p["BucketName"]) == f"serverlessapp-files-{env.name}-${{AWS::AccountId}}"
    assert p["VersioningConfiguration"] == {"Status": "Enabled"}
    assert p["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True,
        "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }  # fmt: skip
    assert p["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (rule,) = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["BucketKeyEnabled"] is True
    assert rule["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [L.KEY, "Arn"]},
    }  # fmt: skip
    assert p["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": L.ACCESS_LOG_BUCKET}


def test_data_bucket_lifecycle_follows_config(tpl: dict[str, Any], env: Environment) -> None:
    rules = {r["Id"]: r for r in props(tpl, L.DATA_BUCKET)["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": env.storage.noncurrent_version_expiration_days
    }
    assert rules["AbortIncompleteMultipartUploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": env.storage.abort_incomplete_multipart_upload_days
    }
    assert all(r["Status"] == "Enabled" for r in rules.values())


def test_uploads_notify_the_function_without_a_custom_resource(
    tpl: dict[str, Any], env: Environment
) -> None:
    bucket = tpl["Resources"][L.DATA_BUCKET]
    (notification,) = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Filter"]["S3Key"]["Rules"] == [
        {"Name": "prefix", "Value": env.storage.upload_prefix}
    ]
    assert notification["Function"] == {"Fn::GetAtt": [L.FUNCTION, "Arn"]}
    assert L.INVOKE_PERMISSION in bucket["DependsOn"]
    assert not [r for r in tpl["Resources"].values() if r["Type"].startswith("Custom::")]
    permission = props(tpl, L.INVOKE_PERMISSION)
    assert permission["Principal"] == "s3.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert sub(permission["SourceArn"]) == (
        f"arn:${{AWS::Partition}}:s3:::serverlessapp-files-{env.name}-${{AWS::AccountId}}"
    )


def test_template_has_no_dependency_on_the_bucket_from_the_function_side(
    tpl: dict[str, Any],
) -> None:
    # The bucket's ARN is built from its name, so nothing the bucket depends on refers to it.
    for logical_id in (L.FUNCTION, L.INVOKE_PERMISSION, L.ROLE_POLICY, L.KEY):
        text = json.dumps(tpl["Resources"][logical_id])
        assert f'"Ref": "{L.DATA_BUCKET}"' not in text
        assert f'"{L.DATA_BUCKET}", "Arn"' not in text


@pytest.mark.parametrize("logical_id", [L.DATA_BUCKET_POLICY, L.ACCESS_LOG_BUCKET_POLICY])
def test_bucket_policies_deny_requests_without_tls(tpl: dict[str, Any], logical_id: str) -> None:
    deny = statements(props(tpl, logical_id)["PolicyDocument"])["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == ["s3:*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_access_logs_go_to_a_separate_sse_s3_bucket_written_by_the_logging_service(
    tpl: dict[str, Any], env: Environment
) -> None:
    p = props(tpl, L.ACCESS_LOG_BUCKET)
    assert sub(p["BucketName"]) == f"serverlessapp-access-logs-{env.name}-${{AWS::AccountId}}"
    (rule,) = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert "LoggingConfiguration" not in p
    assert p["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    delivery = statements(props(tpl, L.ACCESS_LOG_BUCKET_POLICY)["PolicyDocument"])[
        "S3ServerAccessLogDelivery"
    ]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == ["s3:PutObject"]
    assert sub(delivery["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(
        f":::serverlessapp-files-{env.name}-${{AWS::AccountId}}"
    )
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_function_settings(tpl: dict[str, Any], env: Environment) -> None:
    p = props(tpl, L.FUNCTION)
    assert p["FunctionName"] == f"ServerlessAppLambda{env.name}"
    assert p["Runtime"] == "python3.13"
    assert p["Handler"] == "app.lambda_handler"
    assert p["MemorySize"] == env.function.memory_mb
    assert p["Timeout"] == env.function.timeout_seconds
    assert p["TracingConfig"] == {"Mode": "Active"}
    assert p["RecursiveLoop"] == "Terminate"
    assert p["Role"] == {"Fn::GetAtt": [L.ROLE, "Arn"]}
    assert p["Code"]["S3Key"] == f"handler/{SHA}.zip"
    assert sub(p["Code"]["S3Bucket"]) == "serverlessapp-artifacts-${AWS::AccountId}-${AWS::Region}"
    assert p["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [L.DEAD_LETTER_QUEUE, "Arn"]}}
    if env.function.reserved_concurrency is None:
        assert "ReservedConcurrentExecutions" not in p
    else:
        assert p["ReservedConcurrentExecutions"] == env.function.reserved_concurrency


def test_function_environment_is_the_handler_contract(
    tpl: dict[str, Any], env: Environment
) -> None:
    variables = props(tpl, L.FUNCTION)["Environment"]["Variables"]
    assert variables == {
        "SECRET_ARN": {"Ref": L.SECRET},
        "BUCKET_NAME": {"Fn::Sub": f"serverlessapp-files-{env.name}-${{AWS::AccountId}}"},
        "UPLOAD_PREFIX": "uploads/",
        "RESULTS_PREFIX": "processed/",
        "ENVIRONMENT": env.name,
        "SECRET_CACHE_SECONDS": "300",
        "POWERTOOLS_SERVICE_NAME": "ServerlessApp",
        "POWERTOOLS_METRICS_NAMESPACE": "ServerlessApp/Lambda",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }


def test_function_logs_json_into_its_own_encrypted_log_group(
    tpl: dict[str, Any], env: Environment
) -> None:
    logging_config = props(tpl, L.FUNCTION)["LoggingConfig"]
    assert logging_config["LogFormat"] == "JSON"
    assert logging_config["LogGroup"] == {"Ref": L.LOG_GROUP}
    group = props(tpl, L.LOG_GROUP)
    assert group["LogGroupName"] == f"/aws/lambda/ServerlessAppLambda{env.name}"
    assert group["RetentionInDays"] == env.function.log_retention_days
    assert group["KmsKeyId"] == {"Fn::GetAtt": [L.KEY, "Arn"]}


@pytest.mark.parametrize(
    ("level", "lambda_level"),
    [("DEBUG", "DEBUG"), ("INFO", "INFO"), ("WARNING", "INFO"), ("ERROR", "INFO")],
)
def test_lambda_log_filter_never_drops_metric_lines(level: str, lambda_level: str) -> None:
    env = parse_environment(
        "dev",
        {"account_id": "1" * 12, "region": "eu-west-1", "function": {"log_level": level}},
        "x",
    )
    p = props(render(env), L.FUNCTION)
    assert p["LoggingConfig"]["ApplicationLogLevel"] == lambda_level
    assert p["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == level


def test_async_invocation_retries_then_dead_letters(tpl: dict[str, Any], env: Environment) -> None:
    config = props(tpl, L.EVENT_INVOKE_CONFIG)
    assert config["FunctionName"] == {"Ref": L.FUNCTION}
    assert config["Qualifier"] == "$LATEST"
    assert config["MaximumRetryAttempts"] == env.function.async_retries
    assert config["MaximumEventAgeInSeconds"] == env.function.max_event_age_seconds
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [L.DEAD_LETTER_QUEUE, "Arn"]
    }
    queue = props(tpl, L.DEAD_LETTER_QUEUE)
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [L.KEY, "Arn"]}


def test_secret_is_generated_like_the_reference_and_encrypted(tpl: dict[str, Any]) -> None:
    p = props(tpl, L.SECRET)
    generate = p["GenerateSecretString"]
    assert json.loads(generate["SecretStringTemplate"]) == {"username": "admin"}
    assert generate["GenerateStringKey"] == "password"
    assert generate["PasswordLength"] == 32
    assert generate["ExcludeCharacters"] == EXCLUDED_CHARACTERS == (" %+~`#$&*()|[]{}:;<>?!'/\"\\")
    assert generate["IncludeSpace"] is False
    assert p["KmsKeyId"] == {"Fn::GetAtt": [L.KEY, "Arn"]}


def test_key_rotates_and_its_policy_names_exactly_who_uses_it(
    tpl: dict[str, Any], env: Environment
) -> None:
    p = props(tpl, L.KEY)
    assert p["EnableKeyRotation"] is True
    s = statements(p["KeyPolicy"])
    assert set(s) == {
        "AccountAdministersKey",
        "AccountPrincipalsThroughTheStacksServices",
        "FunctionRoleThroughItsServices",
        "CloudWatchLogsForTheFunctionLogGroup",
        "CloudWatchAlarmsPublishToEncryptedTopic",
        "RotationRoleThroughSecretsManager",
    }
    admin = s["AccountAdministersKey"]["Action"]
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} & set(admin)
    assert s["FunctionRoleThroughItsServices"]["Principal"] == {
        "AWS": {"Fn::GetAtt": [L.ROLE, "Arn"]}
    }
    logs = s["CloudWatchLogsForTheFunctionLogGroup"]
    groups = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert [sub(g).rsplit(":log-group:", 1)[1] for g in groups] == [
        f"/aws/lambda/ServerlessAppLambda{env.name}",
        f"/aws/lambda/ServerlessAppSecretRotation{env.name}",
    ]
    assert s["CloudWatchAlarmsPublishToEncryptedTopic"]["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"
    }
    for sid in ("AccountPrincipalsThroughTheStacksServices", "FunctionRoleThroughItsServices"):
        condition = s[sid]["Condition"]["StringEquals"]
        assert condition["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}
        services = {sub(v).split(".")[0] for v in condition["kms:ViaService"]}
        assert services == {"s3", "secretsmanager", "sqs"}
    topic = s["CloudWatchAlarmsPublishToEncryptedTopic"]["Condition"]["StringEquals"]
    assert sub(topic["kms:EncryptionContext:aws:sns:topicArn"]).endswith(
        f":ServerlessApp-Alarms-{env.name}"
    )


def test_role_policy_is_least_privilege(tpl: dict[str, Any], env: Environment) -> None:
    policy = props(tpl, L.ROLE_POLICY)
    assert policy["Roles"] == [{"Ref": L.ROLE}]
    s = statements(policy["PolicyDocument"])
    bucket = f"serverlessapp-files-{env.name}-${{AWS::AccountId}}"
    assert s["ReadUploads"]["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert [sub(r) for r in s["ReadUploads"]["Resource"]] == [
        f"arn:${{AWS::Partition}}:s3:::{bucket}/uploads/*"
    ]
    assert s["WriteResults"]["Action"] == ["s3:PutObject"]
    assert [sub(r) for r in s["WriteResults"]["Resource"]] == [
        f"arn:${{AWS::Partition}}:s3:::{bucket}/processed/*"
    ]
    assert s["ReadOwnSecret"] == {
        "Sid": "ReadOwnSecret", "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue"], "Resource": [{"Ref": L.SECRET}],
    }  # fmt: skip
    assert s["MissingKeysReadAs404"]["Action"] == ["s3:ListBucket"]
    assert [sub(r) for r in s["MissingKeysReadAs404"]["Resource"]] == [
        f"arn:${{AWS::Partition}}:s3:::{bucket}"
    ]
    assert s["DeadLetterQueue"]["Resource"] == [{"Fn::GetAtt": [L.DEAD_LETTER_QUEUE, "Arn"]}]
    assert s["WriteOwnLogGroup"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert s["WriteOwnLogGroup"]["Resource"] == [{"Fn::GetAtt": [L.LOG_GROUP, "Arn"]}]
    actions = [a for st in s.values() for a in st["Action"]]
    assert "cloudwatch:PutMetricData" not in actions
    assert not [a for a in actions if "*" in a]
    star = [sid for sid, st in s.items() if "*" in st["Resource"]]
    assert star == ["XRayTracing"]
    role = props(tpl, L.ROLE)
    assert role["RoleName"] == f"ServerlessAppLambdaRole{env.name}"
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                      "Action": ["sts:AssumeRole"]}]  # fmt: skip


def test_alarms_notify_the_encrypted_topic(tpl: dict[str, Any], env: Environment) -> None:
    alarms = {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in tpl["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    e = env.name
    assert set(alarms) == {
        f"ServerlessApp-Lambda-Errors-{e}", f"ServerlessApp-Lambda-Duration-{e}",
        f"ServerlessApp-Lambda-Throttles-{e}", f"ServerlessApp-Lambda-ErrorRate-{e}",
        f"ServerlessApp-Lambda-DeadLetterErrors-{e}",
        f"ServerlessApp-Lambda-DestinationDeliveryFailures-{e}", f"ServerlessApp-DLQ-Depth-{e}",
        f"ServerlessApp-SecretRotation-Errors-{e}",
    }  # fmt: skip
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [{"Ref": L.ALARM_TOPIC}]
        assert alarm["OKActions"] == [{"Ref": L.ALARM_TOPIC}]
    errors = alarms[f"ServerlessApp-Lambda-Errors-{e}"]
    assert (errors["MetricName"], errors["Statistic"], errors["Period"]) == ("Errors", "Sum", 300)
    assert (errors["Threshold"], errors["EvaluationPeriods"]) == (1, 1)
    duration = alarms[f"ServerlessApp-Lambda-Duration-{e}"]
    assert (duration["MetricName"], duration["Statistic"]) == ("Duration", "Average")
    assert (duration["Threshold"], duration["EvaluationPeriods"]) == (30000, 2)
    triggers = {
        r["Properties"]["AlarmName"]
        for r in tpl["Resources"].values()
        if r.get("Metadata", {}).get("ServerlessApp", {}).get("rollbackTrigger")
    }
    # Only alarms a bad release sets off may roll a deploy back: not one failed upload (Errors),
    # not old failures waiting in the queue, not throttling from load.
    assert triggers == {f"ServerlessApp-Lambda-ErrorRate-{e}", f"ServerlessApp-Lambda-Duration-{e}"}
    rate = alarms[f"ServerlessApp-Lambda-ErrorRate-{e}"]
    queries = {q["Id"]: q for q in rate["Metrics"]}
    assert queries["rate"]["Expression"] == "IF(errors >= 3, 100 * errors / invocations, 0)"
    assert queries["rate"]["ReturnData"] is True
    assert queries["errors"]["MetricStat"]["Metric"]["MetricName"] == "Errors"
    assert queries["invocations"]["MetricStat"]["Metric"]["MetricName"] == "Invocations"
    assert rate["Threshold"] == 20
    lost = {alarms[f"ServerlessApp-Lambda-{k}-{e}"]["MetricName"]
            for k in ("DeadLetterErrors", "DestinationDeliveryFailures")}  # fmt: skip
    assert lost == {"DeadLetterErrors", "DestinationDeliveryFailures"}
    dlq = alarms[f"ServerlessApp-DLQ-Depth-{e}"]
    assert dlq["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [L.DEAD_LETTER_QUEUE, "QueueName"]}}
    ]
    topic = props(tpl, L.ALARM_TOPIC)
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [L.KEY, "Arn"]}
    publish = statements(props(tpl, L.ALARM_TOPIC_POLICY)["PolicyDocument"])["StackAlarmsPublish"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}


def test_email_subscription_only_when_configured() -> None:
    without = render(parse_environment("dev", {"account_id": "1" * 12, "region": "eu-west-1"}, "x"))
    assert L.ALARM_SUBSCRIPTION not in without["Resources"]
    with_email = render(
        parse_environment(
            "dev",
            {"account_id": "1" * 12, "region": "eu-west-1", "alarms": {"email": "ops@example.com"}},
            "x",
        )
    )
    assert props(with_email, L.ALARM_SUBSCRIPTION) == {
        "TopicArn": {"Ref": L.ALARM_TOPIC}, "Protocol": "email", "Endpoint": "ops@example.com",
    }  # fmt: skip


def test_dashboard_shows_the_promised_metrics(tpl: dict[str, Any], env: Environment) -> None:
    body = json.loads(sub(props(tpl, L.DASHBOARD)["DashboardBody"]))
    metrics = [m[1] for w in body["widgets"] for m in w["properties"]["metrics"]]
    promised = ("Invocations", "Errors", "Duration", "Throttles",
                "ApproximateNumberOfMessagesVisible", "FilesProcessed",
                "BytesProcessed")  # fmt: skip
    for name in promised:
        assert name in metrics
    stats = [m[-1].get("stat") for w in body["widgets"] for m in w["properties"]["metrics"]
             if isinstance(m[-1], dict)]  # fmt: skip
    assert {"p50", "p99"} <= set(stats)


def test_stateful_resources_follow_retain_data(tpl: dict[str, Any], env: Environment) -> None:
    expected = "Retain" if env.retain_data else "Delete"
    stateful = {k: r for k, r in tpl["Resources"].items() if r["Type"] in STATEFUL_TYPES}
    assert set(stateful) == {L.KEY, L.DATA_BUCKET, L.ACCESS_LOG_BUCKET, L.SECRET,
                             L.DEAD_LETTER_QUEUE, L.LOG_GROUP, L.ROTATION_LOG_GROUP}  # fmt: skip
    for resource in stateful.values():
        assert resource["DeletionPolicy"] == expected
        assert resource["UpdateReplacePolicy"] == expected


def test_prod_and_staging_retain_data() -> None:
    for name in ("prod", "staging"):
        assert render(ENVS[name])["Resources"][L.DATA_BUCKET]["DeletionPolicy"] == "Retain"


def test_every_taggable_resource_carries_the_tags(tpl: dict[str, Any], env: Environment) -> None:
    untaggable = {"AWS::KMS::Alias", "AWS::S3::BucketPolicy", "AWS::IAM::Policy",
                  "AWS::Lambda::Permission", "AWS::Lambda::EventInvokeConfig",
                  "AWS::SNS::TopicPolicy", "AWS::CloudWatch::Dashboard",
                  "AWS::SNS::Subscription", "AWS::SecretsManager::RotationSchedule"}  # fmt: skip
    expected = {"Project": "ServerlessApp", "Environment": env.name, "Owner": "TAP", **env.tags}
    for logical_id, resource in tpl["Resources"].items():
        if resource["Type"] in untaggable:
            continue
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        assert tags == expected, logical_id


def test_outputs_keep_the_reference_exports(tpl: dict[str, Any], env: Environment) -> None:
    exports = {k: o["Export"]["Name"] for k, o in tpl["Outputs"].items() if "Export" in o}
    e = env.name
    assert exports == {
        "S3BucketName": f"ServerlessApp-S3Bucket-{e}",
        "LambdaFunctionArn": f"ServerlessApp-LambdaArn-{e}",
        "SecretArn": f"ServerlessApp-SecretArn-{e}",
        "AlarmTopicArn": f"ServerlessApp-AlarmTopicArn-{e}",
        "DeadLetterQueueArn": f"ServerlessApp-DeadLetterQueueArn-{e}",
    }
    assert tpl["Outputs"]["S3BucketName"]["Value"] == {"Ref": L.DATA_BUCKET}


def test_metadata_says_generated_and_names_the_artifact(
    tpl: dict[str, Any], env: Environment
) -> None:
    meta = tpl["Metadata"]["ServerlessApp"]
    assert "do not edit by hand" in meta["notice"]
    assert meta["handlerSha256"] == SHA
    assert meta["handlerKey"] == f"handler/{SHA}.zip"
    assert meta["retainData"] is env.retain_data
    assert "do not edit by hand" in tpl["Description"]


def test_same_inputs_give_identical_templates(env: Environment) -> None:
    assert json.dumps(render(env), sort_keys=True) == json.dumps(render(env), sort_keys=True)
