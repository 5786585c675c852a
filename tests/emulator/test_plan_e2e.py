"""The plan a reviewer reads, end to end on the embedded emulator, in a copy of the workspace:

- the memory and log-retention change of `local` plans as `MemorySize: 256 → 512` and
  `RetentionInDays: 7 → 14`, in the terminal and in the Markdown;
- a generator change that renames the dead-letter queue (a create-only property of a stateful
  resource) is planned as a replacement and blocked with exit 3, the plan naming QueueName;
  with `--allow-replace DeadLetterQueue` the deploy proceeds.

The committed files are never edited: each test copies the workspace into a temporary folder,
changes the copy, regenerates its templates and runs the CLI there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from generator.emulator import server

pytestmark = pytest.mark.e2e

_COPIED = ("generator", "handler", "environments", "templates", "pyproject.toml")


@pytest.fixture
def workspace(repo_root: Path, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A copy of the workspace and the subprocess environment (fake credentials, no way out)."""
    for needed in ("templates/local.json", "templates/bootstrap.json", "handler/app.py"):
        if not (repo_root / needed).exists():
            pytest.skip(f"{needed} is not there yet")
    root = tmp_path / "ws"
    root.mkdir()
    for name in _COPIED:
        source = repo_root / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("GITHUB_STEP_SUMMARY", None)
    env.update(
        {
            "SERVERLESSAPP_STATE_DIR": str(state),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        }
    )
    yield root, env
    server.stop(state)


def _run(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_memory_and_retention_change_plans_with_before_and_after(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    root, env = workspace
    _ok(_run(root, env, "deploy", "--env", "local"))
    local = root / "environments" / "local.yaml"
    settings = yaml.safe_load(local.read_text(encoding="utf-8"))
    settings.setdefault("function", {}).update({"memory_mb": 512, "log_retention_days": 14})
    local.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    _ok(_run(root, env, "synth"))
    markdown_file = root / "plan.md"
    text = _ok(_run(root, env, "plan", "--env", "local", "--markdown", str(markdown_file)))
    markdown = markdown_file.read_text(encoding="utf-8")

    assert "      MemorySize: 256 → 512" in text.splitlines()
    assert "      RetentionInDays: 7 → 14" in text.splitlines()
    assert "- `MemorySize: 256 → 512`" in markdown.splitlines()
    assert "- `RetentionInDays: 7 → 14`" in markdown.splitlines()
    assert "<summary><code>Function</code> AWS::Lambda::Function: Modify, 1 property</summary>" in (
        markdown
    )
    # The stack's new template-sha256 reaches every taggable resource: one line, not 15 rows.
    assert sum(1 for line in text.splitlines() if line.startswith("Tags only:")) == 1
    assert "Drift: not established" in text  # the emulator has no drift detection; not blocking


def test_create_only_rename_of_stateful_resource_is_blocked_then_allowed(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    root, env = workspace
    _ok(_run(root, env, "deploy", "--env", "local"))
    naming = root / "generator" / "naming.py"
    source = naming.read_text(encoding="utf-8")
    renamed = source.replace('f"ServerlessApp-DLQ-{env}"', 'f"ServerlessApp-DeadLetters-{env}"')
    assert renamed != source, "naming.queue_name moved; update this test"
    naming.write_text(renamed, encoding="utf-8")
    _ok(_run(root, env, "synth"))

    blocked = _run(root, env, "deploy", "--env", "local")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert (
        "QueueName: ServerlessApp-DLQ-local → ServerlessApp-DeadLetters-local "
        "[forces replacement]" in blocked.stdout
    )
    assert "BLOCKED: DeadLetterQueue (AWS::SQS::Queue): replaced because QueueName changed" in (
        blocked.stdout
    )

    allowed = _ok(_run(root, env, "deploy", "--env", "local", "--allow-replace", "DeadLetterQueue"))
    assert "ALLOWED by review: DeadLetterQueue (AWS::SQS::Queue)" in allowed
    assert "TapStacklocal: UPDATE_COMPLETE" in allowed
