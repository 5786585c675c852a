"""The Python a function runs on in the emulator: its declared runtime's, else a stand-in, said
once."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from generator.emulator import runtimes
from generator.emulator.delivery import init_start_line
from generator.emulator.runtimes import FunctionPython, Pythons, resolve, wanted_version

OWN = ".".join(str(part) for part in sys.version_info[:3])


def fake_environment(root: Path, runtime: str, prints: str, exit_code: int = 0) -> Path:
    """``.build/lambda-runtimes/<runtime>/bin/python``: a script answering the probe."""
    python = runtimes.environment_of(runtime, root) / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f"#!/bin/sh\necho {prints}\nexit {exit_code}\n", encoding="utf-8")
    python.chmod(0o755)
    return python


@pytest.mark.parametrize(
    ("runtime", "expected"),
    [("python3.13", "3.13"), ("python3.9", "3.9"), ("nodejs22.x", None), ("python3", None)],
)
def test_wanted_version_reads_cpythons_runtimes_only(runtime: str, expected: str | None) -> None:
    assert wanted_version(runtime) == expected


def test_uses_the_runtimes_environment_when_it_runs_the_declared_python(tmp_path: Path) -> None:
    python = fake_environment(tmp_path, "python3.13", "3.13.0")
    found, note = resolve("python3.13", tmp_path)
    assert found == FunctionPython("python3.13", str(python), "3.13.0", True)
    assert note is None
    assert found.describe() == "Python 3.13.0 (declared python3.13)"


def test_rejects_an_environment_of_another_python(tmp_path: Path) -> None:
    fake_environment(tmp_path, "python3.13", "3.12.7")
    found, note = resolve("python3.13", tmp_path)
    assert (found.executable, found.declared) == (sys.executable, False)
    assert note is not None
    assert "does not run Python 3.13 with boto3" in note


def test_rejects_an_environment_without_the_sdk(tmp_path: Path) -> None:
    fake_environment(tmp_path, "python3.13", "3.13.0", exit_code=1)  # import boto3 failed
    found, _ = resolve("python3.13", tmp_path)
    assert not found.declared


def test_falls_back_to_its_own_python_and_says_how_to_get_the_declared_one(
    tmp_path: Path,
) -> None:
    found, note = resolve("python3.13", tmp_path)
    assert found == FunctionPython("python3.13", sys.executable, OWN, False)
    assert note is not None
    assert "`make lambda-runtime` makes it" in note
    assert f"run on this Python {OWN} instead" in note


def test_says_once_per_runtime_that_it_stands_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pythons = Pythons(tmp_path)
    first = pythons.for_runtime("python3.13")
    assert pythons.for_runtime("python3.13") is first
    assert capsys.readouterr().err.count("functions declaring python3.13") == 1


def test_the_cold_start_line_names_the_python_as_lambda_does() -> None:
    declared = FunctionPython("python3.13", "/x/python", "3.13.0", True)
    assert init_start_line(declared).startswith("INIT_START Runtime Version: python:3.13.0\t")
    stand_in = FunctionPython("python3.13", "/x/python", "3.11.7", False)
    assert "the emulator's own Python; declared python3.13 not found" in init_start_line(stand_in)
