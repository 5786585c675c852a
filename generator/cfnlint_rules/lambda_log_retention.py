"""E9005: every function logs into a log group of this template that has a retention."""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

PREFIX = "/aws/lambda/"


def default_names(name: str, function_name: Any) -> list[Any]:
    """The ways a template can spell ``/aws/lambda/<function name>`` for function ``name``."""
    spellings: list[Any] = [
        {"Fn::Sub": PREFIX + "${" + name + "}"},
        {"Fn::Join": ["", [PREFIX, {"Ref": name}]]},
    ]
    if isinstance(function_name, str):
        spellings.append(PREFIX + function_name)
    elif isinstance(function_name, dict) and isinstance(function_name.get("Fn::Sub"), str):
        spellings.append({"Fn::Sub": PREFIX + function_name["Fn::Sub"]})
    return spellings


def find_group(reference: Any, groups: dict[str, Any]) -> str | None:
    """The logical id of the log group that ``reference`` (a Ref or a name) points at."""
    for group_id, group in groups.items():
        properties = group.get("Properties") if isinstance(group, dict) else None
        group_name = properties.get("LogGroupName") if isinstance(properties, dict) else None
        if reference == {"Ref": group_id} or (group_name is not None and reference == group_name):
            return group_id
    return None


def has_retention(group: Any) -> bool:
    """Whether a log group resource sets RetentionInDays."""
    properties = group.get("Properties") if isinstance(group, dict) else None
    return isinstance(properties, dict) and properties.get("RetentionInDays") is not None


def problem(name: str, properties: dict[str, Any], groups: dict[str, Any]) -> str | None:
    """Why one function's logs have no retention (None when they have one)."""
    logging_config = properties.get("LoggingConfig")
    configured = logging_config.get("LogGroup") if isinstance(logging_config, dict) else None
    if configured is not None:
        group_id = find_group(configured, groups)
        if group_id is None:
            return (
                f"Lambda function {name} logs to LoggingConfig.LogGroup {configured!r}, which is "
                "no AWS::Logs::LogGroup of this template; expected a Ref to (or the name of) one"
            )
    else:
        function_name = properties.get("FunctionName")
        candidates = [
            find_group(spelling, groups) for spelling in default_names(name, function_name)
        ]
        group_id = next((found for found in candidates if found is not None), None)
        if group_id is None:
            return (
                f"Lambda function {name} has no log group: neither LoggingConfig.LogGroup nor an "
                f"AWS::Logs::LogGroup named {PREFIX}<FunctionName> "
                f"(FunctionName {function_name!r}); expected one with RetentionInDays"
            )
    if not has_retention(groups[group_id]):
        return (
            f"Lambda function {name} logs to log group {group_id}, which has no RetentionInDays; "
            "expected a retention so logs do not pile up forever"
        )
    return None


class FunctionLogRetention(CloudFormationLintRule):  # type: ignore[misc]  # cfnlint is untyped
    """Functions log into a log group with a retention."""

    id = "E9005"
    shortdesc = "Lambda functions have a log group with retention"
    description = (
        "Every Lambda function logs into an AWS::Logs::LogGroup of the template that sets "
        "RetentionInDays: the one in LoggingConfig.LogGroup, or /aws/lambda/<FunctionName>"
    )
    source_url = (
        "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html"
    )
    tags: ClassVar[list[str]] = ["lambda", "logs", "serverlessapp"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        """One match per function whose logs would be kept forever or nowhere we manage."""
        groups = cfn.get_resources(["AWS::Logs::LogGroup"])
        matches = []
        for name, function in cfn.get_resources(["AWS::Lambda::Function"]).items():
            properties = function.get("Properties")
            message = problem(name, properties if isinstance(properties, dict) else {}, groups)
            if message is not None:
                matches.append(RuleMatch(["Resources", name], message))
        return matches
