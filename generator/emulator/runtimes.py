"""The Python a function runs on in the emulator: the one its ``Runtime`` declares.

Lambda runs a ``python3.13`` function on CPython 3.13 with an AWS SDK (boto3, botocore) provided
by the runtime. The emulator does the same with ``.build/lambda-runtimes/<runtime>/``: a
virtualenv of that Python holding the pinned SDK (``requirements-lambda-runtime.txt``), made by
``make lambda-runtime`` (which ``make deploy``, ``demo``, ``up`` and ``test`` run) from the
interpreter ``generator.interpreters`` finds on the machine. Where there is no such environment
the emulator says so once per runtime and runs the function on its own interpreter instead.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from generator.workspace import CHECKOUT

RUNTIMES_DIR = Path(".build") / "lambda-runtimes"
# Prints the interpreter's version, and fails unless the runtime's SDK imports.
_PROBE = "import platform, boto3, botocore; print(platform.python_version())"


@dataclass(frozen=True)
class FunctionPython:
    """The interpreter that runs a function, and whether it is the one its runtime declares."""

    runtime: str  # as declared, e.g. python3.13
    executable: str
    version: str  # e.g. 3.13.0
    declared: bool  # False: the emulator's own interpreter stands in

    def describe(self) -> str:
        """One line for logs: which Python ran the function, against what it declared."""
        if self.declared:
            return f"Python {self.version} (declared {self.runtime})"
        return f"Python {self.version}, the emulator's own (declared {self.runtime}: not found)"


def environment_of(runtime: str, root: Path = CHECKOUT) -> Path:
    """The virtualenv of a runtime, with its SDK: ``.build/lambda-runtimes/<runtime>``."""
    return root / RUNTIMES_DIR / runtime


def wanted_version(runtime: str) -> str | None:
    """``python3.13`` -> ``3.13``; None for a runtime that is not CPython's."""
    prefix = "python"
    if not runtime.startswith(prefix):
        return None
    version = runtime[len(prefix) :]
    major, _, minor = version.partition(".")
    return version if major.isdigit() and minor.isdigit() else None


def _probe(executable: Path) -> str | None:
    """The interpreter's version when it runs and imports the SDK; None otherwise."""
    try:
        done = subprocess.run(  # noqa: S603 - an interpreter we made, a fixed script
            [str(executable), "-c", _PROBE],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def resolve(runtime: str, root: Path = CHECKOUT) -> tuple[FunctionPython, str | None]:
    """The Python for ``runtime`` and, when it is a stand-in, why (a line to log once)."""
    wanted = wanted_version(runtime)
    executable = environment_of(runtime, root) / "bin" / "python"
    if wanted is not None and executable.exists():
        version = _probe(executable)
        if version is not None and (version == wanted or version.startswith(wanted + ".")):
            return FunctionPython(runtime, str(executable), version, True), None
        why = f"{executable} does not run Python {wanted} with boto3"
    elif wanted is None:
        why = f"{runtime} is not a Python runtime the emulator knows"
    else:
        why = f"{environment_of(runtime, root)} does not exist (`make lambda-runtime` makes it)"
    own = ".".join(str(part) for part in sys.version_info[:3])
    stand_in = FunctionPython(runtime, sys.executable, own, False)
    return stand_in, f"{why}; functions declaring {runtime} run on this Python {own} instead"


class Pythons:
    """The interpreters of the runtimes seen so far, resolved once each (thread safe)."""

    def __init__(self, root: Path = CHECKOUT) -> None:
        self._root = root
        self._found: dict[str, FunctionPython] = {}
        self._lock = threading.Lock()

    def for_runtime(self, runtime: str) -> FunctionPython:
        """The Python that runs functions declaring ``runtime``."""
        with self._lock:
            if runtime not in self._found:
                found, note = resolve(runtime, self._root)
                if note:
                    print(f"[emulator] {note}", file=sys.stderr, flush=True)
                self._found[runtime] = found
            return self._found[runtime]
