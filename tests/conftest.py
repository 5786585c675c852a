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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Hand the long modules (tests marked ``@pytest.mark.slow(seconds)``) to the workers first,
    longest first.

    ``make`` runs pytest-xdist with ``--dist loadscope``: a module goes to one worker whole, so a
    module-scoped fixture (one emulator shared by a module's tests) is made once. A one-minute
    module that starts last leaves the other workers idle; started first, it overlaps the many
    short ones. Modules are ranked by the seconds their tests declare; within a module, and among
    modules that declare none, the collection order stays.
    """

    def seconds(item: pytest.Item) -> float:
        marks = [float(m.args[0]) for m in item.iter_markers("slow") if m.args]
        return max(marks, default=0.0)

    totals: dict[str, float] = {}
    for item in items:
        totals[item.nodeid.split("::")[0]] = totals.get(item.nodeid.split("::")[0], 0.0) + seconds(
            item
        )
    items.sort(key=lambda item: -totals[item.nodeid.split("::")[0]])


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
