"""The emulator's metrics (EMF lines, Lambda's and SQS's own) and its alarm evaluation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from generator.emulator.delivery import Deliverer, InvocationResult
from generator.emulator.observability import alarms, metrics
from generator.emulator.poller import failed_message_ids
from tests.emulator.conftest import ACCOUNT, REGION

NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)


def emf_line(when: datetime) -> str:
    """What Powertools Metrics prints for one invocation (one line, among the function's logs)."""
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(when.timestamp() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": "ServerlessApp/Lambda",
                        "Dimensions": [["Environment"]],
                        "Metrics": [
                            {"Name": "FilesProcessed", "Unit": "Count"},
                            {"Name": "BytesProcessed", "Unit": "Bytes"},
                        ],
                    }
                ],
            },
            "Environment": "local",
            "FilesProcessed": [1.0, 1.0],
            "BytesProcessed": 42,
        }
    )


EMF_LINE = emf_line(NOW)


def test_emf_lines_become_one_datum_per_value_and_dimension_set() -> None:
    lines = ['{"level":"INFO","message":"processed"}', "plain text", EMF_LINE, "{not json"]
    data = list(metrics.emf_data(lines, NOW))
    assert [(d.name, d.value, d.dimensions) for d in data] == [
        ("FilesProcessed", 1.0, (("Environment", "local"),)),
        ("FilesProcessed", 1.0, (("Environment", "local"),)),
        ("BytesProcessed", 42.0, (("Environment", "local"),)),
    ]
    assert {d.namespace for d in data} == {"ServerlessApp/Lambda"}
    assert {d.timestamp for d in data} == {NOW.replace(tzinfo=None)}


def test_lambda_metrics_count_an_error_only_for_a_failed_invocation() -> None:
    ok = {d.name: d.value for d in metrics.lambda_data("fn", True, 12.5, NOW)}
    failed = {d.name: d.value for d in metrics.lambda_data("fn", False, 7.0, NOW)}
    assert ok == {"Invocations": 1.0, "Errors": 0.0, "Duration": 12.5}
    assert failed["Errors"] == 1.0


def test_queue_metrics_give_the_age_of_the_oldest_message() -> None:
    sent = int((NOW - timedelta(seconds=90)).timestamp() * 1000)
    state = metrics.QueueState("q", visible=2, not_visible=1, oldest_sent_ms=sent)
    found = {d.name: d.value for d in metrics.queue_data(state, NOW)}
    assert found == {
        "ApproximateNumberOfMessagesVisible": 2.0,
        "ApproximateNumberOfMessagesNotVisible": 1.0,
        "ApproximateAgeOfOldestMessage": 90.0,
    }


RULE = alarms.Rule("Sum", 300, 2, 2, 1.0, "GreaterThanOrEqualToThreshold", "notBreaching")


@pytest.mark.parametrize(
    ("values", "state"),
    [
        ([1.0, 3.0], alarms.ALARM),
        ([1.0, None], alarms.OK),  # missing data does not breach
        ([0.0, 5.0], alarms.OK),  # 1 of 2 breaching, 2 needed
        ([None, None], alarms.OK),
    ],
)
def test_decide_needs_datapoints_to_alarm_breaching_periods(
    values: list[float | None], state: str
) -> None:
    assert alarms.decide(RULE, values).state == state


def test_decide_follows_treat_missing_data() -> None:
    missing = alarms.Rule("Sum", 60, 1, 1, 1.0, "GreaterThanThreshold", "missing")
    assert alarms.decide(missing, [None]).state == alarms.INSUFFICIENT
    breaching = alarms.Rule("Sum", 60, 1, 1, 1.0, "GreaterThanThreshold", "breaching")
    assert alarms.decide(breaching, [None]).state == alarms.ALARM
    ignore = alarms.Rule("Sum", 60, 1, 1, 1.0, "GreaterThanThreshold", "ignore")
    assert alarms.decide(ignore, [None]).state is None


def test_period_values_bucket_datapoints_newest_first() -> None:
    rule = alarms.Rule("Average", 60, 3, 3, 0.0, "GreaterThanThreshold", "missing")
    points = [(NOW - timedelta(seconds=s), v) for s, v in [(10, 2.0), (20, 4.0), (130, 9.0)]]
    points.append((NOW - timedelta(seconds=400), 100.0))  # outside the 3 periods
    assert alarms.period_values(rule, points, NOW) == [3.0, None, 9.0]


def test_rejects_an_unknown_statistic() -> None:
    with pytest.raises(ValueError, match="p99"):
        alarms.statistic("p99", [1.0])


def _outcome(ok: bool, payload: Any) -> InvocationResult:
    return InvocationResult(ok, payload, "", "request")


@pytest.mark.parametrize(
    ("outcome", "types", "failed"),
    [
        (_outcome(False, {"errorMessage": "boom"}), ["ReportBatchItemFailures"], {"a", "b"}),
        (_outcome(True, {"batchItemFailures": [{"itemIdentifier": "b"}]}),
         ["ReportBatchItemFailures"], {"b"}),
        (_outcome(True, {"batchItemFailures": []}), ["ReportBatchItemFailures"], set()),
        (_outcome(True, None), ["ReportBatchItemFailures"], set()),
        (_outcome(True, {"batchItemFailures": [{"itemIdentifier": "z"}]}),
         ["ReportBatchItemFailures"], {"a", "b"}),  # an id not in the batch: all failed
        (_outcome(True, {"batchItemFailures": "b"}), ["ReportBatchItemFailures"], {"a", "b"}),
        (_outcome(True, {"batchItemFailures": [{"itemIdentifier": "b"}]}), [], set()),
    ],
)  # fmt: skip
def test_failed_messages_follow_lambdas_partial_batch_rules(
    outcome: InvocationResult, types: list[str], failed: set[str]
) -> None:
    assert failed_message_ids(outcome, ["a", "b"], types) == failed


def test_an_alarm_fires_from_recorded_invocations_and_notifies_its_topic(
    emulated: Deliverer,
) -> None:
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["Attributes"]["QueueArn"])
    cloudwatch.put_metric_alarm(
        AlarmName="fn-errors", Namespace="AWS/Lambda", MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "fn"}], Statistic="Sum", Period=300,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching", AlarmActions=[topic], OKActions=[topic],
    )  # fmt: skip
    recent = datetime.now(UTC)  # the emulator keeps the last 3 hours of datapoints
    metrics.record_invocation(ACCOUNT, REGION, "fn", True, 5.0, emf_line(recent))
    assert alarms.evaluate(ACCOUNT, REGION) == []  # moto's alarms start OK; still OK

    metrics.record_invocation(ACCOUNT, REGION, "other-fn", False, 5.0, "")
    assert alarms.evaluate(ACCOUNT, REGION) == []  # another function's errors

    metrics.record_invocation(ACCOUNT, REGION, "fn", False, 5.0, "")
    (change,) = alarms.evaluate(ACCOUNT, REGION)
    assert (change.alarm, change.old, change.new, change.notified) == (
        "fn-errors", "OK", "ALARM", (topic,),
    )  # fmt: skip
    described = cloudwatch.describe_alarms(AlarmNames=["fn-errors"])["MetricAlarms"][0]
    assert described["StateValue"] == "ALARM"
    (message,) = sqs.receive_message(QueueUrl=inbox)["Messages"]
    document = json.loads(json.loads(message["Body"])["Message"])
    assert document["NewStateValue"] == "ALARM"
    assert document["Trigger"]["MetricName"] == "Errors"

    later = datetime.now(UTC) + timedelta(seconds=301)
    (back,) = alarms.evaluate(ACCOUNT, REGION, later)
    assert (back.old, back.new) == ("ALARM", "OK")
    # The EMF line became metrics CloudWatch can be asked for.
    stats = cloudwatch.get_metric_statistics(
        Namespace="ServerlessApp/Lambda", MetricName="FilesProcessed",
        Dimensions=[{"Name": "Environment", "Value": "local"}],
        StartTime=recent - timedelta(minutes=5), EndTime=recent + timedelta(minutes=5),
        Period=600, Statistics=["Sum"],
    )["Datapoints"]  # fmt: skip
    assert [d["Sum"] for d in stats] == [2.0]
