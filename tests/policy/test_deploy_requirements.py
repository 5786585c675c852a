"""requirements-deploy.txt: what deploy jobs install (hash-locked), and that it is not stale.

Deploy jobs hold production credentials, so they install only the project's runtime dependencies,
each pinned with hashes, and the build backend the project installs with (``make install-deploy``:
``pip install --require-hashes --no-deps --only-binary :all: -r requirements-deploy.txt`` then
``pip install --no-deps --no-build-isolation --no-index --editable .``). ``make
requirements-deploy`` regenerates the file with pip-compile from pyproject.toml, constrained to
constraints.txt (the versions the tests ran with). These checks need no network: they fail when
pyproject.toml or constraints.txt changed and the lock did not.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from generator.workspace import CHECKOUT

ROOT = CHECKOUT
LOCK = ROOT / "requirements-deploy.txt"
REGENERATE = "run `make requirements-deploy` and commit requirements-deploy.txt"
_ENTRY = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\$")
_PROJECT_VIA = "serverlessapp-gitops (pyproject.toml)"


def _runtime() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(text) for text in project["dependencies"]]
    return {canonicalize_name(r.name): r for r in requirements}


def _build_requires() -> dict[str, Requirement]:
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]
    requirements = [Requirement(text) for text in build["requires"]]
    return {canonicalize_name(r.name): r for r in requirements}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _entries() -> dict[str, tuple[str, list[str]]]:
    """Each locked package: its version and the block of lines below it (hashes, via)."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = _ENTRY.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            entries[current] = (match.group(2), [])
        elif current is not None and line.startswith("    "):
            entries[current][1].append(line.strip())
    return entries


def test_every_runtime_dependency_is_locked_at_the_tested_version() -> None:
    entries = _entries()
    constraints = _pins(ROOT / "constraints.txt")
    for name, requirement in _runtime().items():
        assert name in entries, f"{name} is not in requirements-deploy.txt: {REGENERATE}"
        version = entries[name][0]
        assert requirement.specifier.contains(version), f"{name}=={version}: {REGENERATE}"
        assert constraints.get(name) == version, f"{name}=={version}: {REGENERATE}"


def test_the_lock_holds_only_runtime_dependencies_and_what_they_need() -> None:
    runtime = set(_runtime())
    direct = {name for name, (_, lines) in _entries().items() if _PROJECT_VIA in " ".join(lines)}
    assert direct == runtime, REGENERATE
    assert not {"moto", "pytest", "cfn-lint", "ruff", "mypy", "checkov"} & set(_entries())


def test_every_locked_package_is_hash_pinned_and_tested() -> None:
    constraints = _pins(ROOT / "constraints.txt")
    build = _build_requires()
    for name, (version, lines) in _entries().items():
        assert any(line.startswith("--hash=sha256:") for line in lines), name
        if name in build:  # the build backend: not in .venv's freeze, only in the lock
            continue
        assert constraints.get(name) == version, f"{name}=={version}: {REGENERATE}"


def test_the_lock_pins_the_build_backend_the_project_installs_with() -> None:
    # The project is installed with --no-build-isolation --no-index: the backend must come from
    # the lock, or pip would fetch an unpinned setuptools (Python 3.11's bundled one cannot build
    # it: no bdist_wheel; 3.12+ bundles none).
    entries = _entries()
    for name, requirement in _build_requires().items():
        assert name in entries, f"{name} (build-system.requires) is not locked: {REGENERATE}"
        version, lines = entries[name]
        assert requirement.specifier.contains(version), f"{name}=={version}: {REGENERATE}"
        assert any("build-system.requires" in line for line in lines), name
