"""The ci-access template's IAM resources, as an environment's roles and its previews' roles both
make them: a role for GitHub's jobs, CloudFormation's service role and its managed policies, the
boundary of the app stack's roles, and the outputs; each present only in the environment's
account."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from awacs.aws import PolicyDocument
from troposphere import AWSObject, GetAtt, Output, Ref, Sub, Tags, Template
from troposphere import iam as tiam

from generator import naming
from generator.boundary import boundary_document, boundary_grants
from generator.ci_access.scope import app_stack_arn
from generator.ci_access.trust import Subject, cloudformation_trust, github_trust
from generator.config import Environment
from generator.naming import CiId

MAX_SESSION_SECONDS = 3600


def tags(env: str | None) -> Tags:
    """The fixed tags; the provider, shared by every environment, carries no Environment."""
    return Tags(naming.base_tags(env))


def in_account(resource: AWSObject, env: str) -> AWSObject:
    """The resource, present only where the stack is deployed in ``env``'s account."""
    resource.Condition = CiId.in_account(env)
    return resource


def github_role(
    env: str,
    logical_id: str,
    role_name: str,
    description: str,
    subjects: Sequence[Subject],
    policy: tiam.Policy,
) -> AWSObject:
    """A role that GitHub's jobs with these OIDC subjects assume, with one inline policy."""
    role = tiam.Role(
        logical_id,
        RoleName=role_name,
        Description=description,
        AssumeRolePolicyDocument=github_trust(subjects),
        MaxSessionDuration=MAX_SESSION_SECONDS,
        Policies=[policy],
        Tags=tags(env),
    )
    return in_account(role, env)


def cloudformation_role(
    env: Environment,
    logical_id: str,
    role_name: str,
    description: str,
    stacks: Sequence[Sub] | None = None,
) -> AWSObject:
    """A role only CloudFormation assumes, acting for ``env``'s account (present only there) on
    ``stacks`` (by default the environment's app stack: the bootstrap stack is deployed with an
    administrator's own credentials, never with this role); its policies come apart, from
    ``add_cloudformation_policies``."""
    served = list(stacks) if stacks is not None else [app_stack_arn(env)]
    role = tiam.Role(
        logical_id,
        RoleName=role_name,
        Description=description,
        AssumeRolePolicyDocument=cloudformation_trust(env, served),
        Tags=tags(env.name),
    )
    return in_account(role, env.name)


def app_role_boundary(
    account_env: str, logical_id: str, bounded: Environment, description: str
) -> AWSObject:
    """The permissions boundary of the roles of ``bounded``'s app stacks (an environment, or a
    preview pattern), present in ``account_env``'s account."""
    boundary = tiam.ManagedPolicy(
        logical_id,
        ManagedPolicyName=naming.boundary_policy_name(bounded.name),
        Description=description,
        PolicyDocument=boundary_document(boundary_grants(bounded)),
    )
    return in_account(boundary, account_env)


def add_cloudformation_policies(
    template: Template,
    env_name: str,
    documents: Mapping[str, PolicyDocument],
    logical_id: Callable[[str], str],
    owner: str,
    target: str,
    role: tiam.Role,
) -> None:
    """One managed policy per concern on a CloudFormation service role, present only in the
    environment's account; ``owner`` names them, ``target`` is what they deploy."""
    for concern, document in documents.items():
        policy = tiam.ManagedPolicy(
            logical_id(concern),
            ManagedPolicyName=naming.cloudformation_policy_name(concern, owner),
            Description=f"{concern} permissions of CloudFormation for {target}",
            PolicyDocument=document,
            Roles=[Ref(role)],
        )
        template.add_resource(in_account(policy, env_name))


def add_role_outputs(
    template: Template, env_name: str, roles: Sequence[tuple[tiam.Role, str]], scope: str
) -> None:
    """An output with each role's ARN, named ``label`` + the environment's suffix, present only
    in the environment's account."""
    for role, label in roles:
        template.add_output(
            Output(
                f"{label}{CiId.suffix(env_name)}",
                Condition=CiId.in_account(env_name),
                Description=f"{label} for {scope}",
                Value=GetAtt(role, "Arn"),
            )
        )
