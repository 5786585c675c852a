"""Fixes of moto 5.2.5 that are about CloudFormation and S3, not about this stack.

Each one makes moto answer as AWS does where the deploy code depends on it; none knows the
ServerlessApp stack, so each could go upstream (docs/emulator.md lists them). ``install`` applies
them all; the embedded emulator's server installs them through ``generator.emulator.extension``,
and the deploy tests (moto in-process) with ``installed()``.

- change sets are refused as CloudFormation refuses them: a second change set of the same name
  on a stack (``AlreadyExistsException``), a ``CREATE`` change set for a stack that exists, any
  change set while the stack is being updated; ``ExecuteChangeSet`` runs only an ``AVAILABLE``
  change set (``InvalidChangeSetStatus``: executed, failed, or still in progress) and deletes the
  stack's other change sets; a missing change set is ``ChangeSetNotFound``. moto allows all of
  these, and re-executes a change set as often as asked; ``ListChangeSets`` lists the named
  stack's change sets only (moto lists every stack's);
- ``ExecuteChangeSet`` is asynchronous when installed with ``apply_delay_seconds`` (the emulator
  server): the call returns with the stack ``*_IN_PROGRESS`` and the change set
  ``EXECUTE_IN_PROGRESS``, and the resources are applied that much later on another thread, so
  waiting, event streaming and "operation in progress" refusals happen as on AWS (moto applies
  everything inside the request). The deploy tests install it synchronous (None);
- applying a change set: moto never rebuilds the stack's outputs (the stack was created from an
  empty template at CreateChangeSet and its output map is never refreshed), never registers
  exports, keeps the old parameters and tags, and sets no ``LastUpdatedTime``. The fix refreshes
  all of them, and turns an exception while applying into a failed stack with a reason instead of
  an HTTP 500 that leaves the stack "in progress";
- ``GetTemplate`` with ``ChangeSetName``: moto answers with the stack's current template; the fix
  answers with the change set's own, as AWS does;
- ``CreateChangeSet`` keeps the ``DeploymentMode``, ``RollbackConfiguration``,
  ``ImportExistingResources`` and ``OnStackFailure`` it was asked for (moto drops them), and
  ``DescribeChangeSet`` reports the change set's ``Tags`` (moto reports none);
- ``DescribeChangeSet``: changes carry ``Scope``, ``Details`` (with before/after values only when
  ``IncludePropertyValues`` asks) and ``Replacement``, computed from the deployed and the new
  template (``change_details``); moto reports only the action;
- updates of a type moto cannot update in place (Lambda Permission, KMS key, log group) keep the
  resource; moto puts ``None`` in its resource map, breaking every later ``Ref``; a resource
  whose condition kept it from being created is not "updated" (moto fails the change set);
- ``DeleteStack`` deletes in dependency order, honours ``Retain``, reports a resource that cannot
  go as ``DELETE_FAILED`` and never re-creates resources afterwards (``deletion``);
- a ``TemplateURL`` on a loopback endpoint is read path style (``http://127.0.0.1:PORT/b/k``);
  moto takes ``127`` for the bucket;
- S3 event notifications: keys keep their ``/`` (moto writes ``%2F``), and versioned buckets'
  events carry ``versionId``; every event carries a ``sequencer``.
"""

from __future__ import annotations

import copy
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote_plus, urlparse

import moto.cloudformation.models as cfn_models
import moto.cloudformation.parsing as cfn_parsing
import moto.s3.notifications as s3_notifications
from moto.cloudformation.exceptions import (
    AlreadyExistsException,
    CloudFormationError,
    ValidationError,
)
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult
from moto.core.utils import utcnow

from generator.emulator.moto_fixes import change_details, deletion
from generator.emulator.patching import PatchSet, original

FIXES = PatchSet("moto fixes")
# How long after ExecuteChangeSet the resources are applied; None: inside the request.
_apply: dict[str, float | None] = {"delay": None}


class InvalidChangeSetStatus(CloudFormationError):
    """ExecuteChangeSet of a change set that is not AVAILABLE."""

    code = "InvalidChangeSetStatus"


class ChangeSetNotFound(CloudFormationError):
    """A change set that does not exist (CloudFormation's ChangeSetNotFoundException)."""

    code = "ChangeSetNotFound"


def install(apply_delay_seconds: float | None = None) -> None:
    """Apply every fix (once per process until ``uninstall``); ``apply_delay_seconds`` makes
    ExecuteChangeSet asynchronous (None: applied inside the request, for in-process tests)."""
    _apply["delay"] = apply_delay_seconds
    FIXES.replace(CloudFormationBackend, "create_change_set", _create_change_set_strictly)
    FIXES.replace(CloudFormationBackend, "describe_change_set", _describe_or_not_found)
    FIXES.replace(CloudFormationBackend, "execute_change_set", _execute_change_set)
    FIXES.replace(CloudFormationBackend, "delete_stack", _delete_stack)
    FIXES.replace(
        CloudFormationResponse, "update_termination_protection", _update_termination_protection
    )
    FIXES.replace(CloudFormationResponse, "get_template", _get_template)
    FIXES.replace(CloudFormationResponse, "create_change_set", _create_change_set)
    FIXES.replace(CloudFormationResponse, "describe_change_set", _describe_change_set)
    FIXES.replace(CloudFormationResponse, "list_change_sets", _list_change_sets_of_the_stack)
    FIXES.replace(CloudFormationResponse, "_get_stack_from_s3_url", _get_stack_from_s3_url)
    FIXES.replace(ChangeSet, "diff", _diff_with_details)
    FIXES.replace(cfn_parsing, "parse_and_update_resource", _update_or_keep)
    FIXES.replace(s3_notifications, "_get_s3_event", _s3_event_as_aws_sends_it)


def uninstall() -> None:
    """Undo every fix."""
    FIXES.restore()
    _apply["delay"] = None


@contextmanager
def installed(apply_delay_seconds: float | None = None) -> Iterator[None]:
    """The fixes, applied for the duration of a ``with`` block."""
    install(apply_delay_seconds)
    try:
        yield
    finally:
        uninstall()


# ---------------------------------------------------------------------------------------------
# CloudFormation
# ---------------------------------------------------------------------------------------------


def _live_stack(backend: CloudFormationBackend, name_or_id: str) -> Stack | None:
    """The stack of that name or id that has not been deleted, if any."""
    for stack in backend.stacks.values():
        if name_or_id in (stack.name, stack.stack_id) and stack.status != "DELETE_COMPLETE":
            return stack
    return None


def _busy(stack: Stack) -> bool:
    return str(stack.status).endswith("_IN_PROGRESS") and stack.status != "REVIEW_IN_PROGRESS"


def _refuse_busy(stack: Stack) -> None:
    if _busy(stack):
        raise ValidationError(
            message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
        )


# The server answers requests on many threads; CloudFormation decides each change-set call on
# a stack atomically (a change set is made or executed, never both half-way at once).
_CHANGE_SETS = threading.RLock()


def _create_change_set_strictly(
    self: CloudFormationBackend, stack_name: str, change_set_name: str, *args: Any, **kwargs: Any
) -> tuple[str, str]:
    with _CHANGE_SETS:
        return _create_change_set_checked(self, stack_name, change_set_name, *args, **kwargs)


def _create_change_set_checked(
    self: CloudFormationBackend, stack_name: str, change_set_name: str, *args: Any, **kwargs: Any
) -> tuple[str, str]:
    change_set_type = kwargs.get("change_set_type") or (args[4] if len(args) > 4 else "CREATE")
    stack = _live_stack(self, stack_name)
    if stack is not None:
        _refuse_busy(stack)
        if change_set_type == "CREATE" and stack.status != "REVIEW_IN_PROGRESS":
            raise ValidationError(
                message=f"Stack [{stack_name}] already exists and cannot be created again with "
                "the changeSetType [CREATE]."
            )
        for existing in self.change_sets.values():
            if existing.stack_id == stack.stack_id and existing.change_set_name == change_set_name:
                raise AlreadyExistsException(f"ChangeSet [{change_set_name}] already exists")
    made: tuple[str, str] = original(CloudFormationBackend, "create_change_set")(
        self, stack_name, change_set_name, *args, **kwargs
    )
    return made


def _describe_or_not_found(self: CloudFormationBackend, change_set_name: str) -> Any:
    found = self.change_sets.get(change_set_name) or next(
        (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
    )
    if found is None:
        raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
    return found


def _execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    with _CHANGE_SETS:
        _execute_change_set_checked(self, change_set_name)


def _execute_change_set_checked(self: CloudFormationBackend, change_set_name: str) -> None:
    change_set: Any = self.describe_change_set(change_set_name)
    if change_set.execution_status != "AVAILABLE":
        raise InvalidChangeSetStatus(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current execution "
            f"status of [{change_set.execution_status}]"
        )
    stack: Stack = self.stacks[change_set.stack_id]
    _refuse_busy(stack)
    # Executing one change set deletes the stack's others: a plan made before is gone.
    for other_id in [i for i, c in self.change_sets.items()
                     if c.stack_id == stack.stack_id and c is not change_set]:  # fmt: skip
        del self.change_sets[other_id]
    kind = change_set.change_set_type
    stack._add_stack_event(f"{kind}_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = f"{kind}_IN_PROGRESS"
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    delay = _apply["delay"]
    if delay is None:
        apply_change_set(self, stack, change_set)
        return

    def later() -> None:
        time.sleep(delay)
        apply_change_set(self, stack, change_set)

    threading.Thread(target=later, name=f"apply-{change_set.change_set_name}", daemon=True).start()


def apply_change_set(backend: CloudFormationBackend, stack: Stack, change_set: Any) -> None:
    """What moto's ExecuteChangeSet does after its first event, and what it forgets: the
    outputs, exports, parameters, tags and LastUpdatedTime; a failure fails the stack."""
    # Stacks born from a change set were built without the region's exports.
    stack.resource_map.cross_stack_resources = backend.exports
    kind = change_set.change_set_type
    try:
        change_set.apply()
        stack._add_stack_event(f"{kind}_COMPLETE")
        change_set.execution_status = "EXECUTE_COMPLETE"
        stack.status = f"{kind}_COMPLETE"
        stack.template = change_set.template
        stamp_update(stack, change_set)
        refresh_stack(backend, stack, change_set)
    except Exception as exc:  # AWS reports a failed apply on the stack, not on the API call
        mark_failed(stack, change_set, exc)


def stamp_update(stack: Stack, change_set: Any) -> None:
    """Set the stack's LastUpdatedTime after an update, as AWS does (moto reports none)."""
    if change_set.change_set_type == "UPDATE":
        # moto's Stack declares no such attribute, but its serializer reports it when set.
        setattr(stack, "last_updated_time", utcnow())  # noqa: B010


def refresh_stack(backend: CloudFormationBackend, stack: Stack, change_set: Any) -> None:
    """After an executed change set: template, outputs, exports, parameters and tags."""
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    for name in [e.name for e in stack.exports]:
        backend.exports.pop(name, None)
    stack.output_map = stack._create_output_map()
    backend._validate_export_uniqueness(stack)
    for export in stack.exports:
        backend.exports[export.name] = export
    stack.parameters = dict(change_set.parameters or {})
    if change_set.tags:
        stack.tags = dict(change_set.tags)


def mark_failed(stack: Stack, change_set: Any, exc: Exception) -> None:
    """Leave the stack in the state AWS would after a failed apply, with the reason."""
    traceback.print_exception(exc, file=sys.stderr)  # the server log keeps the whole story
    creating = change_set.change_set_type == "CREATE"
    stamp_update(stack, change_set)
    reason = f"emulator: {type(exc).__name__}: {exc}"
    stack._add_stack_event("CREATE_FAILED" if creating else "UPDATE_FAILED", reason)
    prefix = "ROLLBACK" if creating else "UPDATE_ROLLBACK"
    # moto cannot roll resources back: the status says what AWS would report, the reason the rest.
    stack._add_stack_event(f"{prefix}_IN_PROGRESS", "moto cannot roll back; resources may differ")
    stack._add_stack_event(f"{prefix}_COMPLETE")
    stack.status = f"{prefix}_COMPLETE"
    change_set.execution_status = "EXECUTE_FAILED"


def change_set_template(response: CloudFormationResponse) -> Any:
    """GetTemplate's answer: the named change set's own template, else None (moto's answer)."""
    name = response._get_param("ChangeSetName")
    if not name:
        return None
    backend = response.cloudformation_backend
    change_set: Any = backend.describe_change_set(name)  # raises ValidationError when missing
    stack_name = response._get_param("StackName")
    if stack_name and stack_name not in (change_set.stack_name, change_set.stack_id):
        raise ValidationError(stack_name, f"ChangeSet [{name}] does not exist")
    return ActionResult(
        {"TemplateBody": change_set.template, "StagesAvailable": ["Original", "Processed"]}
    )


def _get_template(self: CloudFormationResponse) -> Any:
    return change_set_template(self) or original(CloudFormationResponse, "get_template")(self)


# CreateChangeSet inputs moto drops, by the attribute its serializer reports them from.
_KEPT_INPUTS = {
    "DeploymentMode": "deployment_mode",
    "OnStackFailure": "on_stack_failure",
}


def keep_inputs(response: CloudFormationResponse) -> None:
    """After CreateChangeSet: the new change set keeps the DeploymentMode, rollback
    configuration, ImportExistingResources and OnStackFailure it was asked for, as
    DescribeChangeSet reports them on AWS (moto drops them)."""
    name = response._get_param("ChangeSetName")
    made = [c for c in response.cloudformation_backend.change_sets.values()
            if c.change_set_name == name]  # fmt: skip
    if not made:
        return
    change_set = made[-1]
    for parameter, attribute in _KEPT_INPUTS.items():
        value = response._get_param(parameter)
        if value not in (None, ""):
            # moto's ChangeSet declares no such attribute, but its serializer reports it when set.
            setattr(change_set, attribute, value)
    if response._get_param("ImportExistingResources") is not None:
        imports = response._get_bool_param("ImportExistingResources")
        setattr(change_set, "import_existing_resources", imports)  # noqa: B010
    rollback = response._get_param("RollbackConfiguration")
    if rollback:
        triggers = rollback.get("RollbackTriggers") or []
        minutes = rollback.get("MonitoringTimeInMinutes")
        configuration: dict[str, Any] = {
            "RollbackTriggers": [{"Arn": t["Arn"], "Type": t["Type"]} for t in triggers]
        }
        if minutes not in (None, ""):
            configuration["MonitoringTimeInMinutes"] = int(minutes)
        setattr(change_set, "rollback_configuration", configuration)  # noqa: B010


def _create_change_set(self: CloudFormationResponse) -> Any:
    result = original(CloudFormationResponse, "create_change_set")(self)
    keep_inputs(self)
    return result


def _diff_with_details(self: ChangeSet) -> list[Any]:
    """moto's changes with Scope, Details, values and Replacement, as CloudFormation has them."""
    found: list[Any] = list(original(ChangeSet, "diff")(self))
    stack = self.stack
    deployed = dict(getattr(stack.resource_map, "_resource_json_map", None) or {})
    new = dict((self.template_dict or {}).get("Resources") or {})
    parsed = getattr(stack.resource_map, "_parsed_resources", {}) or {}
    tags_changed = self.change_set_type == "UPDATE" and dict(self.tags or {}) != dict(
        stack.tags or {}
    )
    listed = {change.logical_resource_id for change in found}
    if tags_changed:
        # CloudFormation retags every taggable resource when the stack's tags change.
        for logical_id, resource in new.items():
            retag = logical_id in deployed and logical_id not in listed
            if retag and change_details.taggable(str(resource.get("Type", ""))):
                found.append(cfn_models.Change("Modify", logical_id, resource["Type"]))
    for change in found:
        resource = parsed.get(change.logical_resource_id)
        physical = getattr(resource, "physical_resource_id", None) if resource else None
        change_details.enrich(
            change,
            deployed.get(change.logical_resource_id),
            new.get(change.logical_resource_id),
            physical if isinstance(physical, str) else None,
            tags_changed,
        )
    return found


def _describe_change_set(self: CloudFormationResponse) -> ActionResult:
    """DescribeChangeSet: property values only when ``IncludePropertyValues`` asks for them."""
    change_set: Any = self.cloudformation_backend.describe_change_set(
        change_set_name=self._get_param("ChangeSetName")
    )
    if not self._get_bool_param("IncludePropertyValues", False):
        change_set = change_details.without_values(change_set)
    # moto keeps the tags as a mapping, which its serializer reports as no tags at all.
    view = copy.copy(change_set)
    view.tags = [{"Key": k, "Value": v} for k, v in (change_set.tags or {}).items()]
    return ActionResult(view)


def _list_change_sets_of_the_stack(self: CloudFormationResponse) -> ActionResult:
    """ListChangeSets: only the change sets of the stack named (by name or id)."""
    wanted = self._get_param("StackName")
    found = [c for c in self.cloudformation_backend.change_sets.values()
             if wanted in (c.stack_name, c.stack_id)]  # fmt: skip
    return ActionResult({"Summaries": found})


def _update_termination_protection(self: CloudFormationResponse) -> ActionResult:
    """UpdateTerminationProtection: recorded on the stack, which DescribeStacks reports."""
    name = self._get_param("StackName")
    stack = _live_stack(self.cloudformation_backend, name)
    if stack is None:
        raise ValidationError(name)
    stack.enable_termination_protection = self._get_bool_param("EnableTerminationProtection")
    return ActionResult({"StackId": stack.stack_id})


def _delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None
    )
    if stack is None:
        return  # deleting a stack that does not exist succeeds, as on AWS
    if getattr(stack, "enable_termination_protection", False):
        raise ValidationError(
            message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
        )
    deletion.delete_stack(self, stack)


def _update_or_keep(
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: Any,
    account_id: str,
    region_name: str,
) -> Any:
    existing = resources_map._parsed_resources.get(logical_id)
    if existing is None and "Condition" in resource_json:
        # Never created (its condition was false) and so nothing to update: moto would call
        # the type's update with no original resource and fail the whole change set.
        return None
    updated = original(cfn_parsing, "parse_and_update_resource")(
        logical_id, resource_json, resources_map, account_id, region_name
    )
    if updated is None:
        # moto has no in-place update for this type: keep the resource rather than lose it.
        return resources_map._parsed_resources.get(logical_id)
    return updated


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _get_stack_from_s3_url(self: CloudFormationResponse, template_url: str) -> str:
    """A loopback TemplateURL is path style (``/bucket/key``), like a local S3 endpoint."""
    from moto.s3.models import s3_backends

    parts = urlparse(template_url)
    if parts.hostname in _LOOPBACK_HOSTS:
        bucket, key = parts.path.lstrip("/").split("/", 1)
        found = s3_backends[self.current_account][self.partition].get_object(bucket, key)
        if found is None:
            raise ValidationError(message=f"TemplateURL {template_url} names no object")
        return str(found.value.decode("utf-8"))
    return str(original(CloudFormationResponse, "_get_stack_from_s3_url")(self, template_url))


# ---------------------------------------------------------------------------------------------
# S3
# ---------------------------------------------------------------------------------------------


def _s3_event_as_aws_sends_it(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
    event = original(s3_notifications, "_get_s3_event")(event_name, bucket, key, notification_id)
    obj = event["Records"][0]["s3"]["object"]
    # S3 form-encodes the key but leaves "/" alone; moto encodes it as %2F.
    obj["key"] = quote_plus(key.name, safe="/")
    if getattr(bucket, "is_versioned", False) and key.version_id:
        obj["versionId"] = key.version_id
    obj["sequencer"] = f"{int(key.last_modified.timestamp() * 1e6):016X}"
    return event
