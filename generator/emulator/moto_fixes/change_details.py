"""Change-set details for the emulator, as CloudFormation reports them.

moto lists only each change's action, logical id and type: no ``Scope``, no ``Details``, never a
``Replacement``, and it ignores ``IncludePropertyValues``. This module computes the rest from the
deployed and the new template, so a local plan reads like the real one and the guard can be
exercised end to end:

- one detail per changed property path (nested objects down to their leaves, lists whole), with
  ``Target.Attribute/Name/Path/RequiresRecreation/AttributeChangeType``, ``BeforeValue`` /
  ``AfterValue`` (strings, as CloudFormation sends them), ``Evaluation: Static`` and
  ``ChangeSource: DirectModification``; a ``Metadata`` change as one ``Metadata`` detail;
- ``RequiresRecreation: Always`` and ``Replacement: True`` when the property is one of the type's
  ``createOnlyProperties`` in the CloudFormation registry schema that cfn-lint ships (loaded
  lazily, in the emulator server process only), never a hand-kept list;
- a ``Scope: [Tags]`` modification of every taggable resource (per the same schemas) when the
  stack's own tags change, as CloudFormation propagates them.

Intrinsic functions are compared as written (the emulator does not resolve them): a changed
``Ref`` target shows as its JSON.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

# The registry schemas are the same in every commercial region for the types this stack uses.
_SCHEMA_REGION = "us-east-1"
_VALUE_KEYS = ("BeforeValue", "AfterValue")


@cache
def _schema(resource_type: str) -> Mapping[str, Any]:
    """The registry schema cfn-lint ships for a type ({} for a type it does not know)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # heavy: only when a plan needs it
    from cfnlint.schema._exceptions import ResourceNotFoundError

    try:
        schema: Mapping[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
            _SCHEMA_REGION, resource_type
        ).schema
    except ResourceNotFoundError:
        return {}
    return schema


def create_only_properties(resource_type: str) -> tuple[str, ...]:
    """The type's create-only property paths below ``/properties/`` (``QueueName``, ...)."""
    paths = _schema(resource_type).get("createOnlyProperties", []) or []
    return tuple(str(p).removeprefix("/properties/") for p in paths)


def taggable(resource_type: str) -> bool:
    """Whether CloudFormation propagates stack tags to this type (the schema's ``tagging``)."""
    schema = _schema(resource_type)
    tagging = schema.get("tagging")
    if isinstance(tagging, Mapping):
        return bool(tagging.get("taggable", True))
    return "Tags" in (schema.get("properties") or {})


def requires_recreation(resource_type: str, path: str) -> str:
    """``Always`` when the path is, or lies under, a create-only property; else ``Never``."""
    for create_only in create_only_properties(resource_type):
        if path == create_only or path.startswith(create_only + "/"):
            return "Always"
    return "Never"


def as_value(value: Any) -> str:
    """A property value as CloudFormation's BeforeValue/AfterValue string."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _is_intrinsic(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)).startswith(("Fn::", "Ref"))
    )


def property_differences(
    before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = ""
) -> Iterator[tuple[str, Any, Any]]:
    """Every changed leaf path: (path, before or None, after or None). Lists compare whole."""
    for key in sorted(set(before) | set(after), key=str):
        path = f"{prefix}{key}"
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if (
            isinstance(old, dict)
            and isinstance(new, dict)
            and not _is_intrinsic(old)
            and not _is_intrinsic(new)
        ):
            yield from property_differences(old, new, f"{path}/")
        else:
            yield path, old, new


def _change_type(old: Any, new: Any) -> str:
    if old is None:
        return "Add"
    if new is None:
        return "Remove"
    return "Modify"


def property_details(
    resource_type: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The ``Details`` of a modified resource, values included."""
    details = []
    old_props = before.get("Properties") or {}
    new_props = after.get("Properties") or {}
    for path, old, new in property_differences(old_props, new_props):
        target: dict[str, Any] = {
            "Attribute": "Properties",
            "Name": path.split("/", 1)[0],
            "Path": f"/Properties/{path}",
            "RequiresRecreation": requires_recreation(resource_type, path),
            "AttributeChangeType": _change_type(old, new),
        }
        if old is not None:
            target["BeforeValue"] = as_value(old)
        if new is not None:
            target["AfterValue"] = as_value(new)
        details.append(
            {"Target": target, "Evaluation": "Static", "ChangeSource": "DirectModification"}
        )
    if (before.get("Metadata") or {}) != (after.get("Metadata") or {}):
        details.append(
            {
                "Target": {"Attribute": "Metadata", "RequiresRecreation": "Never"},
                "Evaluation": "Static",
                "ChangeSource": "DirectModification",
            }
        )
    return details


def _scope(details: list[dict[str, Any]]) -> list[str]:
    return sorted({str(d["Target"]["Attribute"]) for d in details})


def enrich(
    change: Any,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    physical_id: str | None,
    tags_changed: bool,
) -> None:
    """Give one of moto's Change objects what CloudFormation reports (in place)."""
    change.physical_resource_id = physical_id
    change.scope = []
    change.details = []
    if change.action != "Modify" or before is None or after is None:
        return
    details = property_details(change.resource_type, before, after)
    if tags_changed and taggable(change.resource_type):
        details.append(
            {
                "Target": {"Attribute": "Tags", "RequiresRecreation": "Never"},
                "Evaluation": "Static",
                "ChangeSource": "DirectModification",
            }
        )
    recreate = any(d["Target"].get("RequiresRecreation") == "Always" for d in details)
    change.replacement = "True" if recreate else "False"
    change.scope = _scope(details)
    change.details = details
    change.before_context = json.dumps({"Properties": before.get("Properties") or {}})
    change.after_context = json.dumps({"Properties": after.get("Properties") or {}})
    if recreate:
        change.policy_action = "ReplaceAndDelete"


def without_values(change_set: Any) -> Any:
    """A view of a change set without property values (a describe without
    ``IncludePropertyValues``), leaving the stored change set untouched."""
    view = copy.copy(change_set)
    stripped = []
    for change in change_set.changes:
        plain = copy.copy(change)
        plain.before_context = None
        plain.after_context = None
        plain.details = [
            {**d, "Target": {k: v for k, v in d["Target"].items() if k not in _VALUE_KEYS}}
            for d in getattr(change, "details", None) or []
        ]
        stripped.append(plain)
    view.changes = stripped
    return view
