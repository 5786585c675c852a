"""E9001: stateful resources carry explicit deletion policies, ``Retain`` where data is kept."""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from generator.contracts import STATEFUL_TYPES, template_retains_data

POLICIES = ("DeletionPolicy", "UpdateReplacePolicy")


def retains_data(template: dict[str, Any]) -> bool:
    """Whether the template declares ``Metadata.ServerlessApp.retainData`` true."""
    return template_retains_data(template)


def problems(name: str, resource: dict[str, Any], retain: bool) -> list[str]:
    """What is wrong with one stateful resource's policies (empty when nothing is)."""
    found = []
    for policy in POLICIES:
        value = resource.get(policy)
        if value is None:
            expected = "Retain" if retain else "Retain or Delete, set explicitly"
            found.append(f"{resource.get('Type')} {name} has no {policy}; expected {expected}")
        elif retain and value != "Retain":
            found.append(
                f"{resource.get('Type')} {name} has {policy} {value!r}; expected 'Retain' "
                "because Metadata.ServerlessApp.retainData is true"
            )
    return found


class StatefulResourcesRetained(CloudFormationLintRule):  # type: ignore[misc]  # cfnlint is untyped
    """Stateful resources set DeletionPolicy and UpdateReplacePolicy explicitly."""

    id = "E9001"
    shortdesc = "Stateful resources have explicit deletion policies"
    description = (
        "Every S3 bucket, secret, KMS key, SQS queue and log group sets both DeletionPolicy and "
        "UpdateReplacePolicy; both are Retain when Metadata.ServerlessApp.retainData is true"
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-deletionpolicy.html"
    tags: ClassVar[list[str]] = [
        "resources",
        "deletionpolicy",
        "updatereplacepolicy",
        "serverlessapp",
    ]

    def match(self, cfn: Any) -> list[RuleMatch]:
        """One match per missing or wrong policy."""
        retain = retains_data(cfn.template)
        matches = []
        for name, resource in cfn.get_resources(list(STATEFUL_TYPES)).items():
            for message in problems(name, resource, retain):
                matches.append(RuleMatch(["Resources", name], message))
        return matches
