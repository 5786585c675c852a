"""One stack through a change set: plan it, judge it, execute it or discard it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator import interrupts, naming
from generator.clock import Clock, Deadline
from generator.config import Environment
from generator.contracts import COMMIT_TAG, HANDLER_TAG, TEMPLATE_TAG
from generator.deploy import driftplan, guard, protection
from generator.deploy.artifacts import TEMPLATE_PREFIX, pull_request_prefix, template_location
from generator.deploy.aws import Clients, Identity, error_code, error_message, is_missing_stack
from generator.deploy.changeset import (
    CAPABILITIES,
    CREATE_TIMEOUT_SECONDS,
    ChangeSet,
    ChangeSetMissing,
    ChangeSetRequest,
    NoChanges,
    PlanRecord,
    canonical_template_sha256,
    change_set_name,
    change_set_template,
    create_change_set,
    delete_change_set,
    describe_change_set,
    explicit_parameters,
    template_sha256,
    wait_for_change_set,
)
from generator.deploy.guard import Verdict
from generator.deploy.recovery import Ready, prepare_stack
from generator.deploy.stacks import (
    Out,
    Stack,
    StackResource,
    describe_stack,
    failure_message,
    latest_event_id,
    list_resources,
    wait_for_stack,
)
from generator.errors import ExitCode, GeneratorError
from generator.naming import template_file


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
    # The change set name's prefix (naming.CHANGE_SET_*): which CI role may run or delete it.
    change_set_purpose: str = naming.CHANGE_SET_DEPLOY

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
    """What a plan notes of its stack: its last change, or "new" before the first one.

    Written into the change set's Description for people reading it; never read back to decide
    anything (``load_kept`` asks CloudFormation instead).
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
        prefix = (
            pull_request_prefix() if spec.change_set_purpose == naming.CHANGE_SET_PR
            else TEMPLATE_PREFIX
        )  # fmt: skip
        url = template_location(
            ctx.clients.s3, ctx.artifact_bucket, spec.stack_name, spec.template_body,
            spec.template_hash, prefix,
        )  # fmt: skip
    record = PlanRecord(spec.template_hash, plan_marker(ready.stack))
    triggers = protection.rollback_triggers(
        spec.template, deployed, identity.partition, ctx.clients.region, identity.account
    )
    return ChangeSetRequest(
        stack_name=spec.stack_name,
        name=change_set_name(
            spec.environment, spec.template_hash, ctx.utcnow(), spec.change_set_purpose
        ),
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
    except ChangeSetMissing as exc:
        # Gone between CreateChangeSet and reading it: another deploy executed a change set on
        # the stack, which deletes the others (as at ExecuteChangeSet, ``_execute_once``).
        raise GeneratorError(
            f"{exc}: change set {request.name} was deleted as soon as it was made; the stack "
            "changed meanwhile (another deploy executed a change set, which deletes the others). "
            "Nothing was executed; plan or deploy again",
            ExitCode.BLOCKED,
        ) from None
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


@dataclass(frozen=True)
class KeptFacts:
    """What CloudFormation itself says about a kept change set, none of it written by its maker.

    The Description and Tags of a change set are whatever its creator chose, so they are not here.
    """

    change_set: ChangeSet
    template_sha256: str  # canonical sha256 of the change set's own template (GetTemplate)
    stack: Stack | None  # the change set's stack as it is now


# The status of a stack that a change set created and nothing has executed on yet.
_NEVER_EXECUTED = "REVIEW_IN_PROGRESS"


def _template_reason(spec: StackSpec, facts: KeptFacts) -> list[str]:
    committed = canonical_template_sha256(spec.template)
    if facts.template_sha256 == committed:
        return []
    return [
        f"change set {facts.change_set.name}'s template (sha256 {facts.template_sha256}) is "
        f"not the committed {template_file(spec.environment)} (sha256 {committed})"
    ]


def _parameter_reasons(spec: StackSpec, change_set: ChangeSet) -> list[str]:
    expected = {p["ParameterKey"]: p["ParameterValue"]
                for p in explicit_parameters(spec.template, spec.parameters)}  # fmt: skip
    found = dict(change_set.parameters)
    declared = spec.template.get("Parameters", {}) or {}
    reasons = []
    for key in sorted(set(expected) | set(found)):
        want, got = expected.get(key), found.get(key)
        # CloudFormation masks NoEcho values as "****": only their presence can be compared.
        masked = bool(declared.get(key, {}).get("NoEcho")) and got == "****" and want is not None
        if want != got and not masked:
            reasons.append(
                f"change set {change_set.name} sets parameter {key} to {got!r}; expected {want!r}"
            )
    return reasons


def _capability_reasons(change_set: ChangeSet) -> list[str]:
    extra = sorted(set(change_set.capabilities) - set(CAPABILITIES))
    if not extra:
        return []
    return [
        f"change set {change_set.name} acknowledges capabilities {extra}; a plan made by this "
        f"tool acknowledges only {list(CAPABILITIES)}"
    ]


def _mode_reasons(spec: StackSpec, facts: KeptFacts) -> list[str]:
    """A drift-aware change set exactly when ``deploy.drift: revert`` asks for one."""
    stack = facts.stack
    updates = stack is not None and stack.status != _NEVER_EXECUTED
    revert = spec.drift_policy == driftplan.REVERT and updates
    expected = driftplan.REVERT_DRIFT if revert else ""
    found = facts.change_set.deployment_mode
    if found == expected:
        return []
    return [
        f"change set {facts.change_set.name} has DeploymentMode {found or '(none)'}; expected "
        f"{expected or '(none)'} (deploy.drift: {spec.drift_policy or driftplan.REFUSE})"
    ]


def _stack_reasons(spec: StackSpec, facts: KeptFacts) -> list[str]:
    stack = facts.stack
    if stack is None or stack.status == "DELETE_COMPLETE":
        return [f"stack {spec.stack_name} no longer exists"]
    return _change_reasons(spec.stack_name, facts.change_set, stack)


def _change_reasons(stack_name: str, change_set: ChangeSet, stack: Stack) -> list[str]:
    """Whether the stack changed, or is changing, after the change set was made."""
    if stack.status == _NEVER_EXECUTED:
        return []  # nothing has run on it, so nothing can have changed it since
    if stack.status.endswith("_IN_PROGRESS"):
        return [f"stack {stack_name} is {stack.status}: it is changing after the plan"]
    if change_set.created_at is None or stack.changed_at is None:
        return [f"cannot tell whether stack {stack_name} changed after change set "
                f"{change_set.name} was made (CloudFormation reported no time)"]  # fmt: skip
    if stack.changed_at > change_set.created_at:
        return [
            f"stack {stack_name} was updated at {stack.changed_at.isoformat()} after the "
            f"plan was made at {change_set.created_at.isoformat()} ({stack.status})"
        ]
    return []


def _role_reasons(spec: StackSpec, facts: KeptFacts) -> list[str]:
    """The service role, as far as CloudFormation shows it.

    DescribeChangeSet does not report a change set's RoleARN. A change set that created its
    stack gave that stack its role, so there the stack shows it; on an existing stack the role
    shown is the one it already runs with, which an update change set keeps unless it names
    another. A role change therefore cannot be verified and is refused: deploy without
    ``--change-set`` to change the role.
    """
    stack = facts.stack
    if stack is None:
        return []
    current = stack.role_arn
    expected = spec.role_arn
    if expected and current != expected:
        return [
            f"stack {spec.stack_name} runs with role {current or '(none)'}, not the expected "
            f"CloudFormation role {expected}; a change set's own role cannot be read back, so a "
            "kept plan cannot change it (deploy without --change-set)"
        ]
    if not expected and current and stack.status == _NEVER_EXECUTED:
        return [
            f"change set {facts.change_set.name} gave the new stack {spec.stack_name} the role "
            f"{current}, but no --role-arn was given; expected the role the plan was made with"
        ]
    return []


def _tag_reasons(spec: StackSpec, facts: KeptFacts) -> list[str]:
    """The stack's tags (and so every resource's) exactly as a plan made now would set them."""
    expected = effective_tags(spec, facts.stack)
    found = dict(facts.change_set.tags)
    differences = []
    for key in sorted(set(expected) | set(found)):
        want, got = expected.get(key), found.get(key)
        if want is None:
            differences.append(f"adds {key}={got!r}")
        elif got is None:
            differences.append(f"drops {key} (expected {want!r})")
        elif got != want:
            differences.append(f"sets {key} to {got!r} (expected {want!r})")
    if not differences:
        return []
    return [f"change set {facts.change_set.name} tags the stack otherwise than the environment "
            f"implies: {', '.join(differences)}"]  # fmt: skip


def _notification_reasons(spec: StackSpec, change_set: ChangeSet) -> list[str]:
    expected, found = set(spec.notification_arns), set(change_set.notification_arns)
    if found == expected:
        return []
    return [
        f"change set {change_set.name} sends stack events to {sorted(found) or '(none)'}; "
        f"expected deploy.notification_arns {sorted(expected) or '(none)'}"
    ]


def _rollback_reasons(
    spec: StackSpec, change_set: ChangeSet, triggers: Sequence[Mapping[str, str]]
) -> list[str]:
    """The rollback triggers and monitoring time a plan made now would set."""
    expected = {(t["Arn"], t["Type"]) for t in triggers}
    found = set(change_set.rollback_triggers)
    reasons = []
    if found != expected:
        reasons.append(
            f"change set {change_set.name} has the rollback triggers "
            f"{sorted(a for a, _ in found) or '(none)'}; expected "
            f"{sorted(a for a, _ in expected) or '(none)'} (the stack's rollback alarms)"
        )
    minutes = spec.rollback_monitoring_minutes if triggers else 0
    if change_set.rollback_monitoring_minutes != minutes:
        reasons.append(
            f"change set {change_set.name} monitors its rollback triggers for "
            f"{change_set.rollback_monitoring_minutes} minutes; expected {minutes}"
        )
    return reasons


def _failure_reasons(change_set: ChangeSet) -> list[str]:
    """A plan made by this tool never imports resources and rolls back when it fails."""
    reasons = []
    if change_set.import_existing_resources:
        reasons.append(
            f"change set {change_set.name} imports existing resources "
            "(ImportExistingResources); a plan made by this tool never does"
        )
    imported = sorted(c.logical_id for c in change_set.changes if c.action == "Import")
    if imported:
        reasons.append(f"change set {change_set.name} imports {imported} into the stack; a "
                       "plan made by this tool never does")  # fmt: skip
    if change_set.on_stack_failure not in ("", "ROLLBACK"):
        reasons.append(
            f"change set {change_set.name} has OnStackFailure {change_set.on_stack_failure}; "
            "expected ROLLBACK (CloudFormation's default, which a plan made by this tool keeps)"
        )
    return reasons


def stale_reasons(
    spec: StackSpec, facts: KeptFacts, triggers: Sequence[Mapping[str, str]] = ()
) -> list[str]:
    """Why a kept change set no longer is (or never was) the plan of the committed template.

    ``triggers`` are the rollback triggers a plan made now would set (``_request``): every input
    of CreateChangeSet that CloudFormation reports back is compared; the role, which it does not
    report, is judged from the stack (``_role_reasons``).
    """
    change_set = facts.change_set
    return [
        *_template_reason(spec, facts),
        *_parameter_reasons(spec, change_set),
        *_capability_reasons(change_set),
        *_mode_reasons(spec, facts),
        *_tag_reasons(spec, facts),
        *_notification_reasons(spec, change_set),
        *_rollback_reasons(spec, change_set, triggers),
        *_failure_reasons(change_set),
        *_stack_reasons(spec, facts),
        *_role_reasons(spec, facts),
    ]


def load_kept(ctx: Context, spec: StackSpec, change_set_id: str) -> Planned:
    """A change set kept by ``plan --keep``, refused (exit 3) when stale or not ours.

    Freshness is judged only from what CloudFormation reports (the change set's own template,
    parameters, capabilities, deployment mode, tags, notification ARNs, rollback configuration,
    imports, failure mode and status, the stack's role and last change), never from the change
    set's Description, which its creator writes.
    """
    cfn = ctx.clients.cloudformation
    replan = f"run `python -m generator plan --env {spec.environment} --keep` again"
    try:
        change_set = describe_change_set(cfn, change_set_id)
        if change_set.stack_name and change_set.stack_name != spec.stack_name:
            raise GeneratorError(
                f"change set {change_set_id} belongs to stack {change_set.stack_name}; expected "
                f"one of {spec.stack_name} (environment {spec.environment})",
                ExitCode.USAGE,
            )
        if not change_set.name.startswith(f"{naming.CHANGE_SET_KEPT}-"):
            # Only `plan --keep` (the main branch's plan role) makes these; IAM holds the deploy
            # role to them too (ci-access), so a pull request's change set is never applied.
            raise GeneratorError(
                f"change set {change_set.name} was not kept by `plan --keep`; expected a name "
                f"starting with {naming.CHANGE_SET_KEPT}-: {replan}",
                ExitCode.BLOCKED,
            )
        if change_set.status != "CREATE_COMPLETE" or change_set.execution_status != "AVAILABLE":
            raise GeneratorError(
                f"stale plan: change set {change_set.name} is {change_set.status}/"
                f"{change_set.execution_status}; expected CREATE_COMPLETE/AVAILABLE: {replan}",
                ExitCode.BLOCKED,
            )
        body = change_set_template(cfn, spec.stack_name, change_set.id)
    except ChangeSetMissing as exc:
        # Deleted or already executed (CloudFormation drops a stack's change sets after one
        # runs): the plan is stale, not the deploy broken.
        raise GeneratorError(f"stale plan: {exc}: {replan}", ExitCode.BLOCKED) from None
    # The stack the change set would run on (by id: a stack of the same name made later is not it).
    stack = describe_stack(cfn, change_set.stack_id or spec.stack_name)
    facts = KeptFacts(change_set, canonical_template_sha256(body), stack)
    existing = stack is not None and stack.status not in (_NEVER_EXECUTED, "DELETE_COMPLETE")
    deployed = list_resources(cfn, change_set.stack_id or spec.stack_name) if existing else []
    identity = ctx.identity
    triggers = protection.rollback_triggers(
        spec.template, deployed, identity.partition, ctx.clients.region, identity.account
    )
    reasons = stale_reasons(spec, facts, triggers)
    if reasons:
        raise GeneratorError(
            f"stale plan: change set {change_set.name} is not a plan of the committed template "
            f"on the stack as it is now: {'; '.join(reasons)}: {replan}",
            ExitCode.BLOCKED,
        )
    # Drift is not assessed again: ``deploy.drift`` was judged when the plan was made (a plan
    # refused for drift is not kept), the stack has not changed since (stale_reasons), and the
    # apply role holds no drift-detection reads (docs/plans.md).
    return Planned(
        change_set=change_set,
        change_set_type="UPDATE" if existing else "CREATE",
        verdict=guard.judge(change_set.changes, spec.allow),
        deployed=tuple(deployed),
        created_stack=False,
    )


def _protect(ctx: Context, spec: StackSpec, stack: Stack) -> None:
    current = stack.termination_protection
    if spec.protection_only_enables and not spec.termination_protection:
        return
    changed = protection.reconcile_termination_protection(
        ctx.clients.cloudformation, spec.stack_name, current, spec.termination_protection
    )
    if changed:
        state = "on" if spec.termination_protection else "off"
        ctx.out(f"termination protection of {spec.stack_name}: {state}")


def reconcile(ctx: Context, spec: StackSpec, stack: Stack) -> None:
    """Termination protection and stack policy as the environment file says."""
    _protect(ctx, spec, stack)
    deployed = list_resources(ctx.clients.cloudformation, spec.stack_name)
    policy = protection.policy_for_template(
        spec.template, protection.deployed_stateful_ids(deployed)
    )
    protection.set_stack_policy(ctx.clients.cloudformation, spec.stack_name, policy)


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
    current_stateful = protection.deployed_stateful_ids(planned.deployed)
    final_policy = protection.policy_for_template(spec.template, current_stateful)
    during = protection.policy_during_update(spec.template, current_stateful, spec.allow)
    before: Stack | None = None  # the stack as it was, to see the execution begin
    try:
        if planned.change_set_type == "UPDATE":
            before = describe_stack(cfn, stack_id)
            if before:
                _protect(ctx, spec, before)
            # ExecuteChangeSet has no "policy during update": lift the allowed ids for this run
            # only; the finally below puts the full policy back however this ends.
            protection.set_stack_policy(cfn, stack_id, during)
        since = latest_event_id(cfn, stack_id)
        ctx.out(f"executing change set {planned.change_set.name} on {spec.stack_name}")
        _execute_once(ctx, planned)
        started = execution_started(cfn, planned.change_set.id, before)
        outcome = wait_for_stack(
            cfn, stack_id, ctx.clock, ctx.out, ctx.remaining(), since, started=started
        )
    finally:
        # Every way out (an error, a timeout, SIGINT, SIGTERM; not SIGKILL, which the next
        # command finds): the full policy, which a new stack gets here for the first time.
        with interrupts.deferred():
            _restore_policy(ctx, stack_id, final_policy)
    if not outcome.succeeded:
        what = "Creation" if planned.change_set_type == "CREATE" else "Update"
        raise GeneratorError(failure_message(what, spec.stack_name, outcome), ExitCode.FAILED)
    stack = describe_stack(cfn, stack_id) or Stack(spec.stack_name, stack_id, outcome.status)
    if planned.change_set_type == "CREATE":
        _protect(ctx, spec, stack)
    ctx.out(f"{spec.stack_name}: {outcome.status}")
    return stack


# ExecuteChangeSet's refusal of a change set that already left AVAILABLE (or is gone).
_ALREADY_EXECUTED = ("EXECUTE_IN_PROGRESS", "EXECUTE_COMPLETE", "EXECUTE_FAILED")


def _execute_once(ctx: Context, planned: Planned) -> None:
    """ExecuteChangeSet, reconciled with what CloudFormation did when its reply was lost.

    ExecuteChangeSet is not idempotent: when a reply is lost (a reset connection, a timeout),
    botocore's retry finds the change set executing and CloudFormation refuses it
    (InvalidChangeSetStatus), or the transport fails for good. Either way the change set's own
    ExecutionStatus (or the stack, once the change set is gone) says whether it ran.
    """
    cfn = ctx.clients.cloudformation
    name = planned.change_set.name
    try:
        cfn.execute_change_set(ChangeSetName=planned.change_set.id)
        return
    except ClientError as exc:
        refused = exc
        if "_IN_PROGRESS state" in error_message(exc):
            # Another run's change set started between this plan and its execution (its execute
            # deletes this change set, but not necessarily before this call arrives).
            raise GeneratorError(
                f"cannot execute change set {name}: {error_message(exc)} Another operation "
                "started on the stack after this plan. Nothing was executed; plan or deploy "
                "again when it has finished",
                ExitCode.BLOCKED,
            ) from None
        if error_code(exc) not in ("InvalidChangeSetStatus", "ChangeSetNotFound"):
            raise GeneratorError(
                f"cannot execute change set {name}: {error_message(exc)}", ExitCode.FAILED
            ) from None
    except BotoCoreError as exc:
        refused = exc
    state = _execution_state(cfn, planned)
    if state == "executed":
        ctx.out(
            f"change set {name}: executed; the reply to ExecuteChangeSet was lost "
            f"({type(refused).__name__}), so this deploy goes on from what CloudFormation reports"
        )
        return
    if state == "gone":
        raise GeneratorError(
            f"change set {name} no longer exists and the stack did not run it: the stack changed "
            "since this plan (another deploy executed a change set, which deletes the others). "
            "Nothing was executed; plan or deploy again",
            ExitCode.BLOCKED,
        )
    reason = error_message(refused) if isinstance(refused, ClientError) else str(refused)
    raise GeneratorError(
        f"cannot execute change set {name}: {reason}; CloudFormation reports it {state}, so "
        "nothing was executed",
        ExitCode.FAILED,
    )


def _execution_state(cfn: Any, planned: Planned) -> str:
    """``executed``, ``gone`` (deleted: another change set ran) or the ExecutionStatus."""
    try:
        reply = cfn.describe_change_set(ChangeSetName=planned.change_set.id)
    except ClientError as exc:
        if error_code(exc) == "ChangeSetNotFound" or is_missing_stack(exc):
            # An executed change set stays (EXECUTE_COMPLETE); CloudFormation deletes the
            # stack's *other* change sets when one runs, so a missing one never ran.
            return "gone"
        raise
    status = str(reply.get("ExecutionStatus", ""))
    return "executed" if status in _ALREADY_EXECUTED else status or "UNKNOWN"


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
        protection.set_stack_policy(cfn, stack_id, policy)
    except GeneratorError as exc:
        ctx.out(f"warning: {exc}; set it again by deploying once more")


def outputs(stack: Stack) -> dict[str, str]:
    """The stack's outputs."""
    return dict(stack.outputs)
