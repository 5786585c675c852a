"""The emulator's extension of moto 5.2.5, installed only in the emulator server process (and in
this package's own tests). The deploy code never imports it: it talks to the emulator over HTTP
exactly as it talks to AWS.

What it changes, and why:

- switches on the resource types of ``generator.emulator.models`` (secrets, alarms, bucket
  policy, EventInvokeConfig, SNS/SQS policies, subscriptions; buckets and functions keep the
  properties moto drops) and ``generator.emulator.rotation_model`` (the secret's rotation
  schedule);
- ``execute_change_set``: moto applies the resources but never rebuilds the stack's outputs (the
  stack was created from an empty template at CreateChangeSet and its output map is never
  refreshed), never registers exports, and keeps the old parameters and tags. The patch refreshes
  all of them, and turns an exception while applying into a failed stack with a reason instead of
  an HTTP 500 that leaves the stack "in progress" forever;
- ``parse_and_update_resource``: for a type moto cannot update in place (Lambda Permission, KMS
  key, log group) moto replaces the resource in its map with ``None``, breaking every later
  ``Ref``; the patch keeps the existing resource;
- ``delete_stack``: moto's deleted stack re-creates its resources the first time its outputs are
  read (see ``generator.emulator.deletion``); the patch deletes in dependency order, honours
  ``Retain``, freezes the outputs and reports a resource that cannot go as ``DELETE_FAILED``;
- change sets carry ``Scope``, ``Details`` (with before/after values when described with
  ``IncludePropertyValues``) and ``Replacement`` computed from the deployed and the new template
  (see ``generator.emulator.changes``); moto reports only the action;
- S3 notifications and ``lambda:Invoke`` run the function's deployed code in a subprocess
  (``generator.emulator.delivery``) instead of Docker, and S3 events look like AWS's: keys keep
  their ``/`` (moto writes ``%2F``) and versioned buckets' events carry ``versionId`` and
  ``sequencer``.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import moto.awslambda.models as lambda_models
import moto.cloudformation.models as cfn_models
import moto.cloudformation.parsing as cfn_parsing
import moto.s3.notifications as s3_notifications
from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult

from generator.emulator import changes, deletion, models, rotation_model
from generator.emulator.delivery import Deliverer, invocation_for

_originals: dict[str, Any] = {}
_lock = threading.Lock()
_deliverer: dict[str, Deliverer] = {}


def _clear_model_caches() -> None:
    cfn_parsing.get_model_list.cache_clear()
    cfn_parsing.get_model_map.cache_clear()
    cfn_parsing.get_name_type_map.cache_clear()


def install(endpoint_url: str, work_dir: Path) -> Deliverer:
    """Switch the extension on; functions run against ``endpoint_url``, unpacked in ``work_dir``."""
    with _lock:
        if _originals:
            raise RuntimeError("the emulator extension is already installed")
        deliverer = Deliverer(endpoint_url=endpoint_url, work_dir=work_dir)
        _deliverer["current"] = deliverer
        models.set_active(True)
        _clear_model_caches()
        _patch(CloudFormationBackend, "execute_change_set", _execute_change_set)
        _patch(CloudFormationBackend, "delete_stack", _delete_stack)
        _patch(ChangeSet, "diff", _diff_with_details)
        _patch(CloudFormationResponse, "describe_change_set", _describe_change_set)
        _patch(cfn_parsing, "parse_and_update_resource", _update_or_keep)
        _patch(s3_notifications, "_invoke_awslambda", _invoke_from_s3)
        _patch(s3_notifications, "_get_s3_event", _s3_event_with_version)
        _patch(lambda_models.LambdaFunction, "invoke", _invoke_api)
        return deliverer


def uninstall() -> None:
    """Restore moto's own behaviour (waits for running invocations)."""
    with _lock:
        for key, original in _originals.items():
            owner_name, attribute = key.rsplit(".", 1)
            setattr(_owners[owner_name], attribute, original)
        _originals.clear()
        models.set_active(False)
        _clear_model_caches()
        deliverer = _deliverer.pop("current", None)
    if deliverer is not None:
        deliverer.shutdown()


@contextmanager
def installed(endpoint_url: str, work_dir: Path) -> Iterator[Deliverer]:
    """The extension, installed for the duration of a ``with`` block."""
    deliverer = install(endpoint_url, work_dir)
    try:
        yield deliverer
    finally:
        uninstall()


def is_installed() -> bool:
    """Whether the extension is on in this process."""
    return bool(_originals)


_owners: dict[str, Any] = {}


def _patch(owner: Any, attribute: str, replacement: Callable[..., Any]) -> None:
    name = f"{getattr(owner, '__module__', '')}:{getattr(owner, '__name__', owner)}"
    _owners[name] = owner
    _originals[f"{name}.{attribute}"] = (
        owner.__dict__[attribute] if isinstance(owner, type) else getattr(owner, attribute)
    )
    setattr(owner, attribute, replacement)


def _original(owner: Any, attribute: str) -> Any:
    name = f"{getattr(owner, '__module__', '')}:{getattr(owner, '__name__', owner)}"
    return _originals[f"{name}.{attribute}"]


# ---------------------------------------------------------------------------------------------
# CloudFormation
# ---------------------------------------------------------------------------------------------


def _execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
) -> None:
    change_set = self.describe_change_set(change_set_name)
    assert change_set is not None  # noqa: S101 - describe_change_set raises when it is missing
    stack: Stack = self.stacks[change_set.stack_id]
    # Stacks born from a change set were built without the region's exports.
    stack.resource_map.cross_stack_resources = self.exports
    try:
        _original(CloudFormationBackend, "execute_change_set")(self, change_set_name, stack_name)
        refresh_stack(self, stack, change_set)
    except Exception as exc:  # AWS reports a failed apply on the stack, not on the API call
        mark_failed(stack, change_set, exc)


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
    reason = f"emulator: {type(exc).__name__}: {exc}"
    stack._add_stack_event("CREATE_FAILED" if creating else "UPDATE_FAILED", reason)
    prefix = "ROLLBACK" if creating else "UPDATE_ROLLBACK"
    # moto cannot roll resources back: the status says what AWS would report, the reason the rest.
    stack._add_stack_event(f"{prefix}_IN_PROGRESS", "moto cannot roll back; resources may differ")
    stack._add_stack_event(f"{prefix}_COMPLETE")
    stack.status = f"{prefix}_COMPLETE"
    change_set.execution_status = "EXECUTE_FAILED"


def _diff_with_details(self: ChangeSet) -> list[Any]:
    """moto's changes with Scope, Details, values and Replacement, as CloudFormation has them."""
    found: list[Any] = list(_original(ChangeSet, "diff")(self))
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
            if retag and changes.taggable(str(resource.get("Type", ""))):
                found.append(cfn_models.Change("Modify", logical_id, resource["Type"]))
    for change in found:
        resource = parsed.get(change.logical_resource_id)
        physical = getattr(resource, "physical_resource_id", None) if resource else None
        changes.enrich(
            change,
            deployed.get(change.logical_resource_id),
            new.get(change.logical_resource_id),
            physical if isinstance(physical, str) else None,
            tags_changed,
        )
    return found


def _describe_change_set(self: CloudFormationResponse) -> ActionResult:
    """DescribeChangeSet: property values only when ``IncludePropertyValues`` asks for them."""
    change_set = self.cloudformation_backend.describe_change_set(
        change_set_name=self._get_param("ChangeSetName")
    )
    if self._get_bool_param("IncludePropertyValues", False):
        return ActionResult(change_set)
    return ActionResult(changes.without_values(change_set))


def _delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None
    )
    if stack is None:
        return  # deleting a stack that does not exist succeeds, as on AWS
    deletion.delete_stack(self, stack)


def _update_or_keep(
    logical_id: str,
    resource_json: dict[str, Any],
    resources_map: Any,
    account_id: str,
    region_name: str,
) -> Any:
    updated = _original(cfn_parsing, "parse_and_update_resource")(
        logical_id, resource_json, resources_map, account_id, region_name
    )
    if updated is None:
        # moto has no in-place update for this type: keep the resource rather than lose it.
        return resources_map._parsed_resources.get(logical_id)
    return updated


# ---------------------------------------------------------------------------------------------
# Lambda delivery
# ---------------------------------------------------------------------------------------------


def _current() -> Deliverer:
    return _deliverer["current"]


def _invoke_from_s3(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    from moto.awslambda.utils import get_backend

    try:
        function = get_backend(account_id, region_name).get_function(fn_arn)
    except Exception as exc:  # S3 delivers asynchronously: a missing function drops the event
        print(f"[emulator] S3 event for {fn_arn} dropped: {exc}", flush=True)
        return
    _current().invoke_async(invocation_for(function, account_id, region_name), event_body)


def _s3_event_with_version(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
    event = _original(s3_notifications, "_get_s3_event")(event_name, bucket, key, notification_id)
    obj = event["Records"][0]["s3"]["object"]
    # S3 form-encodes the key but leaves "/" alone; moto encodes it as %2F.
    obj["key"] = quote_plus(key.name, safe="/")
    if getattr(bucket, "is_versioned", False) and key.version_id:
        obj["versionId"] = key.version_id
    obj["sequencer"] = f"{int(key.last_modified.timestamp() * 1e6):016X}"
    return event


def _invoke_api(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
    """``lambda:Invoke``: RequestResponse runs now; Event is queued like an S3 notification."""
    event = json.loads(body) if body else {}
    invocation = invocation_for(self, self.account_id, self.region)
    kind = request_headers.get("x-amz-invocation-type", "RequestResponse")
    if kind == "Event":
        _current().invoke_async(invocation, event)
        return ""
    outcome = _current().invoke_sync(invocation, event)
    if not outcome.ok:
        response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps(outcome.payload).encode("utf-8")


# Imported for the side effect documented in ``models``; referenced so linters keep it.
_ = cfn_models
_REGISTERED = rotation_model  # registers AWS::SecretsManager::RotationSchedule
