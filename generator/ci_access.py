"""Account access for CI as code: the GitHub OIDC provider and, per environment, three roles.

``templates/ci-access.json`` is one template for every account. It is deployed once per account
(stack ``ServerlessAppCiAccess``, any region: IAM is global); each environment's roles carry a
condition on the account id, so an account receives the roles of exactly the environments that
live in it and no others.

Per environment:

- the *plan role*, assumed by pull-request jobs (and the scheduled drift job on main): reads the
  stack and its resources' configuration, creates and deletes change sets, never executes one;
- the *deploy role*, assumed only by jobs bound to the GitHub environment of the same name: change
  sets, stack settings and artifacts, and ``iam:PassRole`` of the CloudFormation role, nothing else;
- the *CloudFormation role*, assumed only by CloudFormation: the permissions to create, update and
  delete exactly this stack's resources, by their physical names.

The split keeps the credentials a runner holds small: they can change the stack's resources only
through a change set (so the stack policy, the guard and the change-set record apply), never call
``s3:DeleteBucket`` or ``lambda:UpdateFunctionCode`` directly. ``deploy --role-arn`` passes the
CloudFormation role's ARN as the change sets' ``RoleARN`` (the app stack's and the bootstrap
stack's); CloudFormation then keeps using it for the stack, so ``plan`` needs only ``PassRole``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from awacs import awslambda as lam
from awacs import cloudformation as cfn
from awacs import cloudwatch, iam, kms, logs, s3, secretsmanager, sns, sqs, sts
from awacs.aws import (
    Allow,
    ArnLike,
    Condition,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
)
from troposphere import (
    AWSObject,
    Equals,
    GetAtt,
    If,
    Output,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
)
from troposphere import iam as tiam

from generator import naming
from generator.config import Environment
from generator.errors import ExitCode, GeneratorError
from generator.stack.common import bucket_arn, objects_arn

# The environments CI plans and deploys, in deploy order; `local` is the emulator's.
CI_ENVIRONMENTS = ("dev", "staging", "prod")
STACK_NAME = "ServerlessAppCiAccess"
TEMPLATE_FILE = f"{naming.TEMPLATES_DIR}/ci-access.json"

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
OIDC_AUDIENCE = "sts.amazonaws.com"
# The branch whose pushes deploy and whose scheduled runs check drift.
MAIN_BRANCH = "main"
# Owner and name as GitHub allows them; the parameter's AllowedPattern is the same.
REPOSITORY_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$"
MAX_SESSION_SECONDS = 3600

# Prefixes under the artifact bucket that plan and deploy read and write.
ARTIFACT_PREFIXES = (naming.ARTIFACT_PREFIX, "templates/")


class CiId:
    """Logical ids of the ci-access template (stable: renaming one replaces the resource)."""

    REPOSITORY = "GitHubRepository"
    CREATE_PROVIDER = "CreateOidcProvider"
    PROVIDER_CONDITION = "CreateOidcProviderCondition"
    PROVIDER = "GitHubOidcProvider"
    OUT_PROVIDER = "GitHubOidcProviderArn"

    @staticmethod
    def _suffix(env: str) -> str:
        return env[:1].upper() + env[1:]

    @classmethod
    def in_account(cls, env: str) -> str:
        """The condition that the stack is deployed in this environment's account."""
        return f"InAccount{cls._suffix(env)}"

    @classmethod
    def plan_role(cls, env: str) -> str:
        """Logical id of an environment's plan role."""
        return f"PlanRole{cls._suffix(env)}"

    @classmethod
    def deploy_role(cls, env: str) -> str:
        """Logical id of an environment's deploy role."""
        return f"DeployRole{cls._suffix(env)}"

    @classmethod
    def cloudformation_role(cls, env: str) -> str:
        """Logical id of an environment's CloudFormation role."""
        return f"CloudFormationRole{cls._suffix(env)}"

    @classmethod
    def policy(cls, env: str, concern: str) -> str:
        """Logical id of one of the CloudFormation role's managed policies."""
        return f"CloudFormation{concern}Policy{cls._suffix(env)}"


def plan_role_name(env: str) -> str:
    """The plan role assumed by pull-request and drift jobs."""
    return f"ServerlessAppCiPlanRole{env}"


def deploy_role_name(env: str) -> str:
    """The deploy role assumed by jobs bound to the GitHub environment ``env``."""
    return f"ServerlessAppCiDeployRole{env}"


def cloudformation_role_name(env: str) -> str:
    """The role CloudFormation assumes to change the stack's resources."""
    return f"ServerlessAppCloudFormationRole{env}"


def role_arn(account: str, name: str) -> str:
    """ARN of a role in the commercial partition, for the workflows' variables."""
    return f"arn:aws:iam::{account}:role/{name}"


def validate_repository(repository: str) -> str:
    """Return ``owner/name`` if it is a valid GitHub repository; raise GeneratorError otherwise."""
    if not re.match(REPOSITORY_PATTERN, repository):
        raise GeneratorError(
            f"GitHub repository {repository!r} is not valid; expected owner/name, e.g. "
            "octo-org/serverlessapp-gitops",
            ExitCode.USAGE,
        )
    return repository


# --- ARN builders (region and account come from the environment file, not the stack) ---------


def _arn(env: Environment, service: str, resource: str, region: bool = True) -> Sub:
    where = env.region if region else ""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{where}:{env.account_id}:{resource}")


def app_stack_arn(env: Environment) -> Sub:
    """The application stack, any stack id."""
    return _arn(env, "cloudformation", f"stack/{naming.stack_name(env.name)}/*")


def bootstrap_stack_arn(env: Environment) -> Sub:
    """The bootstrap stack of the environment's account and region."""
    return _arn(env, "cloudformation", f"stack/{naming.BOOTSTRAP_STACK_NAME}/*")


def _artifact_bucket(env: Environment) -> str:
    return naming.artifact_bucket(env.account_id, env.region)


def _data_buckets(env: Environment) -> list[str]:
    return [
        naming.data_bucket(env.name, env.account_id),
        naming.access_log_bucket(env.name, env.account_id),
    ]


def _function_arns(env: Environment) -> list[Sub]:
    name = naming.function_name(env.name)
    return [_arn(env, "lambda", f"function:{name}"), _arn(env, "lambda", f"function:{name}:*")]


def _log_group_arns(env: Environment) -> list[Sub]:
    group = naming.log_group(env.name)
    return [_arn(env, "logs", f"log-group:{group}"), _arn(env, "logs", f"log-group:{group}:*")]


def _alarm_arn(env: Environment) -> Sub:
    return _arn(env, "cloudwatch", f"alarm:{naming.alarm_name('*', env.name)}")


def _dashboard_arn(env: Environment) -> Sub:
    return _arn(env, "cloudwatch", f"dashboard/{naming.dashboard_name(env.name)}", region=False)


def _secret_arn(env: Environment) -> Sub:
    # Secrets Manager appends a dash and six random characters to the name.
    return _arn(env, "secretsmanager", f"secret:{naming.secret_name(env.name)}-*")


def _queue_arn(env: Environment) -> Sub:
    return _arn(env, "sqs", naming.queue_name(env.name))


def _topic_arns(env: Environment) -> list[Sub]:
    topic = naming.topic_name(env.name)
    return [_arn(env, "sns", topic), _arn(env, "sns", f"{topic}:*")]


def _function_role_arn(env: Environment) -> Sub:
    return _arn(env, "iam", f"role/{naming.role_name(env.name)}", region=False)


def _stack_policy_arn(env: Environment) -> Sub:
    # Managed policies that CloudFormation names after the stack (no fixed name in the template).
    return _arn(env, "iam", f"policy/{naming.stack_name(env.name)}-*", region=False)


def _key_arn(env: Environment) -> Sub:
    return _arn(env, "kms", "key/*")


def _alias_arn(env: Environment) -> Sub:
    return _arn(env, "kms", naming.key_alias(env.name))


def _env_tag(env: Environment, key: str) -> Condition:
    """Only resources (or requests) tagged with this environment and project."""
    return Condition(
        StringEquals(
            {
                f"{key}/Environment": env.name,
                f"{key}/Project": naming.PROJECT,
            }
        )
    )


def _passed_to(service: str) -> Condition:
    return Condition(StringEquals("iam:PassedToService", service))


# --- policies ----------------------------------------------------------------------------------

_STACK_READ = [
    cfn.DescribeStacks,
    cfn.DescribeStackEvents,
    cfn.DescribeStackResource,
    cfn.DescribeStackResources,
    cfn.ListStackResources,
    cfn.GetTemplate,
    cfn.GetTemplateSummary,
    cfn.GetStackPolicy,
    cfn.ListChangeSets,
    cfn.DescribeChangeSet,
    cfn.DescribeStackResourceDrifts,
]
_STACK_PLAN = [
    cfn.CreateChangeSet,
    cfn.DeleteChangeSet,
    # Stack tags (template hash, commit) are set on the change set.
    cfn.TagResource,
    cfn.DetectStackDrift,
    cfn.DetectStackResourceDrift,
]
_STACK_APPLY = [
    cfn.ExecuteChangeSet,
    cfn.SetStackPolicy,
    cfn.UpdateTerminationProtection,
]


def _resource_read_statements(env: Environment) -> list[Statement]:
    """Configuration reads of the stack's resources (drift detection reads with these)."""
    return [
        Statement(
            Sid="ReadBuckets",
            Effect=Allow,
            Action=[
                s3.GetBucketPolicy,
                s3.GetBucketVersioning,
                s3.GetEncryptionConfiguration,
                s3.GetBucketPublicAccessBlock,
                s3.GetLifecycleConfiguration,
                s3.GetBucketLogging,
                s3.GetBucketNotification,
                s3.GetBucketTagging,
                s3.GetBucketOwnershipControls,
                s3.GetBucketLocation,
                s3.GetBucketAcl,
                s3.GetBucketCORS,
                s3.GetBucketObjectLockConfiguration,
            ],
            Resource=[bucket_arn(name) for name in _data_buckets(env)],
        ),
        Statement(
            Sid="ReadFunction",
            Effect=Allow,
            Action=[
                lam.GetFunction,
                lam.GetFunctionConfiguration,
                lam.GetFunctionConcurrency,
                lam.GetFunctionEventInvokeConfig,
                lam.GetFunctionCodeSigningConfig,
                lam.GetRuntimeManagementConfig,
                lam.GetPolicy,
                lam.ListTags,
                lam.ListVersionsByFunction,
            ],
            Resource=_function_arns(env),
        ),
        Statement(
            Sid="ReadFunctionRole",
            Effect=Allow,
            Action=[
                iam.GetRole,
                iam.GetRolePolicy,
                iam.ListRolePolicies,
                iam.ListAttachedRolePolicies,
                iam.ListRoleTags,
            ],
            Resource=[_function_role_arn(env)],
        ),
        Statement(
            Sid="ReadLogGroups",
            Effect=Allow,
            Action=[logs.DescribeLogGroups, logs.ListTagsForResource, logs.ListTagsLogGroup],
            Resource=[_arn(env, "logs", "log-group:*")],
        ),
        Statement(
            Sid="ReadMonitoring",
            Effect=Allow,
            Action=[
                cloudwatch.DescribeAlarms,
                cloudwatch.ListTagsForResource,
                cloudwatch.GetDashboard,
            ],
            Resource=[_alarm_arn(env), _dashboard_arn(env)],
        ),
        Statement(
            Sid="ReadMessaging",
            Effect=Allow,
            Action=[
                sqs.GetQueueAttributes,
                sqs.GetQueueUrl,
                sqs.ListQueueTags,
                sns.GetTopicAttributes,
                sns.ListTagsForResource,
                sns.ListSubscriptionsByTopic,
                sns.GetSubscriptionAttributes,
            ],
            Resource=[_queue_arn(env), *_topic_arns(env)],
        ),
        Statement(
            Sid="ReadSecretMetadata",
            Effect=Allow,
            # DescribeSecret only: the secret's value is never readable by CI.
            Action=[secretsmanager.DescribeSecret, secretsmanager.GetResourcePolicy],
            Resource=[_secret_arn(env)],
        ),
        Statement(
            Sid="ReadKey",
            Effect=Allow,
            Action=[
                kms.DescribeKey,
                kms.GetKeyPolicy,
                kms.GetKeyRotationStatus,
                kms.ListResourceTags,
            ],
            Resource=[_key_arn(env)],
            Condition=_env_tag(env, "aws:ResourceTag"),
        ),
    ]


def plan_policy(env: Environment) -> PolicyDocument:
    """Read the stack and its resources; create and delete change sets; read artifacts."""
    artifacts = _artifact_bucket(env)
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="PlanStack",
                Effect=Allow,
                Action=_STACK_READ + _STACK_PLAN,
                Resource=[app_stack_arn(env)],
            ),
            Statement(
                Sid="ReadBootstrapStack",
                Effect=Allow,
                Action=[cfn.DescribeStacks],
                Resource=[bootstrap_stack_arn(env)],
            ),
            Statement(
                # `status` polls drift detection by its id; this action has no resource type.
                Sid="DriftDetectionStatus",
                Effect=Allow,
                Action=[cfn.DescribeStackDriftDetectionStatus],
                Resource=["*"],
            ),
            Statement(
                Sid="ReadArtifacts",
                Effect=Allow,
                Action=[s3.GetObject],
                Resource=[objects_arn(artifacts, prefix) for prefix in ARTIFACT_PREFIXES],
            ),
            Statement(
                Sid="UploadLargeTemplate",
                Effect=Allow,
                # A template over CloudFormation's inline limit goes by URL, keyed by its hash.
                Action=[s3.PutObject],
                Resource=[objects_arn(artifacts, f"templates/{naming.stack_name(env.name)}/")],
            ),
            Statement(
                Sid="ListArtifacts",
                Effect=Allow,
                Action=[s3.ListBucket],
                Resource=[bucket_arn(artifacts)],
            ),
            Statement(
                Sid="PassCloudFormationRole",
                Effect=Allow,
                # A change set records its role; creating one does not run it.
                Action=[iam.PassRole],
                Resource=[_arn(env, "iam", f"role/{cloudformation_role_name(env.name)}", False)],
                Condition=_passed_to("cloudformation.amazonaws.com"),
            ),
            *_resource_read_statements(env),
        ],
    )


def deploy_policy(env: Environment) -> PolicyDocument:
    """Change sets and stack settings on this stack, artifacts, and passing the CFN role."""
    artifacts = _artifact_bucket(env)
    stack_actions = _STACK_READ + _STACK_PLAN + _STACK_APPLY
    if env.deploy.recreate_failed_stack and not env.retain_data:
        # Only here may deploy delete a stack whose first create failed (it retains nothing).
        stack_actions = [*stack_actions, cfn.DeleteStack]
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="DeployStack",
                Effect=Allow,
                Action=stack_actions,
                Resource=[app_stack_arn(env)],
            ),
            Statement(
                Sid="DeployBootstrapStack",
                Effect=Allow,
                # deploy creates or updates the artifact bucket's stack first; never deletes it.
                Action=_STACK_READ + _STACK_PLAN + _STACK_APPLY,
                Resource=[bootstrap_stack_arn(env)],
            ),
            Statement(
                Sid="WriteArtifacts",
                Effect=Allow,
                Action=[s3.GetObject, s3.PutObject],
                Resource=[objects_arn(artifacts, prefix) for prefix in ARTIFACT_PREFIXES],
            ),
            Statement(
                Sid="ListArtifacts",
                Effect=Allow,
                Action=[s3.ListBucket],
                Resource=[bucket_arn(artifacts)],
            ),
            Statement(
                Sid="PassCloudFormationRole",
                Effect=Allow,
                Action=[iam.PassRole],
                Resource=[_arn(env, "iam", f"role/{cloudformation_role_name(env.name)}", False)],
                Condition=_passed_to("cloudformation.amazonaws.com"),
            ),
            Statement(
                Sid="ReadRollbackAlarms",
                Effect=Allow,
                # CloudFormation checks that rollback-trigger alarms exist.
                Action=[cloudwatch.DescribeAlarms],
                Resource=[_alarm_arn(env)],
            ),
        ],
    )


def _storage_policy(env: Environment) -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ManageBuckets",
                Effect=Allow,
                Action=[
                    s3.CreateBucket,
                    s3.DeleteBucket,
                    s3.PutBucketPolicy,
                    s3.DeleteBucketPolicy,
                    s3.PutBucketVersioning,
                    s3.PutEncryptionConfiguration,
                    s3.PutBucketPublicAccessBlock,
                    s3.PutLifecycleConfiguration,
                    s3.PutBucketLogging,
                    s3.PutBucketNotification,
                    s3.PutBucketTagging,
                    s3.PutBucketOwnershipControls,
                    s3.PutBucketAcl,
                    s3.PutBucketCORS,
                    s3.PutBucketObjectLockConfiguration,
                ],
                Resource=[bucket_arn(name) for name in _data_buckets(env)],
            ),
            Statement(
                Sid="ReadArtifacts",
                Effect=Allow,
                # Lambda reads the code with the caller's (this role's) permissions.
                Action=[s3.GetObject, s3.GetObjectVersion],
                Resource=[objects_arn(_artifact_bucket(env), naming.ARTIFACT_PREFIX)],
            ),
        ],
    )


def _bootstrap_policy(env: Environment) -> PolicyDocument:
    """The artifact bucket of the bootstrap stack: created and configured, never deleted."""
    bucket = [bucket_arn(_artifact_bucket(env))]
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ManageArtifactBucket",
                Effect=Allow,
                Action=[
                    s3.CreateBucket,
                    s3.PutBucketPolicy,
                    s3.PutBucketVersioning,
                    s3.PutEncryptionConfiguration,
                    s3.PutBucketPublicAccessBlock,
                    s3.PutLifecycleConfiguration,
                    s3.PutBucketLogging,
                    s3.PutBucketTagging,
                    s3.PutBucketOwnershipControls,
                    s3.GetBucketPolicy,
                    s3.GetBucketVersioning,
                    s3.GetEncryptionConfiguration,
                    s3.GetBucketPublicAccessBlock,
                    s3.GetLifecycleConfiguration,
                    s3.GetBucketLogging,
                    s3.GetBucketTagging,
                    s3.GetBucketOwnershipControls,
                    s3.GetBucketLocation,
                ],
                Resource=bucket,
            ),
        ],
    )


def _function_policy(env: Environment) -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ManageFunction",
                Effect=Allow,
                Action=[
                    lam.CreateFunction,
                    lam.DeleteFunction,
                    lam.UpdateFunctionCode,
                    lam.UpdateFunctionConfiguration,
                    lam.PutFunctionConcurrency,
                    lam.DeleteFunctionConcurrency,
                    lam.AddPermission,
                    lam.RemovePermission,
                    lam.TagResource,
                    lam.UntagResource,
                    lam.PutFunctionEventInvokeConfig,
                    lam.UpdateFunctionEventInvokeConfig,
                    lam.DeleteFunctionEventInvokeConfig,
                    lam.PutRuntimeManagementConfig,
                    lam.PublishVersion,
                ],
                Resource=_function_arns(env),
            ),
            Statement(
                Sid="ManageFunctionRole",
                Effect=Allow,
                Action=[
                    iam.CreateRole,
                    iam.DeleteRole,
                    iam.UpdateRole,
                    iam.UpdateRoleDescription,
                    iam.UpdateAssumeRolePolicy,
                    iam.TagRole,
                    iam.UntagRole,
                    iam.PutRolePolicy,
                    iam.DeleteRolePolicy,
                ],
                Resource=[_function_role_arn(env)],
            ),
            Statement(
                Sid="AttachStackPolicies",
                Effect=Allow,
                # Only managed policies this stack creates, never an AWS-managed or foreign one.
                Action=[iam.AttachRolePolicy, iam.DetachRolePolicy],
                Resource=[_function_role_arn(env)],
                Condition=Condition(ArnLike("iam:PolicyARN", _stack_policy_arn(env))),
            ),
            Statement(
                Sid="ManageStackPolicies",
                Effect=Allow,
                Action=[
                    iam.CreatePolicy,
                    iam.DeletePolicy,
                    iam.CreatePolicyVersion,
                    iam.DeletePolicyVersion,
                    iam.GetPolicy,
                    iam.GetPolicyVersion,
                    iam.ListPolicyVersions,
                    iam.TagPolicy,
                    iam.UntagPolicy,
                ],
                Resource=[_stack_policy_arn(env)],
            ),
            Statement(
                Sid="PassFunctionRole",
                Effect=Allow,
                Action=[iam.PassRole],
                Resource=[_function_role_arn(env)],
                Condition=_passed_to("lambda.amazonaws.com"),
            ),
            Statement(
                Sid="ManageLogGroup",
                Effect=Allow,
                Action=[
                    logs.CreateLogGroup,
                    logs.DeleteLogGroup,
                    logs.PutRetentionPolicy,
                    logs.DeleteRetentionPolicy,
                    logs.AssociateKmsKey,
                    logs.DisassociateKmsKey,
                    logs.TagResource,
                    logs.UntagResource,
                    logs.TagLogGroup,
                    logs.UntagLogGroup,
                ],
                Resource=_log_group_arns(env),
            ),
        ],
    )


def _monitoring_policy(env: Environment) -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ManageAlarms",
                Effect=Allow,
                Action=[
                    cloudwatch.PutMetricAlarm,
                    cloudwatch.DeleteAlarms,
                    cloudwatch.TagResource,
                    cloudwatch.UntagResource,
                ],
                Resource=[_alarm_arn(env)],
            ),
            Statement(
                Sid="ManageDashboard",
                Effect=Allow,
                Action=[cloudwatch.PutDashboard, cloudwatch.DeleteDashboards],
                Resource=[_dashboard_arn(env)],
            ),
            Statement(
                Sid="ManageQueue",
                Effect=Allow,
                Action=[
                    sqs.CreateQueue,
                    sqs.DeleteQueue,
                    sqs.SetQueueAttributes,
                    sqs.TagQueue,
                    sqs.UntagQueue,
                ],
                Resource=[_queue_arn(env)],
            ),
            Statement(
                Sid="ManageTopic",
                Effect=Allow,
                Action=[
                    sns.CreateTopic,
                    sns.DeleteTopic,
                    sns.SetTopicAttributes,
                    sns.Subscribe,
                    sns.Unsubscribe,
                    sns.SetSubscriptionAttributes,
                    sns.TagResource,
                    sns.UntagResource,
                ],
                Resource=_topic_arns(env),
            ),
        ],
    )


def _secrets_policy(env: Environment) -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ManageSecret",
                Effect=Allow,
                Action=[
                    secretsmanager.CreateSecret,
                    secretsmanager.DeleteSecret,
                    secretsmanager.UpdateSecret,
                    secretsmanager.TagResource,
                    secretsmanager.UntagResource,
                    secretsmanager.PutResourcePolicy,
                    secretsmanager.DeleteResourcePolicy,
                ],
                Resource=[_secret_arn(env)],
            ),
            Statement(
                Sid="GenerateSecretValue",
                Effect=Allow,
                # GetRandomPassword has no resource; it returns random bytes and touches nothing.
                Action=[secretsmanager.GetRandomPassword],
                Resource=["*"],
            ),
            Statement(
                Sid="CreateKey",
                Effect=Allow,
                # CreateKey has no resource; only keys tagged for this environment.
                Action=[kms.CreateKey],
                Resource=["*"],
                Condition=_env_tag(env, "aws:RequestTag"),
            ),
            Statement(
                Sid="ManageKey",
                Effect=Allow,
                Action=[
                    kms.PutKeyPolicy,
                    kms.EnableKeyRotation,
                    kms.DisableKeyRotation,
                    kms.UpdateKeyDescription,
                    kms.EnableKey,
                    kms.DisableKey,
                    kms.ScheduleKeyDeletion,
                    kms.TagResource,
                    kms.UntagResource,
                    kms.CreateAlias,
                    kms.DeleteAlias,
                    kms.UpdateAlias,
                    # Secrets Manager encrypts the generated value with the caller's grant.
                    kms.Encrypt,
                    kms.Decrypt,
                    kms.GenerateDataKey,
                ],
                Resource=[_key_arn(env)],
                Condition=_env_tag(env, "aws:ResourceTag"),
            ),
            Statement(
                Sid="ManageKeyAlias",
                Effect=Allow,
                Action=[kms.CreateAlias, kms.DeleteAlias, kms.UpdateAlias],
                Resource=[_alias_arn(env)],
            ),
        ],
    )


# The CloudFormation role's permissions, one managed policy per concern: each stays far below
# IAM's 6,144-character limit, and the stack can grow without nearing the 10,240 inline total.
_CONCERNS = (
    ("Storage", _storage_policy),
    ("Function", _function_policy),
    ("Monitoring", _monitoring_policy),
    ("SecretsAndKeys", _secrets_policy),
    ("Bootstrap", _bootstrap_policy),
)


def cloudformation_policies(env: Environment) -> dict[str, PolicyDocument]:
    """The CloudFormation role's policies by concern, plus the reads drift detection needs."""
    policies = {concern: build(env) for concern, build in _CONCERNS}
    policies["Read"] = PolicyDocument(
        Version="2012-10-17", Statement=_resource_read_statements(env)
    )
    return policies


# --- trust -----------------------------------------------------------------------------------


def _provider_arn() -> If:
    """The provider created here, or the account's existing one (same ARN, by construction)."""
    return If(
        CiId.PROVIDER_CONDITION,
        Ref(CiId.PROVIDER),
        Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB_OIDC_HOST}"),
    )


def github_subjects_plan() -> list[Sub]:
    """OIDC subjects allowed to plan: pull-request jobs and jobs on main (drift)."""
    return [
        Sub(f"repo:${{{CiId.REPOSITORY}}}:pull_request"),
        Sub(f"repo:${{{CiId.REPOSITORY}}}:ref:refs/heads/{MAIN_BRANCH}"),
    ]


def github_subjects_deploy(env: str) -> list[Sub]:
    """OIDC subjects allowed to deploy: jobs bound to the GitHub environment ``env``."""
    return [Sub(f"repo:${{{CiId.REPOSITORY}}}:environment:{env}")]


def github_trust(subjects: Sequence[Sub]) -> PolicyDocument:
    """Trust GitHub's OIDC tokens for this repository and these subjects only."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Federated", _provider_arn()),
                Action=[sts.AssumeRoleWithWebIdentity],
                # One StringEquals with both keys: awacs keeps only the last of two
                # same-operator conditions, which would silently drop the audience check.
                Condition=Condition(
                    StringEquals(
                        {
                            f"{GITHUB_OIDC_HOST}:aud": OIDC_AUDIENCE,
                            f"{GITHUB_OIDC_HOST}:sub": list(subjects),
                        }
                    )
                ),
            )
        ],
    )


def cloudformation_trust(env: Environment) -> PolicyDocument:
    """Only CloudFormation, acting for this account, assumes the CloudFormation role."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Service", "cloudformation.amazonaws.com"),
                Action=[sts.AssumeRole],
                Condition=Condition(StringEquals("aws:SourceAccount", env.account_id)),
            )
        ],
    )


# --- template --------------------------------------------------------------------------------


def _tags(env: str | None) -> Tags:
    """The fixed tags; the provider, shared by every environment, carries no Environment."""
    base = naming.base_tags(env or "")
    return Tags({k: v for k, v in base.items() if v})


def _conditioned(resource: AWSObject, env: str) -> AWSObject:
    resource.Condition = CiId.in_account(env)
    return resource


def _add_environment(template: Template, env: Environment) -> None:
    name = env.name
    template.add_condition(CiId.in_account(name), Equals(Ref("AWS::AccountId"), env.account_id))
    plan = template.add_resource(
        _conditioned(
            tiam.Role(
                CiId.plan_role(name),
                RoleName=plan_role_name(name),
                Description=f"GitHub Actions: plan {naming.stack_name(name)} (read-only, "
                "change sets never executed)",
                AssumeRolePolicyDocument=github_trust(github_subjects_plan()),
                MaxSessionDuration=MAX_SESSION_SECONDS,
                Policies=[tiam.Policy(PolicyName="plan", PolicyDocument=plan_policy(env))],
                Tags=_tags(name),
            ),
            name,
        )
    )
    deploy = template.add_resource(
        _conditioned(
            tiam.Role(
                CiId.deploy_role(name),
                RoleName=deploy_role_name(name),
                Description=f"GitHub Actions environment {name}: deploy "
                f"{naming.stack_name(name)} through change sets",
                AssumeRolePolicyDocument=github_trust(github_subjects_deploy(name)),
                MaxSessionDuration=MAX_SESSION_SECONDS,
                Policies=[tiam.Policy(PolicyName="deploy", PolicyDocument=deploy_policy(env))],
                Tags=_tags(name),
            ),
            name,
        )
    )
    cfn_role = template.add_resource(
        _conditioned(
            tiam.Role(
                CiId.cloudformation_role(name),
                RoleName=cloudformation_role_name(name),
                Description=f"CloudFormation: create, update and delete the resources of "
                f"{naming.stack_name(name)}",
                AssumeRolePolicyDocument=cloudformation_trust(env),
                Tags=_tags(name),
            ),
            name,
        )
    )
    for concern, document in cloudformation_policies(env).items():
        policy = tiam.ManagedPolicy(
            CiId.policy(name, concern),
            ManagedPolicyName=f"ServerlessAppCloudFormation{concern}{name}",
            Description=f"{concern} permissions of CloudFormation for {naming.stack_name(name)}",
            PolicyDocument=document,
            Roles=[Ref(cfn_role)],
        )
        template.add_resource(_conditioned(policy, name))
    for role, label in (
        (plan, "PlanRoleArn"),
        (deploy, "DeployRoleArn"),
        (cfn_role, "CloudFormationRoleArn"),
    ):
        template.add_output(
            Output(
                f"{label}{CiId._suffix(name)}",
                Condition=CiId.in_account(name),
                Description=f"{label} for environment {name}",
                Value=GetAtt(role, "Arn"),
            )
        )


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
            Tags=_tags(None),
        )
    )
    template.add_output(
        Output(CiId.OUT_PROVIDER, Description="GitHub's OIDC provider", Value=_provider_arn())
    )
    for name in sorted(envs):
        _add_environment(template, envs[name])
    return template
