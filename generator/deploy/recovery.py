"""Bring a stack into a state a change set can be made on, or say exactly what to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.clock import Clock, Deadline
from generator.config import Environment
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

# States a change set can update.
UPDATABLE = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)


@dataclass(frozen=True)
class Ready:
    """The stack is ready for a change set of ``change_set_type``."""

    change_set_type: str  # CREATE | UPDATE
    stack: Stack | None  # the description; None when there is no stack yet


def _cli(command: str, stack: str, region: str, extra: str = "") -> str:
    return f"aws cloudformation {command} --stack-name {stack} --region {region}{extra}"


def blocking_resources(cfn: Any, stack: str) -> list[StackResource]:
    """Resources whose failure blocks a rollback (status ``*_FAILED``)."""
    return [r for r in list_resources(cfn, stack) if r.status.endswith("FAILED")]


def _retained(cfn: Any, stack: str) -> list[str]:
    """Resources a failed create left behind (DeletionPolicy Retain, or not deleted)."""
    return sorted(r.logical_id for r in list_resources(cfn, stack) if r.status != "DELETE_COMPLETE")


def _recreate_failed_create(
    cfn: Any, env: Environment, stack: Stack, clock: Clock, out: Out, timeout: float
) -> None:
    name = stack.name
    delete = _cli("delete-stack", name, env.region)
    if env.retain_data or not env.deploy.recreate_failed_stack:
        raise GeneratorError(
            f"stack {name} is ROLLBACK_COMPLETE: its first create failed and it cannot be "
            f"updated. This environment does not allow automatic recreation "
            f"(retain_data={env.retain_data}, deploy.recreate_failed_stack="
            f"{env.deploy.recreate_failed_stack}). Check what it kept, delete it with "
            f"`{delete}`, then deploy again",
            ExitCode.FAILED,
        )
    kept = _retained(cfn, name)
    if kept:
        raise GeneratorError(
            f"stack {name} is ROLLBACK_COMPLETE but still holds {kept}; not deleting it "
            f"automatically. Delete it with `{delete}` once the data is safe, then deploy again",
            ExitCode.FAILED,
        )
    out(f"stack {name} is ROLLBACK_COMPLETE and retains nothing: deleting it to recreate it")
    since = latest_event_id(cfn, name)
    stack_id = stack.stack_id
    cfn.delete_stack(StackName=stack_id)
    outcome = wait_for_stack(cfn, stack_id, clock, out, timeout, since)
    if not outcome.succeeded:
        raise GeneratorError(failure_message("Deletion", name, outcome), ExitCode.FAILED)


def prepare_stack(
    cfn: Any, stack_name: str, env: Environment, clock: Clock, out: Out, timeout: float
) -> Ready:
    """Wait out another deploy, recreate a failed first create if allowed, else explain."""
    deadline = Deadline(clock, timeout)
    while True:
        stack = describe_stack(cfn, stack_name)
        if stack is None:
            return Ready("CREATE", None)
        status = stack.status
        if status == "REVIEW_IN_PROGRESS":  # created by a change set never executed
            return Ready("CREATE", stack)
        if status in UPDATABLE:
            return Ready("UPDATE", stack)
        if status.endswith("_IN_PROGRESS"):
            remaining = deadline.at - clock.now()
            out(f"stack {stack_name} is {status} (another operation); waiting for it to finish")
            outcome = wait_for_stack(
                cfn, stack.stack_id, clock, out, remaining, latest_event_id(cfn, stack_name)
            )
            out(f"stack {stack_name} is now {outcome.status}")
            continue
        if status == "ROLLBACK_COMPLETE":
            _recreate_failed_create(cfn, env, stack, clock, out, deadline.at - clock.now())
            return Ready("CREATE", None)
        if status == "UPDATE_ROLLBACK_FAILED":
            raise GeneratorError(_rollback_failed_message(cfn, stack_name, env), ExitCode.FAILED)
        raise GeneratorError(
            f"stack {stack_name} is {status} ({stack.status_reason}); a change "
            f"set needs one of {sorted(UPDATABLE)}. Inspect it with "
            f"`{_cli('describe-stack-events', stack_name, env.region)}`",
            ExitCode.FAILED,
        )


def _rollback_failed_message(cfn: Any, stack: str, env: Environment) -> str:
    blockers = blocking_resources(cfn, stack)
    lines = [f"stack {stack} is UPDATE_ROLLBACK_FAILED: the rollback of a failed update stopped."]
    if blockers:
        lines.append("Resources blocking the rollback:")
        lines.extend(
            f"  {r.logical_id} [{r.resource_type}] {r.status}: {r.status_reason}" for r in blockers
        )
    lines.append("Fix the cause above (or decide to skip those resources), then run:")
    lines.append(f"  {_cli('continue-update-rollback', stack, env.region)}")
    if blockers:
        skip = " ".join(r.logical_id for r in blockers)
        lines.append("or, to skip them (CloudFormation then stops managing their state):")
        lines.append(
            f"  {_cli('continue-update-rollback', stack, env.region)} --resources-to-skip {skip}"
        )
    lines.append("and deploy again once the stack is UPDATE_ROLLBACK_COMPLETE.")
    return "\n".join(lines)
