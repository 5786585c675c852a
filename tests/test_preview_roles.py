"""The CI roles of preview stacks: limited to TapStack<env>-* by name and PreviewOf by tag, and
unable to reach any resource of the base environment."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from generator import naming
from generator.ci_access import build_ci_access_template
from generator.ci_access.preview_roles import PreviewId
from generator.config import Environment, load_environments
from generator.render import to_json

ROOT = Path(__file__).resolve().parents[1]
REPO = "octo-org/serverlessapp-gitops"


@pytest.fixture(scope="session")  # one per worker, however xdist interleaves modules
def envs() -> dict[str, Environment]:
    return {n: e for n, e in load_environments(ROOT / "environments").items() if not e.emulator}


@pytest.fixture(scope="session")  # one per worker, however xdist interleaves modules
def template(envs: dict[str, Environment]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(to_json(build_ci_access_template(envs, REPO).to_dict()))
    return parsed


def _resources(statement: dict[str, Any], account: str) -> list[str]:
    """A statement's resources as plain ARN patterns (pseudo-parameters resolved)."""
    found = []
    for item in statement["Resource"]:
        text = item["Fn::Sub"] if isinstance(item, dict) else item
        found.append(text.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", account))
    return found


def _preview_statements(template: dict[str, Any], env: str) -> list[dict[str, Any]]:
    role = template["Resources"][PreviewId.role(env)]["Properties"]
    statements: list[dict[str, Any]] = role["Policies"][0]["PolicyDocument"]["Statement"]
    return statements


def _base_arns(env: Environment) -> list[str]:
    """ARNs of the base environment's own resources and CI roles."""
    a, r, e = env.account_id, env.region, env.name
    return [
        f"arn:aws:cloudformation:{r}:{a}:stack/{naming.stack_name(e)}/abc",
        f"arn:aws:s3:::{naming.data_bucket(e, a)}",
        f"arn:aws:s3:::{naming.data_bucket(e, a)}/uploads/x",
        f"arn:aws:s3:::{naming.access_log_bucket(e, a)}",
        f"arn:aws:iam::{a}:role/{naming.role_name(e)}",
        f"arn:aws:iam::{a}:role/{naming.cloudformation_role_name(e)}",
        f"arn:aws:lambda:{r}:{a}:function:{naming.function_name(e)}",
        f"arn:aws:secretsmanager:{r}:{a}:secret:{naming.secret_name(e)}-AbCdEf",
        f"arn:aws:sqs:{r}:{a}:{naming.queue_name(e)}",
        f"arn:aws:logs:{r}:{a}:log-group:{naming.log_group(e)}",
    ]


def test_only_environments_with_previews_get_preview_roles(
    template: dict[str, Any], envs: dict[str, Environment]
) -> None:
    roles = {k for k in template["Resources"] if k.startswith("PreviewRole")}
    assert roles == {PreviewId.role(name) for name, env in envs.items() if env.deploy.previews}
    assert PreviewId.role("dev") in roles
    role = template["Resources"][PreviewId.role("dev")]
    assert role["Properties"]["RoleName"] == naming.preview_role_name("dev")
    assert role["Condition"] == "InAccountDev"


def test_the_preview_role_reaches_no_resource_of_the_base_environment(
    template: dict[str, Any], envs: dict[str, Environment]
) -> None:
    dev = envs["dev"]
    for statement in _preview_statements(template, "dev"):
        if statement["Effect"] != "Allow" or statement["Resource"] == ["*"]:
            continue
        for pattern in _resources(statement, dev.account_id):
            for arn in _base_arns(dev):
                assert not fnmatchcase(arn, pattern), (statement["Sid"], pattern, arn)


def test_the_preview_role_reaches_preview_stacks_and_buckets(
    template: dict[str, Any], envs: dict[str, Environment]
) -> None:
    dev = envs["dev"]
    preview = dev.model_copy(update={"name": "dev-pr42"})
    allowed = [
        pattern
        for statement in _preview_statements(template, "dev")
        if statement["Effect"] == "Allow"
        for pattern in _resources(statement, dev.account_id)
    ]
    for arn in _base_arns(preview):
        if ":role/ServerlessAppCloudFormationRole" in arn:
            continue  # previews use the preview CloudFormation role
        assert any(fnmatchcase(arn, p) for p in allowed), arn
    passed = f"arn:aws:iam::{dev.account_id}:role/{naming.preview_cloudformation_role_name('dev')}"
    assert any(fnmatchcase(passed, p) for p in allowed)


def test_changing_a_stack_needs_the_preview_tag(template: dict[str, Any]) -> None:
    denies = {s["Sid"]: s for s in _preview_statements(template, "dev") if s["Effect"] == "Deny"}
    resource = denies["OnlyStacksTaggedAsPreviews"]
    assert resource["Condition"] == {"StringNotEquals": {"aws:ResourceTag/PreviewOf": "dev"}}
    assert {"cloudformation:ExecuteChangeSet", "cloudformation:DeleteStack"} <= set(
        resource["Action"]
    )
    request = denies["OnlyChangeSetsTaggedAsPreviews"]
    assert request["Condition"] == {"StringNotEquals": {"aws:RequestTag/PreviewOf": "dev"}}
    assert request["Action"] == ["cloudformation:CreateChangeSet"]


def test_the_reviewed_preview_environment_and_the_cleanup_on_main_assume_the_preview_role(
    template: dict[str, Any],
) -> None:
    trust = template["Resources"][PreviewId.role("dev")]["Properties"]["AssumeRolePolicyDocument"]
    condition = trust["Statement"][0]["Condition"]
    subjects = condition["StringLike"]["token.actions.githubusercontent.com:sub"]
    repo = "${GitHubRepository}"
    workflows = f"{repo}/.github/workflows"
    # Never a bare pull request: only jobs in the GitHub environment preview-dev, whose
    # reviewers approve, and the expiry sweep of main.
    assert [s["Fn::Sub"] for s in subjects] == [
        f"repo:{repo}:environment:preview-dev:job_workflow_ref:{workflows}/pr.yml@refs/pull/*/merge",
        f"repo:{repo}:environment:preview-dev:job_workflow_ref:{workflows}/preview.yml"
        "@refs/pull/*/merge",
        f"repo:{repo}:ref:refs/heads/main:job_workflow_ref:{workflows}/preview-cleanup.yml"
        "@refs/heads/main",
    ]
    assert condition["StringEquals"] == {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"
    }
    assert condition["StringNotLike"] == {
        "token.actions.githubusercontent.com:sub": "*:*:*:*:*:*:*"
    }
    cfn = template["Resources"][PreviewId.cloudformation_role("dev")]["Properties"]
    (statement,) = cfn["AssumeRolePolicyDocument"]["Statement"]
    stacks = "arn:${AWS::Partition}:cloudformation:us-west-2:111111111111:stack"
    # CloudFormation acting for a preview stack only, when it names the stack.
    assert statement["Condition"]["ArnLikeIfExists"] == {
        "aws:SourceArn": [{"Fn::Sub": f"{stacks}/TapStackdev-*/*"}]
    }


def test_the_preview_cloudformation_role_is_scoped_to_preview_names(
    template: dict[str, Any],
) -> None:
    policies = [
        r["Properties"]
        for k, r in template["Resources"].items()
        if k.startswith("PreviewCloudFormation") and r["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    assert {p["ManagedPolicyName"] for p in policies} >= {
        "ServerlessAppCloudFormationStoragedev-previews",
        "ServerlessAppCloudFormationFunctiondev-previews",
    }
    text = json.dumps(policies)
    assert "serverlessapp-files-dev-*-111111111111" in text
    assert "serverlessapp-files-dev-111111111111" not in text
    # Tag conditions over a name pattern compare with StringLike (StringEquals would never match).
    assert '"aws:ResourceTag/Environment": "dev-*"' in text
    assert '"StringEquals": {"aws:ResourceTag/Environment": "dev-*"' not in text


def test_every_resource_is_an_arn(template: dict[str, Any]) -> None:
    for statement in _preview_statements(template, "dev"):
        for item in statement["Resource"]:
            text = item["Fn::Sub"] if isinstance(item, dict) else item
            assert text == "*" or text.startswith("arn:"), (statement["Sid"], text)


def test_previews_have_their_own_boundary_covering_only_preview_names(
    template: dict[str, Any], envs: dict[str, Environment]
) -> None:
    boundary = template["Resources"][PreviewId.boundary("dev")]
    assert boundary["Condition"] == "InAccountDev"
    assert boundary["Properties"]["ManagedPolicyName"] == "ServerlessAppBoundary-dev-previews"
    assert naming.boundary_policy_name("dev-pr42") == "ServerlessAppBoundary-dev-previews"
    account = envs["dev"].account_id
    for statement in boundary["Properties"]["PolicyDocument"]["Statement"]:
        for resource in _resources(statement, account):
            if resource.endswith(":key/*"):
                # Key ids are random: the key's Environment tag (dev-*) selects the previews'.
                tags = statement["Condition"]["StringLike"]
                assert tags["aws:ResourceTag/Environment"] == "dev-*"
                continue
            # Never a resource of dev itself: every name carries dev-<something>.
            assert resource == "*" or "dev-*" in resource, (statement["Sid"], resource)


def test_preview_cloudformation_role_changes_roles_only_with_the_preview_boundary(
    template: dict[str, Any],
) -> None:
    document = template["Resources"][PreviewId.policy("dev", "Function")]["Properties"]
    statements = {s["Sid"]: s for s in document["PolicyDocument"]["Statement"]}
    expected = {
        "Fn::Sub": "arn:${AWS::Partition}:iam::111111111111:policy/"
        "ServerlessAppBoundary-dev-previews"
    }
    bounded = statements["ChangeBoundedAppRoles"]
    assert bounded["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": expected}}
    # Every app-stack role of a preview: the function's and the rotation function's.
    assert bounded["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::111111111111:role/ServerlessAppLambdaRoledev-*"},
        {
            "Fn::Sub": "arn:${AWS::Partition}:iam::111111111111:role/"
            "ServerlessAppSecretRotationRoledev-*"
        },
    ]
    never = statements["NeverWithoutTheBoundary"]
    assert never["Effect"] == "Deny"
    assert never["Condition"] == {"StringNotEquals": {"iam:PermissionsBoundary": expected}}
    assert statements["NeverUnboundOrAttach"]["Effect"] == "Deny"
