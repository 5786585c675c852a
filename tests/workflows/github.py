"""GitHub's own workflow parser and expression evaluator for the workflow tests.

``actions.mjs`` (bundled into ``.build/workflows`` by ``make workflow-env``) runs
@actions/workflow-parser and @actions/expressions, the packages of GitHub's Actions language
service, under Node. One Node process per test worker answers every request (JSON lines), so a
test costs no process start: the parsed documents stay in it, and fields of them are evaluated by
path. What GitHub's runner decides and these packages do not model (which jobs follow which, what
success() and failure() mean in a run, what a step's command does) is the tests' own simulation.
"""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from generator.workspace import CHECKOUT

TOOLS = Path(__file__).resolve().parent
SOURCE = TOOLS / "actions.mjs"
BUNDLE = CHECKOUT / ".build" / "workflows" / "actions.mjs"
INSTALL_COMMAND = "make workflow-env"
STATUS_FUNCTIONS = ("success", "failure", "cancelled", "always")


class ToolMissing(RuntimeError):
    """Node, or the bundle of GitHub's packages, is not there (or older than its sources)."""


class ExpressionFailed(AssertionError):
    """GitHub's evaluator refused an expression: unknown context or function, bad syntax."""


@dataclass(frozen=True)
class Parsed:
    """One document as GitHub's parser read it."""

    name: str
    errors: tuple[str, ...]
    tree: dict[str, Any]
    # Each job's id: its type ("job" or "reusableWorkflowJob"), needs, its condition as the runner
    # evaluates it (success() added where none is named) and its steps' conditions likewise.
    jobs: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Value:
    """An evaluated expression or field: its JSON value and whether GitHub deems it true."""

    value: Any
    truthy: bool


def _check_installed() -> str:
    node = shutil.which("node")
    if node is None:
        raise ToolMissing("node is not installed; the workflow tests run GitHub's parser on it")
    if not BUNDLE.exists():
        raise ToolMissing(f"GitHub's workflow parser is not built; run: {INSTALL_COMMAND}")
    built = BUNDLE.stat().st_mtime
    for source in (SOURCE, TOOLS / "package-lock.json"):
        if source.stat().st_mtime > built:
            raise ToolMissing(f"{BUNDLE} is older than {source.name}; run: {INSTALL_COMMAND}")
    return node


class _Process:
    """The Node process: one request line in, one reply line out, one request at a time."""

    def __init__(self) -> None:
        self._node = subprocess.Popen(
            [_check_installed(), str(BUNDLE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self._lock = threading.Lock()
        atexit.register(self.close)

    def ask(self, request: Mapping[str, Any]) -> dict[str, Any]:
        assert self._node.stdin is not None
        assert self._node.stdout is not None
        with self._lock:
            self._node.stdin.write(json.dumps(request) + "\n")
            self._node.stdin.flush()
            line = self._node.stdout.readline()
        if not line:
            raise RuntimeError(f"actions.mjs exited ({self._node.poll()})")
        reply: dict[str, Any] = json.loads(line)
        if "failed" in reply:
            raise RuntimeError(f"actions.mjs failed: {reply['failed']}")
        return reply

    def close(self) -> None:
        if self._node.poll() is None:
            assert self._node.stdin is not None
            self._node.stdin.close()
            try:
                self._node.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._node.kill()


@cache
def _process() -> _Process:
    return _Process()


def parse_workflow(path: Path, local_workflows: Mapping[str, str] | None = None) -> Parsed:
    """A workflow file through GitHub's parser and converter; ``local_workflows`` (repository
    path -> text) are the reusable workflows its jobs may call with ``uses: ./...``."""
    reply = _process().ask(
        {
            "op": "parse",
            "kind": "workflow",
            "name": path.name,
            "content": path.read_text(encoding="utf-8"),
            "files": dict(local_workflows or {}),
        }
    )
    return Parsed(path.name, tuple(reply["errors"]), reply["tree"], reply["jobs"])


def parse_action(path: Path, name: str) -> Parsed:
    """An action's ``action.yml`` through GitHub's parser (``name`` tells it from workflows)."""
    content = path.read_text(encoding="utf-8")
    reply = _process().ask({"op": "parse", "kind": "action", "name": name, "content": content})
    return Parsed(name, tuple(reply["errors"]), reply["tree"], {})


def _status(status: Mapping[str, bool] | None) -> dict[str, bool] | None:
    if status is None:
        return None
    assert set(status) <= set(STATUS_FUNCTIONS), status
    return dict(status)


def evaluate_many(items: Sequence[Mapping[str, Any]]) -> list[Value]:
    """Several expressions (``expression``) or parsed fields (``name`` and ``path``), each with
    its ``context`` and, where the status functions may be called, their ``status``; one
    round trip. Raises ExpressionFailed for the first one GitHub's evaluator refuses."""
    if not items:
        return []
    requests = [{**item, "status": _status(item.get("status"))} for item in items]
    values = _process().ask({"op": "evaluate", "items": requests})["values"]
    results = []
    for item, value in zip(items, values, strict=True):
        if "error" in value:
            what = item.get("expression") or f"{item['name']}: {item['path']}"
            raise ExpressionFailed(f"GitHub's evaluator refuses {what!r}: {value['error']}")
        results.append(Value(value["value"], bool(value["truthy"])))
    return results


def evaluate(
    expression: str, context: Mapping[str, Any], status: Mapping[str, bool] | None = None
) -> Value:
    """One expression (without ``${{ }}``) against ``context``."""
    (value,) = evaluate_many([{"expression": expression, "context": context, "status": status}])
    return value


def evaluate_field(
    parsed: Parsed,
    path: Sequence[str | int],
    context: Mapping[str, Any],
    status: Mapping[str, bool] | None = None,
) -> Value:
    """A field of a parsed document (keys and indexes from its root) as the runner computes it:
    expressions evaluated (``plan-${{ matrix.name }}`` too), mappings and lists element-wise."""
    item = {"name": parsed.name, "path": list(path), "context": context, "status": status}
    (value,) = evaluate_many([item])
    return value
