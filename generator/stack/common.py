"""What every stack module shares: tags, retention, checkov skips, ARN builders."""

from __future__ import annotations

from collections.abc import Mapping

from awacs import sqs as sqs_actions
from awacs.aws import Bool, Condition, Deny, PolicyDocument, Principal, Statement
from troposphere import AWSObject, GetAtt, Ref, Sub, Tags, sqs

from generator import arns, naming
from generator.config import Environment


def tags(env: Environment) -> Tags:
    """The fixed tags plus the environment's extras, in a stable order."""
    return Tags(naming.base_tags(env.name, env.tags))


def retain(resource: AWSObject, env: Environment) -> AWSObject:
    """Set both deletion policies: Retain where the environment keeps data, else Delete."""
    policy = "Retain" if env.retain_data else "Delete"
    resource.DeletionPolicy = policy
    resource.UpdateReplacePolicy = policy
    return resource


def skip_checkov(resource: AWSObject, skips: Mapping[str, str]) -> AWSObject:
    """Record checkov checks that do not apply to this resource, each with its reason."""
    if skips:
        metadata = dict(getattr(resource, "Metadata", None) or {})
        metadata["checkov"] = {
            "skip": [{"id": check, "comment": reason} for check, reason in sorted(skips.items())]
        }
        resource.Metadata = metadata
    return resource


def skip_cfn_lint(resource: AWSObject, skips: Mapping[str, str]) -> AWSObject:
    """Ignore cfn-lint rules on this resource, each with its reason beside it."""
    metadata = dict(getattr(resource, "Metadata", None) or {})
    metadata["cfn-lint"] = {"config": {"ignore_checks": sorted(skips)}}
    metadata["cfn-lint-reasons"] = dict(sorted(skips.items()))
    resource.Metadata = metadata
    return resource


def bucket_arn(bucket_name: str) -> Sub:
    """A bucket's ARN built from its name, so nothing depends on the bucket resource itself."""
    return Sub(arns.bucket_arn(bucket_name))


def objects_arn(bucket_name: str, prefix: str = "") -> Sub:
    """ARN of the objects under ``prefix`` in a bucket."""
    return Sub(arns.objects_arn(bucket_name, prefix))


def deny_insecure_transport(actions: list[object], resources: list[object]) -> Statement:
    """The standard Deny for requests that do not use TLS."""
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=actions,
        Resource=resources,
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )


def policy_document(*statements: Statement) -> PolicyDocument:
    """An IAM policy document in the current policy language version."""
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def tls_only_queue_policy(logical_id: str, queue: sqs.Queue, *allow: Statement) -> sqs.QueuePolicy:
    """A queue policy granting ``allow`` and denying any request not made over TLS."""
    return sqs.QueuePolicy(
        logical_id,
        Queues=[Ref(queue)],
        PolicyDocument=policy_document(
            *allow, deny_insecure_transport([sqs_actions.Action("*")], [GetAtt(queue, "Arn")])
        ),
    )
