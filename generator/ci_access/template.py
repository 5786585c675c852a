"""The ci-access template: the OIDC provider and, per environment, the five CI roles and the
permissions boundary of the app stack's roles."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from awacs import cloudformation as cfn
from awacs import cloudwatch, iam, kms, logs, s3, secretsmanager, sts
from awacs.aws import (
    Action,
    Allow,
    ArnLike,
    BoolIfExists,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
    StringNotEquals,
    StringNotLike,
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

from generator import arns, naming
from generator.boundary import boundary_arn, boundary_document, boundary_grants
from generator.ci_access.permissions import (
    BOUNDED_ROLE_CHANGES,
    CONFIGURE_BUCKET,
    CREATE_INGEST_MAPPING,
    MANAGE_ALARMS,
    MANAGE_ALIASES,
    MANAGE_BUCKETS,
    MANAGE_FUNCTION,
    MANAGE_INGEST_MAPPING,
    MANAGE_KEY,
    MANAGE_LOG_GROUP,
    MANAGE_QUEUE,
    MANAGE_SECRET,
    MANAGE_TOPIC,
    NEVER_ON_ROLES,
    READ_BUCKET,
    READ_FUNCTION,
    READ_INGEST_MAPPING,
    READ_KEY,
    READ_LOG_GROUP,
    READ_MESSAGING,
    READ_MONITORING,
    READ_ROLE,
    ROLE_SETTINGS,
    STACK_APPLY,
    STACK_CHANGE_SETS,
    STACK_DRIFT,
    STACK_READ,
    START_ROTATION,
)
from generator.config import Environment
from generator.errors import ExitCode, GeneratorError
from generator.naming import CiId
from generator.stack.common import bucket_arn, objects_arn

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


def app_stack_arn(env: Environment) -> Sub:
    """The application stack, any stack id."""
    return Sub(arns.env_arn(env, "cloudformation", f"stack/{naming.stack_name(env.name)}/*"))


def bootstrap_stack_arn(env: Environment) -> Sub:
    """The bootstrap stack of the environment's account and region."""
    return Sub(arns.env_arn(env, "cloudformation", f"stack/{naming.BOOTSTRAP_STACK_NAME}/*"))


def _artifact_bucket(env: Environment) -> str:
    return naming.artifact_bucket(env.account_id, env.region)


def _data_buckets(env: Environment) -> list[str]:
    return [
        naming.data_bucket(env.name, env.account_id),
        naming.access_log_bucket(env.name, env.account_id),
    ]


def _with_children(env: Environment, service: str, resource: str) -> list[Sub]:
    """The resource and what is addressed below it (versions, log streams, subscriptions)."""
    return [
        Sub(arns.env_arn(env, service, resource)),
        Sub(arns.env_arn(env, service, f"{resource}:*")),
    ]


def _function_arns(env: Environment) -> list[Sub]:
    return [
        *_with_children(env, "lambda", f"function:{naming.function_name(env.name)}"),
        *_rotation_function_arns(env),
    ]


def _rotation_function_arns(env: Environment) -> list[Sub]:
    return _with_children(env, "lambda", f"function:{naming.rotation_function_name(env.name)}")


def _log_group_arns(env: Environment) -> list[Sub]:
    return [
        *_with_children(env, "logs", f"log-group:{naming.log_group(env.name)}"),
        *_with_children(env, "logs", f"log-group:{naming.rotation_log_group(env.name)}"),
    ]


def _alarm_arn(env: Environment) -> Sub:
    return Sub(arns.env_arn(env, "cloudwatch", f"alarm:{naming.alarm_name('*', env.name)}"))


def _dashboard_arn(env: Environment) -> Sub:
    return Sub(
        arns.env_arn(
            env, "cloudwatch", f"dashboard/{naming.dashboard_name(env.name)}", regional=False
        )
    )


def _secret_arn(env: Environment) -> Sub:
    return Sub(
        arns.env_arn(env, "secretsmanager", arns.secret_resource(naming.secret_name(env.name)))
    )


def _queue_arn(env: Environment) -> Sub:
    return Sub(arns.env_arn(env, "sqs", naming.queue_name(env.name)))


def _ingest_queue_arns(env: Environment) -> list[Sub]:
    if env.ingest.mode != "queue":
        return []
    return [Sub(arns.env_arn(env, "sqs", naming.ingest_queue_name(env.name)))]


def _topic_arns(env: Environment) -> list[Sub]:
    return _with_children(env, "sns", naming.topic_name(env.name))


def _app_role_arns(env: Environment) -> list[Sub]:
    """Every role the app stack creates (each must carry the boundary)."""
    return [
        Sub(arns.env_arn(env, "iam", f"role/{name}", regional=False))
        for name in naming.app_role_names(env.name)
    ]


def _boundary_arn(env: Environment) -> Sub:
    return boundary_arn(env.name, env.account_id)


def _with_boundary(env: Environment) -> Condition:
    """The role carries (or is created with) the environment's boundary, and no other."""
    return Condition(StringEquals("iam:PermissionsBoundary", _boundary_arn(env)))


def _key_arn(env: Environment) -> Sub:
    return Sub(arns.env_arn(env, "kms", "key/*"))


def _alias_arn(env: Environment) -> Sub:
    return Sub(arns.env_arn(env, "kms", naming.key_alias(env.name)))


def _matching(env: Environment) -> type[StringEquals] | type[StringLike]:
    """StringLike for a name pattern (the preview roles' ``dev-*``), StringEquals otherwise."""
    return StringLike if "*" in env.name else StringEquals


def _env_tag(env: Environment, key: str) -> Condition:
    """Only resources (or requests) tagged with this environment and project."""
    return Condition(
        _matching(env)(
            {
                f"{key}/Environment": env.name,
                f"{key}/Project": naming.PROJECT,
            }
        )
    )


def _in_region(env: Environment, also: dict[str, str] | None = None) -> Condition:
    """An action without a resource type, only in the environment's own region (its ARNs name
    the region already; these would otherwise reach every region of the account)."""
    return Condition(_matching(env)({"aws:RequestedRegion": env.region, **(also or {})}))


def _passed_to(service: str) -> Condition:
    return Condition(StringEquals("iam:PassedToService", service))


# --- policies ----------------------------------------------------------------------------------


def _allow(
    sid: str,
    actions: Sequence[Action],
    resources: Sequence[Sub | str],
    condition: Condition | None = None,
) -> Statement:
    """One Allow statement; ``condition`` only where the statement has one."""
    statement = Statement(Sid=sid, Effect=Allow, Action=list(actions), Resource=list(resources))
    if condition is not None:
        statement.Condition = condition
    return statement


def _document(statements: Sequence[Statement]) -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def _all_buckets(env: Environment) -> list[Sub | str]:
    """The app stack's buckets and the bootstrap stack's artifact bucket."""
    return [bucket_arn(name) for name in [*_data_buckets(env), _artifact_bucket(env)]]


def _resource_read_statements(env: Environment) -> list[Statement]:
    """Configuration reads of the stacks' resources (drift detection reads with these)."""
    return [
        _allow("ReadBuckets", READ_BUCKET, _all_buckets(env)),
        _allow("ReadFunction", READ_FUNCTION, _function_arns(env)),
        _allow("ReadAppRoles", READ_ROLE, _app_role_arns(env)),
        # DescribeLogGroups lists by prefix: its resource is every log group of the region.
        _allow(
            "ListLogGroups",
            [logs.DescribeLogGroups],
            [Sub(arns.env_arn(env, "logs", "log-group:*"))],
        ),
        _allow("ReadLogGroup", READ_LOG_GROUP, _log_group_arns(env)),
        _allow("ReadMonitoring", READ_MONITORING, [_alarm_arn(env), _dashboard_arn(env)]),
        _allow("ReadMessaging", READ_MESSAGING, [_queue_arn(env), *_topic_arns(env)]),
        # Metadata only: the plan role never reads the secret's value.
        _allow(
            "ReadSecretMetadata",
            [secretsmanager.DescribeSecret, secretsmanager.GetResourcePolicy],
            [_secret_arn(env)],
        ),
        _allow("ReadKey", READ_KEY, [_key_arn(env)], _env_tag(env, "aws:ResourceTag")),
        # These two actions have no resource type in the Service Authorization Reference: they
        # list the account's key aliases and Logs resource policies (names and policies only).
        _allow(
            "ListAccountMetadata",
            [kms.ListAliases, logs.DescribeResourcePolicies],
            ["*"],
            _in_region(env),
        ),
    ]


def _artifact_objects(env: Environment) -> list[Sub | str]:
    return [objects_arn(_artifact_bucket(env), prefix) for prefix in ARTIFACT_PREFIXES]


def _write_artifacts_once(sid: str, prefixes: Sequence[str], env: Environment) -> Statement:
    """PutObject in the shared artifact bucket only as a conditional write (``If-None-Match:
    *``): an object is created, never overwritten. The keys are content-addressed and the deploy
    verifies an existing object's sha256 before using it; write-once keeps it that way after the
    check (Lambda reads the code when CloudFormation updates the function, later)."""
    return _allow(
        sid,
        [s3.PutObject],
        [objects_arn(_artifact_bucket(env), prefix) for prefix in prefixes],
        Condition(StringEquals("s3:if-none-match", "*")),
    )


def _large_templates(env: Environment) -> str:
    """Where a template over CloudFormation's inline limit goes, keyed by its hash: the
    environment's stack's own prefix (a preview pattern's: ``templates/TapStack<env>-*/``)."""
    return f"templates/{naming.stack_name(env.name)}/"


def _list_artifacts(env: Environment) -> Statement:
    return _allow("ListArtifacts", [s3.ListBucket], [bucket_arn(_artifact_bucket(env))])


def _pass_cloudformation_role(env: Environment) -> Statement:
    # A change set records its role; creating one does not run it.
    role = Sub(
        arns.env_arn(
            env, "iam", f"role/{naming.cloudformation_role_name(env.name)}", regional=False
        )
    )
    return _allow(
        "PassCloudFormationRole",
        [iam.PassRole],
        [role],
        _passed_to("cloudformation.amazonaws.com"),
    )


def _read_rollback_alarms(env: Environment) -> Statement:
    # CloudFormation checks that the change set's rollback-trigger alarms exist.
    return _allow("ReadRollbackAlarms", [cloudwatch.DescribeAlarms], [_alarm_arn(env)])


def _drift_detection_status(env: Environment) -> Statement:
    # Drift detection is polled by its id; this action has no resource type.
    return _allow(
        "DriftDetectionStatus",
        [cfn.DescribeStackDriftDetectionStatus],
        ["*"],
        _in_region(env),
    )


def _only_change_sets(sid: str, prefix: str, actions: Sequence[Action]) -> Statement:
    """Deny these change-set actions unless the change set's name starts with ``prefix-``.

    IAM's ``cloudformation:ChangeSetName`` holds what the caller passed: the name, or the
    change set's ARN (``arn:...:changeSet/<name>/<id>``), as the deploy passes ids; both forms
    are matched. So a pull request's plan cannot make (or delete) the change set an environment's
    deploy role would execute, nor the deploy role execute a pull request's."""
    return Statement(
        Sid=sid,
        Effect=Deny,
        Action=list(actions),
        Resource=["*"],
        Condition=Condition(
            StringNotLike(
                "cloudformation:ChangeSetName", [f"{prefix}-*", f"arn:*:changeSet/{prefix}-*"]
            )
        ),
    )


def plan_policy(env: Environment) -> PolicyDocument:
    """Pull requests: read the stack; create, describe and delete change sets; nothing else.

    No ``iam:PassRole`` (a pull request's change set is never executed, so it needs no role: on
    an existing stack CloudFormation keeps the stack's own), no resource reads and so no listing
    of the data bucket's keys, no drift detection (the drift role does that).
    """
    return _document(
        [
            _allow("PlanStack", STACK_READ + STACK_CHANGE_SETS, [app_stack_arn(env)]),
            _allow("ReadBootstrapStack", [cfn.DescribeStacks], [bootstrap_stack_arn(env)]),
            _allow("ReadArtifacts", [s3.GetObject], _artifact_objects(env)),
            # A template over CloudFormation's inline limit goes by URL, keyed by its hash.
            _write_artifacts_once("UploadLargeTemplate", [_large_templates(env)], env),
            _list_artifacts(env),
            _read_rollback_alarms(env),
            _only_change_sets(
                "OnlyPullRequestChangeSets",
                naming.CHANGE_SET_PR,
                [cfn.CreateChangeSet, cfn.DeleteChangeSet],
            ),
        ]
    )


def keep_plan_statements(env: Environment) -> list[Statement]:
    """Upload the artifact, create and keep the app stack's change set with the CloudFormation
    role; never execute (the plan-main role, and the preview role's share).

    Nothing on the bootstrap stack: `plan` never plans it (only `deploy` creates or updates it),
    and the preview role, reachable from pull requests, must never change it."""
    return [
        _allow("PlanStack", STACK_READ + STACK_CHANGE_SETS, [app_stack_arn(env)]),
        _allow("ReadArtifacts", [s3.GetObject], _artifact_objects(env)),
        _write_artifacts_once(
            "WriteArtifacts", [naming.ARTIFACT_PREFIX, _large_templates(env)], env
        ),
        _list_artifacts(env),
        # A change set records its role (a new stack's must): creating one runs nothing.
        _pass_cloudformation_role(env),
        _read_rollback_alarms(env),
    ]


def plan_main_policy(env: Environment) -> PolicyDocument:
    """The deploy workflow's plan job on the default branch: keep the plan, and detect drift
    (``deploy.drift`` is judged when the plan is made, not when it is applied); never execute."""
    return _document(
        [
            *keep_plan_statements(env),
            _allow("DetectDrift", STACK_DRIFT, [app_stack_arn(env)]),
            # Drift detection reads the resources with the caller's permissions (no write).
            _drift_detection_status(env),
            *_resource_read_statements(env),
            _only_change_sets(
                "OnlyKeptChangeSets",
                naming.CHANGE_SET_KEPT,
                [cfn.CreateChangeSet, cfn.DeleteChangeSet],
            ),
        ]
    )


def drift_policy(env: Environment) -> PolicyDocument:
    """The scheduled drift check: read the stack and its resources' configuration, detect drift."""
    return _document(
        [
            _allow("DetectDrift", STACK_READ + STACK_DRIFT, [app_stack_arn(env)]),
            _allow("ReadBootstrapStack", [cfn.DescribeStacks], [bootstrap_stack_arn(env)]),
            _drift_detection_status(env),
            *_resource_read_statements(env),
        ]
    )


def deploy_policy(env: Environment) -> PolicyDocument:
    """Apply jobs in the GitHub environment: execute a kept change set (never create one), check
    it is the reviewed one (its template, its events), set stack settings, pass the CFN role."""
    statements = apply_statements(env)
    # The bootstrap stack's change set too; never deleted (not the previews': see ci_preview).
    statements.insert(1, _allow("ApplyBootstrapStack", STACK_APPLY, [bootstrap_stack_arn(env)]))
    # Only what `plan --keep` made (the main branch's plan-main role may make only these).
    statements.append(
        _only_change_sets(
            "OnlyKeptChangeSets",
            naming.CHANGE_SET_KEPT,
            [cfn.ExecuteChangeSet, cfn.DeleteChangeSet],
        )
    )
    return _document(statements)


def apply_statements(env: Environment) -> list[Statement]:
    """The deploy role's statements on the app stack only (the preview role's share)."""
    stack_actions = STACK_APPLY
    if env.deploy.recreate_failed_stack and not env.retain_data:
        # Only here may deploy delete a stack whose first create failed (it retains nothing).
        stack_actions = [*stack_actions, cfn.DeleteStack]
    return [
        _allow("ApplyStack", stack_actions, [app_stack_arn(env)]),
        # The apply checks the artifact the change set names is there; it uploads nothing.
        _allow("ReadArtifacts", [s3.GetObject], _artifact_objects(env)),
        _pass_cloudformation_role(env),
        _read_rollback_alarms(env),
    ]


def _storage_policy(env: Environment) -> PolicyDocument:
    code = objects_arn(_artifact_bucket(env), naming.ARTIFACT_PREFIX)
    return _document(
        [
            _allow("ManageBuckets", MANAGE_BUCKETS, [bucket_arn(n) for n in _data_buckets(env)]),
            # Lambda reads the code with the caller's (this role's) permissions.
            _allow("ReadArtifacts", [s3.GetObject, s3.GetObjectVersion], [code]),
        ]
    )


def _bootstrap_policy(env: Environment) -> PolicyDocument:
    """The artifact bucket of the bootstrap stack: created and configured, never deleted."""
    bucket = bucket_arn(_artifact_bucket(env))
    return _document(
        [_allow("ManageArtifactBucket", [s3.CreateBucket, *CONFIGURE_BUCKET], [bucket])]
    )


def _role_statements(env: Environment) -> list[Statement]:
    """The app stack's roles: created and changed only with the boundary; never unbounded."""
    roles = _app_role_arns(env)
    return [
        _allow("ChangeBoundedAppRoles", BOUNDED_ROLE_CHANGES, roles, _with_boundary(env)),
        _allow("ManageAppRoleSettings", ROLE_SETTINGS, roles),
        Statement(
            Sid="NeverUnboundOrAttach",
            Effect=Deny,
            Action=NEVER_ON_ROLES,
            Resource=["*"],
        ),
        # Belt and braces for the allow above: even if another policy allowed these, a role
        # without this boundary (or with another) is never created or changed.
        Statement(
            Sid="NeverWithoutTheBoundary",
            Effect=Deny,
            Action=BOUNDED_ROLE_CHANGES,
            Resource=["*"],
            Condition=Condition(StringNotEquals("iam:PermissionsBoundary", _boundary_arn(env))),
        ),
    ]


def _function_policy(env: Environment) -> PolicyDocument:
    return _document(
        [
            _allow("ManageFunction", MANAGE_FUNCTION, _function_arns(env)),
            *_role_statements(env),
            # The function's and the rotation function's roles, to Lambda only.
            _allow(
                "PassFunctionRoles",
                [iam.PassRole],
                _app_role_arns(env),
                _passed_to("lambda.amazonaws.com"),
            ),
            _allow("ManageLogGroup", MANAGE_LOG_GROUP, _log_group_arns(env)),
            *_ingest_mapping_statements(env),
        ]
    )


def _ingest_mapping_statements(env: Environment) -> list[Statement]:
    """Queue ingest mode: the event source mapping from the ingest queue to this function."""
    if env.ingest.mode != "queue":
        return []
    this_function = Condition(ArnLike("lambda:FunctionArn", _function_arns(env)))
    mappings = [Sub(arns.env_arn(env, "lambda", "event-source-mapping:*"))]
    return [
        _allow("CreateIngestMapping", CREATE_INGEST_MAPPING, ["*"], this_function),
        _allow("ManageIngestMapping", MANAGE_INGEST_MAPPING, mappings, this_function),
        _allow("ReadAndTagIngestMapping", READ_INGEST_MAPPING, mappings),
    ]


def _monitoring_policy(env: Environment) -> PolicyDocument:
    return _document(
        [
            _allow("ManageAlarms", MANAGE_ALARMS, [_alarm_arn(env)]),
            _allow(
                "ManageDashboard",
                [cloudwatch.PutDashboard, cloudwatch.DeleteDashboards],
                [_dashboard_arn(env)],
            ),
            _allow("ManageQueue", MANAGE_QUEUE, [_queue_arn(env), *_ingest_queue_arns(env)]),
            _allow("ManageTopic", MANAGE_TOPIC, _topic_arns(env)),
        ]
    )


def _secrets_policy(env: Environment) -> PolicyDocument:
    return _document(
        [
            _allow("ManageSecret", MANAGE_SECRET, [_secret_arn(env)]),
            # The Secret's read and update handlers read the value (to report and compare it);
            # only this role, which only CloudFormation assumes, and only this stack's secret.
            _allow(
                "ReadSecretValueForHandlers", [secretsmanager.GetSecretValue], [_secret_arn(env)]
            ),
            # The function itself only: InvokeFunction on it, not on its versions or aliases.
            _allow("StartSecretRotation", START_ROTATION, _rotation_function_arns(env)[:1]),
            # GetRandomPassword has no resource; it returns random bytes and touches nothing.
            _allow(
                "GenerateSecretValue", [secretsmanager.GetRandomPassword], ["*"], _in_region(env)
            ),
            # CreateKey has no resource; only keys tagged for this environment, in its region.
            _allow(
                "CreateKey",
                [kms.CreateKey],
                ["*"],
                _in_region(
                    env,
                    {
                        "aws:RequestTag/Environment": env.name,
                        "aws:RequestTag/Project": naming.PROJECT,
                    },
                ),
            ),
            _allow("ManageKey", MANAGE_KEY, [_key_arn(env)], _env_tag(env, "aws:ResourceTag")),
            # The key's create and update handlers set its policy: only on this environment's
            # keys, and never bypassing KMS's check that the policy keeps the key manageable.
            _allow(
                "SetKeyPolicy",
                [kms.PutKeyPolicy],
                [_key_arn(env)],
                Condition(
                    [
                        _matching(env)(
                            {
                                "aws:ResourceTag/Environment": env.name,
                                "aws:ResourceTag/Project": naming.PROJECT,
                            }
                        ),
                        BoolIfExists("kms:BypassPolicyLockoutSafetyCheck", "false"),
                    ]
                ),
            ),
            _allow("ManageKeyAlias", MANAGE_ALIASES, [_alias_arn(env)]),
        ]
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


def cloudformation_policies(
    env: Environment, *, bootstrap: bool = True
) -> dict[str, PolicyDocument]:
    """The CloudFormation role's policies by concern, plus the reads drift detection needs.

    ``bootstrap=False`` (the previews' role): no ``Bootstrap`` concern, so nothing that
    configures the artifact bucket every environment of the account shares."""
    policies = {
        concern: build(env)
        for concern, build in _CONCERNS
        if bootstrap or build is not _bootstrap_policy
    }
    policies["Read"] = _document(_resource_read_statements(env))
    return policies


# --- trust -----------------------------------------------------------------------------------


def _provider_arn() -> If:
    """The provider created here, or the account's existing one (same ARN, by construction)."""
    return If(
        CiId.PROVIDER_CONDITION,
        Ref(CiId.PROVIDER),
        Sub(arns.arn("iam", f"oidc-provider/{GITHUB_OIDC_HOST}", region="")),
    )


def github_subjects_plan() -> list[Sub]:
    """OIDC subjects allowed to plan a pull request: pull-request jobs of this repository."""
    return [Sub(f"repo:${{{CiId.REPOSITORY}}}:pull_request")]


def github_subjects_main() -> list[Sub]:
    """OIDC subjects of jobs on the default branch (not bound to an environment)."""
    return [Sub(f"repo:${{{CiId.REPOSITORY}}}:ref:refs/heads/{MAIN_BRANCH}")]


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
    return Tags(naming.base_tags(env))


def _conditioned(resource: AWSObject, env: str) -> AWSObject:
    resource.Condition = CiId.in_account(env)
    return resource


def _github_role(
    env: str,
    logical_id: str,
    role_name: str,
    description: str,
    subjects: Sequence[Sub],
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
        Tags=_tags(env),
    )
    return _conditioned(role, env)


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
        template.add_resource(_conditioned(policy, env_name))


def add_role_outputs(
    template: Template, env_name: str, roles: Sequence[tuple[tiam.Role, str]], scope: str
) -> None:
    """An output with each role's ARN, named ``label`` + the environment's suffix, present only
    in the environment's account."""
    for role, label in roles:
        template.add_output(
            Output(
                f"{label}{CiId._suffix(env_name)}",
                Condition=CiId.in_account(env_name),
                Description=f"{label} for {scope}",
                Value=GetAtt(role, "Arn"),
            )
        )


def _add_environment(template: Template, env: Environment) -> None:
    name = env.name
    stack = naming.stack_name(name)
    template.add_condition(CiId.in_account(name), Equals(Ref("AWS::AccountId"), env.account_id))
    plan = _github_role(
        name,
        CiId.plan_role(name),
        naming.plan_role_name(name),
        f"GitHub Actions: plan {stack} (read-only, change sets never executed)",
        github_subjects_plan(),
        tiam.Policy(PolicyName="plan", PolicyDocument=plan_policy(env)),
    )
    plan_main = _github_role(
        name,
        CiId.plan_main_role(name),
        naming.plan_main_role_name(name),
        f"GitHub Actions on {MAIN_BRANCH}: plan {stack} and keep the change set (never execute)",
        github_subjects_main(),
        tiam.Policy(PolicyName="plan-main", PolicyDocument=plan_main_policy(env)),
    )
    drift = _github_role(
        name,
        CiId.drift_role(name),
        naming.drift_role_name(name),
        f"GitHub Actions on {MAIN_BRANCH}: detect drift of {stack} (read-only)",
        github_subjects_main(),
        tiam.Policy(PolicyName="drift", PolicyDocument=drift_policy(env)),
    )
    deploy = _github_role(
        name,
        CiId.deploy_role(name),
        naming.deploy_role_name(name),
        f"GitHub Actions environment {name}: execute the reviewed change set of {stack}",
        github_subjects_deploy(name),
        tiam.Policy(PolicyName="deploy", PolicyDocument=deploy_policy(env)),
    )
    cfn_role = tiam.Role(
        CiId.cloudformation_role(name),
        RoleName=naming.cloudformation_role_name(name),
        Description=f"CloudFormation: create, update and delete the resources of {stack}",
        AssumeRolePolicyDocument=cloudformation_trust(env),
        Tags=_tags(name),
    )
    for role in (plan, plan_main, drift, deploy, _conditioned(cfn_role, name)):
        template.add_resource(role)
    boundary = tiam.ManagedPolicy(
        CiId.boundary(name),
        ManagedPolicyName=naming.boundary_policy_name(name),
        Description=f"Permissions boundary of every IAM role of {stack}: the most they can do",
        PolicyDocument=boundary_document(boundary_grants(env)),
    )
    template.add_resource(_conditioned(boundary, name))
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
            Tags=_tags(None),
        )
    )
    template.add_output(
        Output(CiId.OUT_PROVIDER, Description="GitHub's OIDC provider", Value=_provider_arn())
    )
    for name in sorted(envs):
        _add_environment(template, envs[name])
        if envs[name].deploy.previews:
            from generator.ci_preview import add_preview_roles  # uses this module's builders

            add_preview_roles(template, envs[name])
    return template
