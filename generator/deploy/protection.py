"""A stack's protection as code: termination protection, the stack policy, rollback triggers."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from generator import arns
from generator.contracts import STATEFUL_TYPES, ResourceMetadata
from generator.deploy.aws import error_message
from generator.deploy.guard import stateful_ids
from generator.deploy.stacks import StackResource
from generator.errors import ExitCode, GeneratorError

ALARM_TYPE = "AWS::CloudWatch::Alarm"
# CloudFormation accepts at most five rollback triggers per stack.
MAX_ROLLBACK_TRIGGERS = 5


def stack_policy(protected_ids: Iterable[str]) -> dict[str, Any]:
    """Allow every update except replacing or deleting the protected resources."""
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
    ]
    ids = sorted(set(protected_ids))
    if ids:
        statements.append(
            {
                "Effect": "Deny",
                "Action": ["Update:Replace", "Update:Delete"],
                "Principal": "*",
                "Resource": [f"LogicalResourceId/{logical_id}" for logical_id in ids],
            }
        )
    return {"Statement": statements}


def policy_for_template(
    template: dict[str, Any], current_stateful: Iterable[str] = ()
) -> dict[str, Any]:
    """The stack policy a template's stack carries between deploys: every stateful resource the
    template names, and those the stack still has (``current_stateful``), protected."""
    return stack_policy(set(stateful_ids(template)) | set(current_stateful))


def policy_during_update(
    template: dict[str, Any], current_stateful: Iterable[str], allow: Iterable[str]
) -> dict[str, Any]:
    """The policy while one change set runs: the allowed ids lifted, nothing else.

    ``current_stateful`` covers resources the change set removes, which the new template no
    longer names.
    """
    protected = set(stateful_ids(template)) | set(current_stateful)
    return stack_policy(protected - set(allow))


def encode_policy(policy: dict[str, Any]) -> str:
    """A policy as compact, stable JSON."""
    return json.dumps(policy, sort_keys=True, separators=(",", ":"))


def set_stack_policy(cfn: Any, stack: str, policy: dict[str, Any]) -> None:
    """Replace the stack's policy."""
    try:
        cfn.set_stack_policy(StackName=stack, StackPolicyBody=encode_policy(policy))
    except ClientError as exc:
        raise GeneratorError(
            f"cannot set the stack policy of {stack}: {error_message(exc)}", ExitCode.FAILED
        ) from None


def reconcile_termination_protection(
    cfn: Any, stack: str, current: bool | None, wanted: bool
) -> bool:
    """Set termination protection when it differs; return whether it was changed."""
    if current is not None and bool(current) == wanted:
        return False
    try:
        cfn.update_termination_protection(StackName=stack, EnableTerminationProtection=wanted)
    except ClientError as exc:
        raise GeneratorError(
            f"cannot set termination protection of {stack} to {wanted}: {error_message(exc)}",
            ExitCode.FAILED,
        ) from None
    return True


def alarm_arn(partition: str, region: str, account: str, name: str) -> str:
    """The ARN of a CloudWatch alarm."""
    return arns.arn(
        "cloudwatch", f"alarm:{name}", region=region, account=account, partition=partition
    )


def rollback_triggers(
    template: dict[str, Any],
    deployed: Iterable[StackResource],
    partition: str,
    region: str,
    account: str,
) -> list[dict[str, str]]:
    """Triggers on the template's alarms marked ``Metadata.ServerlessApp.rollbackTrigger`` that
    already exist in the deployed stack.

    A trigger naming an alarm that does not exist yet makes CloudFormation fail the update, so
    a new alarm becomes a trigger from the deploy after the one that creates it.
    """
    resources = template.get("Resources", {}) or {}
    wanted = {
        lid
        for lid, r in resources.items()
        if r.get("Type") == ALARM_TYPE and ResourceMetadata.of(r).rollback_trigger
    }
    names = sorted(
        resource.physical_id
        for resource in deployed
        if resource.resource_type == ALARM_TYPE
        and resource.logical_id in wanted
        and resource.physical_id
        and not resource.status.startswith("DELETE")
    )
    return [
        {"Arn": alarm_arn(partition, region, account, name), "Type": ALARM_TYPE}
        for name in names[:MAX_ROLLBACK_TRIGGERS]
    ]


def deployed_stateful_ids(deployed: Iterable[StackResource]) -> list[str]:
    """Logical ids of stateful resources in the deployed stack."""
    return sorted(r.logical_id for r in deployed if r.resource_type in STATEFUL_TYPES)


def live_policy(cfn: Any, stack: str) -> dict[str, Any] | None:
    """The stack's policy as CloudFormation has it now (None: the stack has none)."""
    try:
        body = cfn.get_stack_policy(StackName=stack).get("StackPolicyBody")
    except ClientError as exc:
        raise GeneratorError(
            f"cannot read the stack policy of {stack}: {error_message(exc)}", ExitCode.FAILED
        ) from None
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}  # a policy this tool never writes protects nothing it knows of
    return parsed if isinstance(parsed, dict) else {}


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def protected_by(policy: dict[str, Any] | None) -> set[str] | None:
    """Logical ids the policy keeps from replacement and deletion; None: every resource."""
    protected: set[str] = set()
    for statement in (policy or {}).get("Statement") or []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        actions = set(_listed(statement.get("Action", [])))
        if not ({"Update:*"} & actions or {"Update:Replace", "Update:Delete"} <= actions):
            continue
        for resource in _listed(statement.get("Resource", [])):
            if resource == "*":
                return None
            if resource.startswith("LogicalResourceId/"):
                protected.add(resource.removeprefix("LogicalResourceId/"))
    return protected


def unprotected(cfn: Any, stack: str, deployed: Iterable[StackResource]) -> list[str]:
    """The stack's stateful resources its live policy does not protect, as it should between
    deploys: what a deploy interrupted after lifting its allowances (SIGKILL) leaves behind."""
    protected = protected_by(live_policy(cfn, stack))
    if protected is None:
        return []
    return [logical_id for logical_id in deployed_stateful_ids(deployed)
            if logical_id not in protected]  # fmt: skip


def relaxed_message(stack: str, ids: Iterable[str]) -> str:
    """What a relaxed stack policy means, and what puts it back."""
    names = ", ".join(ids)
    return (
        f"the stack policy of {stack} is RELAXED: {names} can be replaced or deleted (a deploy "
        "was interrupted after lifting its allowances); the next `deploy` restores it"
    )
