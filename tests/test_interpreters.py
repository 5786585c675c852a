"""Finding the function's Python: PATH (past pyenv's shims), pyenv's installs, uv's; no downloads.

Every interpreter here is a small shell script that answers the probe the way a real one would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator import interpreters


def script(path: Path, body: str) -> Path:
    """An executable shell script at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def interpreter(
    path: Path,
    version: str = "3.13",
    *,
    implementation: str = "cpython",
    venv: bool = False,
    reports: Path | None = None,
) -> Path:
    """A fake interpreter answering the probe: it reports ``reports`` (default itself)."""
    executable = reports or path
    return script(path, f"printf '%s\\n' '{executable}' '{version}' '{implementation}' '{venv}'")


def shim(path: Path) -> Path:
    """What pyenv's shim does when its version is not selected."""
    return script(path, "echo 'pyenv: python3.13: command not found' >&2\nexit 127")


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty machine: nothing on PATH, no pyenv, no uv (the bootstrapped one included)."""
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.setattr(interpreters, "BOOTSTRAPPED_UV", tmp_path / "no-uv")
    return tmp_path


def path_of(*folders: Path) -> str:
    return os.pathsep.join(str(f) for f in folders)


def test_finds_the_runtime_on_path_and_returns_the_real_executable(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = script(machine / "opt" / "python3.13", "exit 0")
    interpreter(machine / "bin" / "python3.13", reports=real)
    monkeypatch.setenv("PATH", path_of(machine / "bin"))

    assert interpreters.find("python3.13") == real


def test_a_failing_shim_is_passed_over_for_a_later_path_entry(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shim(machine / "shims" / "python3.13")
    real = interpreter(machine / "usr" / "bin" / "python3.13")
    monkeypatch.setenv("PATH", path_of(machine / "shims", machine / "usr" / "bin"))

    found, tried = interpreters.search("python3.13")

    assert found == real
    assert tried == [f"{machine / 'shims' / 'python3.13'} failed with exit status 127 "
                     "(a pyenv shim not selected?)"]  # fmt: skip


def test_takes_pyenvs_newest_patch_release_by_number(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shim(machine / "pyenv" / "shims" / "python3.13")
    monkeypatch.setenv("PATH", path_of(machine / "pyenv" / "shims"))
    versions = machine / "pyenv" / "versions"
    for name in ("3.13.0", "3.13.2", "3.13.10", "3.13.11rc1", "3.13.12t", "3.130.0"):
        interpreter(versions / name / "bin" / "python3.13")
    interpreter(versions / "3.12.9" / "bin" / "python3.12", "3.12")

    assert interpreters.find("python3.13") == versions / "3.13.10" / "bin" / "python3.13"


def test_pyenv_defaults_to_the_home_folder(machine: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYENV_ROOT")
    monkeypatch.setenv("HOME", str(machine / "home"))
    real = interpreter(machine / "home" / ".pyenv" / "versions" / "3.13.0" / "bin" / "python3.13")

    assert interpreters.find("python3.13") == real


def test_a_broken_pyenv_install_is_passed_over_for_an_older_one(machine: Path) -> None:
    versions = machine / "pyenv" / "versions"
    script(versions / "3.13.5" / "bin" / "python3.13", "exit 1")
    older = interpreter(versions / "3.13.4" / "bin" / "python3.13")

    assert interpreters.find("python3.13") == older


@pytest.mark.parametrize(
    ("version", "implementation", "venv"),
    [("3.12", "cpython", False), ("3.13", "pypy", False), ("3.13", "cpython", True)],
)
def test_rejects_what_is_not_the_runtimes_own_cpython(
    machine: Path, monkeypatch: pytest.MonkeyPatch, version: str, implementation: str, venv: bool
) -> None:
    interpreter(machine / "bin" / "python3.13", version, implementation=implementation, venv=venv)
    monkeypatch.setenv("PATH", path_of(machine / "bin"))

    found, tried = interpreters.search("python3.13")

    assert found is None
    assert tried[0].startswith(str(machine / "bin" / "python3.13"))


def test_rejects_an_executable_that_does_not_exist(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interpreter(machine / "bin" / "python3.13", reports=machine / "gone" / "python3.13")
    monkeypatch.setenv("PATH", path_of(machine / "bin"))

    assert interpreters.find("python3.13") is None


def test_gives_up_on_a_candidate_that_does_not_answer(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(
        machine / "bin" / "python3.13", f"exec {sys.executable} -c 'import time; time.sleep(10)'"
    )
    monkeypatch.setenv("PATH", path_of(machine / "bin"))
    monkeypatch.setattr(interpreters, "PROBE_TIMEOUT_SECONDS", 0.2)

    found, tried = interpreters.search("python3.13")

    assert found is None
    assert "gave no answer within 0.2 s" in tried[0]


def fake_uv(path: Path, answer: Path, log: Path) -> Path:
    """A uv that logs its arguments and environment, and names ``answer`` unless it may download."""
    return script(
        path,
        f'echo "$* downloads=$UV_PYTHON_DOWNLOADS venv=$VIRTUAL_ENV" >> "{log}"\n'
        '[ "$UV_PYTHON_DOWNLOADS" = never ] || exit 3\n'
        f'[ "$*" = "python find --no-project 3.13" ] && echo "{answer}"',
    )


def test_falls_back_to_a_uv_managed_interpreter_without_downloads(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    managed = interpreter(machine / "uv-python" / "cpython-3.13.1" / "bin" / "python3.13")
    fake_uv(machine / "tools" / "uv", managed, machine / "uv.log")
    monkeypatch.setenv("PATH", path_of(machine / "tools"))
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "automatic")
    monkeypatch.setenv("VIRTUAL_ENV", str(machine / "some-venv"))

    assert interpreters.find("python3.13") == managed
    assert (
        machine / "uv.log"
    ).read_text() == "python find --no-project 3.13 downloads=never venv=\n"


def test_uses_the_uv_make_bootstrapped_when_none_is_on_path(
    machine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    managed = interpreter(machine / "uv-python" / "bin" / "python3.13")
    uv = fake_uv(machine / ".build" / "uv" / "bin" / "uv", managed, machine / "uv.log")
    monkeypatch.setattr(interpreters, "BOOTSTRAPPED_UV", uv)

    assert interpreters.find("python3.13") == managed


def test_says_where_it_looked_when_nothing_is_found(
    machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert interpreters.find("python3.13") is None
    assert interpreters.main(["python3.13"]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("no CPython 3.13 (python3.13) found: no python3.13 on PATH; ")
    assert f"no pyenv install of 3.13 in {machine / 'pyenv' / 'versions'}" in err
    assert "no uv on PATH or in .build/uv" in err


@pytest.mark.parametrize("runtime", ["nodejs20.x", "python3", "python3.13.0", "Python3.13", ""])
def test_rejects_a_runtime_that_is_not_a_python_version(
    runtime: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match=r"expected python<major>\.<minor>"):
        interpreters.find(runtime)
    assert interpreters.main([runtime]) == 2
    assert repr(runtime) in capsys.readouterr().err


def test_runs_as_a_module_and_prints_the_path(machine: Path, repo_root: Path) -> None:
    real = interpreter(machine / "bin" / "python3.13")
    env = {**os.environ, "PATH": path_of(machine / "bin")}

    done = subprocess.run(
        [sys.executable, "-m", "generator.interpreters", "python3.13"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (done.returncode, done.stdout, done.stderr) == (0, f"{real}\n", "")


def test_imports_only_the_standard_library(repo_root: Path) -> None:
    probe = (
        "import sys; before = set(sys.modules); import generator.interpreters; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "print(sorted(new - set(sys.stdlib_module_names)))"
    )

    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=repo_root, capture_output=True, text=True, check=True
    )

    assert done.stdout == "['generator']\n"


def test_probes_a_real_interpreter_and_sees_a_virtual_environment() -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"

    found, why = interpreters.probe(Path(sys.executable), version)

    if sys.prefix != sys.base_prefix:  # the tests' own .venv: its interpreter is not a base one
        assert (found, why) == (None, "is a virtual environment's")
    else:
        assert (found, why) == (Path(sys.executable), "")
