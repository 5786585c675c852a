"""Which handler modules import which, and what a small file's cold start imports.

The ranged read and queue mode are imported on first use (a cold start compiles every module it
imports from source: docs/cold-start.md); what the core and the ranged read share lives in
``fileproc/objects.py``, so neither imports the other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.handler.conftest import HANDLER_DIR

FILEPROC = HANDLER_DIR / "fileproc"
# Imported inside the function that needs them, never at a module's top level.
ON_USE = {"fileproc.ranged", "fileproc.sqs"}


def imports(path: Path, *, top_level: bool) -> set[str]:
    """The handler modules ``path`` imports (``fileproc.x``), at its top level or anywhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body if top_level else ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1:  # inside fileproc: `from . import x`, `from .x import y`
                module = f"fileproc.{module}" if module else "fileproc"
            if module == "fileproc":
                found.update(f"fileproc.{alias.name}" for alias in node.names)
            elif module.startswith("fileproc."):
                found.add(module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("fileproc."))
    return found


def module_files() -> dict[str, Path]:
    """Every handler module by its import name (the zip's root is handler/)."""
    files = {f"fileproc.{p.stem}": p for p in FILEPROC.glob("*.py") if p.stem != "__init__"}
    return {**files, "app": HANDLER_DIR / "app.py", "rotation": HANDLER_DIR / "rotation.py"}


def loaded_with(module: str) -> set[str]:
    """The handler modules importing ``module`` imports, through top-level imports."""
    files = module_files()
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(imports(files[name], top_level=True))
    return seen - {module}


def test_the_ranged_read_and_the_core_do_not_import_each_other() -> None:
    assert "fileproc.core" not in imports(FILEPROC / "ranged.py", top_level=False)
    assert "fileproc.core" not in loaded_with("fileproc.ranged")
    assert "fileproc.objects" in loaded_with("fileproc.ranged")
    assert "fileproc.objects" in loaded_with("fileproc.core")
    # The one import of the ranged read: inside process_object, for an object of several parts.
    assert "fileproc.ranged" in imports(FILEPROC / "core.py", top_level=False)


def test_the_entry_points_load_neither_the_ranged_read_nor_queue_mode() -> None:
    assert not loaded_with("app") & ON_USE
    assert not loaded_with("rotation") & ON_USE


def test_the_import_scan_sees_every_form_of_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from . import core, objects\nfrom .ranged import x\nimport fileproc.sqs\n"
        "from fileproc import events\nfrom fileproc.settings import Settings\nimport json\n"
        "def f():\n    from .signing import sign\n",
        encoding="utf-8",
    )

    assert imports(probe, top_level=True) == {
        "fileproc.core", "fileproc.objects", "fileproc.ranged", "fileproc.sqs",
        "fileproc.events", "fileproc.settings",
    }  # fmt: skip
    assert "fileproc.signing" in imports(probe, top_level=False)


# Run in a fresh interpreter: this test process has imported every module already.
COLD_PATH = """
import io, sys
sys.path.insert(0, sys.argv[1])
import app
from fileproc import core, events
from fileproc.objects import StoredObject
from fileproc.settings import settings_from_env
from fileproc.signing import SigningKey

class Store:
    def __init__(self, body):
        self.body = body
    def open(self, bucket, key, version_id, if_match, byte_range=None):
        data = self.body if byte_range is None else self.body[byte_range[0] : byte_range[1] + 1]
        return StoredObject(io.BytesIO(data), "etag", "v1", None, len(self.body))
    def put_if_absent(self, bucket, key, body):
        return True

def loaded():
    return sorted(n for n in ("fileproc.ranged", "fileproc.sqs") if n in sys.modules)

config = settings_from_env({"SECRET_ARN": "arn:x", "READ_PART_MIB": "1"})
key = SigningKey("p" * 32, "v1")
print(loaded())
small = events.ObjectEvent(0, "b", "uploads/small", "v1", 10, None)
core.process_object(small, Store(b"s" * 10), lambda: key, config)
print(loaded())
large = events.ObjectEvent(0, "b", "uploads/large", "v1", 1048577, None)
core.process_object(large, Store(b"l" * 1048577), lambda: key, config)
print(loaded())
"""


def test_a_small_file_never_imports_the_ranged_read_or_queue_mode() -> None:
    done = subprocess.run(
        [sys.executable, "-c", COLD_PATH, str(HANDLER_DIR)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    # After import, after a small file, after a file of more than one part.
    assert done.stdout.splitlines() == ["[]", "[]", "['fileproc.ranged']"]
