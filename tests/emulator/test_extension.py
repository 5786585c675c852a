"""The emulator's extension of moto, in-process: each added type creates, updates and deletes;
change sets leave outputs and exports; a failed apply fails the stack; uninstall restores moto."""

from __future__ import annotations

import json
import string
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.cloudformation.parsing import get_model_map
from moto.cloudformation.responses import CloudFormationResponse

from generator.emulator import models, moto_fixes
from generator.emulator.models import generate_password, secret_string
from tests.emulator.conftest import REGION, outputs_of, template

SECRET = {
    "Type": "AWS::SecretsManager::Secret",
    "Properties": {
        "Name": "app/secret",
        "Description": "first",
        "GenerateSecretString": {
            "SecretStringTemplate": '{"username": "app"}',
            "GenerateStringKey": "password",
            "PasswordLength": 40,
            "ExcludeCharacters": "\"@/\\'",
        },
    },
}


def _with(resource: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {**resource, "Properties": {**resource["Properties"], **props}}


# ---------------------------------------------------------------------------------- passwords


def test_generated_password_has_the_length_and_none_of_the_excluded_characters() -> None:
    for _ in range(50):
        password = generate_password({"PasswordLength": 32, "ExcludeCharacters": "abc/@"})
        assert len(password) == 32
        assert not set(password) & set("abc/@")


def test_generated_password_holds_every_included_character_class() -> None:
    password = generate_password({"PasswordLength": 8, "ExcludePunctuation": True})
    assert set(password) & set(string.ascii_lowercase)
    assert set(password) & set(string.ascii_uppercase)
    assert set(password) & set(string.digits)
    assert not set(password) & set(string.punctuation)


def test_rejects_a_spec_that_excludes_every_character() -> None:
    spec = {"ExcludeLowercase": True, "ExcludeUppercase": True, "ExcludeNumbers": True,
            "ExcludePunctuation": True}  # fmt: skip
    with pytest.raises(ValueError, match="no characters"):
        generate_password(spec)


def test_secret_string_merges_the_password_into_the_template() -> None:
    value = json.loads(str(secret_string(SECRET["Properties"])))
    assert value["username"] == "app"
    assert len(value["password"]) == 40


# ------------------------------------------------------------------------------------ secrets


def test_secret_creates_updates_and_deletes(cfn: Any) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)
    outputs = {
        "Arn": {"Value": {"Ref": "Secret"}},
        "Id": {"Value": {"Fn::GetAtt": ["Secret", "Id"]}},
    }
    cfn.create_stack(StackName="s", TemplateBody=template({"Secret": SECRET}, outputs))
    arn = outputs_of(cfn, "s")["Arn"]
    assert arn.startswith("arn:aws:secretsmanager:")
    assert outputs_of(cfn, "s")["Id"] == arn
    first = json.loads(sm.get_secret_value(SecretId="app/secret")["SecretString"])
    assert first["username"] == "app"
    assert len(first["password"]) == 40

    cfn.update_stack(
        StackName="s",
        TemplateBody=template({"Secret": _with(SECRET, Description="second")}, outputs),
    )
    assert sm.describe_secret(SecretId="app/secret")["Description"] == "second"
    unchanged = json.loads(sm.get_secret_value(SecretId="app/secret")["SecretString"])
    assert unchanged == first  # only a changed value spec makes a new value

    cfn.delete_stack(StackName="s")
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.get_secret_value(SecretId="app/secret")


def test_secret_keeps_its_kms_key(cfn: Any) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)
    key = {
        "Type": "AWS::KMS::Key",
        "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": []}},
    }
    secret = _with(SECRET, KmsKeyId={"Fn::GetAtt": ["Key", "Arn"]})
    cfn.create_stack(StackName="s", TemplateBody=template({"Key": key, "Secret": secret}))
    assert sm.describe_secret(SecretId="app/secret")["KmsKeyId"].startswith("arn:aws:kms:")


# ------------------------------------------------------------------------------------- alarms

ALARM = {
    "Type": "AWS::CloudWatch::Alarm",
    "Properties": {
        "AlarmName": "errors",
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
        "Statistic": "Sum",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    },
}


def test_alarm_creates_updates_and_deletes(cfn: Any) -> None:
    cw = boto3.client("cloudwatch", region_name=REGION)
    outputs = {
        "Name": {"Value": {"Ref": "Alarm"}},
        "Arn": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}},
    }
    cfn.create_stack(StackName="s", TemplateBody=template({"Alarm": ALARM}, outputs))
    assert outputs_of(cfn, "s") == {
        "Name": "errors",
        "Arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors",
    }
    cfn.update_stack(
        StackName="s", TemplateBody=template({"Alarm": _with(ALARM, Threshold=5)}, outputs)
    )
    assert cw.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]["Threshold"] == 5

    cfn.update_stack(
        StackName="s", TemplateBody=template({"Alarm": _with(ALARM, AlarmName="errors2")})
    )
    assert [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]] == ["errors2"]

    cfn.delete_stack(StackName="s")
    assert cw.describe_alarms()["MetricAlarms"] == []


# ----------------------------------------------------------------------------- bucket + policy

DENY_PLAIN_HTTP = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": ["arn:aws:s3:::data-bucket", "arn:aws:s3:::data-bucket/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }],
}  # fmt: skip
BUCKET = {
    "Type": "AWS::S3::Bucket",
    "Properties": {"BucketName": "data-bucket", "VersioningConfiguration": {"Status": "Enabled"}},
}
POLICY = {
    "Type": "AWS::S3::BucketPolicy",
    "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": DENY_PLAIN_HTTP},
}


def test_bucket_policy_is_recorded_not_applied_so_objects_stay_usable(cfn: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    cfn.create_stack(StackName="s", TemplateBody=template({"Bucket": BUCKET, "Policy": POLICY}))
    assert models.RECORDED_BUCKET_POLICIES[("123456789012", "data-bucket")] == DENY_PLAIN_HTTP
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket="data-bucket")
    s3.put_object(Bucket="data-bucket", Key="k", Body=b"x")
    assert s3.get_object(Bucket="data-bucket", Key="k")["Body"].read() == b"x"

    allow = {"Version": "2012-10-17", "Statement": []}
    cfn.update_stack(StackName="s", TemplateBody=template(
        {"Bucket": BUCKET, "Policy": _with(POLICY, PolicyDocument=allow)}))  # fmt: skip
    assert models.RECORDED_BUCKET_POLICIES[("123456789012", "data-bucket")] == allow

    cfn.update_stack(StackName="s", TemplateBody=template({"Bucket": BUCKET}))
    assert ("123456789012", "data-bucket") not in models.RECORDED_BUCKET_POLICIES


def test_bucket_gets_versioning_and_notifications(cfn: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "events"}}
    notified = _with(BUCKET, NotificationConfiguration={"QueueConfigurations": [{
        "Event": "s3:ObjectCreated:*", "Queue": {"Fn::GetAtt": ["Queue", "Arn"]},
        "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"}]}},
    }]}, DependsOn=None)  # fmt: skip
    notified["Properties"].pop("DependsOn")
    notified["DependsOn"] = "Queue"
    cfn.create_stack(StackName="s", TemplateBody=template({"Queue": queue, "Bucket": notified}))
    assert s3.get_bucket_versioning(Bucket="data-bucket")["Status"] == "Enabled"
    url = sqs.get_queue_url(QueueName="events")["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)  # the test event S3 sends on configuration

    s3.put_object(Bucket="data-bucket", Key="other/k", Body=b"x")
    s3.put_object(Bucket="data-bucket", Key="uploads/k", Body=b"x")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    records = [r for m in messages for r in json.loads(m["Body"]).get("Records", [])]
    assert [r["s3"]["object"]["key"] for r in records] == ["uploads/k"]  # "/" kept, as S3 does
    assert records[0]["s3"]["object"]["versionId"]  # as S3 sends for versioned buckets


# ----------------------------------------------------------------------------------- KMS key


def test_kms_key_accepts_cloudformation_tags_and_updates_in_place(cfn: Any) -> None:
    kms = boto3.client("kms", region_name=REGION)
    key = {"Type": "AWS::KMS::Key", "Properties": {
        "KeyPolicy": {"Version": "2012-10-17", "Statement": []}, "Description": "one",
        "Tags": [{"Key": "Project", "Value": "ServerlessApp"}]}}  # fmt: skip
    outputs = {"Arn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}}
    cfn.create_stack(StackName="s", TemplateBody=template({"Key": key}, outputs))
    arn = outputs_of(cfn, "s")["Arn"]
    assert kms.list_resource_tags(KeyId=arn)["Tags"] == [
        {"TagKey": "Project", "TagValue": "ServerlessApp"}
    ]
    cfn.update_stack(
        StackName="s", TemplateBody=template({"Key": _with(key, Description="two")}, outputs)
    )
    assert outputs_of(cfn, "s")["Arn"] == arn
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["Description"] == "two"
    cfn.delete_stack(StackName="s")
    deleted = kms.describe_key(KeyId=arn)["KeyMetadata"]  # scheduled, as CloudFormation does
    assert deleted["KeyState"] == "PendingDeletion"
    assert deleted["Enabled"] is False


# ------------------------------------------------------------------------- EventInvokeConfig


def _function_resources(emulated_bucket: str = "code") -> dict[str, Any]:
    from tests.emulator.conftest import handler_zip

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=emulated_bucket)
    s3.put_object(
        Bucket=emulated_bucket, Key="f.zip", Body=handler_zip("def handler(e, c):\n    return e\n")
    )
    role = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "r", "AssumeRolePolicyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"Service": "lambda.amazonaws.com"}}]}}}  # fmt: skip
    function = {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": "f", "Runtime": "python3.13", "Handler": "app.handler",
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "Code": {"S3Bucket": emulated_bucket, "S3Key": "f.zip"},
        "DeadLetterConfig": {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq"},
        "Tags": [{"Key": "Owner", "Value": "TAP"}]}}  # fmt: skip
    return {"Role": role, "Function": function}


DLQ = "arn:aws:sqs:us-east-1:123456789012:dlq"


def test_event_invoke_config_creates_updates_and_deletes(cfn: Any) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    config = {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {
        "FunctionName": {"Ref": "Function"}, "Qualifier": "$LATEST", "MaximumRetryAttempts": 2,
        "DestinationConfig": {"OnFailure": {"Destination": DLQ}}}}  # fmt: skip
    resources = _function_resources()
    cfn.create_stack(StackName="s", TemplateBody=template({**resources, "Config": config}))
    got = lam.get_function_event_invoke_config(FunctionName="f")
    assert got["MaximumRetryAttempts"] == 2
    assert got["DestinationConfig"]["OnFailure"]["Destination"].endswith(":dlq")

    cfn.update_stack(StackName="s", TemplateBody=template(
        {**resources, "Config": _with(config, MaximumRetryAttempts=0)}))  # fmt: skip
    assert lam.get_function_event_invoke_config(FunctionName="f")["MaximumRetryAttempts"] == 0

    cfn.update_stack(StackName="s", TemplateBody=template(resources))
    with pytest.raises(ClientError, match="ResourceNotFound"):
        lam.get_function_event_invoke_config(FunctionName="f")


def test_function_keeps_its_dead_letter_config_and_tags(cfn: Any) -> None:
    from moto.awslambda.utils import get_backend

    cfn.create_stack(StackName="s", TemplateBody=template(_function_resources()))
    function = get_backend("123456789012", REGION).get_function("f")
    assert function.dead_letter_config == {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq"}
    assert function.tags == {"Owner": "TAP"}


# ----------------------------------------------------------------- SNS and SQS policies, subs


def test_topic_policy_queue_policy_and_subscription_create_update_delete(cfn: Any) -> None:
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    doc = {"Version": "2012-10-17", "Statement": [{"Sid": "one", "Effect": "Allow",
           "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
           "Resource": "*"}]}  # fmt: skip
    resources = {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
        "TopicPolicy": {"Type": "AWS::SNS::TopicPolicy",
                        "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": doc}},
        "QueuePolicy": {"Type": "AWS::SQS::QueuePolicy",
                        "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": doc}},
        "Sub": {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "a@example.com"}},
    }  # fmt: skip
    cfn.create_stack(StackName="s", TemplateBody=template(resources))
    topic = sns.list_topics()["Topics"][0]["TopicArn"]
    url = sqs.get_queue_url(QueueName="q")["QueueUrl"]
    assert json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]) == doc
    assert (
        json.loads(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"][
                "Policy"
            ]
        )
        == doc
    )
    assert [s["Endpoint"] for s in sns.list_subscriptions()["Subscriptions"]] == ["a@example.com"]

    doc2 = {**doc, "Statement": [{**doc["Statement"][0], "Sid": "two"}]}
    changed = {**resources,
               "TopicPolicy": _with(resources["TopicPolicy"], PolicyDocument=doc2),
               "QueuePolicy": _with(resources["QueuePolicy"], PolicyDocument=doc2),
               "Sub": _with(resources["Sub"], Endpoint="b@example.com")}  # fmt: skip
    cfn.update_stack(StackName="s", TemplateBody=template(changed))
    assert json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]) == doc2
    assert (
        json.loads(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"][
                "Policy"
            ]
        )
        == doc2
    )
    assert [s["Endpoint"] for s in sns.list_subscriptions()["Subscriptions"]] == ["b@example.com"]

    cfn.update_stack(StackName="s", TemplateBody=template(
        {"Topic": resources["Topic"], "Queue": resources["Queue"]}))  # fmt: skip
    assert sns.list_subscriptions()["Subscriptions"] == []


# ------------------------------------------------------------------------------ change sets


def _execute(cfn: Any, body: str, kind: str) -> None:
    change_set = cfn.create_change_set(
        StackName="app", ChangeSetName=f"c{kind}", TemplateBody=body, ChangeSetType=kind,
        Tags=[{"Key": "round", "Value": kind}],
    )  # fmt: skip
    cfn.execute_change_set(ChangeSetName=change_set["Id"])


def test_executed_change_set_leaves_outputs_exports_and_tags(cfn: Any) -> None:
    outputs = {"Arn": {"Value": {"Ref": "Secret"}, "Export": {"Name": "app-secret"}}}
    _execute(cfn, template({"Secret": SECRET}, outputs), "CREATE")
    arn = outputs_of(cfn, "app")["Arn"]
    assert cfn.list_exports()["Exports"][0]["Name"] == "app-secret"
    assert cfn.list_exports()["Exports"][0]["Value"] == arn

    outputs2 = {
        "Name": {"Value": {"Fn::GetAtt": ["Alarm", "Arn"]}, "Export": {"Name": "app-alarm"}}
    }
    _execute(cfn, template({"Secret": SECRET, "Alarm": ALARM}, outputs2), "UPDATE")
    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs_of(cfn, "app") == {
        "Name": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors"
    }
    assert [e["Name"] for e in cfn.list_exports()["Exports"]] == ["app-alarm"]
    assert stack["Tags"] == [{"Key": "round", "Value": "UPDATE"}]


def test_fails_the_stack_with_a_reason_when_applying_raises(cfn: Any) -> None:
    broken = {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {"FunctionName": "missing"}}
    _execute(cfn, template({"Config": broken}), "CREATE")
    stack = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [
        e.get("ResourceStatusReason", "")
        for e in cfn.describe_stack_events(StackName="app")["StackEvents"]
    ]
    assert any("emulator:" in r and "missing" in r for r in reasons)


def test_get_template_of_a_change_set_is_its_own_template_not_the_stacks(cfn: Any) -> None:
    first = template({"Secret": SECRET})
    _execute(cfn, first, "CREATE")
    second = json.dumps(json.loads(template({"Secret": SECRET, "Alarm": ALARM})), indent=3)
    pending = cfn.create_change_set(
        StackName="app", ChangeSetName="pending", TemplateBody=second, ChangeSetType="UPDATE"
    )["Id"]
    own = cfn.get_template(StackName="app", ChangeSetName=pending, TemplateStage="Original")
    assert own["TemplateBody"] == json.loads(second)  # boto3 parses a JSON body
    by_name = cfn.get_template(StackName="app", ChangeSetName="pending")
    assert by_name["TemplateBody"] == json.loads(second)
    assert cfn.get_template(StackName="app")["TemplateBody"] == json.loads(first)


def test_get_template_refuses_a_change_set_of_another_stack(cfn: Any) -> None:
    _execute(cfn, template({"Secret": SECRET}), "CREATE")
    with pytest.raises(ClientError, match="does not exist"):
        cfn.get_template(StackName="other", ChangeSetName="cCREATE")


def test_an_executed_update_stamps_the_stacks_last_updated_time(cfn: Any) -> None:
    _execute(cfn, template({"Secret": SECRET}), "CREATE")
    created = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert "LastUpdatedTime" not in created  # AWS sets it on the first update
    _execute(cfn, template({"Secret": SECRET, "Alarm": ALARM}), "UPDATE")
    updated = cfn.describe_stacks(StackName="app")["Stacks"][0]
    assert updated["LastUpdatedTime"] >= updated["CreationTime"]


def test_a_change_set_keeps_its_deployment_mode(cfn: Any) -> None:
    _execute(cfn, template({"Secret": SECRET}), "CREATE")
    body = template({"Secret": SECRET, "Alarm": ALARM})
    made = cfn.create_change_set(
        StackName="app", ChangeSetName="aware", TemplateBody=body, ChangeSetType="UPDATE",
        DeploymentMode="REVERT_DRIFT",
    )["Id"]  # fmt: skip
    assert cfn.describe_change_set(ChangeSetName=made)["DeploymentMode"] == "REVERT_DRIFT"
    plain = cfn.create_change_set(
        StackName="app", ChangeSetName="plain", TemplateBody=body, ChangeSetType="UPDATE"
    )["Id"]
    assert "DeploymentMode" not in cfn.describe_change_set(ChangeSetName=plain)


def test_a_change_set_reports_the_inputs_it_was_created_with(cfn: Any) -> None:
    _execute(cfn, template({"Secret": SECRET}), "CREATE")
    body = template({"Secret": SECRET, "Alarm": ALARM})
    trigger = {"Arn": f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:a", "Type": ALARM["Type"]}
    made = cfn.create_change_set(
        StackName="app", ChangeSetName="inputs", TemplateBody=body, ChangeSetType="UPDATE",
        Tags=[{"Key": "Environment", "Value": "dev"}, {"Key": "Owner", "Value": "TAP"}],
        RollbackConfiguration={"RollbackTriggers": [trigger], "MonitoringTimeInMinutes": 5},
        ImportExistingResources=False, OnStackFailure="ROLLBACK",
    )["Id"]  # fmt: skip
    for values in (True, False):
        described = cfn.describe_change_set(ChangeSetName=made, IncludePropertyValues=values)
        assert described["Tags"] == [
            {"Key": "Environment", "Value": "dev"}, {"Key": "Owner", "Value": "TAP"}
        ]  # fmt: skip
        assert described["RollbackConfiguration"] == {
            "RollbackTriggers": [trigger], "MonitoringTimeInMinutes": 5
        }  # fmt: skip
        assert described["ImportExistingResources"] is False
        assert described["OnStackFailure"] == "ROLLBACK"
    plain = cfn.create_change_set(
        StackName="app", ChangeSetName="plain", TemplateBody=body, ChangeSetType="UPDATE"
    )["Id"]
    described = cfn.describe_change_set(ChangeSetName=plain)
    assert described["Tags"] == []
    assert not {"RollbackConfiguration", "ImportExistingResources", "OnStackFailure"} & set(
        described
    )


def test_moto_fixes_alone_fix_get_template_and_are_undone() -> None:
    original = CloudFormationResponse.__dict__["get_template"]
    with mock_aws():
        client = boto3.client("cloudformation", region_name=REGION)
        body = template({"Queue": {"Type": "AWS::SQS::Queue"}})
        with moto_fixes.installed():
            made = client.create_change_set(
                StackName="app", ChangeSetName="c", TemplateBody=body, ChangeSetType="CREATE"
            )["Id"]
            own = client.get_template(StackName="app", ChangeSetName=made)["TemplateBody"]
            assert own == json.loads(body)
        # moto's own answer: the (empty) template of the stack in REVIEW_IN_PROGRESS
        assert client.get_template(StackName="app", ChangeSetName=made)["TemplateBody"] != own
    assert CloudFormationResponse.__dict__["get_template"] is original


# -------------------------------------------------------------------------------- uninstall


def test_uninstalled_extension_leaves_moto_as_it_was() -> None:
    with mock_aws():
        model_map = get_model_map()
        assert "AWS::SecretsManager::Secret" not in model_map
        assert model_map["AWS::S3::Bucket"].__module__ == "moto.s3.models"


def test_installed_extension_provides_every_added_type(emulated: Any) -> None:
    model_map = get_model_map()
    for aws_type in ("AWS::SecretsManager::Secret", "AWS::CloudWatch::Alarm",
                     "AWS::S3::BucketPolicy", "AWS::Lambda::EventInvokeConfig",
                     "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy",
                     "AWS::SNS::Subscription"):  # fmt: skip
        assert model_map[aws_type].__module__ == "generator.emulator.models"


# ------------------------------------------------------------------------------- TemplateURL


def test_a_template_url_on_the_emulators_endpoint_is_read_path_style(cfn: Any) -> None:
    # The deploy uploads a template over the 51,200-byte inline limit and names it
    # <endpoint>/<bucket>/<key>; moto alone would take "127" for the bucket.
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="artifacts")
    body = template({"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}})
    s3.put_object(Bucket="artifacts", Key="templates/app/abc.json", Body=body.encode())

    cfn.create_change_set(
        StackName="big", ChangeSetName="c1", ChangeSetType="CREATE",
        TemplateURL="http://127.0.0.1:9/artifacts/templates/app/abc.json",
    )  # fmt: skip
    cfn.execute_change_set(StackName="big", ChangeSetName="c1")

    summaries = cfn.list_stack_resources(StackName="big")["StackResourceSummaries"]
    assert [r["LogicalResourceId"] for r in summaries] == ["Topic"]


@pytest.mark.parametrize("host", ["127.0.0.1:5000", "localhost:5000"])
def test_a_template_url_on_the_loopback_endpoint_is_read_path_style(cfn: Any, host: str) -> None:
    # A template over the inline limit goes by a path-style URL on the client's own endpoint.
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="artifacts")
    body = template({"Queue": {"Type": "AWS::SQS::Queue"}})
    s3.put_object(Bucket="artifacts", Key="templates/TapStackx/abc.json", Body=body.encode())
    made = cfn.create_change_set(
        StackName="TapStackx",
        ChangeSetName="large",
        ChangeSetType="CREATE",
        TemplateURL=f"http://{host}/artifacts/templates/TapStackx/abc.json",
    )
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=made["Id"])
    changes = cfn.describe_change_set(ChangeSetName=made["Id"])["Changes"]
    assert [c["ResourceChange"]["LogicalResourceId"] for c in changes] == ["Queue"]


def test_a_loopback_template_url_naming_no_object_is_a_validation_error(cfn: Any) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="artifacts")
    with pytest.raises(ClientError) as caught:
        cfn.create_change_set(
            StackName="TapStackx",
            ChangeSetName="missing",
            ChangeSetType="CREATE",
            TemplateURL="http://127.0.0.1:5000/artifacts/templates/none.json",
        )
    assert caught.value.response["Error"]["Code"] == "ValidationError"
