"""The ci-access template: OIDC trust, least-privilege roles, and the same lint/policy gates."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from generator.ci_access import (
    GITHUB_OIDC_HOST,
    build_ci_access_template,
    validate_repository,
)
from generator.ci_access.permissions import CLOUDFORMATION_WITHHELD, DRIFT_WITHHELD, Withheld
from generator.config import Environment, parse_environment
from generator.errors import GeneratorError
from generator.naming import (
    CiId,
    boundary_policy_name,
    cloudformation_role_name,
    deploy_role_name,
    drift_role_name,
    plan_main_role_name,
    plan_role_name,
    secret_name,
)
from generator.render import to_json
from generator.rollout import ci_environments
from generator.workspace import CHECKOUT

pytestmark = pytest.mark.integration

REPO = "octo-org/serverlessapp-gitops"
# The environments CI deploys, from the environment files (the only list).
CI_ENVIRONMENTS = ci_environments(CHECKOUT / "environments")
ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}


def _env(name: str, **extra: Any) -> Environment:
    data = {"account_id": ACCOUNTS.get(name, "444444444444"), "region": "us-west-2", **extra}
    return parse_environment(name, data, f"{name}.yaml")


@pytest.fixture
def envs() -> dict[str, Environment]:
    return {
        "dev": _env("dev", retain_data=False, deploy={"recreate_failed_stack": True}),
        "staging": _env("staging"),
        "prod": _env("prod"),
    }


@pytest.fixture
def template(envs: dict[str, Environment]) -> dict[str, Any]:
    return dict(json.loads(to_json(build_ci_access_template(envs, REPO).to_dict())))


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _actions(document: dict[str, Any]) -> set[str]:
    return {a for s in _statements(document) for a in _as_list(s["Action"])}


def _inline(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    (policy,) = template["Resources"][logical_id]["Properties"]["Policies"]
    return dict(policy["PolicyDocument"])


def _resolve(value: Any) -> Any:
    """Fn::Sub strings with the partition filled in, to measure policies as IAM stores them."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return value["Fn::Sub"].replace("${AWS::Partition}", "aws")
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def _size(document: dict[str, Any]) -> int:
    return len(json.dumps(_resolve(document), separators=(",", ":")))


def test_every_environment_gets_five_roles_and_a_boundary_conditioned_on_its_account(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    for env, account in ACCOUNTS.items():
        condition = CiId.in_account(env)
        assert template["Conditions"][condition] == {
            "Fn::Equals": [{"Ref": "AWS::AccountId"}, account]
        }
        for logical_id, name in (
            (CiId.plan_role(env), plan_role_name(env)),
            (CiId.plan_main_role(env), plan_main_role_name(env)),
            (CiId.drift_role(env), drift_role_name(env)),
            (CiId.deploy_role(env), deploy_role_name(env)),
            (CiId.cloudformation_role(env), cloudformation_role_name(env)),
        ):
            assert resources[logical_id]["Condition"] == condition
            assert resources[logical_id]["Properties"]["RoleName"] == name
        boundary = resources[CiId.boundary(env)]
        assert boundary["Condition"] == condition
        assert boundary["Properties"]["ManagedPolicyName"] == boundary_policy_name(env)
        # Attached to no CI role: it bounds the app stack's roles, which name it themselves.
        assert "Roles" not in boundary["Properties"]


def test_only_the_given_environments_get_roles(envs: dict[str, Environment]) -> None:
    only_dev = json.loads(to_json(build_ci_access_template({"dev": envs["dev"]}).to_dict()))
    roles = [k for k, v in only_dev["Resources"].items() if v["Type"] == "AWS::IAM::Role"]
    assert sorted(roles) == [
        "CloudFormationRoleDev",
        "DeployRoleDev",
        "DriftRoleDev",
        "PlanMainRoleDev",
        "PlanRoleDev",
    ]


def test_oidc_provider_is_optional_and_trusted_by_arn_either_way(template: dict[str, Any]) -> None:
    provider = template["Resources"][CiId.PROVIDER]
    assert provider["Condition"] == CiId.PROVIDER_CONDITION
    assert provider["Properties"]["Url"] == f"https://{GITHUB_OIDC_HOST}"
    assert provider["Properties"]["ClientIdList"] == ["sts.amazonaws.com"]
    assert template["Parameters"][CiId.CREATE_PROVIDER]["AllowedValues"] == ["true", "false"]
    trust = template["Resources"]["PlanRoleDev"]["Properties"]["AssumeRolePolicyDocument"]
    federated = trust["Statement"][0]["Principal"]["Federated"]
    when_created, existing = federated["Fn::If"][1:]
    assert when_created == {"Ref": CiId.PROVIDER}
    assert existing["Fn::Sub"].endswith(f":oidc-provider/{GITHUB_OIDC_HOST}")


def _trust_condition(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    trust = template["Resources"][logical_id]["Properties"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    return dict(statement["Condition"])


def _workflow_subject(context: str, workflow: str, ref: str) -> dict[str, str]:
    """A subject under the repository's OIDC subject customization (docs/ci.md)."""
    repo = "${GitHubRepository}"
    workflow_ref = f"{repo}/.github/workflows/{workflow}@{ref}"
    return {"Fn::Sub": f"repo:{repo}:{context}:job_workflow_ref:{workflow_ref}"}


AUDIENCE = {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"}


def test_plan_role_trusts_pull_requests_of_pr_yml_of_this_repository_only(
    template: dict[str, Any],
) -> None:
    condition = _trust_condition(template, "PlanRoleProd")
    assert condition["StringEquals"] == AUDIENCE
    # The pull request's merge ref, refs/pull/<number>/merge, is the one wildcard.
    assert condition["StringLike"] == {
        f"{GITHUB_OIDC_HOST}:sub": [
            _workflow_subject("pull_request", "pr.yml", "refs/pull/*/merge")
        ]
    }
    # A wildcard matches colons too: no subject with more than a real one's five.
    assert condition["StringNotLike"] == {f"{GITHUB_OIDC_HOST}:sub": "*:*:*:*:*:*:*"}


@pytest.mark.parametrize(
    ("role", "workflow"), [(CiId.plan_main_role, "wave.yml"), (CiId.drift_role, "drift.yml")]
)
def test_default_branch_roles_trust_only_their_workflow_on_main(
    role: Any, workflow: str, template: dict[str, Any]
) -> None:
    for env in ACCOUNTS:
        condition = _trust_condition(template, role(env))
        assert condition == {
            "StringEquals": {
                **AUDIENCE,
                f"{GITHUB_OIDC_HOST}:sub": [
                    _workflow_subject("ref:refs/heads/main", workflow, "refs/heads/main")
                ],
            }
        }


def test_deploy_role_trusts_only_the_wave_workflow_on_main_in_its_github_environment(
    template: dict[str, Any],
) -> None:
    for env in ACCOUNTS:
        condition = _trust_condition(template, CiId.deploy_role(env))
        assert condition == {
            "StringEquals": {
                **AUDIENCE,
                f"{GITHUB_OIDC_HOST}:sub": [
                    _workflow_subject(f"environment:{env}", "wave.yml", "refs/heads/main")
                ],
            }
        }


def test_cloudformation_role_is_assumable_only_by_cloudformation(template: dict[str, Any]) -> None:
    trust = template["Resources"]["CloudFormationRoleProd"]["Properties"]
    (statement,) = trust["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudformation.amazonaws.com"}
    stacks = "arn:${AWS::Partition}:cloudformation:us-west-2:333333333333:stack"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNTS["prod"]},
        # The stack it serves: the app stack (the bootstrap stack is an administrator's, with
        # their own credentials).
        "ArnLikeIfExists": {"aws:SourceArn": [{"Fn::Sub": f"{stacks}/TapStackprod/*"}]},
    }


def test_repository_parameter_is_validated_and_defaults_to_the_given_one(
    template: dict[str, Any],
) -> None:
    parameter = template["Parameters"][CiId.REPOSITORY]
    assert parameter["Default"] == REPO
    assert parameter["AllowedPattern"].startswith("^")


def test_repository_parameter_is_required_when_none_is_given(
    envs: dict[str, Environment],
) -> None:
    rendered = build_ci_access_template(envs).to_dict()
    assert "Default" not in rendered["Parameters"][CiId.REPOSITORY]


@pytest.mark.parametrize(
    "repository", ["", "octo-org", "octo-org/", "https://github.com/a/b", "a/b/c", "a b/c"]
)
def test_rejects_a_malformed_repository(repository: str) -> None:
    with pytest.raises(GeneratorError, match="expected owner/name"):
        validate_repository(repository)


def test_deploy_role_executes_but_never_creates_a_change_set_nor_touches_resources(
    template: dict[str, Any],
) -> None:
    for env in ACCOUNTS:
        actions = _actions(_inline(template, CiId.deploy_role(env)))
        services = {a.split(":")[0] for a in actions}
        assert services == {"cloudformation", "s3", "iam", "cloudwatch"}
        assert "cloudformation:ExecuteChangeSet" in actions
        assert "cloudformation:CreateChangeSet" not in actions
        assert {a for a in actions if a.startswith("iam:")} == {"iam:PassRole"}
        assert {a for a in actions if a.startswith("cloudwatch:")} == {"cloudwatch:DescribeAlarms"}
        assert {a for a in actions if a.startswith("s3:")} == {"s3:GetObject"}
        # No drift detection: a kept plan's drift was judged when the plan was made.
        assert not {a for a in actions if "Drift" in a} - {
            "cloudformation:DescribeStackResourceDrifts"
        }


def test_roles_pass_only_the_cloudformation_role_to_cloudformation(
    template: dict[str, Any],
) -> None:
    assert "iam:PassRole" not in _actions(_inline(template, "PlanRoleStaging"))
    assert "iam:PassRole" not in _actions(_inline(template, "DriftRoleStaging"))
    for logical_id in ("PlanMainRoleStaging", "DeployRoleStaging"):
        (passing,) = [
            s for s in _statements(_inline(template, logical_id)) if "iam:PassRole" in s["Action"]
        ]
        assert passing["Resource"] == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::222222222222:role/"
             + cloudformation_role_name("staging")}
        ]  # fmt: skip
        assert passing["Condition"] == {
            "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
        }


def test_plan_role_never_executes_a_change_set_or_writes_resources(
    template: dict[str, Any],
) -> None:
    actions = _actions(_inline(template, "PlanRoleProd"))
    assert "cloudformation:CreateChangeSet" in actions
    assert "cloudformation:ExecuteChangeSet" not in actions
    assert "cloudformation:DetectStackDrift" not in actions
    (upload,) = [
        s for s in _statements(_inline(template, "PlanRoleProd")) if "s3:PutObject" in s["Action"]
    ]
    # Only a template too large to inline, under a prefix of its run's own (templates/pr/<run>/):
    # never a key main's plans write, which a pull request could otherwise pre-create.
    assert upload["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::serverlessapp-artifacts-333333333333-us-west-2"
         "/templates/pr/*"}
    ]  # fmt: skip
    non_cfn = {a for a in actions if not a.startswith("cloudformation:")} - {
        "s3:ListBucket",
        "s3:GetObject",
        "s3:PutObject",
    }
    verbs = ("Get", "Describe", "List")
    assert all(a.split(":")[1].startswith(verbs) for a in non_cfn), sorted(non_cfn)
    # It lists only the artifact bucket, never a data bucket's keys.
    (listing,) = [
        s for s in _statements(_inline(template, "PlanRoleProd")) if "s3:ListBucket" in s["Action"]
    ]
    assert listing["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:s3:::serverlessapp-artifacts-333333333333-us-west-2"}
    ]


@pytest.mark.parametrize("role", ["PlanMainRoleProd", "DriftRoleProd"])
def test_default_branch_roles_never_execute_a_change_set(
    role: str, template: dict[str, Any]
) -> None:
    assert "cloudformation:ExecuteChangeSet" not in _actions(_inline(template, role))


def test_drift_role_is_read_only(template: dict[str, Any]) -> None:
    actions = _actions(_inline(template, "DriftRoleProd"))
    writes = {a for a in actions if not a.split(":")[1].startswith(("Get", "Describe", "List"))}
    assert writes == {
        "cloudformation:DetectStackDrift",
        "cloudformation:DetectStackResourceDrift",
    }


def test_deploy_role_has_no_right_on_the_bootstrap_stack(template: dict[str, Any]) -> None:
    statements = _statements(_inline(template, "DeployRoleDev"))
    bootstrap = [s for s in statements if "ServerlessAppBootstrap" in json.dumps(s["Resource"])]
    assert [(s["Sid"], s["Effect"], s["Action"]) for s in bootstrap] == [
        ("NothingOnTheBootstrapStack", "Deny", ["cloudformation:*"])
    ]
    # Nor does its CloudFormation role configure the artifact bucket (the bootstrap stack is an
    # administrator's, deployed with their own credentials).
    assert "CloudFormationBootstrapPolicyDev" not in template["Resources"]
    artifact_bucket = "serverlessapp-artifacts-"
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and "CloudFormation" in logical_id:
            for statement in _statements(resource["Properties"]["PolicyDocument"]):
                if statement["Effect"] == "Allow" and artifact_bucket in json.dumps(
                    statement["Resource"]
                ):
                    verbs = {a.split(":")[1][:3] for a in _as_list(statement["Action"])}
                    assert verbs <= {"Get", "Lis"}, (logical_id, statement["Sid"])


def test_only_an_environment_that_may_recreate_a_failed_stack_may_delete_it(
    template: dict[str, Any],
) -> None:
    assert "cloudformation:DeleteStack" in _actions(_inline(template, "DeployRoleDev"))
    for env in ("staging", "prod"):
        assert "cloudformation:DeleteStack" not in _actions(
            _inline(template, CiId.deploy_role(env))
        )


def _all_policies(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if "PolicyDocument" in props:
            found[logical_id] = props["PolicyDocument"]
        for policy in props.get("Policies", []):
            found[f"{logical_id}.{policy['PolicyName']}"] = policy["PolicyDocument"]
    return found


def test_no_action_wildcards_and_resource_star_only_where_no_resource_exists(
    template: dict[str, Any],
) -> None:
    unscoped_allowed = {
        "kms:CreateKey",
        "secretsmanager:GetRandomPassword",
        "cloudformation:DescribeStackDriftDetectionStatus",
        # Account-wide listings: no resource type in the Service Authorization Reference.
        "kms:ListAliases",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
        "logs:DescribeIndexPolicies",
        # X-Ray's segment APIs (the app roles' boundary): no resource-level permissions.
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    for where, document in _all_policies(template).items():
        for statement in _statements(document):
            if statement["Effect"] == "Deny":
                continue  # a Deny on "*" narrows, it never grants
            actions = _as_list(statement["Action"])
            assert all("*" not in a for a in actions), (where, actions)
            if "*" in _as_list(statement["Resource"]):
                assert set(actions) <= unscoped_allowed, (where, actions)


def test_only_cloudformation_reads_the_secret_value_and_no_role_reads_data(
    template: dict[str, Any],
) -> None:
    for where, document in _all_policies(template).items():
        if where.startswith("AppRoleBoundary"):
            continue  # the boundary grants nothing: it caps the function role (see its tests)
        for statement in _statements(document):
            actions = _as_list(statement["Action"])
            if "secretsmanager:GetSecretValue" in actions:
                # The Secret's read and update handlers need it; only CloudFormation's role.
                assert where.startswith("CloudFormationSecretsAndKeysPolicy"), where
                assert actions == ["secretsmanager:GetSecretValue"], where
                (secret,) = statement["Resource"]
                env = next(e for e in ACCOUNTS if where.endswith(CiId.suffix(e)))
                assert secret["Fn::Sub"] == (
                    f"arn:${{AWS::Partition}}:secretsmanager:us-west-2:{ACCOUNTS[env]}:secret:"
                    f"{secret_name(env)}-??????"
                ), where
            if "s3:GetObject" in actions:
                for resource in statement["Resource"]:
                    assert ":::serverlessapp-artifacts-" in resource["Fn::Sub"], where


def test_key_creation_is_limited_to_keys_tagged_for_the_environment_in_its_region(
    template: dict[str, Any],
) -> None:
    document = template["Resources"]["CloudFormationSecretsAndKeysPolicyProd"]["Properties"][
        "PolicyDocument"
    ]
    (create,) = [s for s in _statements(document) if s["Action"] == ["kms:CreateKey"]]
    assert create["Condition"]["StringEquals"] == {
        "aws:RequestTag/Environment": "prod",
        "aws:RequestTag/Project": "ServerlessApp",
        "aws:RequestedRegion": "us-west-2",
    }


def test_policies_fit_iam_size_limits(template: dict[str, Any]) -> None:
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            assert _size(props["PolicyDocument"]) < 6144, logical_id
        inline = sum(_size(p["PolicyDocument"]) for p in props.get("Policies", []))
        assert inline < 10240, logical_id


def test_names_fit_iam_limits_for_the_longest_environment_name() -> None:
    longest = "a" * 16
    for name in (
        plan_role_name(longest),
        plan_main_role_name(longest),
        drift_role_name(longest),
        deploy_role_name(longest),
        cloudformation_role_name(longest),
    ):
        assert len(name) <= 64
    assert len(boundary_policy_name(longest)) <= 128


def test_is_deterministic(envs: dict[str, Environment]) -> None:
    first = to_json(build_ci_access_template(envs, REPO).to_dict())
    second = to_json(build_ci_access_template(dict(reversed(list(envs.items()))), REPO).to_dict())
    assert first == second


def test_ci_environments_are_the_deployed_ones_in_rollout_order(repo_root: Path) -> None:
    from generator.config import load_environments

    # Every environment in a real account is on the promotion path, and nothing else is.
    envs = load_environments(repo_root / "environments")
    assert set(CI_ENVIRONMENTS) == {name for name, env in envs.items() if not env.emulator}
    order = [(envs[name].deploy.wave, name) for name in CI_ENVIRONMENTS]
    assert order == sorted(order)
    assert CI_ENVIRONMENTS.index("dev") < CI_ENVIRONMENTS.index("staging")
    assert CI_ENVIRONMENTS.index("staging") < CI_ENVIRONMENTS.index("prod")


def test_committed_environment_files_build_a_template(repo_root: Path) -> None:
    from generator.config import load_environments

    envs = load_environments(repo_root / "environments", CI_ENVIRONMENTS)
    rendered = build_ci_access_template(envs).to_dict()
    assert {CiId.plan_role(e) for e in CI_ENVIRONMENTS} <= set(rendered["Resources"])


# cfn-lint (with the project's rules) and checkov run over the committed templates/ci-access.json
# in `make policy`, a gate of `make test`: not again here.


# --- CloudFormation's resource handlers --------------------------------------------------------
_CRUD = ("create", "read", "update", "delete")
# The templates CI deploys: each environment's app stack and the account's bootstrap stack.
_DEPLOYED_TEMPLATES = (*CI_ENVIRONMENTS, "bootstrap")


def _handler_permissions(region: str, resource_type: str, handlers: Sequence[str]) -> set[str]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    declared = schema.get("handlers", {})
    return {p for h in handlers for p in declared.get(h, {}).get("permissions", [])}


@pytest.fixture(scope="session")  # one per worker, however xdist interleaves modules
def deployed_resources() -> dict[str, list[dict[str, Any]]]:
    """The committed templates' resources by type."""
    root = CHECKOUT
    found: dict[str, list[dict[str, Any]]] = {}
    for name in _DEPLOYED_TEMPLATES:
        text = (root / "templates" / f"{name}.json").read_text(encoding="utf-8")
        for resource in json.loads(text)["Resources"].values():
            found.setdefault(resource["Type"], []).append(resource)
    return found


@pytest.fixture(scope="session")  # one per worker, however xdist interleaves modules
def committed() -> tuple[dict[str, Environment], dict[str, Any]]:
    from generator.config import load_environments

    root = CHECKOUT
    envs = load_environments(root / "environments", CI_ENVIRONMENTS)
    return envs, json.loads(to_json(build_ci_access_template(envs, REPO).to_dict()))


def _cloudformation_actions(template: dict[str, Any], env: str, effect: str = "Allow") -> set[str]:
    """The actions the CloudFormation role's managed policies allow (or deny, with "Deny")."""
    role = {"Ref": CiId.cloudformation_role(env)}
    return {
        action
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        and role in resource["Properties"].get("Roles", [])
        for statement in _statements(resource["Properties"]["PolicyDocument"])
        if statement["Effect"] == effect
        for action in _as_list(statement["Action"])
    }


def _missing(
    deployed: Mapping[str, list[dict[str, Any]]],
    region: str,
    handlers: Sequence[str],
    granted: set[str],
    withheld: Mapping[tuple[str, str], Withheld],
) -> list[str]:
    return sorted(
        f"{resource_type}: {action}"
        for resource_type in deployed
        for action in _handler_permissions(region, resource_type, handlers)
        if action not in granted and (resource_type, action) not in withheld
    )


def test_cloudformation_role_grants_every_handler_permission_of_the_deployed_types(
    committed: tuple[dict[str, Environment], dict[str, Any]],
    deployed_resources: dict[str, list[dict[str, Any]]],
) -> None:
    envs, template = committed
    for name, env in envs.items():
        granted = _cloudformation_actions(template, name)
        missing = _missing(deployed_resources, env.region, _CRUD, granted, CLOUDFORMATION_WITHHELD)
        assert missing == [], f"{name}: CloudFormation's role lacks {missing}"


def test_drift_role_grants_every_read_handler_permission_for_drift_detection(
    committed: tuple[dict[str, Environment], dict[str, Any]],
    deployed_resources: dict[str, list[dict[str, Any]]],
) -> None:
    envs, template = committed
    for name, env in envs.items():
        granted = _actions(_inline(template, CiId.drift_role(name)))
        missing = _missing(deployed_resources, env.region, ["read"], granted, DRIFT_WITHHELD)
        assert missing == [], f"{name}: the drift role lacks {missing}"


def test_cloudformation_role_grants_nothing_beyond_the_handlers_of_the_deployed_types(
    committed: tuple[dict[str, Environment], dict[str, Any]],
    deployed_resources: dict[str, list[dict[str, Any]]],
) -> None:
    """Resource-policy rewrites and key use only where a handler of a deployed type calls them."""
    envs, template = committed
    for name, env in envs.items():
        needed = {
            action
            for resource_type in deployed_resources
            for action in _handler_permissions(env.region, resource_type, _CRUD)
        }
        granted = _cloudformation_actions(template, name)
        for action in (
            "kms:PutKeyPolicy",
            "s3:PutBucketPolicy",
            "secretsmanager:PutResourcePolicy",
            "kms:Encrypt",
            "kms:CreateGrant",
            "iam:CreatePolicy",
            "iam:CreatePolicyVersion",
            "iam:AttachRolePolicy",
            "iam:UpdateAssumeRolePolicy",
        ):
            assert action not in granted or action in needed, f"{name}: {action} is unneeded"


def test_cloudformation_role_explicitly_denies_unbounding_and_retrusting_roles(
    committed: tuple[dict[str, Environment], dict[str, Any]],
) -> None:
    envs, template = committed
    for name in envs:
        denied = _cloudformation_actions(template, name, "Deny")
        assert {
            "iam:DeleteRolePermissionsBoundary",
            "iam:UpdateAssumeRolePolicy",
            "iam:AttachRolePolicy",
            "iam:CreatePolicyVersion",
            "iam:CreateRole",
            "iam:PutRolePolicy",
        } <= denied


def test_plan_main_role_grants_every_read_handler_permission_for_drift_detection(
    committed: tuple[dict[str, Environment], dict[str, Any]],
    deployed_resources: dict[str, list[dict[str, Any]]],
) -> None:
    """deploy.drift is judged when the kept plan is made (plan job, plan-main role): drift
    detection reads the resources with the caller's permissions."""
    envs, template = committed
    for name, env in envs.items():
        granted = _actions(_inline(template, CiId.plan_main_role(name)))
        missing = _missing(deployed_resources, env.region, ["read"], granted, DRIFT_WITHHELD)
        assert missing == [], f"{name}: the plan-main role lacks {missing} (deploy.drift refuses)"
        assert {
            "cloudformation:DetectStackDrift",
            "cloudformation:DescribeStackDriftDetectionStatus",
        } <= granted


@pytest.mark.parametrize(
    ("withheld", "handlers"),
    [(CLOUDFORMATION_WITHHELD, _CRUD), (DRIFT_WITHHELD, ("read",))],
    ids=["cloudformation", "drift"],
)
def test_every_withheld_permission_is_still_called_and_its_feature_unused(
    withheld: dict[tuple[str, str], Withheld],
    handlers: Sequence[str],
    committed: tuple[dict[str, Environment], dict[str, Any]],
    deployed_resources: dict[str, list[dict[str, Any]]],
) -> None:
    _, template = committed
    granted = _cloudformation_actions(template, "prod")
    problems = []
    for (resource_type, action), why in withheld.items():
        if action not in _handler_permissions("us-west-2", resource_type, handlers):
            problems.append(f"{resource_type}: {action} is no longer called: drop the entry")
        for resource in deployed_resources.get(resource_type, []):
            used = set(why.unused) & set(resource.get("Properties", {}))
            if used:
                problems.append(f"{resource_type}: {action} is withheld but {used} are set")
        authorized = why.granted_as in granted or (resource_type, why.granted_as) in withheld
        if why.granted_as is not None and not authorized:
            problems.append(f"{resource_type}: {action} is authorized by {why.granted_as}")
    assert problems == []


def test_plan_and_drift_roles_never_get_a_withheld_read(
    committed: tuple[dict[str, Environment], dict[str, Any]],
) -> None:
    _, template = committed
    for role in (CiId.plan_role, CiId.drift_role):
        granted = _actions(_inline(template, role("prod")))
        assert {action for _, action in DRIFT_WITHHELD} & granted == set()


def test_cloudformation_role_stays_within_the_attached_policy_quota(
    template: dict[str, Any],
) -> None:
    for env in ACCOUNTS:
        role = {"Ref": CiId.cloudformation_role(env)}
        attached = [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::IAM::ManagedPolicy" and role in r["Properties"].get("Roles", [])
        ]
        assert len(attached) <= 10, env  # IAM's default quota of managed policies per role
