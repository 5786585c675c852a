"""Shared fixtures. Every test runs with fake AWS credentials, so none can reach AWS."""

from __future__ import annotations

from pathlib import Path

import botocore.loaders
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _share_botocore_models() -> None:
    """One cache of loaded service models for every botocore session of a test process.

    The deploy code (like any CLI) opens one session per run, so a test that runs it opens a
    fresh one, and each session's loader parses the same service models again (s3, sts and
    cloudformation: tens of milliseconds per client, most of the in-process tests' time). The
    loader's own per-instance cache is shared instead: every loader with the same search paths
    returns the same model objects, exactly as one session's clients already share them. Tests
    only: a deploy run is one process with one session.
    """
    if not isinstance(getattr(botocore.loaders.Loader(), "_cache", None), dict):
        return  # botocore changed how it caches: tests are slower, nothing else differs
    shared: dict[tuple[str, ...], dict[object, object]] = {}
    original = botocore.loaders.Loader.__init__

    def init(self: botocore.loaders.Loader, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        self._cache = shared.setdefault(tuple(self.search_paths), {})

    botocore.loaders.Loader.__init__ = init


_share_botocore_models()
# Whole files that `make quick` leaves out (`-m "not e2e and not integration"`); `make test` and
# CI run them. They start emulator processes, run moto flows end to end, or run the linters as
# subprocesses: about two thirds of the suite's time, little of it needed on every edit.
INTEGRATION_FILES = frozenset(
    {
        "tests/emulator/test_server.py",
        "tests/deploy/test_moto_flow.py",
        "tests/deploy/test_drift_flow.py",
        "tests/handler/test_handler_moto.py",
        "tests/test_ci_access.py",
        "tests/policy/test_gates.py",
    }
)


# The longest tests, longest first (`pytest --durations`), as files or single tests: they are
# handed to the xdist workers before everything else, so a one-minute test does not start last
# and leave the other worker idle. The end-to-end flows wait on a real emulator (the ingest-queue
# flow on SQS visibility timeouts, ~25 s); the linters run as subprocesses.
SLOW_FIRST = (
    "tests/emulator/test_ingest_queue_e2e.py",
    "tests/test_ci_access.py::test_passes_checkov",
    "tests/emulator/test_rotation_e2e.py",
    "tests/emulator/test_preview_e2e.py",
    "tests/emulator/test_plan_e2e.py",
    "tests/emulator/test_e2e.py",
    "tests/policy/test_landing_zone.py",
    "tests/test_ci_access.py::test_passes_cfn_lint_with_the_project_config",
    "tests/policy/test_cfnlint_rules.py",
    "tests/emulator/test_delivery.py",
    "tests/emulator/test_server.py",
    "tests/policy/test_gates.py",
    "tests/policy/test_iam_simulation.py",
)


def _relative(item: pytest.Item) -> str | None:
    path = Path(str(item.fspath)).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run SLOW_FIRST's tests first, in that order; the rest keep their collection order."""
    rank = {name: index for index, name in enumerate(SLOW_FIRST)}
    last = len(rank)

    def key(item: pytest.Item) -> int:
        file = _relative(item) or ""
        return min(rank.get(f"{file}::{item.name}", last), rank.get(file, last))

    items.sort(key=key)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark the tests of INTEGRATION_FILES (while collecting, before `-m` selects)."""
    if _relative(item) in INTEGRATION_FILES:
        item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; no profile or config file of the machine is read."""
    for name in (
        "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def repo_root() -> Path:
    """The repository's root folder."""
    return ROOT
