"""Drift detection: which deployed resources no longer match the template."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from generator.deploy.aws import Clock, error_message
from generator.errors import ExitCode, GeneratorError

_POLL_SECONDS = 5.0


@dataclass(frozen=True)
class Drifted:
    """One drifted resource and how it differs."""

    logical_id: str
    resource_type: str
    status: str  # MODIFIED | DELETED
    differences: tuple[str, ...]


@dataclass(frozen=True)
class DriftReport:
    """The stack's drift status and the drifted resources."""

    status: str  # IN_SYNC | DRIFTED | UNKNOWN | UNAVAILABLE
    drifted: tuple[Drifted, ...]
    note: str = ""


def _difference(raw: dict[str, Any]) -> str:
    return (
        f"{raw.get('PropertyPath', '')} {raw.get('DifferenceType', '')}: expected "
        f"{raw.get('ExpectedValue', '')} actual {raw.get('ActualValue', '')}"
    )


def stack_drift(cfn: Any, stack: str, clock: Clock, timeout_seconds: float) -> DriftReport:
    """Run drift detection on the stack and list every modified or deleted resource."""
    try:
        return _detect(cfn, stack, clock, timeout_seconds)
    except ClientError as exc:  # e.g. a role without the drift permissions
        return DriftReport("UNAVAILABLE", (), f"drift detection unavailable: {error_message(exc)}")
    except NotImplementedError as exc:  # an in-process emulator (moto) without drift detection
        return DriftReport("UNAVAILABLE", (), f"drift detection unavailable: {exc}")


def _detect(cfn: Any, stack: str, clock: Clock, timeout_seconds: float) -> DriftReport:
    detection = cfn.detect_stack_drift(StackName=stack)["StackDriftDetectionId"]
    deadline = clock.now() + timeout_seconds
    while True:
        status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
        if status["DetectionStatus"] != "DETECTION_IN_PROGRESS":
            break
        if clock.now() >= deadline:
            raise GeneratorError(
                f"drift detection of {stack} still running after {timeout_seconds:.0f}s",
                ExitCode.TIMED_OUT,
            )
        clock.sleep(_POLL_SECONDS)
    note = ""
    if status["DetectionStatus"] == "DETECTION_FAILED":
        note = f"drift detection incomplete: {status.get('DetectionStatusReason', '')}"
    drifted: list[Drifted] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "StackName": stack,
            "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED"],
        }
        if token:
            kwargs["NextToken"] = token
        page = cfn.describe_stack_resource_drifts(**kwargs)
        drifted.extend(
            Drifted(
                logical_id=str(d["LogicalResourceId"]),
                resource_type=str(d.get("ResourceType", "")),
                status=str(d["StackResourceDriftStatus"]),
                differences=tuple(_difference(p) for p in d.get("PropertyDifferences", [])),
            )
            for d in page.get("StackResourceDrifts", [])
        )
        token = page.get("NextToken")
        if not token:
            break
    return DriftReport(str(status.get("StackDriftStatus", "UNKNOWN")), tuple(drifted), note)
