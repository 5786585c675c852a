"""The template gates: cfn-lint and checkov over every committed template, zero findings allowed.

cfn-lint runs in this interpreter with informational rules, the serverless rules and this
project's rules (``generator/cfnlint_rules``). checkov runs from its own virtualenv, because it
pins an old boto3 that the project's environment must not get.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from generator.contracts import template_region
from generator.errors import ExitCode, GeneratorError
from generator.workspace import CHECKOUT, Workspace

RULES_DIR = Path(__file__).resolve().parent / "cfnlint_rules"
CHECKOV_VERSION = "3.3.30"
CHECKOV_INSTALL = (
    f"python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov=={CHECKOV_VERSION}"
)
CFN_LINT_INSTALL = f"{sys.executable} -m pip install cfn-lint cfn-lint-serverless"
DEFAULT_REGION = "us-east-1"
FINDINGS = 1  # the gate did not pass (the same code as `check` finding a difference)

# Runs cfn-lint's console entry point in this interpreter, so no PATH lookup can pick another.
_CFN_LINT_MAIN = "import sys; from cfnlint.runner import main; sys.exit(main())"


@dataclass(frozen=True)
class GateResult:
    """What one tool said about the templates."""

    tool: str
    exit_code: int
    output: str

    @property
    def passed(self) -> bool:
        """Whether the tool found nothing (both tools exit non-zero on any finding)."""
        return self.exit_code == 0


def find_templates(root: Path) -> list[Path]:
    """The committed templates, in a stable order."""
    return sorted((root / "templates").glob("*.json"))


def template_regions(templates: Sequence[Path]) -> list[str]:
    """The regions the templates deploy to (``Metadata.ServerlessApp.region``), us-east-1 always.

    cfn-lint checks resource types and properties against each region's spec, so a template is
    linted for the region it will really be deployed to, not only cfn-lint's default.
    """
    regions = {DEFAULT_REGION}
    for path in templates:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # cfn-lint reports an unreadable template itself
        region = template_region(document)
        if region:
            regions.add(region)
    return sorted(regions)


def cfn_lint_base() -> list[str]:
    """How to start cfn-lint: ``$CFN_LINT`` if set, otherwise this interpreter's cfn-lint."""
    override = os.environ.get("CFN_LINT")
    if override:
        found = shutil.which(override)
        if found is None:
            raise GeneratorError(
                f"CFN_LINT is {override!r}, which is no executable; expected a cfn-lint "
                f"command, or unset it to use this interpreter's (install: {CFN_LINT_INSTALL})"
            )
        return [found]
    missing = [m for m in ("cfnlint", "cfn_lint_serverless") if importlib.util.find_spec(m) is None]
    if missing:
        raise GeneratorError(
            f"cfn-lint is not installed in {sys.executable} (missing modules: "
            f"{', '.join(missing)}); expected both; install them with: {CFN_LINT_INSTALL}"
        )
    return [sys.executable, "-c", _CFN_LINT_MAIN]


def checkov_path() -> str:
    """Where checkov is: ``$CHECKOV`` if set, otherwise this checkout's ``.venv-checkov``."""
    default = CHECKOUT / ".venv-checkov" / "bin" / "checkov"
    candidate = os.environ.get("CHECKOV") or str(default)
    found = shutil.which(candidate)
    if found is None:
        raise GeneratorError(
            f"checkov not found at {candidate!r}; expected an executable there (or set CHECKOV); "
            f"install it in its own environment with: {CHECKOV_INSTALL}"
        )
    return found


def cfn_lint_command(base: Sequence[str], templates: Sequence[Path]) -> list[str]:
    """The cfn-lint command line: informational, serverless and project rules; parseable."""
    return [
        *base,
        "--format",
        "parseable",
        "--regions",
        *template_regions(templates),
        "--include-checks",
        "I",
        "--append-rules",
        "cfn_lint_serverless.rules",
        "--append-rules",
        str(RULES_DIR),
        "--",
        *(str(path) for path in templates),
    ]


def checkov_command(checkov: str, templates: Sequence[Path]) -> list[str]:
    """The checkov command line: CloudFormation only, offline, failed checks only."""
    return [
        checkov,
        "--framework",
        "cloudformation",
        "--skip-download",
        "--quiet",
        "--compact",
        "--file",
        *(str(path) for path in templates),
    ]


def run_tool(tool: str, argv: Sequence[str], cwd: Path) -> GateResult:
    """Run one linter and capture what it printed."""
    completed = subprocess.run(  # noqa: S603  # argv is built above from fixed options and paths
        list(argv), cwd=cwd, capture_output=True, text=True, check=False
    )
    output = (completed.stdout + completed.stderr).strip()
    return GateResult(tool=tool, exit_code=completed.returncode, output=output)


def count_findings(outcome: GateResult) -> int:
    """How many findings a tool reported (at least one when it failed without saying so)."""
    if outcome.passed:
        return 0
    if outcome.tool == "checkov":
        counts = [int(n) for n in re.findall(r"Failed checks: (\d+)", outcome.output)]
        total = sum(counts)
    else:
        total = sum(1 for line in outcome.output.splitlines() if line.strip())
    return max(total, 1)


def summary(outcome: GateResult) -> str:
    """One line per tool for the end of the report."""
    if outcome.passed:
        return f"{outcome.tool}: no findings"
    count = count_findings(outcome)
    return (
        f"{outcome.tool}: {count} finding{'s' if count != 1 else ''} "
        f"(exit code {outcome.exit_code})"
    )


def run_control_tower(root: Path) -> GateResult:
    """AWS Control Tower's proactive controls over the resolved templates (landing_zone)."""
    from generator import landing_zone

    report = landing_zone.run(root)
    return GateResult(
        "control-tower", 0 if report.passed else FINDINGS, landing_zone.render(report)
    )


def run_gates(root: Path) -> list[GateResult]:
    """Run cfn-lint, checkov and the Control Tower rules over every committed template."""
    templates = find_templates(root)
    if not templates:
        raise GeneratorError(
            f"no templates found in {root / 'templates'}; expected at least one *.json "
            "(run `python -m generator synth` first)"
        )
    # Find both tools before running either, so a missing one fails fast and alone.
    cfn_lint = cfn_lint_command(cfn_lint_base(), templates)
    checkov = checkov_command(checkov_path(), templates)
    from generator.landing_zone import installed

    installed()
    return [
        run_tool("cfn-lint", cfn_lint, root),
        run_tool("checkov", checkov, root),
        run_control_tower(root),
    ]


def lint(workspace: Workspace) -> int:
    """Command ``lint``: print every finding; exit 1 on any, 2 when a tool is missing."""
    outcomes = run_gates(workspace.root)
    for outcome in outcomes:
        if outcome.output and not outcome.passed:
            print(f"== {outcome.tool}\n{outcome.output}")
    for outcome in outcomes:
        print(summary(outcome))
    return int(ExitCode.OK) if all(o.passed for o in outcomes) else FINDINGS
