"""The CI roles of preview stacks (docs/previews.md), added to the ci-access template for each
environment with ``deploy.previews: true``. Pure.

The policies are the environment's own plan-main, deploy and CloudFormation policies built for
the name pattern ``<env>-*`` (a preview job plans and applies in one go, so its role holds both),
on the app stack only: nothing that changes the bootstrap stack or configures the artifact bucket,
which every environment of the account shares (an explicit Deny on the bootstrap stack):
a preview of ``dev`` is the environment ``dev-pr42``, so every ARN the base policies scope to
``dev`` becomes ``dev-*`` (stack ``TapStackdev-*``, bucket ``serverlessapp-files-dev-*-<account>``,
role ``ServerlessAppLambdaRoledev-*``, ...). Real environment names contain no hyphen, so no
pattern reaches a real environment's resources. On top, the preview role may change a stack only
when it carries ``PreviewOf=<env>`` (an explicit Deny otherwise), and it may empty the preview
buckets, which `destroy` does before deleting.

The preview CloudFormation role follows the same rules as every CloudFormation role
(docs/security.md): it creates and changes the previews' roles only with a permissions boundary,
never removes one, attaches no managed policy, changes no trust. Previews get their own boundary,
``ServerlessAppBoundary-<env>-previews`` (made here, by ci-access), covering only ``<env>-*``
names: previews are deployed from pull requests, so their roles must reach nothing of ``<env>``
itself, and ``<env>``'s roles nothing of theirs.
"""

from __future__ import annotations

from awacs import cloudformation as cfn
from awacs import iam, s3
from awacs.aws import Condition, Deny, Statement, StringNotEquals
from troposphere import Sub, Template
from troposphere import iam as tiam

from generator import arns, naming
from generator.ci_access.policies import (
    allow,
    apply_statements,
    cloudformation_policies,
    document,
    keep_plan_statements,
)
from generator.ci_access.roles import (
    add_cloudformation_policies,
    add_role_outputs,
    app_role_boundary,
    cloudformation_role,
    github_role,
)
from generator.ci_access.scope import (
    app_stack_arn,
    bootstrap_stack_arn,
    data_buckets,
    in_region,
    passed_to,
)
from generator.ci_access.trust import github_subjects_preview
from generator.config import Environment
from generator.naming import CiId
from generator.preview import PREVIEW_OF_TAG, SEPARATOR
from generator.stack.common import bucket_arn, objects_arn

# What changes a preview stack: refused unless the stack (or the request) is tagged PreviewOf.
_CHANGE_STACK = [
    cfn.ExecuteChangeSet,
    cfn.DeleteChangeSet,
    cfn.DeleteStack,
    cfn.SetStackPolicy,
    cfn.UpdateTerminationProtection,
]
_EMPTY_BUCKET = [s3.ListBucket, s3.ListBucketVersions, s3.DeleteObject, s3.DeleteObjectVersion]


def preview_pattern(env: Environment) -> Environment:
    """The environment whose name is the pattern of every preview of ``env`` (``dev-*``)."""
    return env.model_copy(
        update={
            "name": f"{env.name}{SEPARATOR}*",
            "retain_data": False,
            "termination_protection": False,
            # Lets deploy_policy grant DeleteStack: `destroy --preview` deletes the stack.
            "deploy": env.deploy.model_copy(update={"recreate_failed_stack": True}),
        }
    )


class PreviewId:
    """Logical ids of an environment's preview roles and policies."""

    @staticmethod
    def role(env: str) -> str:
        """The GitHub role that deploys and destroys previews."""
        return f"PreviewRole{CiId.suffix(env)}"

    @staticmethod
    def cloudformation_role(env: str) -> str:
        """The role CloudFormation assumes for preview stacks."""
        return f"PreviewCloudFormationRole{CiId.suffix(env)}"

    @staticmethod
    def boundary(env: str) -> str:
        """The permissions boundary of the preview stacks' roles."""
        return f"PreviewAppRoleBoundary{CiId.suffix(env)}"

    @staticmethod
    def policy(env: str, concern: str) -> str:
        """One of the preview CloudFormation role's managed policies."""
        return f"PreviewCloudFormation{concern}Policy{CiId.suffix(env)}"


def _plan_and_apply(env: Environment, pattern: Environment) -> list[Statement]:
    """The plan-main role's change-set statements (not its drift detection: a preview's deploy
    reports drift as not established) and the deploy role's, over the pattern, each Sid once:
    the app stack's only, never the bootstrap stack's (shared by the account's environments).
    The one role it passes is named exactly: the previews' CloudFormation role."""
    statements: dict[str, Statement] = {}
    for statement in [*keep_plan_statements(pattern), *apply_statements(pattern)]:
        statements.setdefault(statement.Sid, statement)
    statements["PassCloudFormationRole"] = allow(
        "PassCloudFormationRole",
        [iam.PassRole],
        [
            Sub(
                arns.env_arn(
                    env,
                    "iam",
                    f"role/{naming.preview_cloudformation_role_name(env.name)}",
                    regional=False,
                )
            )
        ],
        passed_to("cloudformation.amazonaws.com"),
    )
    return list(statements.values())


def _bootstrap_read_only(env: Environment) -> list[Statement]:
    """A preview's deploy finds the artifact bucket through the bootstrap stack and leaves the
    stack as it is: DescribeStacks, and an explicit Deny of everything else on it, whatever
    another statement allows (a pull request must never change what every environment uses)."""
    stack = bootstrap_stack_arn(env)
    return [
        allow("ReadBootstrapStack", [cfn.DescribeStacks], [stack]),
        Statement(
            Sid="NeverChangeTheBootstrapStack",
            Effect=Deny,
            NotAction=[cfn.DescribeStacks],
            Resource=[stack],
        ),
    ]


def preview_policy(env: Environment) -> list[Statement]:
    """The preview role: the plan-main and deploy roles' statements over ``<env>-*``,
    tag-limited, plus listing stacks and emptying preview buckets."""
    pattern = preview_pattern(env)
    stacks = [app_stack_arn(pattern)]
    names = data_buckets(pattern)
    buckets = [*(bucket_arn(n) for n in names), *(objects_arn(n) for n in names)]
    return [
        *_plan_and_apply(env, pattern),
        *_bootstrap_read_only(env),
        # `previews` lists stack names to find TapStack<env>-*; ListStacks has no resource type.
        allow("ListStacks", [cfn.ListStacks], ["*"], in_region(env)),
        allow("EmptyPreviewBuckets", _EMPTY_BUCKET, buckets),
        Statement(
            Sid="OnlyStacksTaggedAsPreviews",
            Effect=Deny,
            Action=_CHANGE_STACK,
            Resource=stacks,
            Condition=Condition(StringNotEquals(f"aws:ResourceTag/{PREVIEW_OF_TAG}", env.name)),
        ),
        Statement(
            Sid="OnlyChangeSetsTaggedAsPreviews",
            Effect=Deny,
            Action=[cfn.CreateChangeSet],
            Resource=stacks,
            Condition=Condition(StringNotEquals(f"aws:RequestTag/{PREVIEW_OF_TAG}", env.name)),
        ),
    ]


def add_preview_roles(template: Template, env: Environment) -> None:
    """Add the preview role, its CloudFormation role and that role's policies for ``env``."""
    name = env.name
    pattern = preview_pattern(env)
    base = naming.stack_name(name)
    role = github_role(
        name,
        PreviewId.role(name),
        naming.preview_role_name(name),
        f"GitHub Actions: deploy and destroy the preview stacks {base}-* (tagged "
        f"{PREVIEW_OF_TAG}={name})",
        # Pull requests deploy and destroy previews in the reviewed GitHub environment
        # preview-<env>; the scheduled cleanup runs on main.
        github_subjects_preview(name),
        tiam.Policy(PolicyName="preview", PolicyDocument=document(preview_policy(env))),
    )
    cfn_role = cloudformation_role(
        env,
        PreviewId.cloudformation_role(name),
        naming.preview_cloudformation_role_name(name),
        f"CloudFormation: create, update and delete the resources of {base}-*",
        stacks=[app_stack_arn(pattern)],
    )
    template.add_resource(role)
    template.add_resource(cfn_role)
    template.add_resource(
        app_role_boundary(
            name,
            PreviewId.boundary(name),
            pattern,
            f"Permissions boundary of every IAM role of the previews {base}-*",
        )
    )
    add_cloudformation_policies(
        template,
        name,
        # Never the shared artifact bucket's configuration (its bucket policy above all).
        cloudformation_policies(pattern, preview=True),
        lambda concern: PreviewId.policy(name, concern),
        f"{name}{naming.PREVIEWS_SUFFIX}",
        f"the previews {base}-*",
        cfn_role,
    )
    roles = ((role, "PreviewRoleArn"), (cfn_role, "PreviewCloudFormationRoleArn"))
    add_role_outputs(template, name, roles, f"the previews of environment {name}")
