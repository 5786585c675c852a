"""generator/ci_access/ imports one way: its package docstring lists the modules so that each
imports only those listed before it, and this keeps that list true.

The project-wide rules (no import cycle, function-local imports counted; no private name imported
across modules) are tests/test_import_directions.py's; this adds the order inside the package.
"""

from __future__ import annotations

import ast
import re

from tests.test_import_directions import ROOT, edges

PACKAGE = "generator.ci_access"
INIT = ROOT / "generator" / "ci_access" / "__init__.py"


def listed_modules() -> list[str]:
    """The modules the package docstring lists (``- ``name.py``: ...``), in its order."""
    docstring = ast.get_docstring(ast.parse(INIT.read_text(encoding="utf-8"))) or ""
    return re.findall(r"^- ``(\w+)\.py``", docstring, re.MULTILINE)


def out_of_order(order: list[str], graph: dict[str, set[str]]) -> list[str]:
    """Each import, by a listed module, of a sibling not listed before it."""
    found = []
    for position, name in enumerate(order):
        siblings = {
            target.removeprefix(f"{PACKAGE}.")
            for target in graph.get(f"{PACKAGE}.{name}", set())
            if target.startswith(f"{PACKAGE}.")
        }
        found += [f"{name}.py imports {t}.py" for t in sorted(siblings - set(order[:position]))]
    return found


def test_the_package_docstring_lists_every_module_once() -> None:
    modules = sorted(p.stem for p in INIT.parent.glob("*.py") if p.name != "__init__.py")
    assert sorted(listed_modules()) == modules


def test_each_module_imports_only_those_listed_before_it() -> None:
    assert out_of_order(listed_modules(), edges()) == []


def test_the_order_check_finds_an_import_back() -> None:
    """A preview module importing the template that imports it (the old ci_preview loop, hidden
    in a function or not) is out of order, whichever comes first."""
    graph = {
        f"{PACKAGE}.policies": {f"{PACKAGE}.scope"},
        f"{PACKAGE}.preview_roles": {f"{PACKAGE}.policies", f"{PACKAGE}.template"},
        f"{PACKAGE}.template": {f"{PACKAGE}.preview_roles", "generator.naming"},
    }
    order = ["scope", "policies", "preview_roles", "template"]
    assert out_of_order(order, graph) == ["preview_roles.py imports template.py"]
    assert out_of_order(["scope", "policies", "template", "preview_roles"], graph) == [
        "template.py imports preview_roles.py"
    ]
