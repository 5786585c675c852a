"""The function, its log group, dead-letter queue, async-invocation settings and S3 permission."""

from __future__ import annotations

from dataclasses import dataclass

from troposphere import GetAtt, Ref, Sub, Template, awslambda, logs, sqs

from generator import naming
from generator.config import Environment
from generator.contracts import ArtifactRef
from generator.stack.common import (
    bucket_arn,
    retain,
    skip_cfn_lint,
    skip_checkov,
    tags,
    tls_only_queue_policy,
)
from generator.stack.encryption import KeyHandle

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum: time to investigate and replay


class LoggingConfig(awslambda.LoggingConfig):  # type: ignore[misc]
    """``AWS::Lambda::Function.LoggingConfig`` with ``LogFormat``, which troposphere 4.11 lacks."""

    props = {  # noqa: RUF012 - troposphere's declaration style
        **awslambda.LoggingConfig.props,
        "LogFormat": (str, False),
    }


@dataclass(frozen=True)
class FunctionHandles:
    """What monitoring and storage need of the function."""

    function: Ref
    arn: GetAtt
    queue_arn: GetAtt
    queue_name: GetAtt
    queue_url: Ref
    permission_id: str  # empty in queue mode: S3 may not invoke the function


def add_dead_letter_queue(template: Template, env: Environment, key: KeyHandle) -> sqs.Queue:
    """Where events go once Lambda's async retries are exhausted."""
    queue = sqs.Queue(
        naming.LogicalId.DEAD_LETTER_QUEUE,
        QueueName=naming.queue_name(env.name),
        KmsMasterKeyId=key.arn,
        KmsDataKeyReusePeriodSeconds=3600,
        MessageRetentionPeriod=DLQ_RETENTION_SECONDS,
        # Lambda's dead-letter queue, not an SQS redrive target: no queue may redrive into it.
        RedriveAllowPolicy={"redrivePermission": "denyAll"},
        Tags=tags(env),
    )
    skip_cfn_lint(
        queue,
        {"ES6000": "This queue is the dead-letter queue; nothing redrives out of it."},
    )
    template.add_resource(retain(queue, env))
    template.add_resource(tls_only_queue_policy(naming.LogicalId.DEAD_LETTER_QUEUE_POLICY, queue))
    return queue


def add_log_group(
    template: Template,
    env: Environment,
    key: KeyHandle,
    logical_id: str = naming.LogicalId.LOG_GROUP,
    name: str | None = None,
) -> logs.LogGroup:
    """A function's own log group (never the data bucket), KMS-encrypted, with retention; the
    processing function's unless ``logical_id`` and ``name`` say otherwise."""
    group = logs.LogGroup(
        logical_id,
        LogGroupName=naming.log_group(env.name) if name is None else name,
        RetentionInDays=env.function.log_retention_days,
        KmsKeyId=key.arn,
        Tags=tags(env),
    )
    template.add_resource(retain(group, env))
    return group


def artifact_code(artifact: ArtifactRef) -> awslambda.Code:
    """The application's artifact: one reviewed, reproducible zip holds every handler."""
    return awslambda.Code(
        S3Bucket=Sub(naming.artifact_bucket("${AWS::AccountId}", "${AWS::Region}")),
        S3Key=artifact.key,
    )


def json_logging(log_group: logs.LogGroup, log_level: str) -> LoggingConfig:
    """JSON logs into the function's own group.

    Never above INFO: Lambda reads Powertools' metric lines (no level field) as INFO, so a WARN
    filter would drop every custom metric. The function's own log-level setting filters the
    application's lines.
    """
    return LoggingConfig(
        LogFormat="JSON",
        LogGroup=Ref(log_group),
        ApplicationLogLevel="DEBUG" if log_level == "DEBUG" else "INFO",
        SystemLogLevel="WARN",
    )


def environment_variables(env: Environment, secret: Ref, data_bucket: str) -> dict[str, object]:
    """The handler's settings; the contract with ``handler/app.py``."""
    return {
        "SECRET_ARN": secret,
        "BUCKET_NAME": Sub(data_bucket),
        "UPLOAD_PREFIX": env.storage.upload_prefix,
        "RESULTS_PREFIX": env.storage.results_prefix,
        "ENVIRONMENT": env.name,
        "SECRET_CACHE_SECONDS": str(env.function.secret_cache_seconds),
        # Empty: no size limit.
        "MAX_OBJECT_BYTES": str(env.storage.max_object_bytes or ""),
        "READ_PART_MIB": str(env.function.read_part_mib),
        "READ_CONCURRENCY": str(env.function.effective_read_concurrency),
        "STOP_MARGIN_SECONDS": str(env.function.effective_stop_margin_seconds),
        "POWERTOOLS_SERVICE_NAME": naming.SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": naming.METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": env.function.log_level,
    }


def invoke_permission(
    logical_id: str, function: awslambda.Function, service: str, source_arn: object
) -> awslambda.Permission:
    """Let one AWS service invoke the function, only from this account and for one source
    resource (the confused-deputy guard)."""
    return awslambda.Permission(
        logical_id,
        FunctionName=Ref(function),
        Action="lambda:InvokeFunction",
        Principal=f"{service}.amazonaws.com",
        SourceAccount=Ref("AWS::AccountId"),
        SourceArn=source_arn,
    )


def add_function(
    template: Template,
    env: Environment,
    artifact: ArtifactRef,
    role_arn: GetAtt,
    policy_id: str,
    secret: Ref,
    data_bucket: str,
    key: KeyHandle,
) -> FunctionHandles:
    """Add the function with everything that belongs to it."""
    queue = add_dead_letter_queue(template, env, key)
    log_group = add_log_group(template, env, key)
    settings = env.function
    function = awslambda.Function(
        naming.LogicalId.FUNCTION,
        FunctionName=naming.function_name(env.name),
        Description=f"ServerlessApp file processor ({env.name}); handler sha256 {artifact.sha256}",
        Runtime=naming.LAMBDA_RUNTIME,
        Handler=naming.LAMBDA_HANDLER,
        Architectures=["arm64"],
        Code=artifact_code(artifact),
        Role=role_arn,
        MemorySize=settings.memory_mb,
        Timeout=settings.timeout_seconds,
        Environment=awslambda.Environment(
            Variables=environment_variables(env, secret, data_bucket)
        ),
        LoggingConfig=json_logging(log_group, settings.log_level),
        TracingConfig=awslambda.TracingConfig(Mode="Active"),
        DeadLetterConfig=awslambda.DeadLetterConfig(TargetArn=GetAtt(queue, "Arn")),
        RecursiveLoop="Terminate",
        # The policy must be attached before S3 can deliver the first event.
        DependsOn=[policy_id],
        Tags=tags(env),
    )
    skips = {
        "CKV_AWS_117": "The function calls only S3 and Secrets Manager over TLS; a VPC would add "
        "NAT or endpoint cost and cold-start latency for no isolation gain.",
        "CKV_AWS_173": "The environment holds only names and ARNs; the secret itself stays in "
        "Secrets Manager, encrypted with the stack's key.",
    }
    if settings.reserved_concurrency is None:
        skips["CKV_AWS_115"] = (
            "This environment leaves concurrency unreserved (function.reserved_concurrency); "
            "throttling is alarmed instead."
        )
    else:
        function.ReservedConcurrentExecutions = settings.reserved_concurrency
    skip_checkov(function, skips)
    template.add_resource(function)

    template.add_resource(
        awslambda.EventInvokeConfig(
            naming.LogicalId.EVENT_INVOKE_CONFIG,
            FunctionName=Ref(function),
            Qualifier="$LATEST",
            MaximumRetryAttempts=settings.async_retries,
            MaximumEventAgeInSeconds=settings.max_event_age_seconds,
            DestinationConfig=awslambda.DestinationConfig(
                OnFailure=awslambda.OnFailure(Destination=GetAtt(queue, "Arn"))
            ),
        )
    )
    permission_id = ""
    if env.ingest.mode == "direct":  # in queue mode S3 never invokes the function itself
        permission = invoke_permission(
            naming.LogicalId.INVOKE_PERMISSION, function, "s3", bucket_arn(data_bucket)
        )
        template.add_resource(permission)
        permission_id = str(permission.title)
    return FunctionHandles(
        function=Ref(function),
        arn=GetAtt(function, "Arn"),
        queue_arn=GetAtt(queue, "Arn"),
        queue_name=GetAtt(queue, "QueueName"),
        queue_url=Ref(queue),
        permission_id=permission_id,
    )
