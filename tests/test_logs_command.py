"""``logs``: the function's log lines since a moment, oldest first; ``--follow`` prints only
what is new on each pass (moto's CloudWatch Logs, in-process)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from generator import naming, workload
from generator.deploy.aws import make_clients
from generator.deploy.runtime import default_runtime
from generator.workspace import Workspace

GROUP = naming.log_group("dev")


@pytest.fixture
def logs_client() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("logs", region_name="us-west-2")
        client.create_log_group(logGroupName=GROUP)
        client.create_log_stream(logGroupName=GROUP, logStreamName="s1")
        yield client


def put(client: object, *lines: tuple[int, str]) -> None:
    client.put_log_events(  # type: ignore[attr-defined]
        logGroupName=GROUP, logStreamName="s1",
        logEvents=[{"timestamp": t, "message": m} for t, m in lines],
    )  # fmt: skip


def test_prints_the_lines_since_then_follows_only_new_ones(
    logs_client: object, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = int(time.time() * 1000) // 1000 * 1000  # moto refuses events from the future
    put(logs_client, (now - 700_000, "too old"), (now - 60_000, "first"), (now - 1_000, "second"))
    runtime = replace(default_runtime(), clients=lambda connection, env: make_clients(env.region))
    passes: list[int] = []

    def sleep(seconds: float) -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            put(logs_client, (now, "third"))
        else:
            raise KeyboardInterrupt  # Ctrl-C ends --follow

    request = workload.LogsRequest(Workspace(repo_root), "dev", since_seconds=600, follow=True)
    with pytest.raises(KeyboardInterrupt):
        workload.logs(request, runtime, sleep=sleep, now_ms=lambda: now)
    lines = capsys.readouterr().out.splitlines()
    assert [line.rsplit(" ", 1)[-1] for line in lines] == ["first", "second", "third"]
    assert lines[0].endswith("s1 first")
    stamp = datetime.fromtimestamp((now - 60_000) / 1000, UTC)
    assert lines[0].startswith(f"{stamp:%Y-%m-%dT%H:%M:%S}.000Z ")  # UTC, to the millisecond
