"""A plan a reviewer can sign, end to end on the embedded emulator in a copy of the workspace:
after `storage.upload_prefix` changes in `local`, the plan's Markdown opens with the Security
changes section listing the function's changed IAM statement, and no policy is cut."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.emulator.conftest import cli_ok, copy_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.slow(8)]

BUCKET = "arn:${AWS::Partition}:s3:::serverlessapp-files-local-${AWS::AccountId}"


def test_upload_prefix_change_plans_its_security_changes_first(
    repo_root: Path, tmp_path: Path, cli_env: dict[str, str]
) -> None:
    root = copy_workspace(repo_root, tmp_path / "ws")
    cli_ok(root, cli_env, "deploy", "--env", "local")
    local = root / "environments" / "local.yaml"
    settings = yaml.safe_load(local.read_text(encoding="utf-8"))
    settings.setdefault("storage", {})["upload_prefix"] = "incoming/"
    local.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    cli_ok(root, cli_env, "synth")
    markdown_file = root / "plan.md"
    text = cli_ok(root, cli_env, "plan", "--env", "local", "--markdown", str(markdown_file))
    markdown = markdown_file.read_text(encoding="utf-8")

    assert markdown.startswith(
        "### Security changes for TapStacklocal (environment local): 2 IAM statements "
        "(1 added, 1 removed); ⚠ widens access\n"
    )
    section = markdown.split("### Plan for")[0]
    assert f"`{BUCKET}/uploads/*`" in section
    assert f"`{BUCKET}/incoming/*`" in section
    assert "more diff lines not shown" not in markdown
    assert '"Sid": "XRayTracing"' in markdown  # the whole document, last statement included
    assert text.startswith("Security changes for TapStacklocal (environment local): 2 IAM")
