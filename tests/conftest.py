"""Shared fixtures. Every test runs with fake AWS credentials, so none can reach AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark the tests of INTEGRATION_FILES (while collecting, before `-m` selects)."""
    path = Path(str(item.fspath)).resolve()
    if path.is_relative_to(ROOT) and path.relative_to(ROOT).as_posix() in INTEGRATION_FILES:
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
