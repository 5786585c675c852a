"""The environment reference (``docs/environments.md``), rendered from the environment model's
JSON Schema so that it cannot drift from what the loader accepts: ``synth`` writes it and
``check`` fails when the committed copy differs. Pure: no file or network access here."""

from __future__ import annotations

import json
from typing import Any

from generator.config import json_schema

ENVIRONMENTS_DOC = "docs/environments.md"

_HEADER = """\
# Environment reference

<!-- Generated from generator/config.py by `python -m generator synth`; do not edit by hand.
     `python -m generator check` fails when this file differs from the model. -->

One YAML file per environment under `environments/`; the file name (lowercase letters and
digits, 1-16, starting with a letter) is the environment's name. A file holds only what differs
from the defaults below; loading reports every problem in every file at once and exits 2. The
first line lets editors validate and complete the file with the generated JSON Schema:

```yaml
# yaml-language-server: $schema=./environment.schema.json
account_id: "333333333333"
region: us-west-2
function:
  reserved_concurrency: 50
```
"""

_TABLE_HEAD = (
    "| Field | Type | Default | Constraint | Description |\n| --- | --- | --- | --- | --- |"
)


def _code(value: str) -> str:
    """Inline code that survives a Markdown table cell."""
    return "`" + value.replace("|", "\\|") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _not_null(prop: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The non-null branch of an ``anyOf [X, null]`` and whether null is allowed."""
    branches = prop.get("anyOf")
    if not branches:
        return prop, False
    kept = [b for b in branches if b.get("type") != "null"]
    return (kept[0] if len(kept) == 1 else prop), len(kept) < len(branches)


def _type(prop: dict[str, Any]) -> str:
    inner, nullable = _not_null(prop)
    kind = str(inner.get("type", "any"))
    if kind == "array":
        kind = f"list of {inner.get('items', {}).get('type', 'any')}"
    elif kind == "object":
        kind = f"map of string to {inner.get('additionalProperties', {}).get('type', 'any')}"
    return f"{kind} or null" if nullable else kind


def _bounds(schema: dict[str, Any], what: str = "") -> list[str]:
    """Numeric, length and pattern constraints of one schema node, as short phrases."""
    found: list[str] = []
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        found.append(f"{low} to {high}")
    elif low is not None:
        found.append(f"≥ {low}")
    elif high is not None:
        found.append(f"≤ {high}")
    if "multipleOf" in schema:
        found.append(f"multiple of {schema['multipleOf']}")
    short, long = schema.get("minLength"), schema.get("maxLength")
    if short is not None or long is not None:
        found.append(f"{what}length {short or 0} to {long}" if long else f"{what}length ≥ {short}")
    if "enum" in schema:
        found.append(f"{what}one of " + ", ".join(_code(json.dumps(v)) for v in schema["enum"]))
    if "pattern" in schema:
        found.append(f"{what}matches {_code(schema['pattern'])}")
    return found


def _constraint(prop: dict[str, Any]) -> str:
    inner, _ = _not_null(prop)
    found = _bounds(inner)
    if isinstance(inner.get("items"), dict):
        found += _bounds(inner["items"], "each ")
    if isinstance(inner.get("propertyNames"), dict):
        found += _bounds(inner["propertyNames"], "key ")
    if isinstance(inner.get("additionalProperties"), dict):
        found += _bounds(inner["additionalProperties"], "value ")
    return "; ".join(found) or "none"


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    return _code(json.dumps(prop.get("default"), ensure_ascii=False))


def _row(name: str, prop: dict[str, Any], required: bool) -> str:
    cells = (
        _code(name),
        _type(prop),
        _default(prop, required),
        _constraint(prop),
        _cell(str(prop.get("description", ""))),
    )
    return "| " + " | ".join(cells) + " |"


def _section_ref(prop: dict[str, Any]) -> str | None:
    """The ``$defs`` name when a property is a nested settings model."""
    ref = prop.get("$ref") or next((b.get("$ref") for b in prop.get("allOf", [])), None)
    return str(ref).rsplit("/", 1)[-1] if ref else None


def render_environment_reference(schema: dict[str, Any]) -> str:
    """The Markdown reference of an environment file's JSON Schema: one table for the top-level
    fields, one per nested section. Pure."""
    defs: dict[str, Any] = schema.get("$defs", {})
    required = set(schema.get("required", []))
    top: list[str] = []
    sections: list[str] = []
    for name, prop in schema["properties"].items():
        ref = _section_ref(prop)
        if ref is None:
            top.append(_row(name, prop, name in required))
            continue
        nested = defs[ref]
        inner_required = set(nested.get("required", []))
        rows = [
            _row(f"{name}.{field}", sub, field in inner_required)
            for field, sub in nested["properties"].items()
        ]
        intro = _cell(str(nested.get("description", "")))
        sections.append(f"## `{name}`\n\n{intro}\n\n{_TABLE_HEAD}\n" + "\n".join(rows) + "\n")
    body = f"## Top level\n\n{_TABLE_HEAD}\n" + "\n".join(top) + "\n"
    return "\n".join([_HEADER, body, *sections])


def environment_reference() -> str:
    """``docs/environments.md`` as the generator writes it."""
    return render_environment_reference(json_schema())
