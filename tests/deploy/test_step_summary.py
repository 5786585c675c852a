"""The outcome of a deploy, appended to the GitHub step summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.conftest import (
    Repo,
    app_template,
)


def test_deploy_outcomes_are_appended_to_the_step_summary(
    repo: Repo, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert repo.run("deploy", "--env", "dev") == 0
    text = summary.read_text(encoding="utf-8")
    assert "### Deploy outcome for TapStackdev (environment dev)" in text
    assert ":white_check_mark: **Applied** change set `deploy-dev-" in text
    assert "**Applied:** 2 to add, 0 to modify, 0 to remove" in text
    summary.unlink()
    assert repo.run("deploy", "--env", "dev") == 0
    assert "**No changes**: already up to date." in summary.read_text(encoding="utf-8")
    summary.unlink()
    template = app_template("dev", repo.artifact)
    del template["Resources"]["DeadLetterQueue"]
    repo.write_template("dev", template)
    assert repo.run("deploy", "--env", "dev") == 3
    text = summary.read_text(encoding="utf-8")
    assert ":no_entry: **Blocked** (exit 3)" in text
    assert "- `DeadLetterQueue` (AWS::SQS::Queue): removed" in text


def test_a_failed_deploy_puts_its_root_cause_in_the_step_summary(
    repo: Repo, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    repo.write_template(
        "dev",
        app_template("dev", repo.artifact, {"Bad": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": {"Fn::GetAtt": ["Missing", "Arn"]}}}}),
    )  # fmt: skip
    assert repo.run("deploy", "--env", "dev") == 4
    text = summary.read_text(encoding="utf-8")
    assert ":x: **Failed** (exit 4)" in text
    assert "```text" in text
