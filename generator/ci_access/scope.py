"""What the CI roles' statements are scoped to: the ARNs of an environment's resources and the
conditions that narrow a grant further.

Region and account come from the environment file, not from a stack: the ci-access template is
deployed before the app stack exists, and one template serves every account. Every builder takes
an environment, which may also be a preview pattern (``dev-*``): its ARNs then match every
preview, and its conditions compare with ``StringLike``.
"""

from __future__ import annotations

from awacs.aws import Condition, StringEquals, StringLike
from troposphere import Sub

from generator import arns, naming
from generator.boundary import boundary_arn
from generator.config import Environment

# --- ARNs --------------------------------------------------------------------------------------


def app_stack_arn(env: Environment) -> Sub:
    """The application stack, any stack id."""
    return Sub(arns.env_arn(env, "cloudformation", f"stack/{naming.stack_name(env.name)}/*"))


def bootstrap_stack_arn(env: Environment) -> Sub:
    """The bootstrap stack of the environment's account and region."""
    return Sub(arns.env_arn(env, "cloudformation", f"stack/{naming.BOOTSTRAP_STACK_NAME}/*"))


def access_stack_arn(env: Environment) -> Sub:
    """The account-access stack (this template's own), in the environment's region."""
    return Sub(arns.env_arn(env, "cloudformation", f"stack/{naming.CI_ACCESS_STACK_NAME}/*"))


def artifact_bucket(env: Environment) -> str:
    """The name of the bootstrap stack's artifact bucket (shared by the account's environments
    in this region)."""
    return naming.artifact_bucket(env.account_id, env.region)


def data_buckets(env: Environment) -> list[str]:
    """The names of the app stack's buckets: data and access logs."""
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


def function_arns(env: Environment) -> list[Sub]:
    """The function and the rotation function, with their versions and aliases."""
    return [
        *_with_children(env, "lambda", f"function:{naming.function_name(env.name)}"),
        *rotation_function_arns(env),
    ]


def rotation_function_arns(env: Environment) -> list[Sub]:
    """The rotation function (first), then its versions and aliases."""
    return _with_children(env, "lambda", f"function:{naming.rotation_function_name(env.name)}")


def event_source_mappings_arn(env: Environment) -> Sub:
    """Every event source mapping of the region (their ids are random)."""
    return Sub(arns.env_arn(env, "lambda", "event-source-mapping:*"))


def log_group_arns(env: Environment) -> list[Sub]:
    """The function's and the rotation function's log groups, with their streams."""
    return [
        *_with_children(env, "logs", f"log-group:{naming.log_group(env.name)}"),
        *_with_children(env, "logs", f"log-group:{naming.rotation_log_group(env.name)}"),
    ]


def every_log_group_arn(env: Environment) -> Sub:
    """Every log group of the region (what ``DescribeLogGroups`` is authorized on)."""
    return Sub(arns.env_arn(env, "logs", "log-group:*"))


def alarm_arn(env: Environment) -> Sub:
    """The stack's alarms."""
    return Sub(arns.env_arn(env, "cloudwatch", f"alarm:{naming.alarm_name('*', env.name)}"))


def dashboard_arn(env: Environment) -> Sub:
    """The stack's dashboard (dashboard ARNs name no region)."""
    return Sub(
        arns.env_arn(
            env, "cloudwatch", f"dashboard/{naming.dashboard_name(env.name)}", regional=False
        )
    )


def secret_arn(env: Environment) -> Sub:
    """The stack's secret, whatever random suffix Secrets Manager gave it."""
    return Sub(
        arns.env_arn(env, "secretsmanager", arns.secret_resource(naming.secret_name(env.name)))
    )


def queue_arn(env: Environment) -> Sub:
    """The dead-letter queue."""
    return Sub(arns.env_arn(env, "sqs", naming.queue_name(env.name)))


def ingest_queue_arns(env: Environment) -> list[Sub]:
    """The ingest queue in queue ingest mode; none otherwise."""
    if env.ingest.mode != "queue":
        return []
    return [Sub(arns.env_arn(env, "sqs", naming.ingest_queue_name(env.name)))]


def topic_arns(env: Environment) -> list[Sub]:
    """The alarm topic and its subscriptions."""
    return _with_children(env, "sns", naming.topic_name(env.name))


def app_role_arns(env: Environment) -> list[Sub]:
    """Every role the app stack creates (each must carry the boundary)."""
    return [
        Sub(arns.env_arn(env, "iam", f"role/{name}", regional=False))
        for name in naming.app_role_names(env.name)
    ]


def cloudformation_role_arn(env: Environment) -> Sub:
    """The environment's CloudFormation role."""
    return Sub(
        arns.env_arn(
            env, "iam", f"role/{naming.cloudformation_role_name(env.name)}", regional=False
        )
    )


def app_boundary_arn(env: Environment) -> Sub:
    """The permissions boundary every role of the app stack carries."""
    return boundary_arn(env.name, env.account_id)


def key_arn(env: Environment) -> Sub:
    """Any key of the account and region (a key's id is random: tags narrow it)."""
    return Sub(arns.env_arn(env, "kms", "key/*"))


def alias_arn(env: Environment) -> Sub:
    """The stack key's alias."""
    return Sub(arns.env_arn(env, "kms", naming.key_alias(env.name)))


# --- conditions --------------------------------------------------------------------------------


def matching(env: Environment) -> type[StringEquals] | type[StringLike]:
    """StringLike for a name pattern (the preview roles' ``dev-*``), StringEquals otherwise."""
    return StringLike if "*" in env.name else StringEquals


def env_tag(env: Environment, key: str) -> Condition:
    """Only resources (or requests) tagged with this environment and project."""
    return Condition(
        matching(env)(
            {
                f"{key}/Environment": env.name,
                f"{key}/Project": naming.PROJECT,
            }
        )
    )


def in_region(env: Environment, also: dict[str, str] | None = None) -> Condition:
    """An action without a resource type, only in the environment's own region (its ARNs name
    the region already; these would otherwise reach every region of the account)."""
    return Condition(matching(env)({"aws:RequestedRegion": env.region, **(also or {})}))


def passed_to(service: str) -> Condition:
    """``iam:PassRole`` only to this service."""
    return Condition(StringEquals("iam:PassedToService", service))


def with_boundary(env: Environment) -> Condition:
    """The role carries (or is created with) the environment's boundary, and no other."""
    return Condition(StringEquals("iam:PermissionsBoundary", app_boundary_arn(env)))
