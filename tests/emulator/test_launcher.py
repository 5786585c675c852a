"""The emulator server's lifecycle: start once, reuse, stop, tolerate stale records; and which
environments are emulated."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from generator.cli.connect import clients
from generator.config import Environment
from generator.deploy.runtime import Connection
from generator.emulator import launcher
from generator.emulator.endpoint import endpoint_for
from generator.errors import GeneratorError
from generator.workspace import Workspace

pytestmark = [pytest.mark.integration, pytest.mark.slow(3)]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A state folder whose emulator the tests that leave it running share (stopped at the end)."""
    folder = tmp_path_factory.mktemp("shared-state")
    launcher.ensure_running(folder)
    yield folder
    launcher.stop(folder)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_starts_once_and_reuses_the_running_server(shared: Path) -> None:
    state_dir = shared
    first = launcher.ensure_running(state_dir)
    running = launcher.status(state_dir)
    assert running is not None
    assert running.endpoint == first
    assert launcher.ensure_running(state_dir) == first
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=first)
    s3.create_bucket(Bucket="kept")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["kept"]


def test_stop_ends_the_process_and_frees_the_port(state_dir: Path) -> None:
    launcher.ensure_running(state_dir)
    running = launcher.status(state_dir)
    assert running is not None
    assert launcher.stop(state_dir)
    assert not launcher.is_alive(running.pid)
    assert not _listening(running.port)
    assert launcher.status(state_dir) is None
    assert not launcher.stop(state_dir)  # stopping twice is fine


def test_tolerates_a_stale_record_of_a_dead_process(state_dir: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    record = launcher.emulator_dir(state_dir) / "server.json"
    record.parent.mkdir(parents=True)
    pid = int(dead.stdout)
    record.write_text(json.dumps({"pid": pid, "port": 9, "endpoint": "http://127.0.0.1:9"}))
    assert launcher.status(state_dir) is None
    assert not launcher.stop(state_dir)
    assert not record.exists()
    assert launcher.ensure_running(state_dir).startswith("http://127.0.0.1:")


def _env(name: str, account: str = "123456789012") -> Environment:
    return Environment(name=name, account_id=account, region="us-east-1", emulator=name == "local")


def test_real_environments_get_aws_itself_and_start_no_emulator(tmp_path: Path) -> None:
    made = clients(Connection(Workspace(tmp_path)), _env("dev"))
    assert made.s3.meta.endpoint_url == "https://s3.amazonaws.com"
    assert made.client("secretsmanager").meta.region_name == "us-east-1"
    assert not (tmp_path / ".state").exists()  # nothing started


def test_rejects_an_emulated_environment_with_another_account(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError, match="expected the emulator's account 123456789012"):
        endpoint_for(_env("local", "210987654321"), tmp_path)


def test_a_damaged_record_finds_the_running_emulator_instead_of_starting_another(
    shared: Path,
) -> None:
    state_dir = shared
    first = launcher.ensure_running(state_dir)
    running = launcher.status(state_dir)
    assert running is not None
    (launcher.emulator_dir(state_dir) / "server.json").write_text("{not json")
    assert launcher.ensure_running(state_dir) == first  # the same server, found again
    assert launcher.servers_of(state_dir) == [running.pid]
    assert launcher.status(state_dir) == running  # and its record put right


def test_a_slow_health_answer_does_not_start_a_second_emulator(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_dir = shared
    launcher.ensure_running(state_dir)
    running = launcher.status(state_dir)
    assert running is not None
    calls: list[float] = []
    real = launcher.healthy

    def slow(endpoint: str, pid: int | None = None, timeout_seconds: float = 1.0) -> bool:
        calls.append(timeout_seconds)
        return len(calls) > 1 and real(endpoint, pid, timeout_seconds)  # the first probe misses

    monkeypatch.setattr(launcher, "healthy", slow)
    assert launcher.ensure_running(state_dir) == running.endpoint
    assert launcher.servers_of(state_dir) == [running.pid]


def test_an_emulator_that_holds_the_folder_but_never_answers_is_reported_not_duplicated(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_dir = shared
    launcher.ensure_running(state_dir)
    running = launcher.status(state_dir)
    assert running is not None
    monkeypatch.setattr(launcher, "healthy", lambda *args, **kwargs: False)
    monkeypatch.setattr(launcher, "_answering", lambda folder, seconds: None)
    with pytest.raises(GeneratorError, match=f"an emulator \\(pid {running.pid}\\) holds"):
        launcher.ensure_running(state_dir)
    assert launcher.servers_of(state_dir) == [running.pid]


def test_a_second_server_for_the_same_folder_refuses_to_start(shared: Path) -> None:
    state_dir = shared
    launcher.ensure_running(state_dir)
    folder = launcher.emulator_dir(state_dir)
    second = subprocess.run(
        [sys.executable, "-m", "generator.cli.serve", "--state-dir", str(folder)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert second.returncode == 1
    assert "another emulator serves" in second.stderr


def test_down_stops_every_emulator_of_the_folder_even_one_whose_record_is_lost(
    state_dir: Path,
) -> None:
    launcher.ensure_running(state_dir)
    running = launcher.status(state_dir)
    assert running is not None
    (launcher.emulator_dir(state_dir) / "server.json").unlink()
    (launcher.emulator_dir(state_dir) / "server.lock").write_text("")  # its copy too
    assert launcher.stop(state_dir)
    assert not launcher.is_alive(running.pid)
    assert launcher.servers_of(state_dir) == []
