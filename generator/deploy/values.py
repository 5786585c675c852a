"""A change's properties as a reviewer reads them: path, before → after, redacted by rule.

CloudFormation sends before/after values per property path when a change set is described with
``IncludePropertyValues`` (the embedded emulator computes the same from its templates). This
module turns them into lines; ``generator.deploy.plan`` lays the lines out for a terminal or for
Markdown. Pure: no AWS, no I/O.

Redaction rules (each value that matches one is replaced by ``(redacted: <rule>)``, never shown):

- a property set from a ``NoEcho`` template parameter (the change names it as its cause);
- anything under a Secrets Manager secret's ``SecretString`` or ``GenerateSecretString``;
- any value holding a dynamic reference (``{{resolve:...}}``), whatever resolves it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from generator.deploy.changeset import Change, PropertyChange

# A value longer than this (or on several lines) is shown as a diff, never dumped whole.
SHORT_VALUE = 60
# A diff longer than this is cut (the change set itself holds the rest); never a policy's.
MAX_DIFF_LINES = 12
# Properties that hold policy documents: their diffs are never cut (a reviewer signs all of it).
POLICY_PROPERTIES = frozenset(
    {
        "PolicyDocument",
        "Policies",
        "KeyPolicy",
        "AssumeRolePolicyDocument",
        "ResourcePolicy",
        "RepositoryPolicyText",
    }
)
# Lines of unchanged context around a policy's changes in the terminal (Markdown: all of it).
POLICY_CONTEXT = 3
NONE = "(none)"
ARROW = "→"
_PROPERTIES = "/Properties/"
_SECRET_TYPE = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type, not a password
_SECRET_PATHS = ("SecretString", "GenerateSecretString")
_DYNAMIC_REFERENCE = "{{resolve:"


@dataclass(frozen=True)
class ValueLine:
    """One changed property of one resource, ready to print."""

    path: str  # MemorySize, Environment/Variables/LOG_LEVEL, or the attribute (Metadata, Tags)
    before: str | None  # None: absent before (an added property) or not sent
    after: str | None
    diff: tuple[str, ...] = ()  # a unified diff instead of the values, when they are long
    redacted: str = ""  # the rule that hid the values ("" when shown)
    recreation: str = ""  # Always | Conditionally when the property forces a new resource
    # A policy document's diff with every line of the document (``diff`` then holds only its
    # changes with some context, never cut): Markdown shows this one, folded.
    whole: tuple[str, ...] = ()

    @property
    def elided(self) -> bool:
        """Whether ``diff`` leaves out unchanged lines that ``whole`` shows."""
        return bool(self.whole) and len(self.whole) > len(self.diff)

    @property
    def has_values(self) -> bool:
        """Whether CloudFormation sent a value on either side."""
        return self.before is not None or self.after is not None

    def headline(self) -> str:
        """``MemorySize: 256 → 512``, or the path alone when there is nothing to show inline."""
        note = _recreation_note(self.recreation)
        if self.redacted:
            return f"{self.path}: (redacted: {self.redacted}){note}"
        if self.diff:
            return f"{self.path}: changed (diff below){note}"
        if not self.has_values:
            return f"{self.path}{note}"
        before = NONE if self.before is None else self.before
        after = NONE if self.after is None else self.after
        return f"{self.path}: {before} {ARROW} {after}{note}"


def _recreation_note(recreation: str) -> str:
    if recreation == "Always":
        return " [forces replacement]"
    if recreation == "Conditionally":
        return " [may force replacement]"
    return ""


@dataclass(frozen=True)
class Redaction:
    """What the template says must never be shown."""

    no_echo: frozenset[str] = frozenset()  # NoEcho parameter names

    @classmethod
    def from_template(cls, template: Mapping[str, Any] | None) -> Redaction:
        """The NoEcho parameters of a template (an empty rule set for None)."""
        parameters = (template or {}).get("Parameters") or {}
        hidden = {
            str(name)
            for name, spec in parameters.items()
            if str((spec or {}).get("NoEcho", "")).lower() == "true"
        }
        return cls(no_echo=frozenset(hidden))

    def properties(self, resource_type: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        """A resource's declared properties with every value a rule hides replaced by
        ``(redacted: <rule>)`` (an added resource's properties, shown whole)."""

        def hide(value: Any, path: str) -> Any:
            if resource_type == _SECRET_TYPE and path.split("/", 1)[0] in _SECRET_PATHS:
                return "(redacted: secret value)"
            if isinstance(value, Mapping):
                if set(value) == {"Ref"} and value["Ref"] in self.no_echo:
                    return f"(redacted: NoEcho parameter {value['Ref']})"
                return {
                    str(k): hide(v, f"{path}/{k}" if path else str(k)) for k, v in value.items()
                }
            if isinstance(value, list):
                return [hide(v, f"{path}/{i}") for i, v in enumerate(value)]
            if isinstance(value, str) and _DYNAMIC_REFERENCE in value:
                return "(redacted: dynamic reference)"
            return value

        return {str(k): hide(v, str(k)) for k, v in properties.items()}

    def rule(self, change: Change, detail: PropertyChange, path: str) -> str:
        """The rule that hides this property's values, or "" when they may be shown."""
        if detail.change_source == "ParameterReference" and detail.causing_entity in self.no_echo:
            return f"NoEcho parameter {detail.causing_entity}"
        if change.resource_type == _SECRET_TYPE and path.split("/", 1)[0] in _SECRET_PATHS:
            return "secret value"
        values = (detail.before_value or "", detail.after_value or "")
        if any(_DYNAMIC_REFERENCE in value for value in values):
            return "dynamic reference"
        return ""


def display_path(detail: PropertyChange) -> str:
    """The property's path below ``/Properties/`` (its name, or the attribute, without one)."""
    if detail.path.startswith(_PROPERTIES):
        return detail.path[len(_PROPERTIES) :]
    if detail.path:
        return detail.path.lstrip("/")
    return detail.name or detail.attribute


# A diff line longer than this is cut: a reviewer needs where it changed, not all of it.
MAX_LINE = 160


def _expand(value: Any) -> Any:
    """JSON documents inside a value (a dashboard body, a policy in a Fn::Sub) as structures,
    so that the diff shows the key that changed instead of one long line."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return _expand(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


def _pretty(value: str) -> list[str]:
    """A value's lines for diffing; JSON is re-indented so a one-line document diffs by key."""
    expanded = _expand(value)
    if isinstance(expanded, dict | list):
        return json.dumps(expanded, indent=2, sort_keys=True).splitlines()
    return value.splitlines() or [""]


def _cut(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def _is_long(value: str | None) -> bool:
    return value is not None and (len(value) > SHORT_VALUE or "\n" in value)


def is_policy_path(path: str) -> bool:
    """Whether a property path lies in a policy document (``PolicyDocument/Statement``, ...)."""
    return any(part in POLICY_PROPERTIES for part in path.split("/"))


def value_diff(
    before: str | None, after: str | None, *, context: int | None = 1, cut: bool = True
) -> tuple[str, ...]:
    """A unified diff of two long values (``context`` lines around each change; None: the whole
    value), lines and length cut at ``MAX_LINE`` and ``MAX_DIFF_LINES`` unless ``cut`` is off."""
    old, new = _pretty(before or ""), _pretty(after or "")
    n = max(len(old), len(new)) if context is None else context
    # The ---/+++ file headers name no files here.
    lines = list(difflib.unified_diff(old, new, lineterm="", n=n))[2:]
    if not cut:
        return tuple(lines)
    lines = [_cut(line) for line in lines]
    if len(lines) > MAX_DIFF_LINES:
        hidden = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"... ({hidden} more diff lines not shown)"]
    return tuple(lines)


def value_lines(change: Change, redaction: Redaction) -> tuple[ValueLine, ...]:
    """The change's property changes, one line per property path (duplicates merged)."""
    found: dict[str, ValueLine] = {}
    for detail in change.details:
        path = display_path(detail)
        # Attribute "Tags" is the stack's own tags reaching the resource (the template's Tags
        # property is Attribute "Properties"): said once per plan, not once per resource.
        if not path or detail.attribute == "Tags":
            continue
        rule = redaction.rule(change, detail, path)
        before, after = detail.before_value, detail.after_value
        if rule:
            before = after = None
        diff: tuple[str, ...] = ()
        whole: tuple[str, ...] = ()
        if not rule and (_is_long(before) or _is_long(after)):
            if is_policy_path(path):
                diff = value_diff(before, after, context=POLICY_CONTEXT, cut=False)
                whole = value_diff(before, after, context=None, cut=False)
            else:
                diff = value_diff(before, after)
        line = ValueLine(
            path=path,
            before=before,
            after=after,
            diff=diff,
            redacted=rule,
            recreation=detail.requires_recreation
            if detail.requires_recreation in ("Always", "Conditionally")
            else "",
            whole=whole,
        )
        previous = found.get(path)
        # CloudFormation may list one path once per cause (a direct edit and a reference):
        # keep the most telling record: redacted beats shown, values beat none, replacement wins.
        found[path] = line if previous is None else _merge(previous, line)
    return tuple(found.values())


def _merge(first: ValueLine, second: ValueLine) -> ValueLine:
    if first.redacted or second.redacted:
        keep = first if first.redacted else second
    else:
        keep = first if first.has_values or not second.has_values else second
    recreation = max(
        (first.recreation, second.recreation), key=lambda r: _RECREATION_RANK.get(r, 0)
    )
    return ValueLine(
        keep.path, keep.before, keep.after, keep.diff, keep.redacted, recreation, keep.whole
    )


_RECREATION_RANK = {"": 0, "Conditionally": 1, "Always": 2}


def tags_only(change: Change) -> bool:
    """A modification that only carries the stack's own tags (``template-sha256``, ...).

    CloudFormation reports a stack-level tag change on every taggable resource with Scope
    ``Tags`` (a template's own ``Tags`` property shows as Scope ``Properties``).
    """
    return change.action == "Modify" and set(change.scope) == {"Tags"}


def split_tags_only(changes: Iterable[Change]) -> tuple[list[Change], list[Change]]:
    """(the changes a reviewer must read, the tag-only ones folded into one line)."""
    shown: list[Change] = []
    folded: list[Change] = []
    for change in changes:
        (folded if tags_only(change) else shown).append(change)
    return shown, folded


def tags_only_line(folded: Iterable[Change], tag_keys: Iterable[str] = ()) -> str:
    """One line for every resource whose only change is the stack's tags ("" for none)."""
    ids = [c.logical_id for c in folded]
    if not ids:
        return ""
    keys = ", ".join(tag_keys) or "template-sha256, git-commit, ..."
    noun = "resource changes" if len(ids) == 1 else "resources change"
    return f"Tags only: {len(ids)} {noun} only the stack's own tags ({keys}): {', '.join(ids)}"
