"""The landing-zone gate: Control Tower's proactive controls (cfn-guard) on resolved templates."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generator import landing_zone
from generator.control_exceptions import EXCEPTIONS, ControlException
from generator.errors import GeneratorError
from generator.landing_zone import Finding, judge, parse_findings, rule_dirs, services
from generator.resolve import Known, resolve_template, resolve_value
from generator.workspace import CHECKOUT

pytestmark = pytest.mark.slow(4)

ROOT = CHECKOUT
KNOWN = Known(account="111111111111", region="eu-west-1", stack_name="TapStackdev")


def _resolve(value: Any, known: Known = KNOWN) -> Any:
    return resolve_value(value, known, known.pseudo())


# --- the resolver --------------------------------------------------------------------------------


def test_resolves_pseudo_parameter_refs() -> None:
    assert _resolve({"Ref": "AWS::AccountId"}) == "111111111111"
    assert _resolve({"Ref": "AWS::Region"}) == "eu-west-1"
    assert _resolve({"Ref": "AWS::Partition"}) == "aws"
    assert _resolve({"Ref": "AWS::StackName"}) == "TapStackdev"


def test_resolves_sub_over_pseudo_parameters() -> None:
    value = {"Fn::Sub": "arn:${AWS::Partition}:s3:::files-${AWS::AccountId}/*"}
    assert _resolve(value) == "arn:aws:s3:::files-111111111111/*"


def test_resolves_sub_with_its_own_variables_and_literal_escapes() -> None:
    value = {"Fn::Sub": ["${Name}-${AWS::Region}-${!Literal}", {"Name": {"Ref": "AWS::AccountId"}}]}
    assert _resolve(value) == "111111111111-eu-west-1-${Literal}"


def test_leaves_what_it_cannot_know_unresolved() -> None:
    value = {"Fn::Sub": "arn:aws:sqs:${AWS::Region}:${Queue.Arn}"}
    assert _resolve(value) == value
    assert _resolve({"Ref": "Bucket"}) == {"Ref": "Bucket"}
    assert _resolve({"Fn::GetAtt": ["Role", "Arn"]}) == {"Fn::GetAtt": ["Role", "Arn"]}


def test_resolves_known_physical_values_and_parameter_defaults() -> None:
    known = Known(
        account="1",
        region="r",
        refs={"Bucket": "b"},
        attributes={"Role.Arn": "arn:aws:iam::1:role/x"},
    )
    template = {
        "Parameters": {"Repo": {"Type": "String", "Default": "o/n"}},
        "Resources": {
            "X": {
                "Type": "T",
                "Properties": {
                    "A": {"Ref": "Bucket"},
                    "B": {"Fn::GetAtt": "Role.Arn"},
                    "C": {"Fn::Sub": "repo:${Repo}"},
                    "D": [{"Fn::GetAtt": ["Role", "Arn"]}],
                },
            }
        },
    }
    props = resolve_template(template, known)["Resources"]["X"]["Properties"]
    assert props == {"A": "b", "B": "arn:aws:iam::1:role/x", "C": "repo:o/n", "D": [props["B"]]}
    assert template["Resources"]["X"]["Properties"]["A"] == {"Ref": "Bucket"}  # not mutated


def test_resolving_is_deterministic() -> None:
    template = json.loads((ROOT / "templates" / "prod.json").read_text(encoding="utf-8"))
    known = landing_zone.known_for(template)
    assert resolve_template(template, known) == resolve_template(template, known)
    assert known.account == template["Metadata"]["ServerlessApp"]["accountId"]


# --- rule selection, parsing, judging -------------------------------------------------------------


def test_every_service_in_the_committed_templates_has_a_rule_mapping() -> None:
    for path in sorted((ROOT / "templates").glob("*.json")):
        template = json.loads(path.read_text(encoding="utf-8"))
        rule_dirs(template)  # raises on an unmapped service
    prod = json.loads((ROOT / "templates" / "prod.json").read_text(encoding="utf-8"))
    assert {"AWS::S3", "AWS::Lambda", "AWS::SQS", "AWS::KMS", "AWS::Logs"} <= services(prod)
    assert set(rule_dirs(prod)) >= {"s3", "lambda", "sqs", "keymanagementservice", "cloudwatch"}


def test_rejects_a_service_without_a_rule_mapping() -> None:
    template = {"Resources": {"T": {"Type": "AWS::DynamoDB::Table"}}}
    with pytest.raises(GeneratorError, match=r"AWS::DynamoDB.*SERVICE_RULES"):
        rule_dirs(template)


def test_parses_control_and_resource_from_the_structured_report() -> None:
    report = [
        {
            "not_compliant": [
                {
                    "Rule": {
                        "name": "sqs_dlq_check",
                        "checks": [
                            {
                                "messages": {"custom_message": "[CT.SQS.PR.1]: Require a DLQ"},
                                "path": "/Resources/Queue/Properties",
                            }
                        ],
                    }
                }
            ]
        }
    ]
    assert parse_findings("prod", report) == [
        Finding("prod", "CT.SQS.PR.1", "sqs_dlq_check", "Queue")
    ]


def test_judge_separates_excepted_unexplained_and_stale() -> None:
    excepted = Finding("prod", "CT.S3.PR.9", "r", "DataBucket")
    unexplained = Finding("prod", "CT.S3.PR.2", "r", "DataBucket")
    exceptions = [
        ControlException("CT.S3.PR.9", "*", "DataBucket", "why"),
        ControlException("CT.LAMBDA.PR.3", "*", "Function", "why"),
        ControlException("CT.LAMBDA.PR.3", "*", "Absent", "not in any evaluated template"),
    ]
    report = judge([excepted, unexplained], exceptions, {"prod": {"DataBucket", "Function"}})
    assert report.excepted == (excepted,)
    assert report.unexplained == (unexplained,)
    assert report.stale == (exceptions[1],)
    assert not report.passed


def test_every_exception_says_why() -> None:
    for exception in EXCEPTIONS:
        assert exception.control.startswith("CT."), exception
        assert len(exception.reason) > 20, exception


# --- the real rules -----------------------------------------------------------------------------


def test_rejects_a_missing_installation_naming_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CFN_GUARD_HOME", str(tmp_path))
    with pytest.raises(GeneratorError, match="make cfn-guard-env"):
        landing_zone.installed()


@pytest.mark.policy_gate
def test_committed_templates_meet_every_control_or_a_documented_exception() -> None:
    report = landing_zone.run(ROOT)
    assert landing_zone.render(report) == ""
    assert report.passed
    assert report.excepted  # the exceptions are exercised, not vacuous


def _write(tmp_path: Path, name: str, template: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(template), encoding="utf-8")
    return path


def test_fails_a_template_that_breaks_a_control(tmp_path: Path) -> None:
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
        },
    }
    report = landing_zone.run(ROOT, [_write(tmp_path, "prod", template)])
    # Retention under a year, and (CT.CLOUDWATCH.PR.3) no KMS key.
    assert [(f.control, f.resource) for f in report.unexplained] == [
        ("CT.CLOUDWATCH.PR.2", "Logs"),
        ("CT.CLOUDWATCH.PR.3", "Logs"),
    ]


def test_evaluates_resolved_values_as_control_towers_hooks_do(tmp_path: Path) -> None:
    """A TLS-only bucket policy built with Fn::Sub passes once resolved (it would fail raw)."""
    prod = json.loads((ROOT / "templates" / "prod.json").read_text(encoding="utf-8"))
    guard = landing_zone.installed()
    raw = _write(tmp_path, "raw", prod)
    rules = guard / landing_zone.RULES_SUBDIR / "s3" / "ct-s3-pr-8.guard"
    completed = subprocess.run(
        [str(guard / "cfn-guard"), "validate", "-r", str(rules), "-d", str(raw)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 19  # the raw template fails CT.S3.PR.8
    resolved = landing_zone.run(ROOT, [_write(tmp_path, "prod", prod)])
    assert not [f for f in resolved.unexplained + resolved.excepted if f.control == "CT.S3.PR.8"]
