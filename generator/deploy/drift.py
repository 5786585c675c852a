"""Drift detection: which deployed resources no longer match the template."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from generator.clock import Clock, Deadline, poll
from generator.contracts import ResourceMetadata
from generator.deploy.aws import error_message, pages
from generator.errors import ExitCode, GeneratorError

_POLL_SECONDS = 5.0


@dataclass(frozen=True)
class Drifted:
    """One drifted resource and how it differs."""

    logical_id: str
    resource_type: str
    status: str  # MODIFIED | DELETED
    differences: tuple[str, ...]
    properties: tuple[str, ...] = ()  # the drifted property paths (PropertyPath), in order


@dataclass(frozen=True)
class DriftReport:
    """The stack's drift status and the drifted resources."""

    status: str  # IN_SYNC | DRIFTED | NOT_CHECKED | UNKNOWN | UNAVAILABLE
    drifted: tuple[Drifted, ...]
    note: str = ""
    not_checked: tuple[str, ...] = ()  # logical ids whose drift CloudFormation did not check
    detection_failed: bool = False  # DETECTION_FAILED: results cover only some resources
    # Not checked by design (the template's Metadata.ServerlessApp.driftNotChecked says why).
    excused: tuple[str, ...] = ()

    def excusing(self, reasons: Mapping[str, str]) -> DriftReport:
        """The report with the resources the template declares uncheckable set aside.

        A failed detection whose only unchecked resources are excused is complete for the rest.
        """
        excused = tuple(i for i in self.not_checked if i in reasons)
        if not excused:
            return self
        remaining = tuple(i for i in self.not_checked if i not in reasons)
        return replace(
            self,
            not_checked=remaining,
            excused=excused,
            detection_failed=self.detection_failed and bool(remaining),
        )

    @property
    def unavailable(self) -> bool:
        """Drift detection could not be run at all (permissions, or an endpoint without it)."""
        return self.status == "UNAVAILABLE"

    @property
    def established(self) -> bool:
        """Every resource was checked: IN_SYNC or DRIFTED is a complete answer."""
        return (
            self.status in ("IN_SYNC", "DRIFTED")
            and not self.detection_failed
            and not self.not_checked
        )

    def why_unknown(self) -> str:
        """Why the drift is not established ("" when it is)."""
        if self.established:
            return ""
        if self.unavailable:
            return self.note or "drift detection unavailable"
        reasons = []
        if self.detection_failed:
            reasons.append(self.note or "drift detection failed for some resources")
        if self.not_checked:
            reasons.append(f"not checked: {', '.join(self.not_checked)}")
        if self.status not in ("IN_SYNC", "DRIFTED"):
            reasons.append(f"stack drift status {self.status}")
        return "; ".join(reasons)


def uncheckable(template_body: str) -> dict[str, str]:
    """Resources the template declares drift detection cannot check, with the reason
    (``Metadata.ServerlessApp.driftNotChecked``)."""
    resources = json.loads(template_body).get("Resources", {}) or {}
    found = {}
    for logical_id, resource in resources.items():
        reason = ResourceMetadata.of(resource).drift_not_checked
        if reason:
            found[str(logical_id)] = str(reason)
    return found


_DYNAMIC_REFERENCE = "{{resolve:"


def _shown(value: Any) -> str:
    # A dynamic reference is never printed, expected or actual (see generator.deploy.values).
    text = str(value if value is not None else "")
    return "(redacted: dynamic reference)" if _DYNAMIC_REFERENCE in text else text


def _difference(raw: dict[str, Any]) -> str:
    return (
        f"{raw.get('PropertyPath', '')} {raw.get('DifferenceType', '')}: expected "
        f"{_shown(raw.get('ExpectedValue'))} actual {_shown(raw.get('ActualValue'))}"
    )


def _property(raw: dict[str, Any]) -> str:
    """``/Properties/MemorySize`` → ``MemorySize`` (the name a reviewer knows)."""
    path = str(raw.get("PropertyPath", ""))
    return path.removeprefix("/Properties/").lstrip("/") or path


def stack_drift(cfn: Any, stack: str, clock: Clock, timeout_seconds: float) -> DriftReport:
    """Run drift detection on the stack and list every modified or deleted resource."""
    try:
        return _detect(cfn, stack, clock, timeout_seconds)
    except ClientError as exc:  # e.g. a role without the drift permissions
        return DriftReport("UNAVAILABLE", (), f"drift detection unavailable: {error_message(exc)}")
    except NotImplementedError as exc:  # an in-process emulator (moto) without drift detection
        return DriftReport("UNAVAILABLE", (), f"drift detection unavailable: {exc}")
    except ResponseParserError:
        # moto's server answers DetectStackDrift with an HTML 500 that botocore cannot parse.
        return DriftReport("UNAVAILABLE", (), "drift detection unavailable on this endpoint")


def _detect(cfn: Any, stack: str, clock: Clock, timeout_seconds: float) -> DriftReport:
    detection = cfn.detect_stack_drift(StackName=stack)["StackDriftDetectionId"]

    def finished() -> dict[str, Any] | None:
        status: dict[str, Any] = cfn.describe_stack_drift_detection_status(
            StackDriftDetectionId=detection
        )
        return None if status["DetectionStatus"] == "DETECTION_IN_PROGRESS" else status

    def timed_out(now: float) -> GeneratorError:
        return GeneratorError(
            f"drift detection of {stack} still running after {timeout_seconds:.0f}s",
            ExitCode.TIMED_OUT,
        )

    status = poll(Deadline(clock, timeout_seconds), _POLL_SECONDS, finished, timed_out)
    note = ""
    failed = status["DetectionStatus"] == "DETECTION_FAILED"
    if failed:
        note = f"drift detection incomplete: {status.get('DetectionStatusReason', '')}"
    drifted: list[Drifted] = []
    not_checked: list[str] = []
    for page in pages(
        cfn,
        "describe_stack_resource_drifts",
        StackName=stack,
        StackResourceDriftStatusFilters=["MODIFIED", "DELETED", "NOT_CHECKED"],
    ):
        for d in page.get("StackResourceDrifts", []):
            if d["StackResourceDriftStatus"] == "NOT_CHECKED":
                not_checked.append(str(d["LogicalResourceId"]))
                continue
            drifted.append(
                Drifted(
                    logical_id=str(d["LogicalResourceId"]),
                    resource_type=str(d.get("ResourceType", "")),
                    status=str(d["StackResourceDriftStatus"]),
                    differences=tuple(_difference(p) for p in d.get("PropertyDifferences", [])),
                    properties=tuple(
                        dict.fromkeys(_property(p) for p in d.get("PropertyDifferences", []))
                    ),
                )
            )
    return DriftReport(
        status=str(status.get("StackDriftStatus", "UNKNOWN")),
        drifted=tuple(drifted),
        note=note,
        not_checked=tuple(sorted(not_checked)),
        detection_failed=failed,
    )
