"""Queue ingest mode (``ingest.mode: queue``): S3 -> SQS -> Lambda event source mapping.

The queue is a durable, visible backlog: S3 sends each upload's notification to it, Lambda polls
it in batches (capped by a maximum concurrency), the handler reports only the messages that
failed, and a message received ``max_receive_count`` times goes to the stack's dead-letter queue,
from which an operator can move it back (``docs/ingest-queue.md``). Nothing here is added in
direct mode, so direct-mode templates do not change.
"""

from __future__ import annotations

from dataclasses import dataclass

from awacs import sqs as sqs_actions
from awacs.aws import (
    Allow,
    ArnLike,
    ArnNotEquals,
    BoolIfExists,
    Condition,
    Deny,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import GetAtt, Ref, Sub, Template, awslambda, sqs

from generator import arns, naming
from generator.config import Environment, visibility_timeout_seconds
from generator.stack.common import (
    bucket_arn,
    deny_insecure_transport,
    policy_document,
    retain,
    skip_cfn_lint,
    tags,
)
from generator.stack.encryption import KeyHandle

# SQS's maximum: a backlog survives a long outage of the function or its dependencies.
INGEST_RETENTION_SECONDS = 14 * 24 * 3600
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


class ScalingConfig(awslambda.ScalingConfig):  # type: ignore[misc]
    """``AWS::Lambda::EventSourceMapping.ScalingConfig``: troposphere 4.11 gives the name to the
    capacity-provider type (``MaxEnvironments``), so ``MaximumConcurrency`` is restored here."""

    props = {"MaximumConcurrency": (int, False)}  # noqa: RUF012 - troposphere's declaration style


def uses_queue(env: Environment) -> bool:
    """Whether uploads reach the function through the ingest queue."""
    return env.ingest.mode == "queue"


def ingest_queue_arn(env: Environment) -> Sub:
    """The queue's ARN from its name, so the dead-letter queue can name it without a cycle."""
    return Sub(arns.arn("sqs", naming.ingest_queue_name(env.name)))


@dataclass(frozen=True)
class IngestHandles:
    """What storage, monitoring and the outputs need of the ingest queue."""

    queue_arn: GetAtt
    queue_url: Ref
    queue_name: GetAtt
    policy_id: str


def ingest_queue(env: Environment, key: KeyHandle, dead_letter_arn: GetAtt) -> sqs.Queue:
    """The KMS-encrypted queue that buffers notifications, redriving to the dead-letter queue."""
    return sqs.Queue(
        naming.LogicalId.INGEST_QUEUE,
        QueueName=naming.ingest_queue_name(env.name),
        KmsMasterKeyId=key.arn,
        KmsDataKeyReusePeriodSeconds=3600,
        MessageRetentionPeriod=INGEST_RETENTION_SECONDS,
        VisibilityTimeout=visibility_timeout_seconds(env),
        RedrivePolicy=sqs.RedrivePolicy(
            deadLetterTargetArn=dead_letter_arn, maxReceiveCount=env.ingest.max_receive_count
        ),
        Tags=tags(env),
    )


def ingest_queue_policy(env: Environment, queue: sqs.Queue, data_bucket: str) -> sqs.QueuePolicy:
    """Only this account's data bucket may send (S3's notifications); every request uses TLS.

    The Allow admits S3 for the bucket; the Deny keeps everyone else out even where an identity
    policy would let them send (an account administrator, any role with ``sqs:SendMessage``): a
    message here is an upload the function hashes and signs a result for, so only S3 may write
    one. Requests an AWS service makes on a principal's behalf (``aws:ViaAWSService``: SQS's own
    message move task, the documented redrive from the dead-letter queue) are left to that
    principal's permissions.
    """
    queue_arn = GetAtt(queue, "Arn")
    bucket = bucket_arn(data_bucket)
    return sqs.QueuePolicy(
        naming.LogicalId.INGEST_QUEUE_POLICY,
        Queues=[Ref(queue)],
        PolicyDocument=policy_document(
            Statement(
                Sid="DataBucketSendsNotifications",
                Effect=Allow,
                Principal=Principal("Service", "s3.amazonaws.com"),
                Action=[sqs_actions.SendMessage],
                Resource=[queue_arn],
                Condition=Condition(
                    [
                        ArnLike("aws:SourceArn", bucket),
                        StringEquals("aws:SourceAccount", Ref("AWS::AccountId")),
                    ]
                ),
            ),
            Statement(
                Sid="OnlyTheDataBucketSends",
                Effect=Deny,
                Principal=Principal("*"),
                Action=[sqs_actions.SendMessage],
                Resource=[queue_arn],
                # A request without aws:SourceArn (any direct caller) matches ArnNotEquals too.
                Condition=Condition(
                    [
                        ArnNotEquals("aws:SourceArn", bucket),
                        BoolIfExists("aws:ViaAWSService", "false"),
                    ]
                ),
            ),
            deny_insecure_transport([sqs_actions.Action("*")], [queue_arn]),
        ),
    )


def event_source_mapping(
    env: Environment, function: Ref, queue: sqs.Queue, policy_id: str
) -> awslambda.EventSourceMapping:
    """Lambda polls the queue in batches and deletes only the messages the handler did not
    report as failed."""
    settings = env.ingest
    mapping = awslambda.EventSourceMapping(
        naming.LogicalId.INGEST_EVENT_SOURCE_MAPPING,
        FunctionName=function,
        EventSourceArn=GetAtt(queue, "Arn"),
        Enabled=True,
        BatchSize=settings.batch_size,
        MaximumBatchingWindowInSeconds=settings.batching_window_seconds,
        ScalingConfig=ScalingConfig(MaximumConcurrency=settings.maximum_concurrency),
        FunctionResponseTypes=[REPORT_BATCH_ITEM_FAILURES],
        Tags=tags(env),
        # Lambda checks the role may read the queue when the mapping is created.
        DependsOn=[policy_id],
    )
    skip_cfn_lint(
        mapping,
        {
            "ES1001": "An SQS mapping takes no on-failure destination: the queue's redrive "
            "policy sends a message to the dead-letter queue after max_receive_count receives."
        },
    )
    return mapping


def allow_redrive_from_ingest_queue(template: Template, env: Environment) -> None:
    """The dead-letter queue accepts dead letters from the ingest queue only (and so may be
    redriven back to it)."""
    dead_letters = template.resources[naming.LogicalId.DEAD_LETTER_QUEUE]
    dead_letters.RedriveAllowPolicy = {
        "redrivePermission": "byQueue",
        "sourceQueueArns": [ingest_queue_arn(env)],
    }


def add_ingest(
    template: Template,
    env: Environment,
    key: KeyHandle,
    function: Ref,
    dead_letter_arn: GetAtt,
    data_bucket: str,
    role_policy_id: str,
) -> IngestHandles:
    """The queue, its policy, the event source mapping, and the dead-letter queue's allowance."""
    queue = ingest_queue(env, key, dead_letter_arn)
    template.add_resource(retain(queue, env))
    policy = template.add_resource(ingest_queue_policy(env, queue, data_bucket))
    template.add_resource(event_source_mapping(env, function, queue, role_policy_id))
    allow_redrive_from_ingest_queue(template, env)
    return IngestHandles(
        queue_arn=GetAtt(queue, "Arn"),
        queue_url=Ref(queue),
        queue_name=GetAtt(queue, "QueueName"),
        policy_id=str(policy.title),
    )
