"""Every grant of every committed template is one AWS would honour, by AWS's Service
Authorization Reference (``service_reference.py``): the action exists, an action with no resource
type is granted on ``"*"``, and every other action names a resource of a type it acts on.

An unusable grant is not a hole but a broken promise: the role fails with AccessDenied on a real
account (a plan, a drift check, a deploy) although every local check passed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.workspace import CHECKOUT
from tests.policy.service_reference import (
    ReferenceMissing,
    format_pattern,
    grants,
    overlap,
    policy_pattern,
    unusable,
)

TEMPLATES = sorted((CHECKOUT / "templates").glob("*.json"))


@pytest.fixture(scope="session")
def committed() -> dict[str, dict[str, Any]]:
    """Every committed template, read once."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in TEMPLATES}


def _template(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Resources": {
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                    "Roles": [{"Ref": "Role"}],
                },
            }
        }
    }


def _why(action: str, resource: Any) -> list[str]:
    """The reasons the checker gives for one Allow statement (empty: usable)."""
    statement = {"Sid": "S", "Effect": "Allow", "Action": [action], "Resource": resource}
    try:
        return [finding.why for finding in unusable("t", _template([statement]))]
    except ReferenceMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.mark.parametrize("template", TEMPLATES, ids=[path.name for path in TEMPLATES])
def test_every_allow_statement_of_the_template_is_usable(
    committed: dict[str, dict[str, Any]], template: Path
) -> None:
    try:
        found = unusable(template.name, committed[template.stem])
    except ReferenceMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    report = "\n".join(str(finding) for finding in found)
    assert not found, (
        f"{len(found)} unusable grants (template / policy / Sid / action / resources / why):\n"
        f"{report}"
    )


def test_checks_the_ci_access_templates_roles_and_the_boundary(
    committed: dict[str, dict[str, Any]],
) -> None:
    holders = {grant.holder.split(" ")[0] for grant in grants("ci", committed["ci-access"])}
    for expected in ("CloudFormationReadPolicyDev", "PlanMainRoleProd", "AppRoleBoundaryStaging"):
        assert expected in holders


def test_accepts_an_action_without_resource_types_on_star() -> None:
    assert _why("logs:DescribeLogGroups", "*") == []


def test_rejects_an_action_without_resource_types_on_an_arn() -> None:
    why = _why("logs:DescribeLogGroups", "arn:aws:logs:us-west-2:111111111111:log-group:*")
    assert why == ["logs:DescribeLogGroups has no resource type: it is authorized on '*' only"]


def test_rejects_an_unknown_action_and_an_unknown_service() -> None:
    assert _why("s3:GetObjects", "*") == ["no such action in the reference"]
    assert _why("nosuchservice:Get", "*") == ["no service 'nosuchservice' in the reference"]


def test_matches_action_names_case_insensitively() -> None:
    assert _why("S3:getobject", "arn:aws:s3:::bucket/key") == []


def test_rejects_a_wildcard_action_that_names_nothing() -> None:
    assert _why("s3:GetNothing*", "*") == ["no such action in the reference"]


def test_accepts_a_wildcard_action_when_one_of_its_actions_is_usable() -> None:
    assert _why("s3:GetObject*", "arn:aws:s3:::bucket/key") == []


def test_rejects_a_resource_of_another_type() -> None:
    # ListBucket acts on the bucket, not on its objects.
    (why,) = _why("s3:ListBucket", "arn:aws:s3:::bucket/uploads/*")
    assert why.startswith("s3:ListBucket acts on ")
    assert why.endswith("arn:${Partition}:s3:::${BucketName}; no resource matches")
    assert _why("s3:ListBucket", "arn:aws:s3:::bucket") == []


def test_rejects_a_resource_of_another_service() -> None:
    assert _why("sqs:SendMessage", "arn:aws:sns:us-west-2:111111111111:topic") != []


def test_treats_template_variables_as_wildcards() -> None:
    resource = {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${Acct}:log-group:${G}:*"}
    assert _why("logs:PutLogEvents", [resource]) == []
    assert _why("logs:PutLogEvents", [{"Fn::GetAtt": ["Group", "Arn"]}]) == []


def test_reports_template_policy_sid_action_resources_and_reason() -> None:
    statement = {
        "Sid": "ListLogGroups",
        "Effect": "Allow",
        "Action": "logs:DescribeLogGroups",
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:logs:us-west-2:1:log-group:*"},
    }
    (finding,) = unusable("ci-access.json", _template([statement]))
    assert str(finding) == (
        "ci-access.json / Policy (roles: Role) / Sid ListLogGroups / logs:DescribeLogGroups / "
        "['arn:*:logs:us-west-2:1:log-group:*'] / logs:DescribeLogGroups has no resource type: "
        "it is authorized on '*' only"
    )


def test_patterns_overlap_only_where_some_arn_fits_both() -> None:
    bucket = format_pattern("arn:${Partition}:s3:::${BucketName}")
    assert overlap(policy_pattern("arn:aws:s3:::b*"), bucket)
    assert overlap(policy_pattern("*"), bucket)
    assert not overlap(policy_pattern("arn:aws:s3:::b/k"), format_pattern("arn:${P}:s3:::${B}x"))
    # A region placeholder spans no ':'.
    group = format_pattern("arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}")
    assert not overlap(policy_pattern("arn:aws:logs:a:b:c:1:log-group:g"), group)
    assert overlap(policy_pattern("arn:aws:logs:us-west-2:1:log-group:g"), group)
