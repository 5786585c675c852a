"""Queue ingest mode's template: S3 -> SQS -> event source mapping, and what it must not have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator import naming
from generator.config import ConfigError, Environment, load_environments, parse_environment
from generator.contracts import STATEFUL_TYPES, ArtifactRef
from generator.stack import build_template

SHA = "cd" * 32
ARTIFACT = ArtifactRef(key=naming.artifact_key(SHA), sha256=SHA)
L = naming.LogicalId


def queue_env(**ingest: Any) -> Environment:
    return parse_environment(
        "qa",
        {
            "account_id": "111111111111",
            "region": "eu-west-1",
            "retain_data": False,
            "function": {"timeout_seconds": 30},
            "ingest": {"mode": "queue", **ingest},
        },
        "qa.yaml",
    )


@pytest.fixture
def tpl() -> dict[str, Any]:
    return build_template(queue_env(max_receive_count=4), ARTIFACT).to_dict()


def props(tpl: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return tpl["Resources"][logical_id]["Properties"]


def statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


def test_direct_is_the_default_mode() -> None:
    env = parse_environment("qa", {"account_id": "111111111111", "region": "eu-west-1"}, "x")
    assert env.ingest.mode == "direct"
    resources = build_template(env, ARTIFACT).to_dict()["Resources"]
    assert L.INGEST_QUEUE not in resources
    assert (
        "LambdaConfigurations"
        in props({"Resources": resources}, L.DATA_BUCKET)["NotificationConfiguration"]
    )


def test_uploads_go_to_the_queue_not_to_the_function(tpl: dict[str, Any]) -> None:
    notifications = props(tpl, L.DATA_BUCKET)["NotificationConfiguration"]
    assert set(notifications) == {"QueueConfigurations"}
    (entry,) = notifications["QueueConfigurations"]
    assert entry["Queue"] == {"Fn::GetAtt": [L.INGEST_QUEUE, "Arn"]}
    assert entry["Event"] == "s3:ObjectCreated:*"
    assert entry["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]
    assert L.INVOKE_PERMISSION not in tpl["Resources"]
    assert L.INGEST_QUEUE_POLICY in tpl["Resources"][L.DATA_BUCKET]["DependsOn"]


def test_queue_is_encrypted_and_redrives_to_the_dead_letter_queue(tpl: dict[str, Any]) -> None:
    queue = props(tpl, L.INGEST_QUEUE)
    assert queue["QueueName"] == "ServerlessApp-Ingest-qa"
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": [L.KEY, "Arn"]}
    assert queue["VisibilityTimeout"] == 180  # derived: 6x the 30 s function timeout
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [L.DEAD_LETTER_QUEUE, "Arn"]},
        "maxReceiveCount": 4,
    }
    allow = props(tpl, L.DEAD_LETTER_QUEUE)["RedriveAllowPolicy"]
    assert allow["redrivePermission"] == "byQueue"
    assert allow["sourceQueueArns"][0]["Fn::Sub"].endswith(":ServerlessApp-Ingest-qa")


def test_queue_policy_lets_only_this_bucket_send_and_denies_plain_http(
    tpl: dict[str, Any],
) -> None:
    document = props(tpl, L.INGEST_QUEUE_POLICY)["PolicyDocument"]
    found = statements(document)
    send = found["DataBucketSendsNotifications"]
    assert send["Principal"] == {"Service": "s3.amazonaws.com"}
    assert send["Action"] == ["sqs:SendMessage"]
    assert set(send["Condition"]) == {"ArnLike", "StringEquals"}
    assert send["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    deny = found["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_queue_policy_denies_every_other_sender(tpl: dict[str, Any]) -> None:
    others = statements(props(tpl, L.INGEST_QUEUE_POLICY)["PolicyDocument"])[
        "OnlyTheDataBucketSends"
    ]
    assert (others["Effect"], others["Principal"]) == ("Deny", "*")
    assert others["Action"] == ["sqs:SendMessage"]
    assert others["Resource"] == [{"Fn::GetAtt": [L.INGEST_QUEUE, "Arn"]}]
    assert others["Condition"] == {
        # No aws:SourceArn (a direct caller) matches too: only the data bucket's S3 gets past.
        "ArnNotEquals": {
            "aws:SourceArn": {
                "Fn::Sub": "arn:${AWS::Partition}:s3:::serverlessapp-files-qa-${AWS::AccountId}"
            }
        },
        # SQS's own move task (the documented redrive) acts for a principal with SendMessage.
        "BoolIfExists": {"aws:ViaAWSService": "false"},
    }


def test_mapping_batches_caps_concurrency_and_reports_item_failures() -> None:
    env = queue_env(batch_size=50, batching_window_seconds=5, maximum_concurrency=7)
    mapping = build_template(env, ARTIFACT).to_dict()["Resources"][L.INGEST_EVENT_SOURCE_MAPPING]
    p = mapping["Properties"]
    assert p["FunctionName"] == {"Ref": L.FUNCTION}
    assert p["EventSourceArn"] == {"Fn::GetAtt": [L.INGEST_QUEUE, "Arn"]}
    assert (p["BatchSize"], p["MaximumBatchingWindowInSeconds"]) == (50, 5)
    assert p["ScalingConfig"] == {"MaximumConcurrency": 7}
    assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["DependsOn"] == [L.ROLE_POLICY]


def test_role_may_poll_only_the_ingest_queue(tpl: dict[str, Any]) -> None:
    poll = statements(props(tpl, L.ROLE_POLICY)["PolicyDocument"])["PollIngestQueue"]
    assert sorted(poll["Action"]) == [
        "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]  # fmt: skip
    assert poll["Resource"] == [{"Fn::GetAtt": [L.INGEST_QUEUE, "Arn"]}]


def test_key_lets_s3_encrypt_for_this_queue_only(tpl: dict[str, Any]) -> None:
    found = statements(props(tpl, L.KEY)["KeyPolicy"])["DataBucketNotificationsToIngestQueue"]
    assert found["Principal"] == {"Service": "s3.amazonaws.com"}
    assert sorted(found["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    equals = found["Condition"]["StringEquals"]
    assert equals["kms:EncryptionContext:aws:sqs:arn"]["Fn::Sub"].endswith(
        ":ServerlessApp-Ingest-qa"
    )
    assert "aws:SourceArn" in found["Condition"]["ArnLike"]


def test_oldest_message_age_alarm_follows_the_naming_convention(tpl: dict[str, Any]) -> None:
    alarm = props(tpl, L.INGEST_AGE_ALARM)
    assert alarm["AlarmName"] == "ServerlessApp-Ingest-OldestMessageAge-qa"
    assert alarm["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [L.INGEST_QUEUE, "QueueName"]}}
    ]
    assert alarm["AlarmActions"] == [{"Ref": L.ALARM_TOPIC}]
    assert L.DLQ_DEPTH_ALARM in tpl["Resources"]  # dead letters keep their own alarm


def test_stateful_resources_and_tags_follow_the_environment(tpl: dict[str, Any]) -> None:
    for logical_id, resource in tpl["Resources"].items():
        if resource["Type"] in STATEFUL_TYPES:
            assert resource["DeletionPolicy"] == "Delete", logical_id
    for logical_id in (L.INGEST_QUEUE, L.INGEST_EVENT_SOURCE_MAPPING, L.INGEST_AGE_ALARM):
        tags = {t["Key"]: t["Value"] for t in props(tpl, logical_id)["Tags"]}
        assert tags["Environment"] == "qa", logical_id


def test_rejects_a_visibility_timeout_below_six_function_timeouts() -> None:
    with pytest.raises(ConfigError) as caught:
        queue_env(visibility_timeout_seconds=179)
    (problem,) = caught.value.problems
    assert problem.field == "ingest.visibility_timeout_seconds"
    assert problem.value == "179"
    assert "at least 180" in problem.expected


def test_accepts_an_explicit_visibility_timeout() -> None:
    tpl = build_template(queue_env(visibility_timeout_seconds=600), ARTIFACT).to_dict()
    assert props(tpl, L.INGEST_QUEUE)["VisibilityTimeout"] == 600


def test_rejects_a_large_batch_without_a_batching_window() -> None:
    with pytest.raises(ConfigError) as caught:
        queue_env(batch_size=11)
    assert [p.field for p in caught.value.problems] == ["ingest.batching_window_seconds"]


def test_rejects_an_unknown_mode_and_misspelled_settings() -> None:
    with pytest.raises(ConfigError) as caught:
        queue_env(mode="kinesis", batchsize=3)
    fields = sorted(p.field for p in caught.value.problems)
    assert fields == ["ingest.batchsize", "ingest.mode"]


def test_committed_queue_environment_is_emulated() -> None:
    env = load_environments(Path("environments"), ["localqueue"])["localqueue"]
    assert env.emulator
    assert env.ingest.mode == "queue"


def test_cloudformation_role_may_manage_the_ingest_queue_and_mapping_only_in_queue_mode() -> None:
    from troposphere import encode_to_dict

    from generator.ci_access.policies import cloudformation_policies

    def sids(env: Environment) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for document in cloudformation_policies(env).values():
            found.update(statements(encode_to_dict(document)))
        return found

    direct = sids(
        parse_environment("qa", {"account_id": "111111111111", "region": "eu-west-1"}, "x")
    )
    queue = sids(queue_env())
    assert "CreateIngestMapping" not in direct
    create = queue["CreateIngestMapping"]
    assert create["Action"] == ["lambda:CreateEventSourceMapping"]
    assert "lambda:FunctionArn" in create["Condition"]["ArnLike"]
    assert "ManageIngestMapping" in queue
    queues = [r["Fn::Sub"] for r in queue["ManageQueue"]["Resource"]]
    assert any(q.endswith(":ServerlessApp-Ingest-qa") for q in queues)
    assert len(direct["ManageQueue"]["Resource"]) == 1


def test_dashboard_shows_the_ingest_backlog_only_in_queue_mode() -> None:
    from generator.stack.monitoring import dashboard_body

    direct = parse_environment("qa", {"account_id": "111111111111", "region": "eu-west-1"}, "x")
    assert "ServerlessApp-Ingest-" not in dashboard_body(direct)
    assert '"ApproximateAgeOfOldestMessage","QueueName","ServerlessApp-Ingest-qa"' in (
        dashboard_body(queue_env())
    )
