"""The guard: no change set removes or replaces a stateful resource without a reviewed allowance."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from generator.contracts import STATEFUL_TYPES
from generator.deploy.changeset import Change

__all__ = ["Violation", "judge", "stateful_ids"]


@dataclass(frozen=True)
class Violation:
    """A stateful resource the change set would remove or replace."""

    logical_id: str
    resource_type: str
    reason: str

    def __str__(self) -> str:
        return f"{self.logical_id} ({self.resource_type}): {self.reason}"


@dataclass(frozen=True)
class Verdict:
    """The guard's decision on a change set."""

    blocked: tuple[Violation, ...]
    allowed: tuple[Violation, ...]  # destructive but explicitly allowed
    unused_allowances: tuple[str, ...]  # allowed ids the change set does not touch destructively

    @property
    def ok(self) -> bool:
        """Whether the change set may be executed."""
        return not self.blocked


def _reason(change: Change) -> str:
    if change.action == "Remove":
        retained = (
            " (kept by DeletionPolicy Retain, but no longer managed)"
            if change.policy_action == "Retain"
            else ""
        )
        return f"removed{retained}"
    causes = sorted(
        {d.name or d.attribute for d in change.details if d.requires_recreation != "Never"}
    )
    because = f" because {', '.join(causes)} changed" if causes else ""
    word = "replaced" if change.replacement == "True" else "possibly replaced (Conditional)"
    return f"{word}{because}"


def violations(changes: Iterable[Change]) -> list[Violation]:
    """Every removal or (possible) replacement of a stateful resource."""
    return [
        Violation(change.logical_id, change.resource_type, _reason(change))
        for change in changes
        if change.resource_type in STATEFUL_TYPES and change.destructive
    ]


def judge(changes: Iterable[Change], allow: Iterable[str]) -> Verdict:
    """Block every stateful violation whose exact logical id is not allowed."""
    allowed_ids = set(allow)
    found = violations(changes)
    blocked = tuple(v for v in found if v.logical_id not in allowed_ids)
    allowed = tuple(v for v in found if v.logical_id in allowed_ids)
    unused = tuple(sorted(allowed_ids - {v.logical_id for v in found}))
    return Verdict(blocked=blocked, allowed=allowed, unused_allowances=unused)


def stateful_ids(template: dict[str, Any]) -> list[str]:
    """Logical ids of the template's stateful resources, sorted."""
    resources = template.get("Resources", {}) or {}
    return sorted(
        logical_id
        for logical_id, resource in resources.items()
        if resource.get("Type") in STATEFUL_TYPES
    )
