"""One stack through a change set: plan it, judge it, execute it or discard it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError

from generator.clock import Clock, Deadline
from generator.config import Environment
from generator.contracts import COMMIT_TAG, HANDLER_TAG, TEMPLATE_TAG
from generator.deploy import driftplan, guard, settings
from generator.deploy.artifacts import template_location
from generator.deploy.aws import Clients, Identity, error_code, error_message
from generator.deploy.changeset import (
    CREATE_TIMEOUT_SECONDS,
    ChangeSet,
    ChangeSetMissing,
    ChangeSetRequest,
    NoChanges,
    PlanRecord,
    change_set_name,
    create_change_set,
    delete_change_set,
    describe_change_set,
    explicit_parameters,
    template_sha256,
    wait_for_change_set,
)
from generator.deploy.events import (
    Out,
    Stack,
    StackResource,
    describe_stack,
    failure_message,
    latest_event_id,
    list_resources,
    wait_for_stack,
)
from generator.deploy.guard import Verdict
from generator.deploy.recovery import Ready, prepare_stack
from generator.errors import ExitCode, GeneratorError


@dataclass(frozen=True)
class StackSpec:
    """What one stack should be: its template, tags, allowances and settings."""

    environment: str
    stack_name: str
    template_body: str
    tags: dict[str, str]
    allow: tuple[str, ...] = ()
    termination_protection: bool = True
    # The shared bootstrap stack is only ever protected, never unprotected, by a deploy.
    protection_only_enables: bool = False
    notification_arns: tuple[str, ...] = ()
    rollback_monitoring_minutes: int = 0
    parameters: dict[str, str] = field(default_factory=dict)
    role_arn: str | None = None  # CloudFormation's service role; None keeps the stack's own
    drift_policy: str | None = None  # refuse | revert; None: drift is not assessed (bootstrap)

    @cached_property
    def template(self) -> dict[str, Any]:
        """The parsed template."""
        parsed: dict[str, Any] = json.loads(self.template_body)
        return parsed

    @cached_property
    def template_hash(self) -> str:
        """The template's sha256."""
        return template_sha256(self.template_body)


@dataclass(frozen=True)
class Context:
    """The outside world of a deploy: clients, identity, time, output and limits."""

    clients: Clients
    identity: Identity
    env: Environment
    clock: Clock
    out: Out
    timeout_seconds: float
    artifact_bucket: str | None = None  # for templates too large to send inline
    now: Any = None  # () -> datetime; None for the real UTC time
    # One deadline (clock seconds) for a whole deploy: recovery, bootstrap, change sets and
    # the execute wait share ``timeout_seconds`` instead of each getting all of it.
    deadline: Deadline | None = None

    def utcnow(self) -> datetime:
        """The current UTC time (for change set names)."""
        return self.now() if self.now else datetime.now(UTC)

    def with_deadline(self) -> Context:
        """This context with its deadline set ``timeout_seconds`` from now (kept if set)."""
        if self.deadline is not None:
            return self
        return replace(self, deadline=Deadline(self.clock, self.timeout_seconds))

    def remaining(self) -> float:
        """Seconds left before the deadline (``timeout_seconds`` when there is none)."""
        if self.deadline is None:
            return self.timeout_seconds
        return self.deadline.remaining()


@dataclass(frozen=True)
class Planned:
    """A created change set with its guard verdict."""

    change_set: ChangeSet
    change_set_type: str
    verdict: Verdict
    deployed: tuple[StackResource, ...]  # the stack's resources before the change
    created_stack: bool  # the change set created the (empty, REVIEW_IN_PROGRESS) stack
    drift: driftplan.DriftView | None = None  # the live stack's drift (None: not assessed)


@dataclass(frozen=True)
class UpToDate:
    """The stack already matches the template."""

    stack: Stack | None


def effective_tags(spec: StackSpec, stack: Stack | None) -> dict[str, str]:
    """The spec's tags, keeping the deployed commit when template and handler are unchanged.

    A new commit that changes neither would otherwise retag every resource on every merge,
    and no deploy could ever report "no changes".
    """
    tags = dict(spec.tags)
    if stack is None or COMMIT_TAG not in tags:
        return tags
    current = stack.tags
    unchanged = all(current.get(k) == tags.get(k) for k in (TEMPLATE_TAG, HANDLER_TAG))
    if unchanged and current.get(COMMIT_TAG):
        tags[COMMIT_TAG] = current[COMMIT_TAG]
    return tags


def plan_marker(stack: Stack | None) -> str:
    """What a kept plan records of its stack: its last change, or "new" before the first one.

    ``make_plan`` and ``load_kept`` both use this, so that a stack left in REVIEW_IN_PROGRESS
    (created by a change set never executed) reads "new" on both sides.
    """
    if stack is None or stack.status == "REVIEW_IN_PROGRESS":
        return "new"
    return stack.last_updated


def _request(
    ctx: Context, spec: StackSpec, ready: Ready, deployed: list[StackResource]
) -> ChangeSetRequest:
    identity = ctx.identity
    url = None
    if ctx.artifact_bucket:
        url = template_location(
            ctx.clients.s3, ctx.artifact_bucket, spec.stack_name, spec.template_body,
            spec.template_hash,
        )  # fmt: skip
    record = PlanRecord(spec.template_hash, plan_marker(ready.stack))
    triggers = settings.rollback_triggers(
        spec.template, deployed, identity.partition, ctx.clients.region, identity.account
    )
    return ChangeSetRequest(
        stack_name=spec.stack_name,
        name=change_set_name(spec.environment, spec.template_hash, ctx.utcnow()),
        change_set_type=ready.change_set_type,
        template_body=None if url else spec.template_body,
        template_url=url,
        parameters=tuple(explicit_parameters(spec.template, spec.parameters)),
        tags=effective_tags(spec, ready.stack),
        description=record.encode(),
        notification_arns=spec.notification_arns,
        rollback_triggers=tuple(triggers),
        rollback_monitoring_minutes=spec.rollback_monitoring_minutes if triggers else 0,
        role_arn=spec.role_arn,
        deployment_mode=driftplan.REVERT_DRIFT
        if spec.drift_policy == driftplan.REVERT and ready.change_set_type == "UPDATE"
        else None,
    )


def _drift(ctx: Context, spec: StackSpec, existing: bool) -> driftplan.DriftView | None:
    """The deployed stack's drift, when the spec asks for it."""
    if not spec.drift_policy or not existing:
        return None
    return driftplan.assess(
        ctx.clients.cloudformation, spec.stack_name, spec.template_body, ctx.clock,
        ctx.remaining(), spec.drift_policy, ctx.env.emulator,
    )  # fmt: skip


def make_plan(ctx: Context, spec: StackSpec) -> Planned | UpToDate:
    """Create the change set and judge it; an empty change set is deleted (UpToDate)."""
    cfn = ctx.clients.cloudformation
    ready = prepare_stack(cfn, spec.stack_name, ctx.env, ctx.clock, ctx.out, ctx.remaining())
    deployed = list_resources(cfn, spec.stack_name) if ready.change_set_type == "UPDATE" else []
    drift = _drift(ctx, spec, ready.change_set_type == "UPDATE")
    request = _request(ctx, spec, ready, deployed)
    change_set_id = create_change_set(cfn, request)
    try:
        change_set = wait_for_change_set(
            cfn, change_set_id, ctx.clock, min(CREATE_TIMEOUT_SECONDS, ctx.remaining())
        )
    except NoChanges:
        delete_change_set(cfn, change_set_id)
        return UpToDate(ready.stack)
    verdict = guard.judge(change_set.changes, spec.allow)
    return Planned(
        change_set=change_set,
        change_set_type=ready.change_set_type,
        verdict=verdict,
        deployed=tuple(deployed),
        created_stack=ready.stack is None,
        drift=drift,
    )


def discard(ctx: Context, planned: Planned) -> None:
    """Delete the change set, and the empty stack shell it created, leaving no trace."""
    cfn = ctx.clients.cloudformation
    delete_change_set(cfn, planned.change_set.id)
    if planned.created_stack:
        stack = describe_stack(cfn, planned.change_set.stack_id)
        if stack and stack.status == "REVIEW_IN_PROGRESS":
            try:
                cfn.delete_stack(StackName=planned.change_set.stack_id)
            except ClientError as exc:
                # A plan-only role may not delete stacks; the empty shell is harmless (the
                # next deploy creates into it).
                ctx.out(f"note: left the empty stack {planned.change_set.stack_name} in "
                        f"REVIEW_IN_PROGRESS ({error_message(exc)})")  # fmt: skip


def load_kept(ctx: Context, spec: StackSpec, change_set_id: str) -> Planned:
    """A change set kept by ``plan --keep``, refused (exit 3) when it is stale."""
    cfn = ctx.clients.cloudformation
    replan = f"run `python -m generator plan --env {spec.environment} --keep` again"
    try:
        change_set = describe_change_set(cfn, change_set_id)
    except ChangeSetMissing as exc:
        # Deleted or already executed (CloudFormation drops a stack's change sets after one
        # runs): the plan is stale, not the deploy broken.
        raise GeneratorError(f"stale plan: {exc}: {replan}", ExitCode.BLOCKED) from None
    if change_set.stack_name and change_set.stack_name != spec.stack_name:
        raise GeneratorError(
            f"change set {change_set_id} belongs to stack {change_set.stack_name}; expected "
            f"one of {spec.stack_name} (environment {spec.environment})",
            ExitCode.USAGE,
        )
    if change_set.status != "CREATE_COMPLETE" or change_set.execution_status != "AVAILABLE":
        raise GeneratorError(
            f"change set {change_set.name} is {change_set.status}/{change_set.execution_status}"
            f"; expected CREATE_COMPLETE/AVAILABLE: {replan}",
            ExitCode.BLOCKED,
        )
    record = PlanRecord.decode(change_set.description)
    if record is None or record.template_sha256 != spec.template_hash:
        found = record.template_sha256 if record else "no record"
        raise GeneratorError(
            f"stale plan: change set {change_set.name} was made from template {found}; the "
            f"committed template is {spec.template_hash}: {replan}",
            ExitCode.BLOCKED,
        )
    stack = describe_stack(cfn, spec.stack_name)
    now = plan_marker(stack)
    if now != record.stack_last_updated:
        raise GeneratorError(
            f"stale plan: stack {spec.stack_name} changed since change set {change_set.name} "
            f"was made (last update {now}; the plan saw {record.stack_last_updated}): {replan}",
            ExitCode.BLOCKED,
        )
    existing = stack is not None and stack.status != "REVIEW_IN_PROGRESS"
    deployed = list_resources(cfn, spec.stack_name) if existing else []
    return Planned(
        change_set=change_set,
        change_set_type="UPDATE" if existing else "CREATE",
        verdict=guard.judge(change_set.changes, spec.allow),
        deployed=tuple(deployed),
        created_stack=False,
        drift=_drift(ctx, spec, existing),
    )


def _protect(ctx: Context, spec: StackSpec, stack: Stack) -> None:
    current = stack.termination_protection
    if spec.protection_only_enables and not spec.termination_protection:
        return
    changed = settings.reconcile_termination_protection(
        ctx.clients.cloudformation, spec.stack_name, current, spec.termination_protection
    )
    if changed:
        state = "on" if spec.termination_protection else "off"
        ctx.out(f"termination protection of {spec.stack_name}: {state}")


def reconcile(ctx: Context, spec: StackSpec, stack: Stack) -> None:
    """Termination protection and stack policy as the environment file says."""
    _protect(ctx, spec, stack)
    deployed = list_resources(ctx.clients.cloudformation, spec.stack_name)
    protected = set(guard.stateful_ids(spec.template)) | set(
        settings.deployed_stateful_ids(deployed)
    )
    settings.set_stack_policy(
        ctx.clients.cloudformation, spec.stack_name, settings.stack_policy(protected)
    )


def execute(ctx: Context, spec: StackSpec, planned: Planned) -> Stack:
    """Execute a judged change set and wait; return the stack. Blocked → 3, failed → 4."""
    cfn = ctx.clients.cloudformation
    if not planned.verdict.ok:
        discard(ctx, planned)
        ids = ", ".join(v.logical_id for v in planned.verdict.blocked)
        raise GeneratorError(
            f"blocked by the guard: the change set would remove or replace stateful resources "
            f"({ids}); it has been deleted. See the plan above for how to allow a reviewed "
            "replacement",
            ExitCode.BLOCKED,
        )
    if planned.drift is not None and planned.drift.refuses:
        discard(ctx, planned)
        raise driftplan.refusal(planned.drift, spec.environment)
    if ctx.remaining() <= 0:
        discard(ctx, planned)
        raise GeneratorError(
            f"timed out: the deploy's {_minutes(ctx.timeout_seconds)} ran out before change set "
            f"{planned.change_set.name} could be executed; nothing was executed and the change "
            "set has been deleted. Deploy again (or raise deploy.timeout_minutes)",
            ExitCode.TIMED_OUT,
        )
    stack_id = planned.change_set.stack_id or spec.stack_name
    current_stateful = settings.deployed_stateful_ids(planned.deployed)
    final_policy = settings.stack_policy(
        set(guard.stateful_ids(spec.template)) | set(current_stateful)
    )
    before: Stack | None = None  # the stack as it was, to see the execution begin
    if planned.change_set_type == "UPDATE":
        before = describe_stack(cfn, stack_id)
        if before:
            _protect(ctx, spec, before)
        # ExecuteChangeSet has no "policy during update": lift the allowed ids for this run only.
        settings.set_stack_policy(
            cfn,
            stack_id,
            settings.policy_during_update(spec.template, current_stateful, spec.allow),
        )
    since = latest_event_id(cfn, stack_id)
    ctx.out(f"executing change set {planned.change_set.name} on {spec.stack_name}")
    try:
        cfn.execute_change_set(ChangeSetName=planned.change_set.id)
    except ClientError as exc:
        raise GeneratorError(
            f"cannot execute change set {planned.change_set.name}: {error_message(exc)}",
            ExitCode.FAILED,
        ) from None
    started = execution_started(cfn, planned.change_set.id, before)
    try:
        outcome = wait_for_stack(
            cfn, stack_id, ctx.clock, ctx.out, ctx.remaining(), since, started=started
        )
    finally:
        _restore_policy(ctx, stack_id, final_policy)
    if not outcome.succeeded:
        what = "Creation" if planned.change_set_type == "CREATE" else "Update"
        raise GeneratorError(failure_message(what, spec.stack_name, outcome), ExitCode.FAILED)
    stack = describe_stack(cfn, stack_id) or Stack(spec.stack_name, stack_id, outcome.status)
    if planned.change_set_type == "CREATE":
        _protect(ctx, spec, stack)
    ctx.out(f"{spec.stack_name}: {outcome.status}")
    return stack


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:g}-minute limit" if minutes >= 1 else f"{seconds:g}-second limit"


def execution_started(
    cfn: Any, change_set_id: str, before: Stack | None
) -> Callable[[Stack | None], bool]:
    """Whether an executed change set has visibly begun, judged from the stack and the set.

    The stack changed since ``before`` (a newer LastUpdatedTime), or the change set left
    ExecutionStatus AVAILABLE (or is gone: CloudFormation deletes a stack's change sets once one
    has run).
    """
    previous = before.last_updated if before else ""

    def started(stack: Stack | None) -> bool:
        if stack is None or (previous and stack.last_updated != previous):
            return True
        try:
            reply = cfn.describe_change_set(ChangeSetName=change_set_id)
        except ClientError as exc:
            return error_code(exc) == "ChangeSetNotFound"
        return str(reply.get("ExecutionStatus", "")) != "AVAILABLE"

    return started


def _restore_policy(ctx: Context, stack_id: str, policy: dict[str, Any]) -> None:
    """Put the full policy back; never hides the deploy's own outcome."""
    cfn = ctx.clients.cloudformation
    stack = describe_stack(cfn, stack_id)
    if stack is None or stack.status in ("DELETE_COMPLETE", "ROLLBACK_COMPLETE"):
        return
    try:
        settings.set_stack_policy(cfn, stack_id, policy)
    except GeneratorError as exc:
        ctx.out(f"warning: {exc}; set it again by deploying once more")


def outputs(stack: Stack) -> dict[str, str]:
    """The stack's outputs."""
    return dict(stack.outputs)
