"""Preview stacks through the deploy against moto: their own stack and tags, the base untouched,
expired ones destroyed by `previews --expired --destroy`, nothing else ever deleted as one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from generator.config import Environment
from generator.deploy import pipeline
from generator.deploy.runtime import Runtime
from tests.deploy.conftest import REGION, Repo, app_template

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def aws(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # moto cannot create every resource of the real template: a small stand-in for the preview.
    def small(root: Path, env: Environment, runtime: Runtime) -> str:
        return json.dumps(app_template(env.name, repo.artifact))

    monkeypatch.setattr(pipeline, "_preview_template", small)
    repo.use(utcnow=lambda: NOW)
    with mock_aws():
        yield


def _stack(name: str) -> dict[str, object]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    stack: dict[str, object] = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return stack


def _tags(name: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in _stack(name)["Tags"]}  # type: ignore[attr-defined]


def _buckets() -> set[str]:
    return {b["Name"] for b in boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]}


def test_a_preview_is_its_own_stack_and_leaves_the_base_alone(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    base_before = _stack("TapStackdev")
    argv = ["deploy", "--env", "dev", "--preview", "pr1", "--pull-request", "1", "--ttl-hours", "2"]
    assert repo.run(*argv) == 0
    assert _stack("TapStackdev-pr1")["StackStatus"] == "CREATE_COMPLETE"
    tags = _tags("TapStackdev-pr1")
    assert tags["PreviewOf"] == "dev"
    assert tags["Preview"] == "pr1"
    assert tags["PullRequest"] == "1"
    assert tags["ExpiresAt"] == "2026-03-01T14:00:00Z"
    assert tags["Environment"] == "dev-pr1"
    assert _stack("TapStackdev") == base_before
    assert {"serverlessapp-files-dev-123456789012", "serverlessapp-files-dev-pr1-123456789012"} <= (
        _buckets()
    )
    assert not (repo.root / "templates" / "dev-pr1.json").exists()  # synthesised in memory


def _bootstrap_change_sets() -> list[str]:
    # moto lists every stack's change sets whatever StackName says.
    cfn = boto3.client("cloudformation", region_name=REGION)
    summaries = cfn.list_change_sets(StackName="ServerlessAppBootstrap")["Summaries"]
    return [s["ChangeSetName"] for s in summaries if "/ServerlessAppBootstrap/" in s["StackId"]]


def test_a_preview_never_changes_the_bootstrap_stack(repo: Repo) -> None:
    # The bootstrap stack (the artifact bucket) serves every environment of the account: a pull
    # request's preview uses it as it is, even when the pull request changes its template.
    assert repo.run("deploy", "--env", "dev") == 0
    before = _stack("ServerlessAppBootstrap")
    change_sets = _bootstrap_change_sets()
    changed = json.loads((repo.root / "templates" / "bootstrap.json").read_text(encoding="utf-8"))
    changed["Outputs"]["Extra"] = {"Value": "changed by a pull request"}
    (repo.root / "templates" / "bootstrap.json").write_text(json.dumps(changed), encoding="utf-8")
    assert repo.run("deploy", "--env", "dev", "--preview", "pr5") == 0
    assert _stack("ServerlessAppBootstrap") == before
    assert _bootstrap_change_sets() == change_sets


def test_a_preview_refuses_without_a_bootstrap_stack(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert repo.run("deploy", "--env", "dev", "--preview", "pr6") == 4
    assert "bootstrap stack ServerlessAppBootstrap does not exist" in capsys.readouterr().err
    assert "ServerlessAppBootstrap" not in {
        s["StackName"]
        for s in boto3.client("cloudformation", region_name=REGION).describe_stacks()["Stacks"]
    }


def test_expired_previews_are_destroyed_and_live_ones_kept(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    assert repo.run("deploy", "--env", "dev", "--preview", "old", "--ttl-hours", "1") == 0
    assert repo.run("deploy", "--env", "dev", "--preview", "new", "--ttl-hours", "5") == 0
    assert repo.run("previews", "--env", "dev") == 0
    assert "TapStackdev-old: no pull request, expires 2026-03-01T13:00:00Z (live)" in repo.output
    repo.use(utcnow=lambda: NOW + timedelta(hours=2))
    assert repo.run("previews", "--env", "dev", "--expired", "--destroy") == 0
    assert "TapStackdev-old: DELETE_COMPLETE" in repo.output
    cfn = boto3.client("cloudformation", region_name=REGION)
    live = {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
    assert {"TapStackdev", "TapStackdev-new"} <= live
    assert "TapStackdev-old" not in live
    assert "serverlessapp-files-dev-old-123456789012" not in _buckets()
    assert "serverlessapp-files-dev-123456789012" in _buckets()


def test_destroy_refuses_a_stack_that_is_not_a_preview(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stack that only looks like a preview by name (no PreviewOf tag) is never deleted.
    body = json.dumps(app_template("dev-x", repo.artifact))
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="TapStackdev-x", TemplateBody=body
    )
    assert repo.run("destroy", "--env", "dev", "--preview", "x", "--yes") == 2
    assert "has no tag PreviewOf=dev" in capsys.readouterr().err
    assert _stack("TapStackdev-x")["StackStatus"] == "CREATE_COMPLETE"


def test_destroy_removes_a_preview_and_only_it(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    assert repo.run("deploy", "--env", "dev", "--preview", "pr2") == 0
    assert repo.run("destroy", "--env", "dev", "--preview", "pr2", "--yes") == 0
    cfn = boto3.client("cloudformation", region_name=REGION)
    assert {s["StackName"] for s in cfn.describe_stacks()["Stacks"]} >= {"TapStackdev"}
    assert "serverlessapp-files-dev-pr2-123456789012" not in _buckets()
    assert _stack("TapStackdev")["StackStatus"] == "CREATE_COMPLETE"


def test_previews_writes_the_outputs_of_one_preview_as_markdown(repo: Repo) -> None:
    assert repo.run("deploy", "--env", "dev") == 0
    assert repo.run("deploy", "--env", "dev", "--preview", "pr3", "--pull-request", "3") == 0
    assert repo.run("deploy", "--env", "dev", "--preview", "pr4") == 0
    target = repo.root / "preview.md"
    argv = ["previews", "--env", "dev", "--preview", "pr3", "--markdown", str(target)]
    assert repo.run(*argv) == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("### Preview `TapStackdev-pr3`\nExpires 2026-03-04T12:00:00Z")
    assert "| Output | Value |" in text
    assert "pr4" not in text
