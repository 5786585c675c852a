"""One run per environment at a time on a machine: an advisory lock in the state folder.

Two checkouts (or two terminals) deploying the same stack would each plan against what the
other is changing; the later one would silently win. ``held`` takes
``<state>/locks/<stack>.lock`` for the duration of a command, or refuses at once (exit 3) naming
the run that holds it. The operating system releases the lock when its process ends, however it
ends, so a killed run never leaves it behind. (Across machines, CloudFormation refuses a second
operation on a busy stack, and the deploy workflow's concurrency group serializes CI's.)
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from generator.errors import ExitCode, GeneratorError

SUBDIR = "locks"


def lock_file(state_dir: Path, name: str) -> Path:
    """The lock of one stack: ``<state>/locks/<name>.lock``."""
    return state_dir / SUBDIR / f"{name}.lock"


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {info['pid']}, `{info['command']}` since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not said which"


@contextmanager
def held(state_dir: Path, name: str, what: str) -> Iterator[None]:
    """Hold the lock of ``name`` while the block runs; refuse (exit 3) if another run has it."""
    path = lock_file(state_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise GeneratorError(
                f"another run is working on {name} on this machine ({_holder(path)}); expected "
                f"one at a time: wait for it to finish, then {what} again",
                ExitCode.BLOCKED,
            ) from None
        try:
            handle.seek(0)
            handle.truncate()
            command = " ".join(["python -m generator", *sys.argv[1:]])
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            handle.write(json.dumps({"pid": os.getpid(), "command": command, "since": stamp}))
            handle.flush()
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
