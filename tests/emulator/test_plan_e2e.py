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

from pathlib import Path

import boto3
import pytest
import yaml

from generator.emulator import launcher
from tests.emulator.conftest import cli_ok, copy_workspace, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow(11)]


@pytest.fixture
def workspace(
    repo_root: Path, tmp_path: Path, cli_env: dict[str, str]
) -> tuple[Path, dict[str, str]]:
    """A copy of the workspace and the subprocess environment (``cli_env``: fake credentials,
    no way out, its emulator stopped afterwards)."""
    root = copy_workspace(repo_root, tmp_path / "ws")
    return root, cli_env


def test_memory_and_retention_change_plans_with_before_and_after(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    root, env = workspace
    cli_ok(root, env, "deploy", "--env", "local")
    local = root / "environments" / "local.yaml"
    settings = yaml.safe_load(local.read_text(encoding="utf-8"))
    settings.setdefault("function", {}).update({"memory_mb": 512, "log_retention_days": 14})
    local.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    cli_ok(root, env, "synth")
    markdown_file = root / "plan.md"
    text = cli_ok(root, env, "plan", "--env", "local", "--markdown", str(markdown_file))
    markdown = markdown_file.read_text(encoding="utf-8")

    assert "      MemorySize: 256 → 512" in text.splitlines()
    assert "      RetentionInDays: 7 → 14" in text.splitlines()
    assert "- `MemorySize: 256 → 512`" in markdown.splitlines()
    assert "- `RetentionInDays: 7 → 14`" in markdown.splitlines()
    # The read-ahead is sized from the memory (a quarter of it in 8 MiB parts), so the
    # function's environment changes with it, and the plan says so.
    assert "      Environment/Variables/READ_CONCURRENCY: 8 → 16" in text.splitlines()
    assert (
        "<summary><code>Function</code> AWS::Lambda::Function: Modify, 2 properties</summary>"
        in (markdown)
    )
    # The stack's new template-sha256 reaches every taggable resource: one line, not 15 rows.
    assert sum(1 for line in text.splitlines() if line.startswith("Tags only:")) == 1
    assert "Drift: not established" in text  # the emulator has no drift detection; not blocking


def test_create_only_rename_of_stateful_resource_is_blocked_then_allowed(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    root, env = workspace
    cli_ok(root, env, "deploy", "--env", "local")
    naming = root / "generator" / "naming.py"
    source = naming.read_text(encoding="utf-8")
    renamed = source.replace('f"ServerlessApp-DLQ-{env}"', 'f"ServerlessApp-DeadLetters-{env}"')
    assert renamed != source, "naming.queue_name moved; update this test"
    naming.write_text(renamed, encoding="utf-8")
    cli_ok(root, env, "synth")

    blocked = run_cli(root, env, "deploy", "--env", "local")
    assert blocked.returncode == 3, blocked.stdout + blocked.stderr
    assert (
        "QueueName: ServerlessApp-DLQ-local → ServerlessApp-DeadLetters-local "
        "[forces replacement]" in blocked.stdout
    )
    assert "BLOCKED: DeadLetterQueue (AWS::SQS::Queue): replaced because QueueName changed" in (
        blocked.stdout
    )
    # Kept, the blocked plan leaves nothing to apply: no kept-* change set, no record.
    kept = run_cli(root, env, "plan", "--env", "local", "--keep")
    assert kept.returncode == 3, kept.stdout + kept.stderr
    assert "not kept: the guard blocks it" in kept.stdout
    assert not (Path(env["SERVERLESSAPP_STATE_DIR"]) / "plan-local.changeset").exists()
    running = launcher.status(Path(env["SERVERLESSAPP_STATE_DIR"]))
    assert running is not None
    cfn = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=running.endpoint)
    listed = cfn.list_change_sets(StackName="TapStacklocal")["Summaries"]
    assert [c["ChangeSetName"] for c in listed if c["ChangeSetName"].startswith("kept-")] == []

    allowed = cli_ok(root, env, "deploy", "--env", "local", "--allow-replace", "DeadLetterQueue")
    assert "ALLOWED by review: DeadLetterQueue (AWS::SQS::Queue)" in allowed
    assert "TapStacklocal: UPDATE_COMPLETE" in allowed
