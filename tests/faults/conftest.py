"""A workspace copy, its emulator and the fault proxy in front of it, for the fault suite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from generator import naming
from generator.deploy import protection
from generator.emulator import launcher
from tests.emulator.conftest import cli_environment, copy_workspace
from tests.faults.proxy import FaultProxy

REGION = "us-east-1"
STACK = naming.stack_name("local")


@dataclass
class World:
    """A copy of the workspace deployed to its own emulator, with the proxy in front."""

    root: Path
    env: dict[str, str]
    endpoint: str
    proxy: FaultProxy

    def run(self, *args: str, through_proxy: bool = True) -> subprocess.CompletedProcess[str]:
        """``python -m generator *args`` (through the proxy unless told otherwise)."""
        endpoint = self.proxy.endpoint if through_proxy else self.endpoint
        return subprocess.run(
            [sys.executable, "-m", "generator", *args, "--endpoint-url", endpoint],
            cwd=self.root, env=self.env, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip

    def start(self, *args: str) -> subprocess.Popen[str]:
        """The same, started, for a test that kills it."""
        return subprocess.Popen(
            [sys.executable, "-m", "generator", *args, "--endpoint-url", self.proxy.endpoint],
            cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip

    def synth(self) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "generator", "synth"],
            cwd=self.root, env=self.env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    def set_memory(self, memory_mb: int) -> None:
        """Change the function's memory in environments/local.yaml and regenerate."""
        path = self.root / "environments" / "local.yaml"
        settings = yaml.safe_load(path.read_text(encoding="utf-8"))
        settings.setdefault("function", {})["memory_mb"] = memory_mb
        path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
        self.synth()

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint)

    def memory(self) -> int:
        function = naming.function_name("local")
        return int(self.client("lambda").get_function_configuration(FunctionName=function)[
            "MemorySize"])  # fmt: skip

    def stack_status(self) -> str:
        return str(self.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0][
            "StackStatus"])  # fmt: skip

    def live_policy(self) -> dict[str, Any]:
        body = self.client("cloudformation").get_stack_policy(StackName=STACK)["StackPolicyBody"]
        return dict(json.loads(body))

    def expected_policy(self) -> dict[str, Any]:
        """The policy the committed template implies between deploys."""
        template = json.loads((self.root / "templates" / "local.json").read_text("utf-8"))
        resources = self.client("cloudformation").list_stack_resources(StackName=STACK)[
            "StackResourceSummaries"]  # fmt: skip
        deployed = [r["LogicalResourceId"] for r in resources
                    if r["ResourceType"] in protection.STATEFUL_TYPES]  # fmt: skip
        return protection.policy_for_template(template, deployed)

    def waiting_change_sets(self) -> list[str]:
        listed = self.client("cloudformation").list_change_sets(StackName=STACK)["Summaries"]
        return [c["ChangeSetName"] for c in listed if c["ExecutionStatus"] == "AVAILABLE"]

    def settle(self, seconds: float = 30.0) -> None:
        """Wait until the stack leaves *_IN_PROGRESS (a killed deploy's change set goes on)."""
        import time

        deadline = time.monotonic() + seconds
        while self.stack_status().endswith("_IN_PROGRESS"):
            assert time.monotonic() < deadline, f"{STACK} still {self.stack_status()}"
            time.sleep(0.2)

    def kill_after(
        self, action: str, process: list[subprocess.Popen[str]], containing: str = STACK
    ) -> None:
        """SIGKILL the command once ``action`` (on a request that names ``containing``: the
        app stack, not the bootstrap stack) took effect, before its reply reaches it."""

        def kill() -> None:
            os.kill(process[0].pid, signal.SIGKILL)

        self.proxy.rules.after[action] = (kill, containing)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A deployed copy of the workspace and its own emulator, with the proxy in front; shared
    by the module's cases (each makes its own change and checks its own end state)."""
    base = tmp_path_factory.mktemp("faults")
    root = copy_workspace(Path(__file__).resolve().parents[2], base / "ws")
    state = base / "state"
    env = cli_environment(state)
    started = subprocess.run(
        [sys.executable, "-m", "generator", "up"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    running = launcher.status(state)
    assert running is not None
    proxy = FaultProxy(running.endpoint)
    made = World(root, env, running.endpoint, proxy)
    try:
        first = made.run("deploy", "--env", "local", through_proxy=False)
        assert first.returncode == 0, first.stdout + first.stderr
        yield made
    finally:
        proxy.close()
        launcher.stop(state)
