"""Stacks, their events, waiting with a log line per event, and the root cause of a failure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from generator.clock import Clock, Deadline, poll, quickly_then
from generator.deploy.aws import aware_utc, error_message, is_missing_stack, pages
from generator.errors import ExitCode, GeneratorError

Out = Callable[[str], None]

# Stack waits look after 1, 3 and 5 seconds, then every 5 (most updates of this stack are short).
POLL_SECONDS = quickly_then((1.0, 2.0, 2.0), 5.0)
HEARTBEAT_SECONDS = 60.0
SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"})
# Reasons of resources stopped because another resource failed: symptoms, not causes.
_SYMPTOMS = ("Resource creation cancelled", "Resource update cancelled", "cancelled")


@dataclass(frozen=True)
class Stack:
    """What the deploy reads of a stack's description (DescribeStacks)."""

    name: str
    stack_id: str
    status: str
    status_reason: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    termination_protection: bool | None = None  # None: the description does not say
    last_updated: str = ""  # ISO time of the last change (its creation when never updated)
    changed_at: datetime | None = None  # the same moment, as an aware datetime
    role_arn: str = ""  # the CloudFormation service role the stack runs with ("" for none)
    parameters: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> Stack:
        """From DescribeStacks' shape."""
        changed = raw.get("LastUpdatedTime") or raw.get("CreationTime")
        protection = raw.get("EnableTerminationProtection")
        return cls(
            name=str(raw.get("StackName", "")),
            stack_id=str(raw.get("StackId", "")),
            status=str(raw.get("StackStatus", "")),
            status_reason=str(raw.get("StackStatusReason", "") or ""),
            tags={str(t["Key"]): str(t["Value"]) for t in raw.get("Tags", [])},
            outputs={
                str(o["OutputKey"]): str(o.get("OutputValue", "")) for o in raw.get("Outputs", [])
            },
            termination_protection=None if protection is None else bool(protection),
            last_updated=(
                changed.isoformat() if isinstance(changed, datetime) else str(changed or "")
            ),
            changed_at=aware_utc(changed),
            role_arn=str(raw.get("RoleARN", "") or ""),
            parameters={
                str(p["ParameterKey"]): str(p.get("ParameterValue", ""))
                for p in raw.get("Parameters", [])
            },
        )


@dataclass(frozen=True)
class StackResource:
    """One resource of a deployed stack (ListStackResources)."""

    logical_id: str
    resource_type: str
    physical_id: str = ""
    status: str = ""
    status_reason: str = ""

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> StackResource:
        """From ListStackResources' shape."""
        return cls(
            logical_id=str(raw.get("LogicalResourceId", "")),
            resource_type=str(raw.get("ResourceType", "")),
            physical_id=str(raw.get("PhysicalResourceId", "") or ""),
            status=str(raw.get("ResourceStatus", "")),
            status_reason=str(raw.get("ResourceStatusReason", "") or ""),
        )


def describe_stack(cfn: Any, stack: str) -> Stack | None:
    """The stack's description, or None when no such stack exists."""
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if is_missing_stack(exc):
            return None
        raise GeneratorError(
            f"cannot describe stack {stack}: {error_message(exc)}", ExitCode.FAILED
        ) from None
    return Stack.parse(stacks[0]) if stacks else None


def list_resources(cfn: Any, stack: str) -> list[StackResource]:
    """Every resource of the stack, all pages."""
    return [
        StackResource.parse(summary)
        for page in pages(cfn, "list_stack_resources", StackName=stack)
        for summary in page.get("StackResourceSummaries", [])
    ]


@dataclass(frozen=True)
class Event:
    """One stack event."""

    event_id: str
    timestamp: datetime | None
    logical_id: str
    resource_type: str
    status: str
    reason: str

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Event:
        """From DescribeStackEvents' shape."""
        stamp = raw.get("Timestamp")
        return cls(
            event_id=str(raw.get("EventId", "")),
            timestamp=stamp if isinstance(stamp, datetime) else None,
            logical_id=str(raw.get("LogicalResourceId", "")),
            resource_type=str(raw.get("ResourceType", "")),
            status=str(raw.get("ResourceStatus", "")),
            reason=str(raw.get("ResourceStatusReason", "") or ""),
        )

    def line(self) -> str:
        """One plain log line: timestamp, status, logical id, type, reason."""
        stamp = self.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ") if self.timestamp else "-"
        text = f"{stamp}  {self.status:<28} {self.logical_id}  [{self.resource_type}]"
        return f"{text}  {self.reason}" if self.reason else text


def new_events(cfn: Any, stack: str, seen: str | None) -> list[Event]:
    """Events newer than the event id ``seen``, oldest first (all events when ``seen`` is None)."""
    found: list[Event] = []
    for page in pages(cfn, "describe_stack_events", StackName=stack):
        for raw in page.get("StackEvents", []):  # newest first
            event = Event.parse(raw)
            if seen is not None and event.event_id == seen:
                return list(reversed(found))
            found.append(event)
    return list(reversed(found))


def latest_event_id(cfn: Any, stack: str) -> str | None:
    """The id of the stack's newest event (the point after which to stream)."""
    try:
        events = cfn.describe_stack_events(StackName=stack).get("StackEvents", [])
    except ClientError as exc:
        if is_missing_stack(exc):
            return None
        raise
    return str(events[0]["EventId"]) if events else None


def _is_stack(event: Event, stack_name: str) -> bool:
    return event.resource_type == "AWS::CloudFormation::Stack" or event.logical_id == stack_name


def root_cause(events: Iterable[Event], stack_name: str) -> list[Event]:
    """The earliest failed resource events: the cause, not the stack's "rollback requested"."""
    failed = [e for e in events if e.status.endswith("_FAILED") and not _is_stack(e, stack_name)]
    causes = [e for e in failed if not any(s in e.reason for s in _SYMPTOMS)] or failed
    return causes[:5]


def stack_failure_reasons(events: Iterable[Event], stack_name: str) -> list[Event]:
    """The stack's own failed events that carry a reason (where moto, for one, puts the cause)."""
    return [
        e
        for e in events
        if _is_stack(e, stack_name) and e.status.endswith("_FAILED") and e.reason.strip()
    ][:5]


@dataclass(frozen=True)
class StackOutcome:
    """How a wait ended."""

    status: str
    status_reason: str
    events: tuple[Event, ...]

    @property
    def succeeded(self) -> bool:
        """The operation finished as asked."""
        return self.status in SUCCESS


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def running(status: str) -> bool:
    """An operation is under way (REVIEW_IN_PROGRESS is a stack waiting for its first one)."""
    return status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


@dataclass
class _Watch:
    """What a wait has seen: the last event, whether the operation has begun, the status, and
    when something was last printed (for the heartbeat)."""

    event: str | None
    begun: bool
    output: float
    status: str = ""


def wait_for_stack(
    cfn: Any,
    stack_id: str,
    clock: Clock,
    out: Out,
    timeout_seconds: float,
    since_event: str | None,
    done: Callable[[str], bool] | None = None,
    started: Callable[[Stack | None], bool] | None = None,
) -> StackOutcome:
    """Stream events until the stack leaves ``*_IN_PROGRESS``; raise on timeout (exit 5).

    ``stack_id`` should be the stack's ARN so that a deleted stack can still be described.
    With ``started``, a final status counts only once the operation has visibly begun: a new
    event since ``since_event``, a running status, or ``started(stack)``. Right after an
    asynchronous request (ExecuteChangeSet) the stack may still show its previous final status.
    """
    finished = done or (lambda status: not status.endswith("_IN_PROGRESS"))
    deadline = Deadline(clock, timeout_seconds)
    start = deadline.start
    seen = _Watch(event=since_event, begun=started is None, output=start)
    collected: list[Event] = []

    def settled() -> StackOutcome | None:
        for event in new_events(cfn, stack_id, seen.event):
            out(event.line())
            collected.append(event)
            seen.event, seen.output, seen.begun = event.event_id, clock.now(), True
        stack = describe_stack(cfn, stack_id)
        status = stack.status if stack else "DELETE_COMPLETE"
        seen.status = status
        if not seen.begun and started is not None:
            seen.begun = running(status) or started(stack)
        if seen.begun and finished(status):
            reason = stack.status_reason if stack else ""
            return StackOutcome(status, reason, tuple(collected))
        return None

    def timed_out(now: float) -> GeneratorError:
        status = seen.status
        state = status if seen.begun else f"{status} (the requested operation has not begun)"
        return GeneratorError(
            f"timed out after {_elapsed(now - start)} of waiting (the time limit left "
            f"{_elapsed(max(timeout_seconds, 0))}): stack {stack_id} is still {state}. "
            "It goes on without us; watch it with `aws cloudformation describe-stack-events "
            f"--stack-name {stack_id}` and rerun when it has finished",
            ExitCode.TIMED_OUT,
        )

    def heartbeat(now: float) -> None:
        if now - seen.output >= HEARTBEAT_SECONDS:
            out(f"... still {seen.status} ({_elapsed(now - start)} elapsed)")
            seen.output = now

    return poll(deadline, POLL_SECONDS, settled, timed_out, heartbeat)


def failure_message(what: str, stack: str, outcome: StackOutcome) -> str:
    """A failure summary naming the root cause."""
    causes = root_cause(outcome.events, stack)
    lines = [f"{what} of stack {stack} failed: it is {outcome.status}."]
    if causes:
        lines.append("Root cause (earliest failed resources):")
        lines.extend(f"  {c.logical_id} [{c.resource_type}] {c.status}: {c.reason}" for c in causes)
        return "\n".join(lines)
    # No resource failed on record: the stack's own failure events are the best cause we have.
    stack_events = stack_failure_reasons(outcome.events, stack)
    if stack_events:
        lines.append("Root cause (the stack's own failure events; no resource failure reported):")
        lines.extend(f"  {e.logical_id} {e.status}: {e.reason}" for e in stack_events)
    if outcome.status_reason and outcome.status_reason not in {e.reason for e in stack_events}:
        lines.append(f"Stack reason: {outcome.status_reason}")
    if len(lines) == 1:
        lines.append(
            "CloudFormation reported no reason; list the events with `aws cloudformation "
            f"describe-stack-events --stack-name {stack}`"
        )
    return "\n".join(lines)
