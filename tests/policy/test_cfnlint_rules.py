"""The project's cfn-lint rules: each fires on its failing fixture, stays quiet on its passing one,
and the full gate (informational + serverless + project rules) finds nothing in committed templates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.core import get_rules
from cfnlint.helpers import load_plugins

from generator.gates import template_regions
from generator.workspace import CHECKOUT

pytestmark = pytest.mark.slow(3)

ROOT = CHECKOUT
RULES_DIR = ROOT / "generator" / "cfnlint_rules"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Discovered at collection time: the parametrized gate test follows whatever synth committed.
TEMPLATES = sorted((ROOT / "templates").glob("*.json"))
PROJECT_RULE_IDS = {"E9001", "E9002", "E9003", "E9004", "E9005", "E9006"}

# fixture, rule it targets, logical ids it must flag (and nothing else)
FAILING = [
    ("e9001_fail_retain_data.json", "E9001", {"Queue", "Secret", "LogGroup"}),
    ("e9001_fail_unset_policies.json", "E9001", {"Bucket"}),
    (
        "e9002_fail.json",
        "E9002",
        {
            "Role",
            "Policy",
            "ManagedPolicy",
            "NotActionPolicy",
            "BucketPolicy",
            "QueuePolicy",
            "TopicPolicy",
            "Key",
            "ConditionalPolicy",
        },
    ),
    (
        "e9003_fail.json",
        "E9003",
        {"Unencrypted", "Suspended", "PartlyPublic", "NoPolicy", "AllowOnly", "Unprotected"},
    ),
    ("e9004_fail.json", "E9004", {"NoActions", "EmptyActions", "Disabled"}),
    ("e9005_fail.json", "E9005", {"NoGroup", "UnknownGroup", "Forever", "RefForever"}),
    (
        "e9006_fail.json",
        "E9006",
        {
            "ForeignRoot",
            "NotPrincipal",
            "ConditionalForeign",
            "ForeignKey",
            "ForeignContextKey",
            "OpenQueue",
            "UnboundService",
            "ForeignSource",
            "IfExistsTopic",
            "AnySourceArnTopic",
            "ParameterSecret",
            "FederatedSecret",
            "PublicPermission",
            "UnboundServicePermission",
            "ForeignPermission",
        },
    ),
]
PASSING = sorted(path.name for path in FIXTURES.glob("e9*_pass*.json"))

# fixture, one exact message it must produce: names the resource and what was expected
MESSAGES = [
    (
        "e9001_fail_retain_data.json",
        "AWS::SQS::Queue Queue has DeletionPolicy 'Delete'; expected 'Retain' because "
        "Metadata.ServerlessApp.retainData is true",
    ),
    (
        "e9001_fail_unset_policies.json",
        "AWS::S3::Bucket Bucket has no UpdateReplacePolicy; expected Retain or Delete, "
        "set explicitly",
    ),
    (
        "e9002_fail.json",
        "AWS::KMS::Key Key KeyPolicy statement 'Admin' allows wildcard action 'kms:*'; "
        "expected exact actions (awacs constants)",
    ),
    (
        "e9002_fail.json",
        "AWS::IAM::Policy Policy PolicyDocument allows wildcard action 's3:Get*'; "
        "expected exact actions (awacs constants)",
    ),
    (
        "e9003_fail.json",
        "S3 bucket PartlyPublic does not block public access (RestrictPublicBuckets not true); "
        "expected all four PublicAccessBlockConfiguration flags true",
    ),
    (
        "e9003_fail.json",
        "S3 bucket Unprotected accepts plain HTTP; expected an AWS::S3::BucketPolicy on it with "
        "a Deny statement on condition Bool aws:SecureTransport false",
    ),
    (
        "e9004_fail.json",
        "AWS::CloudWatch::Alarm EmptyActions has AlarmActions []; expected a non-empty list "
        "(e.g. the alarm topic)",
    ),
    (
        "e9005_fail.json",
        "Lambda function Forever logs to log group ForeverGroup, which has no RetentionInDays; "
        "expected a retention so logs do not pile up forever",
    ),
    (
        "e9006_fail.json",
        "AWS::S3::BucketPolicy ForeignRoot PolicyDocument statement 'CrossAccountRead' allows "
        "principal 'arn:aws:iam::999999999999:root' of account 999999999999, outside this "
        "environment's account 111111111111",
    ),
    (
        "e9006_fail.json",
        "AWS::Lambda::Permission UnboundServicePermission allows service principal "
        "'s3.amazonaws.com' without SourceAccount or SourceArn naming this environment's account "
        "111111111111",
    ),
]


@pytest.fixture(scope="session")
def project_rules() -> Any:
    """Only this project's rules, loaded from the folder the way `--append-rules DIR` does."""
    return get_rules([str(RULES_DIR)], [], [])


@pytest.fixture(scope="session")
def gate_rules() -> Any:
    """Everything the gate runs: default, informational, serverless and project rules."""
    return get_rules(["cfn_lint_serverless.rules", str(RULES_DIR)], [], ["I"])


def findings(path: Path, rules: Any) -> list[Any]:
    """cfn-lint's matches for one template file, in every region the gate lints it for."""
    return lint(path.read_text(encoding="utf-8"), rules=rules, regions=template_regions([path]))


def project_findings(path: Path, rules: Any) -> list[Any]:
    """Only the matches of this project's rules (E9xxx)."""
    return [match for match in findings(path, rules) if match.rule.id in PROJECT_RULE_IDS]


def flagged(match: Any) -> str:
    """The logical id of the resource a match points at."""
    return str(match.path[1])


def test_loads_every_project_rule_from_the_folder() -> None:
    rules = load_plugins(str(RULES_DIR))
    assert sorted(rule.id for rule in rules) == sorted(PROJECT_RULE_IDS)
    assert all(rule.shortdesc and rule.description for rule in rules)


@pytest.mark.parametrize(("fixture", "rule_id", "resources"), FAILING)
def test_fails_fixture_on_exactly_the_bad_resources(
    project_rules: Any, fixture: str, rule_id: str, resources: set[str]
) -> None:
    matches = project_findings(FIXTURES / fixture, project_rules)
    assert {match.rule.id for match in matches} == {rule_id}
    assert {flagged(match) for match in matches} == resources
    for match in matches:
        assert flagged(match) in match.message, match.message


@pytest.mark.parametrize(("fixture", "message"), MESSAGES)
def test_fails_with_a_message_naming_resource_and_expectation(
    project_rules: Any, fixture: str, message: str
) -> None:
    messages = [match.message for match in project_findings(FIXTURES / fixture, project_rules)]
    assert message in messages


def test_every_project_rule_has_a_failing_fixture() -> None:
    assert {rule_id for _, rule_id, _ in FAILING} == PROJECT_RULE_IDS


@pytest.mark.parametrize("fixture", PASSING)
def test_passing_fixture_has_no_project_findings(project_rules: Any, fixture: str) -> None:
    assert [m.message for m in project_findings(FIXTURES / fixture, project_rules)] == []


def test_requires_retain_only_when_template_retains_data(
    project_rules: Any, tmp_path: Path
) -> None:
    template = json.loads((FIXTURES / "e9001_fail_retain_data.json").read_text(encoding="utf-8"))
    template["Metadata"]["ServerlessApp"]["retainData"] = False
    relaxed = tmp_path / "relaxed.json"
    relaxed.write_text(json.dumps(template), encoding="utf-8")
    # Delete is fine now; the resources without any policy are still flagged.
    assert {flagged(m) for m in project_findings(relaxed, project_rules)} == {"Secret", "LogGroup"}


def test_fails_an_account_id_the_template_does_not_declare_as_its_own(
    project_rules: Any, tmp_path: Path
) -> None:
    template = json.loads((FIXTURES / "e9006_pass.json").read_text(encoding="utf-8"))
    del template["Metadata"]
    undeclared = tmp_path / "undeclared.json"
    undeclared.write_text(json.dumps(template), encoding="utf-8")
    # 111111111111 is only known to be the template's own through Metadata.ServerlessApp.
    matches = project_findings(undeclared, project_rules)
    assert [(m.rule.id, flagged(m)) for m in matches] == [("E9006", "BucketPolicy")] * 2
    assert "outside this template's account (AWS::AccountId)" in matches[0].message


def test_gate_fails_a_copy_of_dev_whose_bucket_policy_grants_another_account(
    gate_rules: Any, tmp_path: Path
) -> None:
    template = json.loads((ROOT / "templates" / "dev.json").read_text(encoding="utf-8"))
    policy = template["Resources"]["DataBucketPolicy"]["Properties"]["PolicyDocument"]
    policy["Statement"].append(
        {
            "Sid": "PartnerReads",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::serverlessapp-files-dev-*/*"},
        }
    )
    copy = tmp_path / "dev.json"
    copy.write_text(json.dumps(template, indent=1), encoding="utf-8")
    found = [(m.rule.id, flagged(m), m.message) for m in findings(copy, gate_rules)]
    assert [(rule, resource) for rule, resource, _ in found] == [("E9006", "DataBucketPolicy")]
    assert "999999999999" in found[0][2]


def test_templates_are_committed() -> None:
    assert TEMPLATES, f"no templates in {ROOT / 'templates'}; run `python -m generator synth`"


@pytest.mark.policy_gate
@pytest.mark.parametrize("template", TEMPLATES, ids=[path.name for path in TEMPLATES])
def test_committed_template_passes_cfn_lint_gate(gate_rules: Any, template: Path) -> None:
    found = [
        f"{m.rule.id} line {m.linenumber}: {m.message}" for m in findings(template, gate_rules)
    ]
    assert found == []
