"""The ci-access template: the OIDC provider and, per environment, the five CI roles and the
permissions boundary of the app stack's roles (and, where the environment has previews, theirs)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from troposphere import Equals, Output, Parameter, Ref, Template
from troposphere import iam as tiam

from generator import naming
from generator.ci_access.policies import (
    cloudformation_policies,
    deploy_policy,
    drift_policy,
    plan_main_policy,
    plan_policy,
)
from generator.ci_access.preview_roles import add_preview_roles
from generator.ci_access.roles import (
    add_cloudformation_policies,
    add_role_outputs,
    app_role_boundary,
    cloudformation_role,
    github_role,
    tags,
)
from generator.ci_access.trust import (
    GITHUB_OIDC_HOST,
    MAIN_BRANCH,
    OIDC_AUDIENCE,
    github_subjects_deploy,
    github_subjects_drift,
    github_subjects_plan,
    github_subjects_plan_main,
    provider_arn,
)
from generator.config import Environment
from generator.errors import ExitCode, GeneratorError
from generator.naming import CiId

TEMPLATE_FILE = f"{naming.TEMPLATES_DIR}/ci-access.json"

# Owner and name as GitHub allows them; the parameter's AllowedPattern is the same.
REPOSITORY_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$"


def validate_repository(repository: str) -> str:
    """Return ``owner/name`` if it is a valid GitHub repository; raise GeneratorError otherwise."""
    if not re.match(REPOSITORY_PATTERN, repository):
        raise GeneratorError(
            f"GitHub repository {repository!r} is not valid; expected owner/name, e.g. "
            "octo-org/serverlessapp-gitops",
            ExitCode.USAGE,
        )
    return repository


def _add_environment(template: Template, env: Environment) -> None:
    """The environment's five roles, its app stack's boundary, CloudFormation's policies and the
    roles' outputs, all present only in the environment's account."""
    name = env.name
    stack = naming.stack_name(name)
    template.add_condition(CiId.in_account(name), Equals(Ref("AWS::AccountId"), env.account_id))
    plan = github_role(
        name,
        CiId.plan_role(name),
        naming.plan_role_name(name),
        f"GitHub Actions: plan {stack} (read-only, change sets never executed)",
        github_subjects_plan(),
        tiam.Policy(PolicyName="plan", PolicyDocument=plan_policy(env)),
    )
    plan_main = github_role(
        name,
        CiId.plan_main_role(name),
        naming.plan_main_role_name(name),
        f"GitHub Actions on {MAIN_BRANCH}: plan {stack} and keep the change set (never execute)",
        github_subjects_plan_main(),
        tiam.Policy(PolicyName="plan-main", PolicyDocument=plan_main_policy(env)),
    )
    drift = github_role(
        name,
        CiId.drift_role(name),
        naming.drift_role_name(name),
        f"GitHub Actions on {MAIN_BRANCH}: detect drift of {stack} (read-only)",
        github_subjects_drift(),
        tiam.Policy(PolicyName="drift", PolicyDocument=drift_policy(env)),
    )
    deploy = github_role(
        name,
        CiId.deploy_role(name),
        naming.deploy_role_name(name),
        f"GitHub Actions environment {name}: execute the reviewed change set of {stack}",
        github_subjects_deploy(name),
        tiam.Policy(PolicyName="deploy", PolicyDocument=deploy_policy(env)),
    )
    cfn_role = cloudformation_role(
        env,
        CiId.cloudformation_role(name),
        naming.cloudformation_role_name(name),
        f"CloudFormation: create, update and delete the resources of {stack}",
    )
    for role in (plan, plan_main, drift, deploy, cfn_role):
        template.add_resource(role)
    template.add_resource(
        app_role_boundary(
            name,
            CiId.boundary(name),
            env,
            f"Permissions boundary of every IAM role of {stack}: the most they can do",
        )
    )
    add_cloudformation_policies(
        template,
        name,
        cloudformation_policies(env),
        lambda concern: CiId.policy(name, concern),
        name,
        stack,
        cfn_role,
    )
    roles = (
        (plan, "PlanRoleArn"),
        (plan_main, "PlanMainRoleArn"),
        (drift, "DriftRoleArn"),
        (deploy, "DeployRoleArn"),
        (cfn_role, "CloudFormationRoleArn"),
    )
    add_role_outputs(template, name, roles, f"environment {name}")


def build_ci_access_template(
    envs: Mapping[str, Environment], repository: str | None = None
) -> Template:
    """The ci-access template for the environments CI deploys (pure: same inputs, same bytes).

    ``repository`` (``owner/name``) becomes the ``GitHubRepository`` parameter's default; without
    it the parameter is required when the stack is deployed.
    """
    template = Template(
        Description="ServerlessApp CI access: GitHub OIDC provider and, for each environment in "
        "this account, a plan role, a deploy role and CloudFormation's role"
    )
    repo = Parameter(
        CiId.REPOSITORY,
        Type="String",
        Description="The GitHub repository (owner/name) whose workflows may assume the roles",
        AllowedPattern=REPOSITORY_PATTERN,
        ConstraintDescription="owner/name, e.g. octo-org/serverlessapp-gitops",
    )
    if repository is not None:
        repo.Default = validate_repository(repository)
    template.add_parameter(repo)
    template.add_parameter(
        Parameter(
            CiId.CREATE_PROVIDER,
            Type="String",
            Description="Create GitHub's OIDC provider (only one may exist per account: choose "
            "false if the account has it already)",
            AllowedValues=["true", "false"],
            Default="true",
        )
    )
    template.add_condition(CiId.PROVIDER_CONDITION, Equals(Ref(CiId.CREATE_PROVIDER), "true"))
    template.add_resource(
        tiam.OIDCProvider(
            CiId.PROVIDER,
            Condition=CiId.PROVIDER_CONDITION,
            Url=f"https://{GITHUB_OIDC_HOST}",
            ClientIdList=[OIDC_AUDIENCE],
            Tags=tags(None),
        )
    )
    template.add_output(
        Output(CiId.OUT_PROVIDER, Description="GitHub's OIDC provider", Value=provider_arn())
    )
    for name in sorted(envs):
        _add_environment(template, envs[name])
        if envs[name].deploy.previews:
            add_preview_roles(template, envs[name])
    return template
