"""Find a CPython of a Lambda runtime's version on this machine, without downloading one.

``find("python3.13")`` tries, in order, and takes the first candidate that runs and reports
that version:

1. every ``python3.13`` on ``PATH`` (pyenv's shims are on ``PATH`` too and fail unless that
   version is selected, so a file of the right name proves nothing until it has run);
2. pyenv's installs, ``$PYENV_ROOT`` (default ``~/.pyenv``) ``/versions/3.13*/bin/python3.13``,
   newest patch release first;
3. a uv-managed interpreter, ``uv python find 3.13`` (uv on ``PATH``, else the one ``make``
   bootstraps into ``.build/uv``), with uv's downloads turned off.

It returns the interpreter's own ``sys.executable``, never a shim or a virtual environment's.
Standard library only: ``make`` runs it with the bare ``python3`` before any virtualenv exists
(``python -m generator.interpreters python3.13``), and it starts at most a few short processes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

# A candidate that has not answered by then is stuck (a shim waiting on something): skip it.
PROBE_TIMEOUT_SECONDS = 5.0
# The uv `make` installs (Makefile: UV_HOME), used when no uv is on PATH.
BOOTSTRAPPED_UV = Path(__file__).resolve().parents[1] / ".build" / "uv" / "bin" / "uv"
# Printed by the candidate: its executable, version, implementation, and whether it is a venv's.
PROBE = (
    "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2]); "
    "print(sys.implementation.name); print(sys.prefix != sys.base_prefix)"
)
RUNTIME = re.compile(r"python(\d+)\.(\d+)")


def find(runtime: str) -> Path | None:
    """The CPython executable of ``runtime`` (e.g. ``python3.13``) on this machine, or None."""
    return search(runtime)[0]


def search(runtime: str) -> tuple[Path | None, list[str]]:
    """What ``find`` returns, and why each candidate (or place) tried gave nothing."""
    version = runtime_version(runtime)
    tried: list[str] = []
    for candidate in candidates(version, tried):
        found, why = probe(candidate, version)
        if found is not None:
            return found, tried
        tried.append(f"{candidate} {why}")
    return None, tried


def candidates(version: str, tried: list[str]) -> Iterator[Path]:
    """Every candidate, best first, each place only once the ones before it failed."""
    name = f"python{version}"
    path = list(on_path(name))
    if not path:
        tried.append(f"no {name} on PATH")
    yield from path
    installs = list(pyenv_installs(version))
    if not installs:
        tried.append(f"no pyenv install of {version} in {pyenv_root() / 'versions'}")
    yield from installs
    yield from uv_managed(version, tried)


def runtime_version(runtime: str) -> str:
    """``3.13`` for ``python3.13``; ValueError for anything that is not a Python runtime name."""
    match = RUNTIME.fullmatch(runtime)
    if match is None:
        raise ValueError(
            f"{runtime!r} is not a Lambda Python runtime; expected python<major>.<minor>, "
            "e.g. python3.13"
        )
    return f"{int(match[1])}.{int(match[2])}"


def on_path(name: str) -> Iterator[Path]:
    """Every executable file called ``name`` on PATH, in PATH order, each once."""
    seen: set[Path] = set()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder or ".") / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield candidate


def pyenv_installs(version: str) -> Iterator[Path]:
    """pyenv's ``<version>.N`` installs, final releases before others, newest patch first."""
    pattern = re.compile(rf"{re.escape(version)}(?:\.(\d+))?(\D.*)?")
    ranked: list[tuple[bool, int, str, Path]] = []
    versions = pyenv_root() / "versions"
    for folder in sorted(versions.glob(f"{version}*")) if versions.is_dir() else []:
        match = pattern.fullmatch(folder.name)
        executable = folder / "bin" / f"python{version}"
        if match and executable.is_file():
            # A suffix (rc1, -dev, t for free-threaded) ranks below every plain release.
            ranked.append((not match[2], int(match[1] or 0), folder.name, executable))
    for *_, executable in sorted(ranked, reverse=True):
        yield executable


def pyenv_root() -> Path:
    """Where pyenv keeps its versions: ``$PYENV_ROOT``, else ``~/.pyenv``."""
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def uv_managed(version: str, tried: list[str]) -> Iterator[Path]:
    """The interpreter ``uv python find`` names among uv's own installs (none is downloaded)."""
    uv = shutil.which("uv") or (str(BOOTSTRAPPED_UV) if BOOTSTRAPPED_UV.is_file() else None)
    if uv is None:
        tried.append("no uv on PATH or in .build/uv")
        return
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PYTHON")}
    env.update(UV_PYTHON_DOWNLOADS="never", UV_PYTHON_PREFERENCE="only-managed")
    try:
        done = subprocess.run(  # noqa: S603 -- a fixed argument list, no shell
            [uv, "python", "find", "--no-project", version],
            capture_output=True,
            text=True,
            env=env,
            cwd=os.sep,  # no project or .venv of the caller's folder is considered
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        tried.append(f"{uv} python find {version}: {type(exc).__name__}")
        return
    found = done.stdout.strip()
    if done.returncode != 0 or not found:
        tried.append(f"{uv} python find {version}: no uv-managed {version}")
        return
    yield Path(found)


def probe(candidate: Path, version: str) -> tuple[Path | None, str]:
    """Run ``candidate``: its real executable if it is a CPython ``version``, else why not."""
    try:
        done = subprocess.run(  # noqa: S603 -- a fixed argument list, no shell
            [str(candidate), "-I", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"gave no answer within {PROBE_TIMEOUT_SECONDS:g} s"
    except OSError as exc:
        return None, f"could not run ({exc.strerror or type(exc).__name__})"
    if done.returncode != 0:
        return None, f"failed with exit status {done.returncode} (a pyenv shim not selected?)"
    return judge(done.stdout.splitlines(), version)


def judge(lines: list[str], version: str) -> tuple[Path | None, str]:
    """The executable a probe reported if it is a real CPython ``version``, else why not."""
    if len(lines) != 4:
        return None, "did not report its version"
    executable, reported, implementation, in_venv = lines
    if (reported, implementation) != (version, "cpython"):
        problem = f"is {implementation} {reported}, not CPython {version}"
    elif in_venv != "False":
        problem = "is a virtual environment's"
    elif not executable or not Path(executable).is_file():
        problem = f"reported no executable file ({executable!r})"
    else:
        return Path(executable), ""
    return None, problem


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m generator.interpreters python3.13``: print the path (0) or why not (1)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m generator.interpreters <runtime, e.g. python3.13>", file=sys.stderr)
        return 2
    try:
        found, tried = search(args[0])
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if found is None:
        version = runtime_version(args[0])
        print(f"no CPython {version} ({args[0]}) found: {'; '.join(tried)}", file=sys.stderr)
        return 1
    print(found)
    return 0


if __name__ == "__main__":
    sys.exit(main())
