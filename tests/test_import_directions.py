"""The project's modules depend on each other in one direction (docs/emulator.md, design: layers).

Read from the source with ``ast``, so every import counts: module level, inside functions and
under ``TYPE_CHECKING``. The command layer (``generator.cli``) may use everything; nothing else
knows the command layer or the embedded emulator, and the emulator knows only the small core it
shares with the domain (configuration, names, clock, errors, rendering, the workspace).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HANDLER = ROOT / "handler"

# What the emulator may import of the rest of the generator (its own modules aside).
EMULATOR_MAY_USE = frozenset(
    {
        "generator.clock",
        "generator.config",
        "generator.errors",
        "generator.interpreters",
        "generator.naming",
        "generator.render",
        "generator.workspace",
    }
)
# The stack is pure: troposphere and awacs in, a template out; no AWS calls, no deploy logic.
STACK_MAY_NOT_USE = (
    "generator.deploy",
    "generator.workload",
    "generator.emulator",
    "generator.cli",
    "generator.ci_access",
    "boto3",
    "botocore",
    "moto",
)


def module_name(path: Path) -> str:
    """``generator/deploy/aws.py`` -> ``generator.deploy.aws``; handler files by their zip root."""
    base = HANDLER if path.is_relative_to(HANDLER) else ROOT
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """Every import of a file: (module, names), relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, [alias.name for alias in node.names]))
    return found


def project_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def edges() -> dict[str, set[str]]:
    """Module -> the project modules it imports (``from a import b`` counts a.b when b is one)."""
    files = project_files("generator", "handler")
    known = {module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    for path in files:
        targets: set[str] = set()
        for module, names in imports(path):
            for name in names or [None]:
                candidate = f"{module}.{name}" if name else module
                if candidate in known:
                    targets.add(candidate)
                elif module in known:
                    targets.add(module)
        graph[module_name(path)] = targets - {module_name(path)}
    return graph


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def offenders(rule: Iterable[tuple[str, str]]) -> list[str]:
    return sorted(f"{source} imports {target}" for source, target in rule)


def test_only_the_command_layer_and_the_emulator_import_the_emulator() -> None:
    graph = edges()
    found = [
        (s, t)
        for s, ts in graph.items()
        for t in ts
        if within(t, "generator.emulator")
        and not within(s, "generator.emulator")
        and not within(s, "generator.cli")
    ]
    assert offenders(found) == []


def test_nothing_below_the_command_layer_imports_it() -> None:
    graph = edges()
    found = [
        (s, t)
        for s, ts in graph.items()
        for t in ts
        if within(t, "generator.cli")
        and not within(s, "generator.cli")
        and s != "generator.__main__"
    ]
    assert offenders(found) == []


def test_the_emulator_uses_only_the_shared_core() -> None:
    graph = edges()
    found = [
        (s, t)
        for s, ts in graph.items()
        if within(s, "generator.emulator")
        for t in ts
        if within(t, "generator")
        and not within(t, "generator.emulator")
        and t not in EMULATOR_MAY_USE
    ]
    assert offenders(found) == []


def test_the_stack_is_pure() -> None:
    found = []
    for path in project_files("generator/stack"):
        for module, _ in imports(path):
            if any(within(module, banned) for banned in STACK_MAY_NOT_USE):
                found.append(f"{module_name(path)} imports {module}")
    assert found == []


def test_the_ranged_reader_does_not_import_the_core() -> None:
    assert "fileproc.core" not in edges()["fileproc.ranged"]


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph``, or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_modules_import_each_other_in_one_direction() -> None:
    """No cycle, counting function-local imports: a lazy import must not hide a loop."""
    graph = edges()
    # A package's __init__ may re-export its modules; edges into a package's own __init__ from
    # its modules are the loop that matters, so they stay in.
    assert cycle(graph) is None


def test_no_module_imports_another_modules_private_names() -> None:
    found = []
    for path in project_files("generator", "handler", "tests"):
        if "node_modules" in path.parts or "reference_cdk" in path.parts:
            continue
        for module, names in imports(path):
            found += [
                f"{module_name(path)}: from {module} import {name}"
                for name in names
                if name.startswith("_") and not name.startswith("__")
            ]
    assert found == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ],
)
def test_cycle_finds_a_loop_and_only_a_loop(
    graph: dict[str, set[str]], expected: list[str] | None
) -> None:
    assert cycle(graph) == expected
