"""E9004: every alarm notifies someone."""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")


def problems(name: str, resource_type: str, properties: dict[str, Any]) -> list[str]:
    """Why one alarm would notify nobody (empty when it notifies someone)."""
    actions = properties.get("AlarmActions")
    found = []
    # An intrinsic function (e.g. Fn::If) stands for a list cfn-lint cannot resolve here.
    if not actions or not isinstance(actions, list | dict):
        found.append(
            f"{resource_type} {name} has AlarmActions {actions!r}; expected a non-empty list "
            "(e.g. the alarm topic)"
        )
    enabled = properties.get("ActionsEnabled")
    if enabled is False or (isinstance(enabled, str) and enabled.lower() == "false"):
        found.append(f"{resource_type} {name} has ActionsEnabled false; expected true or unset")
    return found


class AlarmsHaveActions(CloudFormationLintRule):  # type: ignore[misc]  # cfnlint is untyped
    """Alarms have actions."""

    id = "E9004"
    shortdesc = "Alarms have actions"
    description = "Every CloudWatch alarm has a non-empty AlarmActions list and actions enabled"
    source_url = (
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html"
    )
    tags: ClassVar[list[str]] = ["cloudwatch", "alarms", "serverlessapp"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        """One match per alarm that would notify nobody."""
        matches = []
        for name, alarm in cfn.get_resources(list(ALARM_TYPES)).items():
            properties = alarm.get("Properties")
            properties = properties if isinstance(properties, dict) else {}
            for message in problems(name, str(alarm.get("Type")), properties):
                matches.append(RuleMatch(["Resources", name], message))
        return matches
