"""Alarm topic, alarms that notify it, and the dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from awacs import sns as sns_actions
from awacs.aws import Allow, ArnLike, Condition, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, Template, cloudwatch, sns

from generator import arns, naming
from generator.config import Environment
from generator.contracts import ResourceMetadata
from generator.stack.common import deny_insecure_transport, policy_document, tags
from generator.stack.encryption import KeyHandle
from generator.stack.function import FunctionHandles

DASHBOARD_PERIOD_SECONDS = 300


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: which metric, how it is aggregated, and when it fires."""

    logical_id: str
    kind: str  # the middle of the alarm's name
    description: str
    namespace: str
    metric: str
    statistic: str
    threshold: int
    period_seconds: int
    evaluation_periods: int
    # Whether a deploy rolls back when this alarm fires during its monitoring window. Only alarms
    # a bad release sets off: a queue that keeps old failures, or throttling from load, would
    # roll back good deploys (and fix-forward deploys during an incident).
    rollback_trigger: bool = False


def add_topic(template: Template, env: Environment, key: KeyHandle) -> Ref:
    """The KMS-encrypted alarm topic, publishable only by this stack's alarms over TLS."""
    topic = sns.Topic(
        naming.LogicalId.ALARM_TOPIC,
        TopicName=naming.topic_name(env.name),
        DisplayName=f"ServerlessApp {env.name} alarms",
        KmsMasterKeyId=key.arn,
        Tags=tags(env),
    )
    template.add_resource(topic)
    template.add_resource(
        sns.TopicPolicy(
            naming.LogicalId.ALARM_TOPIC_POLICY,
            Topics=[Ref(topic)],
            PolicyDocument=policy_document(
                Statement(
                    Sid="StackAlarmsPublish",
                    Effect=Allow,
                    Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                    Action=[sns_actions.Publish],
                    Resource=[Ref(topic)],
                    Condition=Condition(
                        [
                            StringEquals("aws:SourceAccount", Ref("AWS::AccountId")),
                            ArnLike(
                                "aws:SourceArn",
                                Sub(
                                    arns.arn(
                                        "cloudwatch",
                                        "alarm:" + naming.alarm_name("*", env.name),
                                    )
                                ),
                            ),
                        ]
                    ),
                ),
                deny_insecure_transport([sns_actions.Publish], [Ref(topic)]),
            ),
        )
    )
    if env.alarms.email:
        template.add_resource(
            sns.SubscriptionResource(
                naming.LogicalId.ALARM_SUBSCRIPTION,
                TopicArn=Ref(topic),
                Protocol="email",
                Endpoint=env.alarms.email,
            )
        )
    return Ref(topic)


def alarm_specs(env: Environment) -> list[AlarmSpec]:
    """The stack's alarms; Errors and Duration keep the reference stack's names and thresholds."""
    alarms = env.alarms
    return [
        AlarmSpec(naming.LogicalId.ERRORS_ALARM, "Lambda-Errors",
                  "The function raised errors (each is retried, then dead-lettered).",
                  "AWS/Lambda", "Errors", "Sum", alarms.errors_threshold,
                  alarms.errors_period_seconds, 1),
        AlarmSpec(naming.LogicalId.DURATION_ALARM, "Lambda-Duration",
                  "Average duration is high: files take long or the function nears its timeout.",
                  "AWS/Lambda", "Duration", "Average", alarms.duration_threshold_ms,
                  alarms.duration_period_seconds, alarms.duration_evaluation_periods,
                  rollback_trigger=True),
        AlarmSpec(naming.LogicalId.THROTTLES_ALARM, "Lambda-Throttles",
                  "Invocations were throttled (concurrency limit reached).",
                  "AWS/Lambda", "Throttles", "Sum", 1, 300, 1),
        # Events Lambda could not hand to the dead-letter queue or the on-failure destination
        # are lost: these two are the silent-loss signals (AsyncEventsDropped also counts every
        # event that did reach the queue, which the DLQ-Depth alarm already reports).
        AlarmSpec(naming.LogicalId.DEAD_LETTER_ERRORS_ALARM, "Lambda-DeadLetterErrors",
                  "Lambda failed to send a failed event to the dead-letter queue: it is lost.",
                  "AWS/Lambda", "DeadLetterErrors", "Sum", 1, 300, 1),
        AlarmSpec(naming.LogicalId.DESTINATION_FAILURES_ALARM,
                  "Lambda-DestinationDeliveryFailures",
                  "Lambda failed to deliver a failed event's record to the on-failure "
                  "destination.",
                  "AWS/Lambda", "DestinationDeliveryFailures", "Sum", 1, 300, 1),
        AlarmSpec(naming.LogicalId.DLQ_DEPTH_ALARM, "DLQ-Depth",
                  "Events failed every retry and wait in the dead-letter queue.",
                  "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 1, 300, 1),
    ]  # fmt: skip


def _notifying(env: Environment, topic: Ref | GetAtt) -> dict[str, Any]:
    """What every alarm shares: at or over its threshold, quiet without data, and the topic told
    on ALARM and on OK."""
    return {
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [topic],
        "OKActions": [topic],
        "Tags": tags(env),
    }


def _metric_alarm(
    env: Environment, spec: AlarmSpec, dimension: cloudwatch.MetricDimension, topic: Ref | GetAtt
) -> cloudwatch.Alarm:
    """One alarm on one metric of one resource, notifying the topic."""
    return cloudwatch.Alarm(
        spec.logical_id,
        AlarmName=naming.alarm_name(spec.kind, env.name),
        AlarmDescription=spec.description,
        Namespace=spec.namespace,
        MetricName=spec.metric,
        Dimensions=[dimension],
        Statistic=spec.statistic,
        Period=spec.period_seconds,
        EvaluationPeriods=spec.evaluation_periods,
        Threshold=spec.threshold,
        **_notifying(env, topic),
    )


def add_alarms(template: Template, env: Environment, function: FunctionHandles, topic: Ref) -> None:
    """Every alarm notifies the topic on ALARM and on OK."""
    for spec in alarm_specs(env):
        if spec.namespace == "AWS/SQS":
            dimension = cloudwatch.MetricDimension(Name="QueueName", Value=function.queue_name)
        else:
            dimension = cloudwatch.MetricDimension(Name="FunctionName", Value=function.function)
        alarm = template.add_resource(_metric_alarm(env, spec, dimension, topic))
        if spec.rollback_trigger:
            alarm.Metadata = ResourceMetadata(rollback_trigger=True).to_metadata()
    add_error_rate_alarm(template, env, function, topic)


def add_rotation_alarm(template: Template, env: Environment, function: Ref, topic: Ref) -> None:
    """A failed rotation step leaves the old key current (nothing breaks yet), but the next
    scheduled rotation fails the same way: tell someone at the first error."""
    spec = AlarmSpec(
        naming.LogicalId.ROTATION_ERRORS_ALARM,
        "SecretRotation-Errors",
        "The signing key's rotation function failed a step; the key did not rotate. See the log "
        f"group {naming.rotation_log_group(env.name)}.",
        "AWS/Lambda", "Errors", "Sum", 1, 300, 1,
    )  # fmt: skip
    dimension = cloudwatch.MetricDimension(Name="FunctionName", Value=function)
    template.add_resource(_metric_alarm(env, spec, dimension, topic))


def add_ingest_alarm(
    template: Template, env: Environment, queue_name: GetAtt, topic: GetAtt | Ref
) -> None:
    """Queue mode: the backlog's oldest upload has waited too long (the function is failing,
    throttled or capped by its maximum concurrency). Dead letters are the DLQ-Depth alarm's."""
    spec = AlarmSpec(
        naming.LogicalId.INGEST_AGE_ALARM,
        "Ingest-OldestMessageAge",
        f"An upload has waited over {env.ingest.oldest_message_alarm_seconds}s in the ingest "
        "queue: processing is failing or cannot keep up.",
        "AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum",
        env.ingest.oldest_message_alarm_seconds, 60, 1,
    )  # fmt: skip
    dimension = cloudwatch.MetricDimension(Name="QueueName", Value=queue_name)
    template.add_resource(_metric_alarm(env, spec, dimension, topic))


def add_error_rate_alarm(
    template: Template, env: Environment, function: FunctionHandles, topic: Ref
) -> None:
    """The release-health alarm a deploy rolls back on: a high error *rate*, counted only once
    a few errors occurred, so one bad upload (a single Errors datapoint) never rolls back."""
    alarms = env.alarms

    def lambda_sum(query_id: str, metric: str) -> cloudwatch.MetricDataQuery:
        return cloudwatch.MetricDataQuery(
            Id=query_id,
            ReturnData=False,
            MetricStat=cloudwatch.MetricStat(
                Metric=cloudwatch.Metric(
                    Namespace="AWS/Lambda",
                    MetricName=metric,
                    Dimensions=[
                        cloudwatch.MetricDimension(Name="FunctionName", Value=function.function)
                    ],
                ),
                Period=300,
                Stat="Sum",
            ),
        )

    alarm = template.add_resource(
        cloudwatch.Alarm(
            naming.LogicalId.ERROR_RATE_ALARM,
            AlarmName=naming.alarm_name("Lambda-ErrorRate", env.name),
            AlarmDescription=(
                f"At least {alarms.error_rate_min_errors} errors and {alarms.error_rate_percent}% "
                "of invocations failing in 5 minutes: the release is broken. Deploys roll back "
                "when this fires during their monitoring window."
            ),
            Metrics=[
                lambda_sum("errors", "Errors"),
                lambda_sum("invocations", "Invocations"),
                cloudwatch.MetricDataQuery(
                    Id="rate",
                    Label="Error rate (%) once enough errors occurred",
                    Expression=(
                        f"IF(errors >= {alarms.error_rate_min_errors}, "
                        "100 * errors / invocations, 0)"
                    ),
                    ReturnData=True,
                ),
            ],
            EvaluationPeriods=1,
            Threshold=alarms.error_rate_percent,
            **_notifying(env, topic),
        )
    )
    alarm.Metadata = ResourceMetadata(rollback_trigger=True).to_metadata()


def dashboard_body(env: Environment) -> str:
    """The dashboard as CloudWatch's JSON, with ``${AWS::Region}`` left for ``Fn::Sub``."""
    fn = naming.function_name(env.name)
    queue = naming.queue_name(env.name)
    ns = naming.METRICS_NAMESPACE
    region = "${AWS::Region}"

    def widget(title: str, metrics: list[list[object]], x: int, y: int, stat: str) -> object:
        return {
            "type": "metric",
            "x": x, "y": y, "width": 12, "height": 6,
            "properties": {
                "title": title, "region": region, "stat": stat,
                "period": DASHBOARD_PERIOD_SECONDS, "view": "timeSeries", "metrics": metrics,
            },
        }  # fmt: skip

    widgets = [
        widget("Invocations and errors", [
            ["AWS/Lambda", "Invocations", "FunctionName", fn],
            ["AWS/Lambda", "Errors", "FunctionName", fn],
            ["AWS/Lambda", "Throttles", "FunctionName", fn],
        ], 0, 0, "Sum"),
        widget("Duration p50 / p99 (ms)", [
            ["AWS/Lambda", "Duration", "FunctionName", fn, {"stat": "p50"}],
            ["AWS/Lambda", "Duration", "FunctionName", fn, {"stat": "p99"}],
        ], 12, 0, "p50"),
        widget("Dead-letter queue depth", [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue],
        ], 0, 6, "Maximum"),
        widget("Files and bytes processed", [
            [ns, "FilesProcessed", "Environment", env.name],
            [ns, "BytesProcessed", "Environment", env.name,
             {"yAxis": "right"}],
            [ns, "ProcessingErrors", "Environment", env.name],
            [ns, "RecordsSkipped", "Environment", env.name],
        ], 12, 6, "Sum"),
    ]  # fmt: skip
    if env.ingest.mode == "queue":
        ingest = naming.ingest_queue_name(env.name)
        widgets += [
            widget("Ingest queue: backlog", [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", ingest],
                ["AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "QueueName", ingest],
            ], 0, 12, "Maximum"),
            widget("Ingest queue: age of oldest message (s)", [
                ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", ingest],
            ], 12, 12, "Maximum"),
        ]  # fmt: skip
    return json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))


def add_dashboard(template: Template, env: Environment) -> None:
    """Invocations, errors, duration p50/p99, throttles, DLQ depth, files and bytes processed."""
    template.add_resource(
        cloudwatch.Dashboard(
            naming.LogicalId.DASHBOARD,
            DashboardName=naming.dashboard_name(env.name),
            DashboardBody=Sub(dashboard_body(env)),
        )
    )


def add_monitoring(
    template: Template, env: Environment, key: KeyHandle, function: FunctionHandles
) -> GetAtt | Ref:
    """Topic, alarms and dashboard; returns the topic."""
    topic = add_topic(template, env, key)
    add_alarms(template, env, function, topic)
    add_dashboard(template, env)
    return topic
