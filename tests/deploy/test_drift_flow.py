"""Drift through the command line against moto (which has no drift detection: its answer is
replaced by a drifted report): `plan` and `deploy` refuse with exit 3 under deploy.drift: refuse,
`revert` asks for a drift-aware change set, and `status` prints the plan's drift lines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from generator.deploy import apply, driftplan
from generator.deploy.changeset import ChangeSetRequest, create_change_set
from generator.deploy.drift import Drifted, DriftReport
from tests.deploy.conftest import DEV_ENV, REGION, Repo, app_template

pytestmark = pytest.mark.integration

STACK = "TapStackdev"
HEADLINE = "Drift: 1 resource changed outside git (DataBucket (VersioningConfiguration/Status))"
DRIFTED = DriftReport(
    "DRIFTED",
    (
        Drifted(
            "DataBucket",
            "AWS::S3::Bucket",
            "MODIFIED",
            ("/VersioningConfiguration/Status NOT_EQUAL: expected Enabled actual Suspended",),
            ("VersioningConfiguration/Status",),
        ),
    ),
)


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def drifted(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """A deployed stack, a template change to plan, and a live stack that drifted."""
    assert repo.run("deploy", "--env", "dev") == 0
    repo.write_template(
        "dev", app_template("dev", repo.artifact, {"ExtraQueue": {"Type": "AWS::SQS::Queue"}})
    )
    monkeypatch.setattr(driftplan, "stack_drift", lambda *args: DRIFTED)
    repo.lines.clear()
    return repo


def _change_sets() -> list[dict[str, Any]]:
    client = boto3.client("cloudformation", region_name=REGION)
    summaries = client.list_change_sets(StackName=STACK)["Summaries"]
    return [s for s in summaries if s["StackName"] == STACK and s["ExecutionStatus"] == "AVAILABLE"]


def test_plan_of_a_drifted_stack_exits_3_and_names_the_drifted_property(drifted: Repo) -> None:
    assert drifted.run("plan", "--env", "dev") == 3
    lines = drifted.output.splitlines()
    assert HEADLINE in lines
    assert any(line.startswith("deploy.drift is refuse") for line in lines)
    assert _change_sets() == []


def test_deploy_refuses_a_drifted_stack_and_changes_nothing(
    drifted: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert drifted.run("deploy", "--env", "dev") == 3
    error = capsys.readouterr().err
    assert "refused: the live stack drifted" in error
    assert "DataBucket (VersioningConfiguration/Status)" in error
    client = boto3.client("cloudformation", region_name=REGION)
    resources = client.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    assert "ExtraQueue" not in {r["LogicalResourceId"] for r in resources}
    assert _change_sets() == []


def test_revert_policy_deploys_a_drift_aware_change_set(
    drifted: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    drifted.write_env("dev", DEV_ENV + "deploy:\n  drift: revert\n")
    modes: dict[str, str | None] = {}

    def recording(cfn: Any, request: ChangeSetRequest) -> str:
        modes[request.stack_name] = request.deployment_mode
        return create_change_set(cfn, request)

    monkeypatch.setattr(apply, "create_change_set", recording)
    assert drifted.run("deploy", "--env", "dev") == 0, drifted.output
    assert modes[STACK] == "REVERT_DRIFT"
    assert any(line.startswith("deploy.drift is revert") for line in drifted.output.splitlines())


def test_status_prints_the_plans_drift_lines(drifted: Repo) -> None:
    assert drifted.run("status", "--env", "dev") == 1
    assert f"  {HEADLINE}" in drifted.lines
    assert "      /VersioningConfiguration/Status NOT_EQUAL: expected Enabled actual Suspended" in (
        drifted.lines
    )


def test_plan_keep_of_a_drifted_stack_keeps_nothing_to_apply(drifted: Repo) -> None:
    """deploy.drift is judged when the plan is made: its apply does not assess drift again, so a
    plan refused for drift is deleted and no earlier record is left for CI to apply."""
    record = drifted.root / ".state" / "plan-dev.changeset"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("arn:aws:cloudformation:earlier\n", encoding="utf-8")
    assert drifted.run("plan", "--env", "dev", "--keep") == 3
    assert (
        "not kept: deploy.drift is refuse and the stack drifted (see above); its change set is "
        "deleted" in drifted.lines
    )
    assert not record.exists()
    assert _change_sets() == []
