"""E9002: no Allow statement grants a wildcard action (``*``, ``service:*``, ``s3:Get*``...)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

Path = list[str | int]

# Where each resource type keeps its policy documents: a property holding one document, or
# (for inline policies) a property holding a list of {PolicyName, PolicyDocument}.
SINGLE_DOCUMENT = {
    "AWS::IAM::Policy": ("PolicyDocument",),
    "AWS::IAM::ManagedPolicy": ("PolicyDocument",),
    "AWS::IAM::Role": ("AssumeRolePolicyDocument",),
    "AWS::S3::BucketPolicy": ("PolicyDocument",),
    "AWS::SQS::QueuePolicy": ("PolicyDocument",),
    "AWS::SNS::TopicPolicy": ("PolicyDocument",),
    "AWS::KMS::Key": ("KeyPolicy",),
    "AWS::SecretsManager::ResourcePolicy": ("ResourcePolicy",),
}
INLINE_POLICIES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")


def documents(resource_type: str, properties: dict[str, Any]) -> Iterator[tuple[Path, Any]]:
    """Every policy document of one resource, with its path below ``Properties``."""
    for key in SINGLE_DOCUMENT.get(resource_type, ()):
        if key in properties:
            yield [key], properties[key]
    if resource_type in INLINE_POLICIES and isinstance(properties.get("Policies"), list):
        for index, policy in enumerate(properties["Policies"]):
            if isinstance(policy, dict) and "PolicyDocument" in policy:
                yield ["Policies", index, "PolicyDocument"], policy["PolicyDocument"]


def statements(value: Any, path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every statement below ``value``, through lists and both branches of ``Fn::If``."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from statements(item, [*path, index])
    elif isinstance(value, dict) and list(value) == ["Fn::If"]:
        branches = value["Fn::If"]
        if isinstance(branches, list) and len(branches) == 3:
            yield from statements(branches[1], [*path, "Fn::If", 1])
            yield from statements(branches[2], [*path, "Fn::If", 2])
    elif isinstance(value, dict):
        yield path, value


def strings(value: Any) -> Iterator[str]:
    """Every string leaf of a value (an action may sit inside an intrinsic function)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)


def problems(statement: dict[str, Any]) -> list[str]:
    """What an Allow statement grants too broadly (empty for Deny or exact actions)."""
    if statement.get("Effect") != "Allow":
        return []  # a wildcard Deny (e.g. s3:* without TLS) narrows access; it is fine
    found = [
        f"allows wildcard action {action!r}"
        for action in strings(statement.get("Action"))
        if "*" in action
    ]
    if "NotAction" in statement:
        found.append("allows NotAction, i.e. every action but the listed ones")
    return found


def describe(name: str, resource_type: str, doc_path: Path, statement: dict[str, Any]) -> str:
    """How a statement is named in a message: resource, document and Sid when there is one."""
    where = ".".join(str(part) for part in doc_path)
    sid = statement.get("Sid")
    return f"{resource_type} {name} {where}" + (f" statement {sid!r}" if sid else "")


class NoWildcardActions(CloudFormationLintRule):  # type: ignore[misc]  # cfnlint is untyped
    """Allow statements name exact actions."""

    id = "E9002"
    shortdesc = "No wildcard IAM actions in Allow statements"
    description = (
        "Allow statements in IAM, bucket, queue, topic, secret and KMS key policies list exact "
        "actions: no '*', no 'service:*', no partial wildcards, no NotAction"
    )
    source_url = (
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
    )
    tags: ClassVar[list[str]] = ["iam", "policy", "serverlessapp"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        """One match per overly broad grant, with the path of its statement."""
        matches = []
        for name, resource in cfn.get_resources().items():
            if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
                continue
            resource_type = str(resource.get("Type"))
            for doc_path, document in documents(resource_type, resource["Properties"]):
                if not isinstance(document, dict):
                    continue
                base = [*doc_path, "Statement"]
                for path, statement in statements(document.get("Statement"), base):
                    for problem in problems(statement):
                        message = (
                            f"{describe(name, resource_type, doc_path, statement)} {problem}; "
                            "expected exact actions (awacs constants)"
                        )
                        matches.append(RuleMatch(["Resources", name, "Properties", *path], message))
        return matches
