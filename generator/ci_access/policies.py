"""The CI roles' policies: each GitHub role's (plan, plan-main, drift, deploy) and the
CloudFormation role's, one managed policy per concern; with the statement builders they and the
preview roles (``preview_roles.py``) are made of.

The actions come from ``permissions.py`` (with the reasons for what is withheld), the resources
and conditions from ``scope.py``. Pure: an environment in, policy documents out.
"""

from __future__ import annotations

from collections.abc import Sequence

from awacs import cloudformation as cfn
from awacs import cloudwatch, iam, kms, logs, s3, secretsmanager
from awacs.aws import (
    Action,
    Allow,
    ArnLike,
    Bool,
    BoolIfExists,
    Condition,
    Deny,
    ForAnyValueStringEquals,
    Null,
    PolicyDocument,
    Statement,
    StringEquals,
    StringNotEquals,
    StringNotLike,
)
from troposphere import Sub

from generator import naming
from generator.ci_access.permissions import (
    BOUNDED_ROLE_CHANGES,
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
from generator.ci_access.scope import (
    access_stack_arn,
    alarm_arn,
    alias_arn,
    app_boundary_arn,
    app_role_arns,
    app_stack_arn,
    artifact_bucket,
    bootstrap_stack_arn,
    cloudformation_role_arn,
    dashboard_arn,
    data_buckets,
    env_tag,
    event_source_mappings_arn,
    function_arns,
    in_region,
    ingest_queue_arns,
    key_arn,
    log_group_arns,
    matching,
    passed_to,
    queue_arn,
    rotation_function_arns,
    secret_arn,
    topic_arns,
    with_boundary,
)
from generator.config import Environment
from generator.stack.common import bucket_arn, objects_arn

# Prefixes under the artifact bucket that plan and deploy read and write.
ARTIFACT_PREFIXES = (naming.ARTIFACT_PREFIX, "templates/")

# --- builders ----------------------------------------------------------------------------------


def allow(
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


def document(statements: Sequence[Statement]) -> PolicyDocument:
    """A policy document in the current policy language version."""
    return PolicyDocument(Version="2012-10-17", Statement=list(statements))


def _all_buckets(env: Environment) -> list[Sub | str]:
    """The app stack's buckets and the bootstrap stack's artifact bucket."""
    return [bucket_arn(name) for name in [*data_buckets(env), artifact_bucket(env)]]


def _resource_read_statements(env: Environment) -> list[Statement]:
    """Configuration reads of the stacks' resources (drift detection reads with these)."""
    return [
        allow("ReadBuckets", READ_BUCKET, _all_buckets(env)),
        allow("ReadFunction", READ_FUNCTION, function_arns(env)),
        allow("ReadAppRoles", READ_ROLE, app_role_arns(env)),
        allow("ReadLogGroup", READ_LOG_GROUP, log_group_arns(env)),
        # Both have no resource type in the Service Authorization Reference, so IAM authorizes
        # them on "*" only (a log-group ARN never matches): DescribeLogGroups lists the region's
        # log groups by prefix, DescribeIndexPolicies takes a list of log groups.
        allow(
            "DescribeLogGroups",
            [logs.DescribeLogGroups, logs.DescribeIndexPolicies],
            ["*"],
            in_region(env),
        ),
        allow("ReadMonitoring", READ_MONITORING, [alarm_arn(env), dashboard_arn(env)]),
        allow("ReadMessaging", READ_MESSAGING, [queue_arn(env), *topic_arns(env)]),
        # Metadata only: the plan role never reads the secret's value.
        allow(
            "ReadSecretMetadata",
            [secretsmanager.DescribeSecret, secretsmanager.GetResourcePolicy],
            [secret_arn(env)],
        ),
        allow("ReadKey", READ_KEY, [key_arn(env)], env_tag(env, "aws:ResourceTag")),
        # These two actions have no resource type in the Service Authorization Reference: they
        # list the account's key aliases and Logs resource policies (names and policies only).
        allow(
            "ListAccountMetadata",
            [kms.ListAliases, logs.DescribeResourcePolicies],
            ["*"],
            in_region(env),
        ),
    ]


def _artifact_objects(env: Environment) -> list[Sub | str]:
    return [objects_arn(artifact_bucket(env), prefix) for prefix in ARTIFACT_PREFIXES]


def _write_artifacts_once(sid: str, prefixes: Sequence[str], env: Environment) -> Statement:
    """PutObject in the shared artifact bucket only as a conditional write (``If-None-Match:
    *``): an object is created, never overwritten. The keys are content-addressed and the deploy
    verifies an existing object's sha256 before using it; write-once keeps it that way after the
    check (Lambda reads the code when CloudFormation updates the function, later)."""
    return allow(
        sid,
        [s3.PutObject],
        [objects_arn(artifact_bucket(env), prefix) for prefix in prefixes],
        Condition(StringEquals("s3:if-none-match", "*")),
    )


def _large_templates(env: Environment) -> str:
    """Where a template over CloudFormation's inline limit goes, keyed by its hash: the
    environment's stack's own prefix (a preview pattern's: ``templates/TapStack<env>-*/``)."""
    return f"templates/{naming.stack_name(env.name)}/"


def _list_artifacts(env: Environment) -> Statement:
    return allow("ListArtifacts", [s3.ListBucket], [bucket_arn(artifact_bucket(env))])


def _pass_cloudformation_role(env: Environment) -> Statement:
    # A change set records its role; creating one does not run it.
    return allow(
        "PassCloudFormationRole",
        [iam.PassRole],
        [cloudformation_role_arn(env)],
        passed_to("cloudformation.amazonaws.com"),
    )


def _read_access_stack(env: Environment) -> Statement:
    # Whether the deployed account-access stack is the committed template (its tag): a changed
    # boundary or CI permission waits on an administrator, and plans and drift checks say so.
    return allow("ReadAccessStack", [cfn.DescribeStacks], [access_stack_arn(env)])


def _read_rollback_alarms(env: Environment) -> Statement:
    # CloudFormation checks that the change set's rollback-trigger alarms exist.
    return allow("ReadRollbackAlarms", [cloudwatch.DescribeAlarms], [alarm_arn(env)])


def _drift_detection_status(env: Environment) -> Statement:
    # Drift detection is polled by its id; this action has no resource type.
    return allow(
        "DriftDetectionStatus",
        [cfn.DescribeStackDriftDetectionStatus],
        ["*"],
        in_region(env),
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


# --- the GitHub roles --------------------------------------------------------------------------


def plan_policy(env: Environment) -> PolicyDocument:
    """Pull requests: read the stack; create, describe and delete change sets; nothing else.

    No ``iam:PassRole`` (a pull request's change set is never executed, so it needs no role: on
    an existing stack CloudFormation keeps the stack's own), no resource reads and so no listing
    of the data bucket's keys, no drift detection (the drift role does that).
    """
    return document(
        [
            allow("PlanStack", STACK_READ + STACK_CHANGE_SETS, [app_stack_arn(env)]),
            allow("ReadBootstrapStack", [cfn.DescribeStacks], [bootstrap_stack_arn(env)]),
            _read_access_stack(env),
            allow("ReadArtifacts", [s3.GetObject], _artifact_objects(env)),
            # A template over CloudFormation's inline limit goes by URL, under a prefix of the
            # run's own (templates/pr/<random>/): never a key main's plans use.
            _write_artifacts_once("UploadLargeTemplate", ["templates/pr/"], env),
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
        allow("PlanStack", STACK_READ + STACK_CHANGE_SETS, [app_stack_arn(env)]),
        allow("ReadArtifacts", [s3.GetObject], _artifact_objects(env)),
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
    return document(
        [
            *keep_plan_statements(env),
            _read_access_stack(env),
            allow("DetectDrift", STACK_DRIFT, [app_stack_arn(env)]),
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
    return document(
        [
            allow("DetectDrift", STACK_READ + STACK_DRIFT, [app_stack_arn(env)]),
            allow("ReadBootstrapStack", [cfn.DescribeStacks], [bootstrap_stack_arn(env)]),
            _read_access_stack(env),
            _drift_detection_status(env),
            *_resource_read_statements(env),
        ]
    )


def deploy_policy(env: Environment) -> PolicyDocument:
    """Apply jobs in the GitHub environment: execute a kept change set (never create one), check
    it is the reviewed one (its template, its events), set stack settings, pass the CFN role.

    Nothing on the bootstrap stack: no CI job plans it (an administrator's ``deploy`` does), so
    an apply could only execute, re-protect or unprotect it unreviewed; the apply finds the
    artifact bucket by its name."""
    statements = apply_statements(env)
    # Only what `plan --keep` made (the main branch's plan-main role may make only these).
    statements.append(
        _only_change_sets(
            "OnlyKeptChangeSets",
            naming.CHANGE_SET_KEPT,
            [cfn.ExecuteChangeSet, cfn.DeleteChangeSet],
        )
    )
    statements.append(
        Statement(
            Sid="NothingOnTheBootstrapStack",
            Effect=Deny,
            Action=[cfn.Action("*")],
            Resource=[bootstrap_stack_arn(env)],
        )
    )
    return document(statements)


def apply_statements(env: Environment) -> list[Statement]:
    """The deploy role's statements on the app stack only (the preview role's share)."""
    stack_actions = STACK_APPLY
    if env.deploy.recreate_failed_stack and not env.retain_data:
        # Only here may deploy delete a stack whose first create failed (it retains nothing).
        stack_actions = [*stack_actions, cfn.DeleteStack]
    return [
        allow("ApplyStack", stack_actions, [app_stack_arn(env)]),
        # The apply checks the artifact the change set names is there; it uploads nothing.
        allow("ReadArtifacts", [s3.GetObject], _artifact_objects(env)),
        _pass_cloudformation_role(env),
        _read_rollback_alarms(env),
    ]


# --- the CloudFormation role -------------------------------------------------------------------


def _storage_policy(env: Environment) -> PolicyDocument:
    code = objects_arn(artifact_bucket(env), naming.ARTIFACT_PREFIX)
    return document(
        [
            allow("ManageBuckets", MANAGE_BUCKETS, [bucket_arn(n) for n in data_buckets(env)]),
            # Lambda reads the code with the caller's (this role's) permissions.
            allow("ReadArtifacts", [s3.GetObject, s3.GetObjectVersion], [code]),
        ]
    )


def _role_statements(env: Environment) -> list[Statement]:
    """The app stack's roles: created and changed only with the boundary; never unbounded."""
    roles = app_role_arns(env)
    return [
        allow("ChangeBoundedAppRoles", BOUNDED_ROLE_CHANGES, roles, with_boundary(env)),
        allow("ManageAppRoleSettings", ROLE_SETTINGS, roles),
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
            Condition=Condition(StringNotEquals("iam:PermissionsBoundary", app_boundary_arn(env))),
        ),
    ]


def _function_policy(env: Environment) -> PolicyDocument:
    return document(
        [
            allow("ManageFunction", MANAGE_FUNCTION, function_arns(env)),
            *_role_statements(env),
            # The function's and the rotation function's roles, to Lambda only.
            allow(
                "PassFunctionRoles",
                [iam.PassRole],
                app_role_arns(env),
                passed_to("lambda.amazonaws.com"),
            ),
            allow("ManageLogGroup", MANAGE_LOG_GROUP, log_group_arns(env)),
            *_ingest_mapping_statements(env),
        ]
    )


def _ingest_mapping_statements(env: Environment) -> list[Statement]:
    """Queue ingest mode: the event source mapping from the ingest queue to this function."""
    if env.ingest.mode != "queue":
        return []
    this_function = Condition(ArnLike("lambda:FunctionArn", function_arns(env)))
    mappings = [event_source_mappings_arn(env)]
    return [
        allow("CreateIngestMapping", CREATE_INGEST_MAPPING, ["*"], this_function),
        allow("ManageIngestMapping", MANAGE_INGEST_MAPPING, mappings, this_function),
        allow("ReadAndTagIngestMapping", READ_INGEST_MAPPING, mappings),
    ]


def _monitoring_policy(env: Environment) -> PolicyDocument:
    return document(
        [
            allow("ManageAlarms", MANAGE_ALARMS, [alarm_arn(env)]),
            allow(
                "ManageDashboard",
                [cloudwatch.PutDashboard, cloudwatch.DeleteDashboards],
                [dashboard_arn(env)],
            ),
            allow("ManageQueue", MANAGE_QUEUE, [queue_arn(env), *ingest_queue_arns(env)]),
            allow("ManageTopic", MANAGE_TOPIC, topic_arns(env)),
        ]
    )


def _secrets_policy(env: Environment) -> PolicyDocument:
    return document(
        [
            allow("ManageSecret", MANAGE_SECRET, [secret_arn(env)]),
            # The Secret's read and update handlers read the value (to report and compare it);
            # only this role, which only CloudFormation assumes, and only this stack's secret.
            allow("ReadSecretValueForHandlers", [secretsmanager.GetSecretValue], [secret_arn(env)]),
            # The function itself only: InvokeFunction on it, not on its versions or aliases.
            allow("StartSecretRotation", START_ROTATION, rotation_function_arns(env)[:1]),
            # GetRandomPassword has no resource; it returns random bytes and touches nothing.
            allow("GenerateSecretValue", [secretsmanager.GetRandomPassword], ["*"], in_region(env)),
            # CreateKey has no resource; only keys tagged for this environment, in its region,
            # and never bypassing KMS's check that the key policy keeps the key manageable.
            allow(
                "CreateKey",
                [kms.CreateKey],
                ["*"],
                Condition(
                    [
                        *in_region(
                            env,
                            {
                                "aws:RequestTag/Environment": env.name,
                                "aws:RequestTag/Project": naming.PROJECT,
                            },
                        ).conditions,
                        BoolIfExists("kms:BypassPolicyLockoutSafetyCheck", "false"),
                    ]
                ),
            ),
            allow("ManageKey", MANAGE_KEY, [key_arn(env)], env_tag(env, "aws:ResourceTag")),
            # The key's create and update handlers set its policy: only on this environment's
            # keys, and never bypassing KMS's check that the policy keeps the key manageable.
            allow(
                "SetKeyPolicy",
                [kms.PutKeyPolicy],
                [key_arn(env)],
                Condition(
                    [
                        matching(env)(
                            {
                                "aws:ResourceTag/Environment": env.name,
                                "aws:ResourceTag/Project": naming.PROJECT,
                            }
                        ),
                        BoolIfExists("kms:BypassPolicyLockoutSafetyCheck", "false"),
                    ]
                ),
            ),
            allow("ManageKeyAlias", MANAGE_ALIASES, [alias_arn(env)]),
        ]
    )


# The CloudFormation role's permissions, one managed policy per concern: each stays far below
# IAM's 6,144-character limit, and the stack can grow without nearing the 10,240 inline total.
_CONCERNS = (
    ("Storage", _storage_policy),
    ("Function", _function_policy),
    ("Monitoring", _monitoring_policy),
    ("SecretsAndKeys", _secrets_policy),
)

_PROTECTED_TAG_KEYS = ["Environment", "Project", "PreviewOf"]


def _limits(env: Environment, *, preview: bool) -> PolicyDocument:
    """What no CloudFormation role may do, whatever else it is allowed: the limits that keep a
    change set from granting outside the account through a resource policy or a key.

    Every role: no key created or re-policied bypassing KMS's lockout check; no key retagged
    into another environment or stripped of its environment tags (the key's permissions follow
    its tags). The previews' role (a pull request's template, after a reviewer's approval):
    also no bucket or object ACLs, no Lambda permission for any principal (``*``), and no SNS
    subscription to an endpoint outside the account (or the environment's alarm address)."""
    tag_matches = StringNotLike if "*" in env.name else StringNotEquals
    statements = [
        Statement(
            Sid="NeverBypassTheKeyLockoutCheck",
            Effect=Deny,
            Action=[kms.CreateKey, kms.PutKeyPolicy],
            Resource=["*"],
            Condition=Condition(Bool("kms:BypassPolicyLockoutSafetyCheck", "true")),
        ),
        Statement(
            Sid="NeverTagAKeyIntoAnotherEnvironment",
            Effect=Deny,
            Action=[kms.TagResource, kms.CreateKey],
            Resource=["*"],
            Condition=Condition(
                [
                    Null("aws:RequestTag/Environment", "false"),
                    tag_matches("aws:RequestTag/Environment", env.name),
                ]
            ),
        ),
        Statement(
            Sid="NeverUntagAKeysEnvironment",
            Effect=Deny,
            Action=[kms.UntagResource],
            Resource=["*"],
            Condition=Condition(ForAnyValueStringEquals("aws:TagKeys", _PROTECTED_TAG_KEYS)),
        ),
    ]
    if preview:
        endpoints = [Sub("arn:${AWS::Partition}:*:${AWS::Region}:${AWS::AccountId}:*")]
        if env.alarms.email:
            endpoints.append(Sub(env.alarms.email))
        statements += [
            Statement(
                Sid="NoAcls",
                Effect=Deny,
                Action=[s3.PutBucketAcl, s3.PutObjectAcl, s3.PutObjectVersionAcl],
                Resource=["*"],
            ),
            Statement(
                Sid="NoPermissionForAnyone",
                Effect=Deny,
                Action=[Action("lambda", "AddPermission")],
                Resource=["*"],
                Condition=Condition(StringEquals("lambda:Principal", "*")),
            ),
            Statement(
                Sid="NoSubscriptionOutsideTheAccount",
                Effect=Deny,
                Action=[Action("sns", "Subscribe")],
                Resource=["*"],
                Condition=Condition(StringNotLike("sns:Endpoint", endpoints)),
            ),
        ]
    return document(statements)


def cloudformation_policies(
    env: Environment, *, preview: bool = False
) -> dict[str, PolicyDocument]:
    """The CloudFormation role's policies by concern, its limits (``_limits``), and the reads
    drift detection needs. Never the shared artifact bucket's configuration: that is the
    bootstrap stack's, which an administrator deploys with their own credentials.

    ``preview``: the previews' role, with the previews' extra limits."""
    policies = {concern: build(env) for concern, build in _CONCERNS}
    policies["Limits"] = _limits(env, preview=preview)
    policies["Read"] = document(_resource_read_statements(env))
    return policies
