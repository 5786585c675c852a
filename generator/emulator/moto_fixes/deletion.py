"""Stack deletion for the emulator: every resource goes unless its DeletionPolicy retains it, and
nothing comes back afterwards.

moto 5.2.5 deletes a stack's resources, then keeps the stack (DescribeStacks answers for a
deleted stack's ARN) with its template and a lazy resource map: the first DescribeStacks that
evaluates the outputs resolves their ``Ref``/``GetAtt`` through that map, which creates every
referenced resource again (buckets, secret, queue, topic, function, role, key...). The next
deploy then fails with ``BucketAlreadyExists``. Here the outputs are frozen to their values
before the delete and the map keeps only what was retained, so a deleted stack creates nothing.

Also unlike moto: resources go in reverse dependency order, each gets its own events, ``Retain``
and ``RetainExceptOnCreate`` are honoured, and a resource that cannot be deleted leaves the
stack ``DELETE_FAILED`` with the reason instead of an HTTP 500 that loses the stack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from moto.cloudformation.models import CloudFormationBackend, Event, Stack
from moto.cloudformation.parsing import OutputMap

# Policies under which a stack delete keeps the resource (after a successful create).
RETAINED_POLICIES = frozenset({"Retain", "RetainExceptOnCreate"})

_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(node: Any) -> set[str]:
    """Logical ids a template fragment names through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(str(target))
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                if isinstance(text, str):
                    found |= set(_SUB_NAME.findall(text))
            found |= references(value)
    return found


def dependencies(resources: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    """For each resource, the other resources of the template it depends on."""
    graph: dict[str, set[str]] = {}
    for logical_id, spec in resources.items():
        depends_on = spec.get("DependsOn") or []
        named = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        named |= references(spec.get("Properties") or {})
        graph[logical_id] = {d for d in named if d in resources and d != logical_id}
    return graph


def deletion_waves(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Resources in the order a delete takes them: dependents before what they depend on.

    A cycle (which CloudFormation would reject) ends up in one last wave rather than blocking.
    """
    pending = set(graph)
    waves: list[list[str]] = []
    while pending:
        needed = {d for r in pending for d in graph[r] if d in pending}
        wave = sorted(pending - needed) or sorted(pending)
        waves.append(wave)
        pending -= set(wave)
    return waves


def is_retained(spec: Mapping[str, Any]) -> bool:
    """Whether a stack delete keeps this resource."""
    return spec.get("DeletionPolicy") in RETAINED_POLICIES


def freeze_outputs(stack: Stack) -> None:
    """Replace the stack's outputs by their current values, so reading them resolves nothing."""
    frozen: dict[str, Any] = {}
    exports = {e.value: e.name for e in stack.exports}
    for output in stack.output_map.values():
        if output is None:
            continue
        entry: dict[str, Any] = {"Value": output.value}
        if output.description is not None:
            entry["Description"] = output.description
        if output.value in exports:
            entry["Export"] = {"Name": exports[output.value]}
        frozen[output.key] = entry
    stack.output_map = OutputMap(stack.resource_map, {"Outputs": frozen}, stack.stack_id)


def _resource_event(
    stack: Stack, logical_id: str, resource: Any, status: str, reason: str | None
) -> None:
    spec = stack.resource_map._resource_json_map[logical_id]
    physical = getattr(resource, "physical_resource_id", None) or logical_id
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=str(physical),
            resource_type=str(spec.get("Type", "")),
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _delete_one(stack: Stack, logical_id: str) -> Exception | None:
    """Delete one created resource; the exception when it cannot be deleted."""
    resource_map = stack.resource_map
    resource = resource_map._parsed_resources[logical_id]
    try:
        if resource is not None and not isinstance(resource, str):
            resource_map._delete_resource(resource, resource_map._resource_json_map[logical_id])
    except Exception as exc:  # reported on the resource and the stack, as AWS does
        return exc
    resource_map._parsed_resources.pop(logical_id)
    _resource_event(stack, logical_id, resource, "DELETE_COMPLETE", None)
    return None


def delete_resources(stack: Stack) -> dict[str, Exception]:
    """Delete what the stack created and does not retain; the resources that resisted.

    A resource that fails is tried again while that makes progress and with each later wave: it
    may fail only because another resource still used it.
    """
    resource_map = stack.resource_map
    specs: dict[str, Any] = resource_map._resource_json_map
    created = {lid: spec for lid, spec in specs.items() if lid in resource_map._parsed_resources}
    for logical_id, spec in created.items():
        if is_retained(spec):
            reason = f"DeletionPolicy {spec['DeletionPolicy']}: the resource is kept"
            resource = resource_map._parsed_resources[logical_id]
            _resource_event(stack, logical_id, resource, "DELETE_SKIPPED", reason)
    graph = dependencies({lid: s for lid, s in created.items() if not is_retained(s)})
    failed: dict[str, Exception] = {}
    for wave in deletion_waves(graph):
        attempt = [*wave, *failed]  # an earlier failure may go now that its dependents are gone
        while True:
            errors = {lid: _delete_one(stack, lid) for lid in attempt}
            failed = {lid: error for lid, error in errors.items() if error is not None}
            if not failed or len(failed) == len(attempt):
                break
            attempt = list(failed)
    for logical_id, error in failed.items():
        reason = f"emulator: {type(error).__name__}: {error}"
        resource = resource_map._parsed_resources[logical_id]
        _resource_event(stack, logical_id, resource, "DELETE_FAILED", reason)
    return failed


def forget_deleted(stack: Stack) -> None:
    """Keep in the resource map only what still exists, so nothing can be created from it."""
    resource_map = stack.resource_map
    resource_map._resource_json_map = {
        lid: spec
        for lid, spec in resource_map._resource_json_map.items()
        if lid in resource_map._parsed_resources
    }


def delete_stack(backend: CloudFormationBackend, stack: Stack) -> None:
    """Delete ``stack`` and its resources; a failure leaves it ``DELETE_FAILED``, in place."""
    freeze_outputs(stack)  # while every Ref still resolves
    export_names = [e.name for e in stack.exports]
    stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
    failed = delete_resources(stack)
    forget_deleted(stack)
    if failed:
        names = ", ".join(sorted(failed))
        reason = f"The following resource(s) failed to delete: [{names}]."
        stack._add_stack_event("DELETE_FAILED", reason)
        stack.status = "DELETE_FAILED"
        return
    stack._add_stack_event("DELETE_COMPLETE")
    stack.status = "DELETE_COMPLETE"
    backend.stacks.pop(stack.stack_id, None)
    backend.deleted_stacks[stack.stack_id] = stack
    for name in export_names:
        backend.exports.pop(name, None)
