"""A CloudFormation stand-in for execution paths moto cannot produce (a stale final status right
after ExecuteChangeSet, an update that fails and rolls back): it answers by state, not by call
order, and records the calls that matter so tests assert behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.deploy.conftest import stack


@dataclass
class Step:
    """What one poll after ExecuteChangeSet reveals: new events (newest first) and the stack."""

    events: list[dict[str, Any]]
    status: str
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. LastUpdatedTime


@dataclass
class FakeCloudFormation:
    """One stack: ``before`` until the change set runs, then one ``Step`` per events poll."""

    before: dict[str, Any]  # DescribeStacks fields of the stack before execution
    history: list[dict[str, Any]]  # its events so far, newest first
    steps: list[Step]
    executed: bool = False
    policies: list[str] = field(default_factory=list)  # every StackPolicyBody set, in order
    _shown: int = 0  # how many steps the events polls have revealed

    def can_paginate(self, operation: str) -> bool:
        return False

    def _current(self) -> tuple[str, dict[str, Any]]:
        if not self.executed or self._shown == 0:
            fields = dict(self.before)
            return str(fields.pop("StackStatus")), fields
        step = self.steps[self._shown - 1]
        return step.status, step.extra

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        status, fields = self._current()
        return stack(status, **fields)

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        if self.executed and self._shown < len(self.steps):
            self.history = self.steps[self._shown].events + self.history
            self._shown += 1
        return {"StackEvents": list(self.history)}

    def describe_change_set(self, ChangeSetName: str) -> dict[str, Any]:
        # Execution shows here no earlier than in the stack's events (reads may lag).
        running = any(step.events for step in self.steps[: self._shown])
        return {
            "ChangeSetId": ChangeSetName,
            "Status": "CREATE_COMPLETE",
            "ExecutionStatus": "EXECUTE_IN_PROGRESS" if running else "AVAILABLE",
        }

    def execute_change_set(self, ChangeSetName: str) -> dict[str, Any]:
        self.executed = True
        return {}

    def set_stack_policy(self, StackName: str, StackPolicyBody: str) -> dict[str, Any]:
        self.policies.append(StackPolicyBody)
        return {}

    def update_termination_protection(self, **_: Any) -> dict[str, Any]:
        return {}
