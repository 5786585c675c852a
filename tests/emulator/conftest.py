"""Fixtures for the emulator's tests: the extension in-process, and emulator servers that are
always stopped, even when a test fails."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from generator.emulator import extension, launcher
from generator.emulator.delivery import Deliverer

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def emulated(tmp_path: Path) -> Iterator[Deliverer]:
    """moto in-process with the emulator extension installed; uninstalled afterwards."""
    with mock_aws(), extension.installed("http://127.0.0.1:9", tmp_path / "work") as deliverer:
        deliverer.retry_delay_seconds = 0.0
        yield deliverer


@pytest.fixture
def cfn(emulated: Deliverer) -> Any:
    """A CloudFormation client of the in-process emulator."""
    return boto3.client("cloudformation", region_name=REGION)


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A private state folder; whatever emulator it records is stopped at the end."""
    folder = tmp_path / "state"
    folder.mkdir()
    yield folder
    launcher.stop(folder)


# What a test copies to work in a workspace of its own (its generator too: `python -m generator`
# run in the copy imports the copy).
WORKSPACE = ("generator", "handler", "environments", "templates", "pyproject.toml")


def copy_workspace(repo_root: Path, root: Path) -> Path:
    """A copy of the checkout's workspace at ``root``, to change and run the CLI in."""
    root.mkdir(parents=True)
    for name in WORKSPACE:
        source = repo_root / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    return root


def cli_environment(state: Path) -> dict[str, str]:
    """The environment of a `python -m generator` subprocess against the emulator: fake
    credentials, the state folder ``state``, and a closed loopback port for any client built
    without the emulator's endpoint, so nothing can reach AWS. Nothing of a GitHub job's own
    files either: a deploy run by a test must not write to the step summary or outputs of the
    job running the tests."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")
    }
    env.update(
        {
            "SERVERLESSAPP_STATE_DIR": str(state),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            # A change set is applied this long after ExecuteChangeSet: enough to be seen in
            # progress, short enough for the suite's time.
            "SERVERLESSAPP_EMULATOR_APPLY_DELAY_SECONDS": "0.3",
        }
    )
    return env


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """``cli_environment`` with a private state folder, whose emulator is stopped afterwards
    (even when the test fails)."""
    state = tmp_path / "state"
    yield cli_environment(state)
    launcher.stop(state)


def run_cli(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m generator *args`` in ``root`` with ``env``, as a person runs it."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def cli_ok(root: Path, env: dict[str, str], *args: str) -> str:
    """``run_cli`` that must exit 0; its stdout and stderr."""
    result = run_cli(root, env, *args)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    """A template body from resources (and outputs)."""
    body: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    if outputs:
        body["Outputs"] = outputs
    return json.dumps(body)


def outputs_of(cfn: Any, stack: str) -> dict[str, str]:
    """A stack's outputs as a mapping."""
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def handler_zip(source: str) -> bytes:
    """A function artifact whose ``app.py`` is ``source``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()
