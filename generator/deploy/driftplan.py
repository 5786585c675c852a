"""Drift in the plan: which resources changed outside git, and what the deploy does about it.

Git wins, but never silently: with ``deploy.drift: refuse`` (the default) a deploy onto a
drifted stack stops with exit 3 naming the drifted properties, so a hot fix made during an
incident is looked at before it is undone; with ``deploy.drift: revert`` the change set is
drift-aware (``DeploymentMode: REVERT_DRIFT``) and puts git's values back, like Argo CD's
self-heal. ``plan``, ``deploy``, ``status`` and the scheduled drift job print the same lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.clock import Clock
from generator.deploy.drift import DriftReport, stack_drift, uncheckable
from generator.errors import ExitCode, GeneratorError

REFUSE = "refuse"
REVERT = "revert"
REVERT_DRIFT = "REVERT_DRIFT"  # CloudFormation's DeploymentMode for a drift-aware change set


@dataclass(frozen=True)
class DriftView:
    """A stack's drift as the plan shows it, with the environment's policy."""

    report: DriftReport
    policy: str = REFUSE  # refuse | revert
    emulated: bool = False  # the embedded emulator, which has no drift detection
    excused: Mapping[str, str] = field(default_factory=dict)  # not checked by design: why

    @property
    def drifted(self) -> bool:
        """Whether any resource was found changed outside git."""
        return bool(self.report.drifted)

    @property
    def refuses(self) -> bool:
        """Whether the deploy must stop (drift found and the policy is refuse)."""
        return self.drifted and self.policy != REVERT

    def marks(self, logical_id: str) -> tuple[str, ...]:
        """Lines under a resource of the plan that drifted outside git ("" when it did not)."""
        for item in self.report.drifted:
            if item.logical_id == logical_id:
                if not item.differences:
                    return (f"drifted outside git ({item.status})",)
                return tuple(f"drifted outside git: {d}" for d in item.differences)
        return ()

    def text_lines(self) -> list[str]:
        """The drift section of the plan and of ``status``."""
        return [f"Drift: {self.headline()}", *self.detail_lines(), *self.policy_lines()]

    def markdown_lines(self) -> list[str]:
        """The same as Markdown."""
        lines = [f"**Drift:** {self.headline()}"]
        details = self.detail_lines()
        if details:
            lines += ["", *(f"- `{line.strip()}`" for line in details)]
        policy = self.policy_lines()
        if policy:
            marker = "> [!WARNING]" if self.refuses else "> [!NOTE]"
            lines += ["", marker, *(f"> {line}" for line in policy)]
        return lines

    def headline(self) -> str:
        """One phrase: none, N resources drifted, or why drift is not established."""
        report = self.report
        if report.drifted:
            count = len(report.drifted)
            noun = "resource" if count == 1 else "resources"
            return f"{count} {noun} changed outside git ({', '.join(self.drifted_ids())})"
        if report.established:
            return "none: every checked resource matches the last deployed template"
        why = report.why_unknown()
        if self.emulated:
            return f"not established ({why}); not blocking the emulated environment"
        return f"NOT ESTABLISHED ({why}); the plan cannot show changes made outside git"

    def drifted_ids(self) -> list[str]:
        """Each drifted resource with its drifted properties: ``Function (MemorySize)``."""
        return [
            f"{i.logical_id} ({', '.join(i.properties)})" if i.properties else i.logical_id
            for i in self.report.drifted
        ]

    def detail_lines(self) -> list[str]:
        """Every drifted resource and difference, and what was not checked by design."""
        lines = []
        for item in self.report.drifted:
            lines.append(f"  {item.status:<9} {item.logical_id} [{item.resource_type}]")
            lines.extend(f"    {difference}" for difference in item.differences)
        for logical_id in self.report.excused:
            lines.append(f"  not checked by design: {logical_id} ({self.excused[logical_id]})")
        return lines

    def policy_lines(self) -> list[str]:
        """What the deploy does about the drift found."""
        if not self.drifted:
            return []
        if self.policy == REVERT:
            return [
                "deploy.drift is revert: the change set is drift-aware (REVERT_DRIFT) and puts "
                "git's values back."
            ]
        return [
            "deploy.drift is refuse: a deploy stops (exit 3) until someone looks. Either "
            "commit the live values to git, or set deploy.drift: revert to put git's back."
        ]


def assess(
    cfn: Any,
    stack_name: str,
    template_body: str,
    clock: Clock,
    timeout_seconds: float,
    policy: str = REFUSE,
    emulated: bool = False,
) -> DriftView:
    """Run drift detection on a deployed stack and judge it by the environment's policy."""
    reasons = uncheckable(template_body)
    report = stack_drift(cfn, stack_name, clock, timeout_seconds).excusing(reasons)
    return DriftView(report, policy, emulated, reasons)


def refusal(view: DriftView, environment: str) -> GeneratorError:
    """The exit-3 error of a deploy onto a drifted stack under ``deploy.drift: refuse``."""
    return GeneratorError(
        "refused: the live stack drifted from the last deployed template: "
        f"{'; '.join(view.drifted_ids())}. deploy.drift is refuse in "
        f"environments/{environment}.yaml, so a change made outside git (an incident's hot "
        "fix?) is not undone silently. Commit the live values to git, or set deploy.drift: "
        "revert (REVERT_DRIFT) to put git's values back",
        ExitCode.BLOCKED,
    )
