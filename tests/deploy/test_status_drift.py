"""`status` fails closed: drift that cannot be established is not "no drift"."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from botocore.parsers import ResponseParserError
from botocore.stub import ANY, Stubber

from generator.deploy.drift import stack_drift
from tests.deploy.conftest import (
    DEV_ENV,
    FakeClock,
    Make,
    Repo,
    status_session,
)
from tests.deploy.test_recorded import (
    STACK_ID,
)

STACK = "TapStackdev"


def _drift_status(stubber: Stubber, detection: str, drift: str) -> None:
    stubber.add_response("detect_stack_drift", {"StackDriftDetectionId": "d-1"})
    stubber.add_response(
        "describe_stack_drift_detection_status",
        {
            "StackId": STACK_ID, "StackDriftDetectionId": "d-1", "DetectionStatus": detection,
            "StackDriftStatus": drift, "DetectionStatusReason": "Failed to detect drift on "
            "resource [Function]", "Timestamp": datetime.fromisoformat("2025-03-02T09:00:00+00:00"),
        },
    )  # fmt: skip


def test_drift_is_not_established_when_detection_failed(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    _drift_status(stubber, "DETECTION_FAILED", "IN_SYNC")
    stubber.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": []})
    report = stack_drift(cfn, STACK, FakeClock(), 600)
    assert not report.established
    assert "Failed to detect drift on resource [Function]" in report.why_unknown()


def test_drift_is_not_established_when_resources_were_not_checked(stubbed: Make) -> None:
    cfn, stubber = stubbed("cloudformation")
    _drift_status(stubber, "DETECTION_COMPLETE", "IN_SYNC")
    not_checked = {
        "StackId": STACK_ID, "LogicalResourceId": "Function", "ResourceType":
        "AWS::Lambda::Function", "StackResourceDriftStatus": "NOT_CHECKED",
        "Timestamp": datetime.fromisoformat("2025-03-02T09:00:00+00:00"),
    }  # fmt: skip
    stubber.add_response(
        "describe_stack_resource_drifts",
        {"StackResourceDrifts": [not_checked]},
        {"StackName": STACK, "StackResourceDriftStatusFilters": ANY},
    )
    report = stack_drift(cfn, STACK, FakeClock(), 600)
    assert not report.established
    assert report.not_checked == ("Function",)
    assert report.drifted == ()


def test_an_unparseable_drift_answer_is_reported_as_unavailable_on_this_endpoint() -> None:
    class Emulator:
        def detect_stack_drift(self, **_: Any) -> Any:
            raise ResponseParserError("Unable to parse response (not well-formed), invalid XML")

    report = stack_drift(Emulator(), STACK, FakeClock(), 600)
    assert report.unavailable
    assert report.note == "drift detection unavailable on this endpoint"


def test_status_exits_1_and_says_why_when_drift_detection_failed(
    repo: Repo, stubbed: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfn_stub = status_session(repo, stubbed)
    _drift_status(cfn_stub, "DETECTION_FAILED", "IN_SYNC")
    cfn_stub.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": []})
    assert repo.run("status", "--env", "dev") == 1
    assert "  template: up to date" in repo.lines
    assert any(
        line.startswith("  drift: NOT ESTABLISHED (drift detection incomplete: Failed to detect")
        for line in repo.lines
    ), repo.output


def test_status_of_an_emulated_environment_ignores_an_endpoint_without_drift_detection(
    repo: Repo, stubbed: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write_env("dev", DEV_ENV + "emulator: true\n")
    cfn_stub = status_session(repo, stubbed)
    cfn_stub.add_client_error("detect_stack_drift", "InternalFailure", "not implemented", 500)
    assert repo.run("status", "--env", "dev") == 0
    assert any("ignored for the emulated environment dev" in line for line in repo.lines)


def test_resources_the_template_declares_uncheckable_do_not_fail_drift() -> None:
    from generator.deploy.drift import DriftReport, uncheckable

    body = json.dumps({"Resources": {
        "Secret": {"Type": "AWS::SecretsManager::Secret",
                   "Metadata": {"ServerlessApp": {"driftNotChecked": "value unreadable"}}},
        "Function": {"Type": "AWS::Lambda::Function"},
    }})  # fmt: skip
    reasons = uncheckable(body)
    assert reasons == {"Secret": "value unreadable"}
    only_secret = DriftReport("IN_SYNC", (), "incomplete", ("Secret",), detection_failed=True)
    excused = only_secret.excusing(reasons)
    assert excused.established
    assert excused.excused == ("Secret",)
    both = DriftReport("IN_SYNC", (), "incomplete", ("Function", "Secret"), detection_failed=True)
    assert not both.excusing(reasons).established
    assert both.excusing(reasons).not_checked == ("Function",)
