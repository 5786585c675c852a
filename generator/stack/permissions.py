"""The function's execution role and its least-privilege policy (awacs constants only)."""

from __future__ import annotations

from awacs import logs, s3, secretsmanager, sqs, xray
from awacs.aws import Allow, PolicyDocument, Principal, Statement
from awacs.sts import AssumeRole
from troposphere import GetAtt, Ref, Template, iam

from generator import naming
from generator.boundary import POLL_INGEST_QUEUE, boundary_arn
from generator.config import Environment
from generator.stack.common import bucket_arn, objects_arn, policy_document, tags


def add_lambda_role(
    template: Template, env: Environment, logical_id: str, role_name: str, function_name: str
) -> GetAtt:
    """An execution role trusted by Lambda only, for one function of the app stack.

    It carries the environment's permissions boundary (made by the ci-access stack): the
    CloudFormation role may create or change it only with that boundary attached. Its
    permissions come from a separate policy resource.
    """
    role = iam.Role(
        logical_id,
        RoleName=role_name,
        Description=f"Execution role of {function_name}",
        AssumeRolePolicyDocument=policy_document(
            Statement(
                Effect=Allow,
                Principal=Principal("Service", "lambda.amazonaws.com"),
                Action=[AssumeRole],
            )
        ),
        PermissionsBoundary=boundary_arn(env.name),
        Tags=tags(env),
    )
    template.add_resource(role)
    return GetAtt(role, "Arn")


def add_role(template: Template, env: Environment) -> GetAtt:
    """The function's execution role; its permissions come from ``add_policy``."""
    return add_lambda_role(
        template,
        env,
        naming.LogicalId.ROLE,
        naming.role_name(env.name),
        naming.function_name(env.name),
    )


def log_and_trace_statements(log_group_arn: GetAtt) -> list[Statement]:
    """What every function of the stack needs: write its own log group, send X-Ray traces."""
    return [
        Statement(
            Sid="WriteOwnLogGroup",
            Effect=Allow,
            Action=[logs.CreateLogStream, logs.PutLogEvents],
            Resource=[log_group_arn],
        ),
        Statement(
            # X-Ray's segment APIs have no resource-level permissions: AWS requires "*".
            Sid="XRayTracing",
            Effect=Allow,
            Action=[xray.PutTraceSegments, xray.PutTelemetryRecords],
            Resource=["*"],
        ),
    ]


def ingest_queue_statement(ingest_queue_arn: GetAtt) -> Statement:
    """Queue mode: what Lambda's poller does with the ingest queue, on the function's role."""
    return Statement(
        Sid="PollIngestQueue",
        Effect=Allow,
        Action=list(POLL_INGEST_QUEUE),
        Resource=[ingest_queue_arn],
    )


def function_policy(
    env: Environment,
    data_bucket: str,
    secret: Ref,
    queue_arn: GetAtt,
    log_group_arn: GetAtt,
    ingest_queue_arn: GetAtt | None = None,
) -> PolicyDocument:
    """Exactly what the handler does: read uploads, write results, read one secret, log, trace
    (and, in queue mode, what Lambda's poller does with the ingest queue)."""
    storage = env.storage
    document = policy_document(
        Statement(
            Sid="ReadUploads",
            Effect=Allow,
            Action=[s3.GetObject, s3.GetObjectVersion],
            Resource=[objects_arn(data_bucket, storage.upload_prefix)],
        ),
        Statement(
            Sid="WriteResults",
            Effect=Allow,
            Action=[s3.PutObject],
            Resource=[objects_arn(data_bucket, storage.results_prefix)],
        ),
        Statement(
            # Without ListBucket a deleted upload reads as 403, not 404, and would be retried
            # into the dead-letter queue. S3 evaluates ListBucket for a missing key without an
            # s3:prefix in the request context, so a prefix condition would never match.
            Sid="MissingKeysReadAs404",
            Effect=Allow,
            Action=[s3.ListBucket],
            Resource=[bucket_arn(data_bucket)],
        ),
        Statement(
            Sid="ReadOwnSecret",
            Effect=Allow,
            Action=[secretsmanager.GetSecretValue],
            Resource=[secret],
        ),
        Statement(
            Sid="DeadLetterQueue",
            Effect=Allow,
            Action=[sqs.SendMessage],
            Resource=[queue_arn],
        ),
        *log_and_trace_statements(log_group_arn),
    )
    if ingest_queue_arn is not None:
        document.Statement.append(ingest_queue_statement(ingest_queue_arn))
    return document


def add_policy(template: Template, env: Environment, document: PolicyDocument) -> str:
    """Attach the policy to the role as its own resource (the key policy names the role, so an
    inline policy naming the key's users would be a dependency cycle)."""
    policy = iam.PolicyType(
        naming.LogicalId.ROLE_POLICY,
        PolicyName=f"{naming.function_name(env.name)}Access",
        PolicyDocument=document,
        Roles=[Ref(naming.LogicalId.ROLE)],
    )
    template.add_resource(policy)
    return str(policy.title)
