"""CloudFormation stand-ins for paths moto cannot produce (a stale final status right after
ExecuteChangeSet, an update that fails and rolls back, a kept change set whose stack changed or
whose template was forged): they answer by state, not by call order, and record the calls that
matter so tests assert behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

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


@dataclass
class FakeKeptPlan:
    """One kept change set and its stack, as CloudFormation reports them; the test edits the
    state (the stack updated since, another template, a forged Description) and the fake answers
    from it. ``template`` is what GetTemplate returns: a dict, as boto3 parses a JSON body, or
    text."""

    change_set: dict[str, Any]  # DescribeChangeSet fields
    template: Any
    stack: dict[str, Any] | None  # DescribeStacks fields; None once the stack is gone
    template_reads: list[dict[str, str]] = field(default_factory=list)  # GetTemplate arguments
    resources: list[dict[str, Any]] = field(default_factory=list)  # ListStackResources summaries

    def can_paginate(self, operation: str) -> bool:
        return False

    def describe_change_set(self, ChangeSetName: str, **_: Any) -> dict[str, Any]:
        if ChangeSetName not in (self.change_set["ChangeSetId"], self.change_set["ChangeSetName"]):
            raise _error("ChangeSetNotFound", f"ChangeSet [{ChangeSetName}] does not exist")
        return dict(self.change_set)

    def get_template(self, **kwargs: str) -> dict[str, Any]:
        self.template_reads.append(kwargs)
        return {"TemplateBody": self.template, "StagesAvailable": ["Original", "Processed"]}

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        known = self.stack and StackName in (self.stack["StackName"], self.stack["StackId"])
        if not self.stack or not known:
            raise _error("ValidationError", f"Stack with id {StackName} does not exist")
        return {"Stacks": [dict(self.stack)]}

    def list_stack_resources(self, StackName: str) -> dict[str, Any]:
        return {"StackResourceSummaries": [dict(r) for r in self.resources]}


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Fake")
