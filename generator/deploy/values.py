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
# A diff longer than this is cut (the change set itself holds the rest).
MAX_DIFF_LINES = 12
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


def value_diff(before: str | None, after: str | None) -> tuple[str, ...]:
    """A unified diff of two long values (one line of context), cut at ``MAX_DIFF_LINES``."""
    lines = list(
        difflib.unified_diff(_pretty(before or ""), _pretty(after or ""), lineterm="", n=1)
    )[2:]  # the ---/+++ file headers name no files here
    lines = [_cut(line) for line in lines]
    if len(lines) > MAX_DIFF_LINES:
        cut = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"... ({cut} more diff lines not shown)"]
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
        if not rule and (_is_long(before) or _is_long(after)):
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
    return ValueLine(keep.path, keep.before, keep.after, keep.diff, keep.redacted, recreation)


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
