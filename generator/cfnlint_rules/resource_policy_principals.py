"""E9006: resource policies grant nothing outside the environment's account.

A permissions boundary caps identity policies only: a bucket, key, queue, topic or secret policy,
or a Lambda permission, can grant another account (or everyone) directly. This rule fails every
Allow that names:

- an AWS principal of another account: an account id or ARN whose account is neither the
  template's (``Metadata.ServerlessApp.accountId``) nor ``AWS::AccountId``; a role or other
  resource of the template itself is in its account; a principal whose account the template does
  not fix (a parameter, say) fails too;
- ``"*"`` (or ``{"AWS": "*"}``) without a condition that pins the caller to this account or
  organization: ``aws:SourceAccount``, ``aws:SourceArn``, ``aws:PrincipalOrgID`` or
  ``aws:PrincipalAccount``;
- a service principal without ``aws:SourceAccount`` or ``aws:SourceArn`` (the confused deputy:
  the service acting for another account's resource). In a key policy, an encryption context
  naming a resource of this account (``kms:EncryptionContext:aws:logs:arn``, ...) binds the
  service to that resource and counts as well: it is how CloudWatch Logs and SNS document their
  key policies, and AWS KMS lists it beside the source keys for this purpose;
- ``NotPrincipal``, or a federated or canonical-user principal.

A qualifying condition uses a positive operator (``StringEquals``, ``StringLike``, ``ArnEquals``,
``ArnLike``; no ``...IfExists``, which a request without the key passes), and every value it
lists is of this account (an ARN without an account, such as a bucket's, must name a resource).
A Lambda permission is read the same way: ``Principal`` with ``SourceAccount``, ``SourceArn`` and
``PrincipalOrgID``. Deny statements are not checked: they only take access away.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.cfnlint_rules.iam_no_wildcard_actions import Path, statements

DOCUMENTS = {
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SQS::QueueInlinePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SNS::TopicInlinePolicy": "PolicyDocument",
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
}
LAMBDA_PERMISSION = "AWS::Lambda::Permission"

# Placeholders a value is rendered with: this template's account, and what cannot be known.
OWN = "<this account>"
UNKNOWN = "<unknown>"
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
POSITIVE = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"}
STAR_KEYS = ("aws:SourceAccount", "aws:SourceArn", "aws:PrincipalOrgID", "aws:PrincipalAccount")
SERVICE_KEYS = ("aws:SourceAccount", "aws:SourceArn")
ENCRYPTION_CONTEXT = "kms:EncryptionContext:"


class Template:
    """What the rule knows of one template: its account and its resources' logical ids."""

    def __init__(self, template: dict[str, Any]) -> None:
        metadata = template.get("Metadata")
        block = metadata.get("ServerlessApp") if isinstance(metadata, dict) else None
        account = block.get("accountId") if isinstance(block, dict) else None
        self.account = account if isinstance(account, str) and account else None
        resources = template.get("Resources")
        self.resources = set(resources) if isinstance(resources, dict) else set()

    def render(self, value: Any) -> str:
        """A value as the string CloudFormation would pass, with OWN and UNKNOWN where needed."""
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key in ("Ref", "Fn::GetAtt"):
                name = argument[0] if isinstance(argument, list) else str(argument).split(".")[0]
                return self._name(name)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
                separator, parts = argument
                if isinstance(separator, str) and isinstance(parts, list):
                    return separator.join(self.render(part) for part in parts)
        return UNKNOWN

    def _name(self, name: str) -> str:
        """What a Ref, GetAtt or Sub variable stands for, as far as accounts go."""
        if name == "AWS::AccountId" or name in self.resources:
            return OWN  # a resource of this stack is in its account, whatever its id or ARN
        if name in ("AWS::Partition", "AWS::Region", "AWS::URLSuffix", "AWS::StackName"):
            return f"<{name.split('::')[1].lower()}>"  # no ':', so ARNs still split
        return UNKNOWN  # a parameter, say: any value at deploy time

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else [*argument, {}][:2]
        if not isinstance(text, str) or not isinstance(variables, dict):
            return UNKNOWN

        def variable(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return self.render(variables[name])
            return self._name(name.split(".")[0])

        return _SUB_VARIABLE.sub(variable, text)

    def is_own(self, account: str) -> bool:
        """Whether an account (rendered) is this template's."""
        return account == OWN or (self.account is not None and account == self.account)

    def account_of(self, principal: Any) -> str | None:
        """The account an AWS principal belongs to (rendered); None when it cannot be told."""
        text = self.render(principal)
        if text == OWN or _ACCOUNT_ID.match(text):
            return text
        parts = text.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn" and parts[4] and UNKNOWN not in parts[4]:
            return parts[4]
        return None

    def where(self) -> str:
        return (
            f"this environment's account {self.account}"
            if self.account
            else ("this template's account (AWS::AccountId)")
        )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditions(condition: Any) -> Iterator[tuple[str, str, list[Any]]]:
    """(operator, key, values) of every positive test in a Condition block."""
    if not isinstance(condition, dict):
        return
    for operator, tests in condition.items():
        if operator not in POSITIVE or not isinstance(tests, dict):
            continue
        for key, values in tests.items():
            yield operator, str(key), _as_list(values)


def _pins(template: Template, key: str, value: Any) -> bool:
    """Whether one condition value confines the caller to this account (or its organization)."""
    text = template.render(value)
    if text == OWN:
        return True  # AWS::AccountId, or a resource of this template (its ARN)
    if text in ("", "*") or UNKNOWN in text:
        return False
    lowered = key.lower()
    if lowered == "aws:principalorgid":
        return True
    if lowered in ("aws:sourceaccount", "aws:principalaccount"):
        return template.is_own(text)
    parts = text.split(":", 5)  # an ARN: aws:SourceArn, an encryption context's ARN
    if len(parts) != 6 or parts[0] != "arn" or parts[5] in ("", "*"):
        return False
    return template.is_own(parts[4]) if parts[4] else True


def pinned(template: Template, condition: Any, keys: tuple[str, ...], kms: bool = False) -> bool:
    """Whether a Condition holds a positive test on one of ``keys`` whose values all pin."""
    wanted = {key.lower() for key in keys}
    for _, key, values in _conditions(condition):
        lowered = key.lower()
        relevant = lowered in wanted or (kms and lowered.startswith(ENCRYPTION_CONTEXT.lower()))
        if relevant and values and all(_pins(template, key, value) for value in values):
            return True
    return False


def principals(statement: dict[str, Any]) -> list[tuple[str, Any]]:
    """A statement's principals as (kind, value): ``"*"`` is ``("AWS", "*")``."""
    principal = statement.get("Principal")
    if principal == "*":
        return [("AWS", "*")]
    if not isinstance(principal, dict):
        return []
    return [(str(kind), value) for kind, values in principal.items() for value in _as_list(values)]


def principal_problem(
    template: Template, kind: str, value: Any, condition: Any, kms: bool
) -> str | None:
    """What one principal of an Allow statement grants outside the account (None: nothing)."""
    where = template.where()
    if kind == "AWS" and value == "*":
        keys = ", ".join(STAR_KEYS)
        confined = pinned(template, condition, STAR_KEYS)
        problem = f"allows principal '*' without a condition on {keys} naming {where}"
    elif kind == "AWS":
        return _account_problem(template, value)
    elif kind == "Service":
        confined = pinned(template, condition, SERVICE_KEYS, kms=kms)
        problem = (
            f"allows service principal {template.render(value)!r} without a condition on "
            f"aws:SourceAccount or aws:SourceArn naming {where}"
        )
    else:
        confined = False
        problem = (
            f"allows a {kind} principal; expected principals of {where} or service principals "
            "with a source condition"
        )
    return None if confined else problem


def _account_problem(template: Template, value: Any) -> str | None:
    """Why an AWS principal (an account, a role, ...) is outside the account; None if it is not."""
    account = template.account_of(value)
    if account is None:
        shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        return (
            f"allows principal {shown!r}, whose account the template does not fix; expected a "
            f"principal of {template.where()}"
        )
    if template.is_own(account):
        return None
    return (
        f"allows principal {template.render(value)!r} of account {account}, outside "
        f"{template.where()}"
    )


def statement_problems(template: Template, statement: dict[str, Any], kms: bool) -> list[str]:
    """What one statement grants outside the account (empty for a Deny or a confined Allow)."""
    if statement.get("Effect") != "Allow":
        return []
    if "NotPrincipal" in statement:
        return ["allows NotPrincipal, i.e. every principal but the listed ones"]
    condition = statement.get("Condition")
    found = [
        principal_problem(template, kind, value, condition, kms)
        for kind, value in principals(statement)
    ]
    return [problem for problem in found if problem is not None]


def permission_problem(template: Template, properties: dict[str, Any]) -> str | None:
    """What a Lambda permission grants outside the account (None when nothing).

    Its ``Principal`` is read like a policy's: an account or ARN, ``"*"``, or a service; its
    ``SourceAccount``, ``SourceArn`` and ``PrincipalOrgID`` are the conditions Lambda adds.
    """
    principal = properties.get("Principal")
    text = template.render(principal)
    condition = {
        "StringEquals": {
            key: properties[prop]
            for key, prop in (
                ("aws:SourceAccount", "SourceAccount"),
                ("aws:SourceArn", "SourceArn"),
                ("aws:PrincipalOrgID", "PrincipalOrgID"),
            )
            if properties.get(prop) is not None
        }
    }
    if text == "*" or template.account_of(principal) is not None:
        kind = "AWS"
    elif "." in text and UNKNOWN not in text:
        kind = "Service"  # s3.amazonaws.com
    else:
        return f"allows principal {text!r}, whose account the template does not fix"
    problem = principal_problem(template, kind, text, condition, kms=False)
    if problem is None:
        return None
    # Lambda's properties, not a policy's condition keys.
    return problem.replace(
        "a condition on aws:SourceAccount or aws:SourceArn", "SourceAccount or SourceArn"
    ).replace(
        f"a condition on {', '.join(STAR_KEYS)}", "SourceAccount, SourceArn or PrincipalOrgID"
    )


class ResourcePolicyPrincipals(CloudFormationLintRule):  # type: ignore[misc]  # cfnlint is untyped
    """Resource policies grant only this account's principals."""

    id = "E9006"
    shortdesc = "Resource policies grant nothing outside the environment's account"
    description = (
        "Bucket, key, queue, topic and secret policies and Lambda permissions allow no principal "
        "of another account, no '*' without an aws:SourceAccount/aws:SourceArn/"
        "aws:PrincipalOrgID/aws:PrincipalAccount condition, and no service principal without "
        "aws:SourceAccount or aws:SourceArn"
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html"
    tags: ClassVar[list[str]] = ["iam", "policy", "principals", "serverlessapp"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        """One match per principal granted outside the account, with its statement's path."""
        template = Template(cfn.template)
        matches = []
        for name, resource in cfn.get_resources().items():
            if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
                continue
            resource_type = str(resource.get("Type"))
            properties = resource["Properties"]
            base: Path = ["Resources", name, "Properties"]
            if resource_type == LAMBDA_PERMISSION:
                problem = permission_problem(template, properties)
                if problem is not None:
                    message = f"{resource_type} {name} {problem}"
                    matches.append(RuleMatch([*base, "Principal"], message))
                continue
            key = DOCUMENTS.get(resource_type)
            document = properties.get(key) if key is not None else None
            if key is None or not isinstance(document, dict):
                continue
            kms = resource_type == "AWS::KMS::Key"
            for path, statement in statements(document.get("Statement"), [key, "Statement"]):
                sid = statement.get("Sid")
                label = f"{resource_type} {name} {key}" + (f" statement {sid!r}" if sid else "")
                for problem in statement_problems(template, statement, kms):
                    matches.append(RuleMatch([*base, *path], f"{label} {problem}"))
        return matches
