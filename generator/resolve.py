"""Resolve a template's intrinsic functions to the strings CloudFormation would pass to AWS.

CloudFormation hooks (the way AWS Control Tower's proactive controls run) and IAM see property
values after CloudFormation has resolved them: ``{"Ref": "AWS::AccountId"}`` is an account id, an
``Fn::Sub`` over pseudo-parameters is a string. Tools that read the raw template (cfn-guard, an IAM
policy evaluator) need the same strings, so this module substitutes what is known before a deploy:
pseudo-parameters, parameter defaults, and whatever physical ids and attributes the caller knows.
Anything else is left as it is, so a check sees it as unresolved rather than a made-up value.

Pure: no AWS calls, no environment variables; the same inputs give the same output.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass(frozen=True)
class Known:
    """What is known about a deployment: where it goes and the physical values of some names.

    ``refs`` maps a logical id or parameter name to what ``Ref`` returns; ``attributes`` maps
    ``"LogicalId.Attribute"`` to what ``Fn::GetAtt`` returns.
    """

    account: str
    region: str
    stack_name: str = "stack"
    partition: str = "aws"
    refs: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)

    def pseudo(self) -> dict[str, str]:
        """The pseudo-parameters' values."""
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": suffix,
            "AWS::StackName": self.stack_name,
        }


def parameter_defaults(template: Mapping[str, Any]) -> dict[str, str]:
    """The template's parameters that have a string default."""
    found = {}
    for name, parameter in (template.get("Parameters") or {}).items():
        default = parameter.get("Default") if isinstance(parameter, dict) else None
        if isinstance(default, str):
            found[name] = default
    return found


def _names(known: Known, template: Mapping[str, Any]) -> dict[str, str]:
    return {**parameter_defaults(template), **known.pseudo(), **known.refs}


def _sub(text: str, variables: Mapping[str, Any], names: Mapping[str, str], known: Known) -> Any:
    """``Fn::Sub`` of ``text``; the original form if any variable is unknown."""
    unresolved = False

    def value(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group(1)
        if name in variables:
            found = variables[name]
            if isinstance(found, str):
                return found
        elif name in names:
            return names[name]
        elif name in known.attributes:
            return known.attributes[name]
        unresolved = True
        return match.group(0)

    result = _SUB_VARIABLE.sub(value, text)
    if unresolved:
        return None
    # "${!Literal}" writes "${Literal}".
    return result.replace("${!", "${")


def resolve_value(value: Any, known: Known, names: Mapping[str, str]) -> Any:
    """One value with every intrinsic that ``known`` can resolve replaced by its string."""
    if isinstance(value, list):
        return [resolve_value(v, known, names) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str) and argument in names:
            return names[argument]
        if key == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            name = ".".join(str(p) for p in parts) if isinstance(parts, list) else None
            if name is not None and name in known.attributes:
                return known.attributes[name]
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else [*argument, {}][:2]
            if isinstance(text, str) and isinstance(variables, dict):
                resolved_vars = {k: resolve_value(v, known, names) for k, v in variables.items()}
                result = _sub(text, resolved_vars, names, known)
                if result is not None:
                    return result
    return {k: resolve_value(v, known, names) for k, v in value.items()}


def resolve_template(template: Mapping[str, Any], known: Known) -> dict[str, Any]:
    """A copy of ``template`` with its resources' properties (and outputs) resolved."""
    names = _names(known, template)
    resolved = dict(template)
    resources = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        copy = dict(resource)
        if "Properties" in copy:
            copy["Properties"] = resolve_value(copy["Properties"], known, names)
        resources[logical_id] = copy
    resolved["Resources"] = resources
    return resolved
