"""Start, find and stop the emulator server: a background process on loopback.

Its pid, port and log live in ``<state>/emulator/`` (``.state/`` is git-ignored). This module
imports neither moto nor the extension: it only starts ``python -m generator.cli.serve`` and
talks to it over HTTP, so the deploy path stays free of emulator code.

One emulator per state folder: the server holds ``server.lock`` for its whole life (and writes
its pid, port and endpoint into it as into ``server.json``), so a server that answers its health
check slowly, or whose ``server.json`` was damaged, is still found, never started twice; one that
holds the folder but does not answer is reported, and ``stop`` ends every server of the folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from generator.clock import Deadline, SystemClock, poll, until
from generator.emulator.app import HEALTH_PATH, IDENTITY, LOCK_FILE
from generator.errors import ExitCode, GeneratorError
from generator.render import write_atomic
from generator.workspace import CHECKOUT

SUBDIR = "emulator"
# Loopback never goes through a proxy, whatever the machine's proxy settings say.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Running:
    """A running emulator: its process and where it listens."""

    pid: int
    port: int
    endpoint: str


def emulator_dir(state_dir: Path) -> Path:
    """Where the emulator keeps its pid/port file, log and unpacked functions."""
    return state_dir / SUBDIR


def log_file(state_dir: Path) -> Path:
    """The server's log (its stdout and stderr, appended across runs)."""
    return emulator_dir(state_dir) / "server.log"


def _info_file(state_dir: Path) -> Path:
    return emulator_dir(state_dir) / "server.json"


def _parse(path: Path) -> Running | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Running(pid=int(data["pid"]), port=int(data["port"]), endpoint=str(data["endpoint"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_info(state_dir: Path) -> Running | None:
    """What the running server wrote about itself: server.json, else its lock file."""
    return _parse(_info_file(state_dir)) or _parse(emulator_dir(state_dir) / LOCK_FILE)


def server_holds(state_dir: Path) -> bool:
    """Whether a server process holds the folder's lock (is alive), whatever it answers."""
    path = emulator_dir(state_dir) / LOCK_FILE
    if not path.exists():
        return False
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def servers_of(state_dir: Path) -> list[int]:
    """Every live server process started for this state folder (read from /proc: a process
    whose record was lost is found too)."""
    folder = str(emulator_dir(state_dir).resolve())
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv]
        if "generator.cli.serve" in words and _state_arg(words) == folder:
            found.append(int(entry.name))
    return sorted(p for p in found if p != os.getpid() and is_alive(p))


def _state_arg(words: list[str]) -> str | None:
    if "--state-dir" in words and words.index("--state-dir") + 1 < len(words):
        return str(Path(words[words.index("--state-dir") + 1]).resolve())
    return None


def is_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (reaping it if it is our child)."""
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return True  # no /proc (macOS): kill(0) is all we know
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def healthy(endpoint: str, pid: int | None = None, timeout_seconds: float = 1.0) -> bool:
    """Whether our emulator answers at ``endpoint`` (and, if given, is process ``pid``)."""
    try:
        with _OPENER.open(endpoint + HEALTH_PATH, timeout=timeout_seconds) as reply:
            data = json.loads(reply.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return bool(data.get("service") == IDENTITY and (pid is None or data.get("pid") == pid))


def status(state_dir: Path) -> Running | None:
    """The running emulator recorded in ``state_dir``, or None if there is none or it is dead."""
    info = _read_info(state_dir)
    if info is None or not is_alive(info.pid) or not healthy(info.endpoint, info.pid):
        return None
    return info


def _answering(state_dir: Path, seconds: float) -> Running | None:
    """The live server of the folder once it answers its health check (a loaded machine can
    take more than a second), else None."""

    def answers() -> Running | None:
        info = _read_info(state_dir)
        if info is not None and is_alive(info.pid) and healthy(info.endpoint, info.pid, 2.0):
            return info
        return None

    found = answers()
    if found is None:
        until(Deadline(SystemClock(), seconds), 0.5, lambda: answers() is not None)
        found = answers()
    return found


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """One starter or stopper at a time per state folder (parallel `make` targets)."""
    folder = emulator_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_running(state_dir: Path, timeout_seconds: float = 30.0) -> str:
    """The endpoint URL of a healthy emulator, starting one only if none holds the folder."""
    with _locked(state_dir):
        running = status(state_dir)
        if running is not None:
            return running.endpoint
        if server_holds(state_dir) or servers_of(state_dir):
            running = _answering(state_dir, 10.0)
            if running is not None:
                _write_info(state_dir, running)  # a damaged server.json, put right
                return running.endpoint
            pids = ", ".join(str(p) for p in servers_of(state_dir)) or "unknown"
            raise GeneratorError(
                f"an emulator (pid {pids}) holds {emulator_dir(state_dir)} but does not answer "
                "its health check; expected one healthy emulator per state folder. Stop it with "
                f"`python -m generator down` (its resources go with it); see {log_file(state_dir)}",
                ExitCode.FAILED,
            )
        _info_file(state_dir).unlink(missing_ok=True)
        return _start(state_dir, timeout_seconds)


def _write_info(state_dir: Path, running: Running) -> None:
    info = {"pid": running.pid, "port": running.port, "endpoint": running.endpoint}
    write_atomic(_info_file(state_dir), json.dumps(info) + "\n")


def _start(state_dir: Path, timeout_seconds: float) -> str:
    folder = emulator_dir(state_dir)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(CHECKOUT), env.get("PYTHONPATH", "")) if p)
    # The server must never use real credentials or reach AWS itself.
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    with log_file(state_dir).open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our interpreter and module, no shell
            [sys.executable, "-m", "generator.cli.serve", "--state-dir", str(folder.resolve())],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            start_new_session=True,  # outlives the command that started it; Ctrl-C spares it
        )

    def answering() -> str | None:
        info = _read_info(state_dir)
        if info is not None and info.pid == process.pid and healthy(info.endpoint, info.pid):
            return info.endpoint
        if process.poll() is not None:
            raise GeneratorError(
                f"the emulator exited with code {process.returncode} while starting; expected "
                f"it to keep running. Last lines of {log_file(state_dir)}:\n{_tail(state_dir)}",
                ExitCode.FAILED,
            )
        return None

    def timed_out(now: float) -> GeneratorError:
        _terminate(process.pid, 5.0)
        return GeneratorError(
            f"the emulator did not answer within {timeout_seconds:.0f}s; expected a healthy "
            f"server. Last lines of {log_file(state_dir)}:\n{_tail(state_dir)}",
            ExitCode.TIMED_OUT,
        )

    return poll(Deadline(SystemClock(), timeout_seconds), 0.1, answering, timed_out)


def _tail(state_dir: Path, lines: int = 20) -> str:
    try:
        text = log_file(state_dir).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _terminate(pid: int, timeout_seconds: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)

    def gone() -> bool:
        return not is_alive(pid)

    if until(Deadline(SystemClock(), timeout_seconds), 0.05, gone):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    until(Deadline(SystemClock(), timeout_seconds), 0.05, gone)


def _is_ours(info: Running) -> bool:
    """The recorded pid still runs our server (not a reused pid of another program)."""
    if healthy(info.endpoint, info.pid):
        return True
    try:
        cmdline = Path(f"/proc/{info.pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"generator.cli.serve" in cmdline


def stop(state_dir: Path, timeout_seconds: float = 10.0) -> bool:
    """Stop every emulator of the state folder (the recorded one, and any whose record was lost);
    False when none was running (a stale record is removed)."""
    with _locked(state_dir):
        info = _read_info(state_dir)
        pids = set(servers_of(state_dir))
        if info is not None and is_alive(info.pid) and _is_ours(info):
            pids.add(info.pid)
        for pid in sorted(pids):
            _terminate(pid, timeout_seconds)
        _info_file(state_dir).unlink(missing_ok=True)
        return bool(pids)
