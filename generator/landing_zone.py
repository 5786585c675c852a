"""The landing-zone gate: AWS Control Tower's proactive controls over every committed template.

Control Tower runs these controls as CloudFormation hooks, on resolved property values. Here
cfn-guard runs the same rules over each template after ``generator.resolve`` has substituted the
pseudo-parameters (and ``Fn::Sub`` over them), so a TLS-only bucket policy built with
``${AWS::AccountId}`` is checked as the account-specific string AWS would see.

The rules and a cfn-guard binary come from PyPI's ``cdklabs-cdk-validator-cfnguard`` wheel (its jsii
tarball holds ``rules/control-tower/cfn-guard/<service>/*.guard`` and
``bin/ubuntu/<arch>/cfn-guard``), pinned by version and hash in ``requirements-cfnguard.txt`` and
extracted into ``.build/cfn-guard/`` by ``python -m generator landing-zone install``.
Every finding must match an entry of ``generator/control_exceptions.py``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.control_exceptions import EXCEPTIONS, ControlException
from generator.errors import GeneratorError
from generator.resolve import Known, resolve_template
from generator.workspace import CHECKOUT

PACKAGE = "cdklabs-cdk-validator-cfnguard"
VERSION = "0.0.62"  # ships cfn-guard 3.1.1; keep requirements-cfnguard.txt's pin and hash equal
REQUIREMENTS = "requirements-cfnguard.txt"
INSTALL_DIR = Path(".build") / "cfn-guard"
INSTALL_COMMAND = "make cfn-guard-env  (or: python -m generator landing-zone install)"
RULES_SUBDIR = Path("rules") / "control-tower" / "cfn-guard"

# Control Tower's rule folder for each service the stacks use; None where Control Tower publishes
# no proactive control for the service (checked by tests: every type in a template is listed).
SERVICE_RULES: Mapping[str, str | None] = {
    "AWS::S3": "s3",
    "AWS::Lambda": "lambda",
    "AWS::SQS": "sqs",
    "AWS::KMS": "keymanagementservice",
    "AWS::Logs": "cloudwatch",
    "AWS::CloudWatch": "cloudwatch",
    "AWS::IAM": "identityandaccessmanagement",
    "AWS::SNS": None,
    "AWS::SecretsManager": None,
    "AWS::CloudFormation": None,
}
# A placeholder where a template does not say its account and region (ci-access, bootstrap).
_DEFAULT_ACCOUNT = "123456789012"
_DEFAULT_REGION = "us-east-1"
_CONTROL = re.compile(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]")
_RESOURCE_PATH = re.compile(r"^/Resources/([^/]+)")


@dataclass(frozen=True)
class Finding:
    """One control a resource of a template does not meet."""

    template: str
    control: str
    rule: str
    resource: str

    def matches(self, exception: ControlException) -> bool:
        """Whether a documented exception covers this finding."""
        return (
            exception.control == self.control
            and exception.resource == self.resource
            and exception.template in ("*", self.template)
        )


@dataclass(frozen=True)
class Report:
    """What the gate found: findings no exception covers, and exceptions nothing matched."""

    unexplained: tuple[Finding, ...]
    excepted: tuple[Finding, ...]
    stale: tuple[ControlException, ...]

    @property
    def passed(self) -> bool:
        """No unexplained finding and no stale exception."""
        return not self.unexplained and not self.stale


# --- installation -------------------------------------------------------------------------------


def _arch() -> str:
    machine = platform.machine().lower()
    return "aarch64" if machine in ("arm64", "aarch64") else "x86_64"


def _os() -> str:
    return "macos" if sys.platform == "darwin" else "ubuntu"


def extract(wheel: Path, dest: Path) -> None:
    """Unpack the Control Tower rules and this platform's cfn-guard from the wheel into ``dest``."""
    binary = f"package/bin/{_os()}/{_arch()}/cfn-guard"
    rules = f"package/{RULES_SUBDIR.as_posix()}/"
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".jsii.tgz")]
        if len(names) != 1:
            raise GeneratorError(f"{wheel}: expected one jsii tarball, found {names}")
        with archive.open(names[0]) as raw, tarfile.open(fileobj=raw, mode="r:gz") as tar:
            for member in tar.getmembers():
                if not member.isfile() or not (
                    member.name == binary or member.name.startswith(rules)
                ):
                    continue
                target = dest / Path(member.name).relative_to("package")
                if member.name == binary:
                    target = dest / "cfn-guard"
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    continue
                target.write_bytes(source.read())
    (dest / "cfn-guard").chmod(0o755)


def install(root: Path) -> Path:
    """Download the pinned wheel (hash-checked) and extract it under ``root/.build/cfn-guard``."""
    dest = root / INSTALL_DIR
    wheels = dest / "wheel"
    shutil.rmtree(dest, ignore_errors=True)
    wheels.mkdir(parents=True)
    subprocess.run(  # noqa: S603 - pip of this interpreter, fixed arguments
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--require-hashes", "--only-binary", ":all:", "-r", str(root / REQUIREMENTS),
            "-d", str(wheels),
        ],
        check=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("*.whl")
    extract(wheel, dest)
    (dest / ".installed").write_text(f"{PACKAGE}=={VERSION}\n", encoding="utf-8")
    return dest


def installed() -> Path:
    """The extracted rules and binary (``$CFN_GUARD_HOME``, else this checkout's
    ``.build/cfn-guard``); a clear error naming the install command otherwise."""
    dest = Path(os.environ.get("CFN_GUARD_HOME") or CHECKOUT / INSTALL_DIR)
    marker = dest / ".installed"
    expected = f"{PACKAGE}=={VERSION}"
    if not marker.exists() or marker.read_text(encoding="utf-8").strip() != expected:
        raise GeneratorError(
            f"Control Tower's rules are not installed in {dest} (expected {expected}); "
            f"install them with: {INSTALL_COMMAND}"
        )
    return dest


# --- evaluation ---------------------------------------------------------------------------------


def services(template: Mapping[str, Any]) -> set[str]:
    """The services (``AWS::S3``) of a template's resources."""
    return {
        "::".join(r["Type"].split("::")[:2])
        for r in (template.get("Resources") or {}).values()
        if isinstance(r, dict) and isinstance(r.get("Type"), str)
    }


def rule_dirs(template: Mapping[str, Any]) -> list[str]:
    """Control Tower's rule folders for every service of the template."""
    missing = sorted(s for s in services(template) if s not in SERVICE_RULES)
    if missing:
        raise GeneratorError(
            f"no Control Tower rule mapping for {', '.join(missing)}; expected an entry in "
            "generator/landing_zone.py SERVICE_RULES (a rule folder, or None if there is none)"
        )
    return sorted({d for s in services(template) if (d := SERVICE_RULES[s]) is not None})


def known_for(template: Mapping[str, Any]) -> Known:
    """Where the template deploys, from its metadata (placeholders where it does not say)."""
    metadata = (template.get("Metadata") or {}).get("ServerlessApp") or {}
    return Known(
        account=str(metadata.get("accountId") or _DEFAULT_ACCOUNT),
        region=str(metadata.get("region") or _DEFAULT_REGION),
    )


def _strings_under(value: Any, key: str) -> Iterator[str]:
    """Every string stored under ``key`` anywhere in a parsed JSON report."""
    if isinstance(value, dict):
        for name, item in value.items():
            if name == key and isinstance(item, str):
                yield item
            else:
                yield from _strings_under(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_under(item, key)


def parse_findings(template: str, report: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """cfn-guard's structured JSON report as findings, one per control and resource."""
    found = set()
    for document in report:
        for entry in document.get("not_compliant", []):
            rule = entry.get("Rule", {}).get("name", "?")
            controls = {
                m.group(1)
                for text in _strings_under(entry, "custom_message")
                for m in _CONTROL.finditer(text)
            }
            resources = {
                m.group(1) for p in _strings_under(entry, "path") if (m := _RESOURCE_PATH.match(p))
            }
            for control in controls or {"?"}:
                for resource in resources or {"?"}:
                    found.add(Finding(template, control, rule, resource))
    return sorted(found, key=lambda f: (f.template, f.control, f.resource))


def evaluate_template(path: Path, guard: Path, work: Path) -> list[Finding]:
    """Run every applicable Control Tower rule over one template, resolved first."""
    template = json.loads(path.read_text(encoding="utf-8"))
    dirs = rule_dirs(template)
    if not dirs:
        return []
    resolved = work / path.name
    resolved.write_text(json.dumps(resolve_template(template, known_for(template))), "utf-8")
    argv = [str(guard / "cfn-guard"), "validate", "--structured", "-o", "json",
            "--show-summary", "none", "-d", str(resolved)]  # fmt: skip
    for folder in dirs:
        argv += ["-r", str(guard / RULES_SUBDIR / folder)]
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    # cfn-guard exits 19 when a rule fails; anything else but 0 is an error of the tool.
    if completed.returncode not in (0, 19):
        raise GeneratorError(
            f"cfn-guard failed on {path.name} (exit {completed.returncode}): {completed.stderr}"
        )
    return parse_findings(path.stem, json.loads(completed.stdout or "[]"))


def judge(
    findings: Sequence[Finding],
    exceptions: Sequence[ControlException],
    evaluated: Mapping[str, set[str]],
) -> Report:
    """Split findings into excepted and unexplained. An exception is stale when a template it
    covers was evaluated and has its resource, but nothing matched it.

    ``evaluated`` maps each evaluated template's stem to its resources' logical ids.
    """
    unexplained = tuple(f for f in findings if not any(f.matches(e) for e in exceptions))
    excepted = tuple(f for f in findings if any(f.matches(e) for e in exceptions))

    def applies(e: ControlException) -> bool:
        return any(
            e.template in ("*", stem) and e.resource in ids for stem, ids in evaluated.items()
        )

    stale = tuple(e for e in exceptions if applies(e) and not any(f.matches(e) for f in findings))
    return Report(unexplained, excepted, stale)


def run(root: Path, templates: Sequence[Path] | None = None) -> Report:
    """The gate over ``templates`` (default: every committed template under ``root``)."""
    guard = installed()
    paths = templates if templates is not None else sorted((root / "templates").glob("*.json"))
    work = guard / "resolved"
    work.mkdir(exist_ok=True)
    findings = [f for path in paths for f in evaluate_template(path, guard, work)]
    evaluated = {
        path.stem: set(json.loads(path.read_text(encoding="utf-8")).get("Resources") or {})
        for path in paths
    }
    return judge(findings, EXCEPTIONS, evaluated)


def render(report: Report) -> str:
    """The report as lines for the terminal."""
    lines = [
        f"{f.template}: {f.resource}: {f.control} ({f.rule}) not met and not excepted"
        for f in report.unexplained
    ]
    lines += [
        f"stale exception: {e.control} on {e.template}/{e.resource} matches no finding; drop it "
        "from generator/control_exceptions.py"
        for e in report.stale
    ]
    return "\n".join(lines)


def install_report(root: Path) -> int:
    """Command ``landing-zone install``: fetch and extract the pinned rules and cfn-guard."""
    print(f"installed {PACKAGE}=={VERSION} in {install(root)}")
    return 0


def check(root: Path) -> int:
    """Command ``landing-zone check``: the gate alone; exit 1 on an unexplained finding or a
    stale exception (``lint`` runs it with cfn-lint and checkov)."""
    report = run(root)
    if not report.passed:
        print(render(report))
    print(
        f"control tower: {len(report.unexplained)} unexplained, {len(report.excepted)} excepted, "
        f"{len(report.stale)} stale exceptions"
    )
    return 0 if report.passed else 1
