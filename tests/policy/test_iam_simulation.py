"""The deploy identities cannot escalate, and the stack and handler can do their work: proven by
evaluating the committed templates' policies with an IAM policy evaluator
(@cloud-copilot/iam-simulate; see tests/policy/iam_simulation.py).

Every row is one IAM request by one principal: escalations must be denied for every CI role (the
CloudFormation role above all: anyone who can run a change set acts through it), and the actions
the stack's resource handlers and the function need must be allowed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from generator import naming
from generator.ci_access.preview_roles import PreviewId
from generator.config import load_environments
from generator.naming import CiId
from generator.resolve import Known, resolve_template
from generator.rollout import ci_environments
from generator.workspace import CHECKOUT
from tests.policy.iam_simulation import (
    ALLOWED,
    DENIED,
    Document,
    Request,
    SimulatorMissing,
    outcome,
    simulate,
)

pytestmark = pytest.mark.slow(3)

ROOT = CHECKOUT
CI_ENVIRONMENTS = ci_environments(ROOT / "environments")
REPO = "octo-org/serverlessapp-gitops"
FOREIGN_ACCOUNT = "999999999999"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
STAR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
TLS = {"aws:SecureTransport": "true"}


@dataclass(frozen=True)
class World:
    """One environment's principals and policies, from the committed templates."""

    env: str
    account: str
    region: str
    ci: dict[str, Any]
    app: dict[str, Any]

    def arn(self, service: str, resource: str, region: bool = True) -> str:
        where = self.region if region else ""
        return f"arn:aws:{service}:{where}:{self.account}:{resource}"

    @property
    def boundary_arn(self) -> str:
        return self.arn("iam", f"policy/{naming.boundary_policy_name(self.env)}", region=False)

    @property
    def boundary(self) -> Document:
        return dict(self.ci["Resources"][CiId.boundary(self.env)]["Properties"]["PolicyDocument"])

    # A preview of this environment (``<env>-pr1``), deployed from a pull request.
    @property
    def preview(self) -> str:
        return f"{self.env}-pr1"

    @property
    def has_previews(self) -> bool:
        return PreviewId.role(self.env) in self.ci["Resources"]

    @property
    def preview_boundary_arn(self) -> str:
        name = naming.boundary_policy_name(self.preview)
        return self.arn("iam", f"policy/{name}", region=False)

    @property
    def preview_boundary(self) -> Document:
        resource = self.ci["Resources"][PreviewId.boundary(self.env)]
        return dict(resource["Properties"]["PolicyDocument"])

    @property
    def preview_function_role(self) -> str:
        return self.role_arn(naming.role_name(self.preview))

    @property
    def preview_bucket(self) -> str:
        return naming.data_bucket(self.preview, self.account)

    @property
    def preview_function(self) -> str:
        return self.arn("lambda", f"function:{naming.function_name(self.preview)}")

    @property
    def preview_topic(self) -> str:
        return self.arn("sns", naming.topic_name(self.preview))

    @property
    def preview_stack(self) -> str:
        return self.arn("cloudformation", f"stack/{naming.stack_name(self.preview)}/abc-123")

    @property
    def bootstrap_stack(self) -> str:
        return self.arn("cloudformation", f"stack/{naming.BOOTSTRAP_STACK_NAME}/abc-123")

    def change_set_id(self, purpose: str) -> dict[str, str]:
        """cloudformation:ChangeSetName as the deploy passes it: the change set's ARN."""
        name = f"{purpose}-{self.env}-abcdef012345-20260301T120000Z"
        return {"cloudformation:ChangeSetName": self.arn("cloudformation", f"changeSet/{name}/1")}

    def artifact(self, key: str) -> str:
        return f"arn:aws:s3:::{naming.artifact_bucket(self.account, self.region)}/{key}"

    def role_arn(self, name: str) -> str:
        return self.arn("iam", f"role/{name}", region=False)

    def ci_identity(self, logical_id: str) -> dict[str, Document]:
        """A CI role's policies: inline ones, and managed ones attached to it."""
        resources = self.ci["Resources"]
        found = {
            p["PolicyName"]: p["PolicyDocument"]
            for p in resources[logical_id]["Properties"].get("Policies", [])
        }
        for policy_id, resource in resources.items():
            props = resource["Properties"]
            if resource["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": logical_id} in props.get(
                "Roles", []
            ):
                found[policy_id] = props["PolicyDocument"]
        return found

    def app_policy(self, logical_id: str, key: str = "PolicyDocument") -> Document:
        return dict(self.app["Resources"][logical_id]["Properties"][key])

    # physical names
    @property
    def bucket(self) -> str:
        return naming.data_bucket(self.env, self.account)

    @property
    def function_role(self) -> str:
        return self.role_arn(naming.role_name(self.env))

    @property
    def rotation_role(self) -> str:
        return self.role_arn(naming.rotation_role_name(self.env))

    @property
    def rotation_log_group(self) -> str:
        return self.arn("logs", f"log-group:{naming.rotation_log_group(self.env)}")

    @property
    def key(self) -> str:
        return self.arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")

    @property
    def secret(self) -> str:
        return self.arn("secretsmanager", f"secret:{naming.secret_name(self.env)}-AbCdEf")

    @property
    def sibling_secret(self) -> str:
        """Another secret whose name starts with this one's and a dash."""
        name = f"{naming.secret_name(self.env)}-admin"
        return self.arn("secretsmanager", f"secret:{name}-AbCdEf")

    @property
    def queue(self) -> str:
        return self.arn("sqs", naming.queue_name(self.env))

    @property
    def log_group(self) -> str:
        return self.arn("logs", f"log-group:{naming.log_group(self.env)}")

    @property
    def stack(self) -> str:
        return self.arn("cloudformation", f"stack/{naming.stack_name(self.env)}/abc-123")


@cache
def world(env: str) -> World:
    envs = load_environments(ROOT / "environments", CI_ENVIRONMENTS)
    e = envs[env]
    known_ci = Known(account=e.account_id, region=e.region, refs={CiId.REPOSITORY: REPO})
    ci = resolve_template(_load("ci-access"), known_ci)
    partial = World(env, e.account_id, e.region, ci, {})
    queue_url = f"https://sqs.{e.region}.amazonaws.com/{e.account_id}/{naming.queue_name(env)}"
    known_app = Known(
        account=e.account_id,
        region=e.region,
        stack_name=naming.stack_name(env),
        refs={
            naming.LogicalId.SECRET: partial.secret,
            naming.LogicalId.DATA_BUCKET: partial.bucket,
            naming.LogicalId.DEAD_LETTER_QUEUE: queue_url,
            naming.LogicalId.FUNCTION: naming.function_name(env),
        },
        attributes={
            f"{naming.LogicalId.ROLE}.Arn": partial.function_role,
            f"{naming.LogicalId.ROTATION_ROLE}.Arn": partial.rotation_role,
            f"{naming.LogicalId.ROTATION_LOG_GROUP}.Arn": f"{partial.rotation_log_group}:*",
            f"{naming.LogicalId.DEAD_LETTER_QUEUE}.Arn": partial.queue,
            f"{naming.LogicalId.LOG_GROUP}.Arn": f"{partial.log_group}:*",
            f"{naming.LogicalId.KEY}.Arn": partial.key,
        },
    )
    app = resolve_template(_load(env), known_app)
    return World(env, e.account_id, e.region, ci, app)


def _load(name: str) -> dict[str, Any]:
    return dict(json.loads((ROOT / "templates" / f"{name}.json").read_text(encoding="utf-8")))


# --- the rows --------------------------------------------------------------------------------

Row = Callable[[World, str, dict[str, Document]], Request]

# The CI roles whose credentials could be used for an escalation. The CloudFormation role's are
# what a change set runs with; the others are what a workflow holds.
CI_ROLES = {
    "cloudformation": (CiId.cloudformation_role, naming.cloudformation_role_name),
    "deploy": (CiId.deploy_role, naming.deploy_role_name),
    "plan": (CiId.plan_role, naming.plan_role_name),
    "plan-main": (CiId.plan_main_role, naming.plan_main_role_name),
    "drift": (CiId.drift_role, naming.drift_role_name),
    # Only where the environment has deploy.previews: reachable from pull requests.
    "preview": (PreviewId.role, naming.preview_role_name),
    "preview-cloudformation": (
        PreviewId.cloudformation_role,
        naming.preview_cloudformation_role_name,
    ),
}
PREVIEW_ROLES = ("preview", "preview-cloudformation")


def _iam(
    w: World,
    principal: str,
    identity: dict[str, Document],
    action: str,
    resource: str,
    **context: str,
) -> Request:
    return Request(principal, action, resource, identity, context=context)


ESCALATIONS: dict[str, Row] = {
    "create-unbounded-function-role": lambda w, p, i: _iam(
        w, p, i, "iam:CreateRole", w.function_role
    ),
    "create-function-role-with-another-boundary": lambda w, p, i: _iam(
        w, p, i, "iam:CreateRole", w.function_role, **{"iam:PermissionsBoundary": ADMIN_POLICY}
    ),
    "create-any-other-role": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:CreateRole",
        w.role_arn("Escalate"),
        **{"iam:PermissionsBoundary": w.boundary_arn},
    ),
    "attach-administrator-access-to-function-role": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:AttachRolePolicy",
        w.function_role,
        **{"iam:PolicyARN": ADMIN_POLICY, "iam:PermissionsBoundary": w.boundary_arn},
    ),
    "put-inline-policy-on-an-unbounded-role": lambda w, p, i: _iam(
        w, p, i, "iam:PutRolePolicy", w.role_arn(naming.deploy_role_name(w.env))
    ),
    "create-unbounded-rotation-role": lambda w, p, i: _iam(
        w, p, i, "iam:CreateRole", w.rotation_role
    ),
    "create-rotation-role-with-another-boundary": lambda w, p, i: _iam(
        w, p, i, "iam:CreateRole", w.rotation_role, **{"iam:PermissionsBoundary": ADMIN_POLICY}
    ),
    "attach-administrator-access-to-rotation-role": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:AttachRolePolicy",
        w.rotation_role,
        **{"iam:PolicyARN": ADMIN_POLICY, "iam:PermissionsBoundary": w.boundary_arn},
    ),
    "delete-the-boundary-from-rotation-role": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:DeleteRolePermissionsBoundary",
        w.rotation_role,
        **{"iam:PermissionsBoundary": w.boundary_arn},
    ),
    "trust-rotation-role-from-another-account": lambda w, p, i: _iam(
        w, p, i, "iam:UpdateAssumeRolePolicy", w.rotation_role
    ),
    "trust-function-role-from-another-account": lambda w, p, i: _iam(
        w, p, i, "iam:UpdateAssumeRolePolicy", w.function_role
    ),
    "delete-the-boundary-from-function-role": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:DeleteRolePermissionsBoundary",
        w.function_role,
        **{"iam:PermissionsBoundary": w.boundary_arn},
    ),
    "replace-the-boundary-of-function-role": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:PutRolePermissionsBoundary",
        w.function_role,
        **{"iam:PermissionsBoundary": ADMIN_POLICY},
    ),
    "rewrite-the-boundary-policy": lambda w, p, i: _iam(
        w, p, i, "iam:CreatePolicyVersion", w.boundary_arn
    ),
    "create-a-managed-policy": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:CreatePolicy",
        w.arn("iam", f"policy/{naming.stack_name(w.env)}-Escalate", region=False),
    ),
    "pass-an-arbitrary-role-to-lambda": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:PassRole",
        w.role_arn("OrganizationAccountAccessRole"),
        **{"iam:PassedToService": "lambda.amazonaws.com"},
    ),
    "pass-the-cloudformation-role-to-lambda": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:PassRole",
        w.role_arn(naming.cloudformation_role_name(w.env)),
        **{"iam:PassedToService": "lambda.amazonaws.com"},
    ),
    "rewrite-another-keys-policy": lambda w, p, i: _iam(
        w,
        p,
        i,
        "kms:PutKeyPolicy",
        w.arn("kms", "key/0000aaaa-0000-0000-0000-000000000000"),
        **{"aws:ResourceTag/Environment": "other", "aws:ResourceTag/Project": "Other"},
    ),
    "rewrite-own-key-policy-bypassing-the-lockout-check": lambda w, p, i: _iam(
        w,
        p,
        i,
        "kms:PutKeyPolicy",
        w.key,
        **{
            "aws:ResourceTag/Environment": w.env,
            "aws:ResourceTag/Project": naming.PROJECT,
            "kms:BypassPolicyLockoutSafetyCheck": "true",
        },
    ),
    "put-a-resource-policy-on-the-secret": lambda w, p, i: _iam(
        w, p, i, "secretsmanager:PutResourcePolicy", w.secret
    ),
    "put-a-policy-on-a-foreign-bucket": lambda w, p, i: _iam(
        w, p, i, "s3:PutBucketPolicy", "arn:aws:s3:::someone-elses-bucket"
    ),
    # A preview's roles are bounded like the environment's, by the previews' own boundary.
    "create-unbounded-preview-function-role": lambda w, p, i: _iam(
        w, p, i, "iam:CreateRole", w.preview_function_role
    ),
    "create-preview-function-role-with-the-base-boundary": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:CreateRole",
        w.preview_function_role,
        **{"iam:PermissionsBoundary": w.boundary_arn},
    ),
    "attach-administrator-access-to-preview-function-role": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:AttachRolePolicy",
        w.preview_function_role,
        **{"iam:PolicyARN": ADMIN_POLICY, "iam:PermissionsBoundary": w.preview_boundary_arn},
    ),
    "trust-preview-function-role-from-another-account": lambda w, p, i: _iam(
        w, p, i, "iam:UpdateAssumeRolePolicy", w.preview_function_role
    ),
    "delete-the-boundary-from-preview-function-role": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:DeleteRolePermissionsBoundary",
        w.preview_function_role,
        **{"iam:PermissionsBoundary": w.preview_boundary_arn},
    ),
    "rewrite-the-preview-boundary-policy": lambda w, p, i: _iam(
        w, p, i, "iam:CreatePolicyVersion", w.preview_boundary_arn
    ),
    "pass-the-preview-cloudformation-role-to-lambda": lambda w, p, i: _iam(
        w,
        p,
        i,
        "iam:PassRole",
        w.role_arn(naming.preview_cloudformation_role_name(w.env)),
        **{"iam:PassedToService": "lambda.amazonaws.com"},
    ),
}


def _escalation_ids() -> list[tuple[str, str, str]]:
    return [(env, role, row) for env in CI_ENVIRONMENTS for role in CI_ROLES for row in ESCALATIONS]


# The function role, given `*:*` (or AdministratorAccess) by a change set: the boundary still caps
# it to its own data. Each request must be denied.
def _bucket_object(w: World, key: str) -> str:
    return f"arn:aws:s3:::{w.bucket}/{key}"


CAPPED: dict[str, Callable[[World], tuple[str, str, dict[str, str]]]] = {
    "create-an-iam-user": lambda w: ("iam:CreateUser", w.arn("iam", "user/x", region=False), {}),
    "assume-another-role": lambda w: ("sts:AssumeRole", w.role_arn("Admin"), {}),
    "read-another-bucket": lambda w: ("s3:GetObject", "arn:aws:s3:::other-bucket/k", TLS),
    "delete-an-upload": lambda w: ("s3:DeleteObject", _bucket_object(w, "uploads/a"), TLS),
    "overwrite-an-upload": lambda w: ("s3:PutObject", _bucket_object(w, "uploads/a"), TLS),
    "read-another-secret": lambda w: (
        "secretsmanager:GetSecretValue",
        w.arn("secretsmanager", "secret:other-AbCdEf"),
        {},
    ),
    # Secrets Manager's suffix is six characters: `app-*` would match `app-admin-AbCdEf` too.
    "read-a-sibling-secret": lambda w: (
        "secretsmanager:GetSecretValue",
        w.sibling_secret,
        {},
    ),
    "decrypt-directly-with-the-key": lambda w: (
        "kms:Decrypt",
        w.key,
        {"aws:ResourceTag/Environment": w.env, "aws:ResourceTag/Project": naming.PROJECT},
    ),
    "change-its-own-policy": lambda w: ("iam:PutRolePolicy", w.function_role, {}),
}

# What the function needs (its own policy, its boundary, the bucket, key and queue policies).
HANDLER_NEEDS: dict[str, Callable[[World], tuple[str, str, dict[str, str]]]] = {
    "get-an-upload": lambda w: ("s3:GetObject", _bucket_object(w, "uploads/a.txt"), TLS),
    "put-a-result": lambda w: ("s3:PutObject", _bucket_object(w, "processed/a.json"), TLS),
    "list-the-bucket-for-404s": lambda w: ("s3:ListBucket", f"arn:aws:s3:::{w.bucket}", TLS),
    "read-its-secret": lambda w: ("secretsmanager:GetSecretValue", w.secret, {}),
    "send-to-the-dead-letter-queue": lambda w: ("sqs:SendMessage", w.queue, TLS),
    "write-its-log-stream": lambda w: (
        "logs:PutLogEvents",
        f"{w.log_group}:log-stream:2026/01/01/[$LATEST]abc",
        {},
    ),
    "create-its-log-stream": lambda w: (
        "logs:CreateLogStream",
        f"{w.log_group}:log-stream:2026/01/01/[$LATEST]abc",
        {},
    ),
    "put-trace-segments": lambda w: ("xray:PutTraceSegments", "*", {}),
    **{
        f"decrypt-through-{service}": (
            lambda w, service=service: (
                "kms:Decrypt",
                w.key,
                {
                    "kms:ViaService": f"{service}.{w.region}.amazonaws.com",
                    "kms:CallerAccount": w.account,
                    "aws:ResourceTag/Environment": w.env,
                    "aws:ResourceTag/Project": naming.PROJECT,
                },
            )
        )
        for service in ("s3", "secretsmanager", "sqs")
    },
    "generate-a-data-key-through-s3": lambda w: (
        "kms:GenerateDataKey",
        w.key,
        {
            "kms:ViaService": f"s3.{w.region}.amazonaws.com",
            "kms:CallerAccount": w.account,
            "aws:ResourceTag/Environment": w.env,
            "aws:ResourceTag/Project": naming.PROJECT,
        },
    ),
}


# What the rotation function needs (its own policy, the shared boundary, the key policy): its
# secret's four rotation steps, a generated password, its log group, the key through Secrets
# Manager.
def _via_secrets_manager(w: World) -> dict[str, str]:
    return {
        "kms:ViaService": f"secretsmanager.{w.region}.amazonaws.com",
        "kms:CallerAccount": w.account,
        "aws:ResourceTag/Environment": w.env,
        "aws:ResourceTag/Project": naming.PROJECT,
    }


ROTATION_NEEDS: dict[str, Callable[[World], tuple[str, str, dict[str, str]]]] = {
    **{
        f"{action.split(':')[1]}-on-its-secret": (lambda w, action=action: (action, w.secret, {}))
        for action in (
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
            "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecretVersionStage",
        )
    },
    "generate-a-password": lambda w: ("secretsmanager:GetRandomPassword", "*", {}),
    "create-its-log-stream": lambda w: (
        "logs:CreateLogStream",
        f"{w.rotation_log_group}:log-stream:2026/01/01/[$LATEST]abc",
        {},
    ),
    "write-its-log-stream": lambda w: (
        "logs:PutLogEvents",
        f"{w.rotation_log_group}:log-stream:2026/01/01/[$LATEST]abc",
        {},
    ),
    "decrypt-through-secretsmanager": lambda w: ("kms:Decrypt", w.key, _via_secrets_manager(w)),
    "generate-a-data-key-through-secretsmanager": lambda w: (
        "kms:GenerateDataKey",
        w.key,
        _via_secrets_manager(w),
    ),
}

# The rotation role given `*:*` by a change set: the (shared) boundary still caps it.
ROTATION_CAPPED: dict[str, Callable[[World], tuple[str, str, dict[str, str]]]] = {
    "create-an-iam-user": CAPPED["create-an-iam-user"],
    "assume-another-role": CAPPED["assume-another-role"],
    "read-another-bucket": CAPPED["read-another-bucket"],
    "read-another-secret": CAPPED["read-another-secret"],
    "rotate-another-secret": lambda w: (
        "secretsmanager:PutSecretValue",
        w.arn("secretsmanager", "secret:other-AbCdEf"),
        {},
    ),
    "decrypt-directly-with-the-key": CAPPED["decrypt-directly-with-the-key"],
    "change-its-own-policy": lambda w: ("iam:PutRolePolicy", w.rotation_role, {}),
    "write-another-log-group": lambda w: (
        "logs:PutLogEvents",
        w.arn("logs", "log-group:/aws/lambda/other:log-stream:x"),
        {},
    ),
}


def _resource_policy(w: World, resource: str) -> Document | None:
    """The resource policy IAM evaluates with a request on this resource, if the stack has one."""
    ids = naming.LogicalId
    if resource.startswith(f"arn:aws:s3:::{w.bucket}"):
        return w.app_policy(ids.DATA_BUCKET_POLICY)
    if resource == w.key:
        return w.app_policy(ids.KEY, "KeyPolicy")
    if resource == w.queue and ids.DEAD_LETTER_QUEUE_POLICY in w.app["Resources"]:
        return w.app_policy(ids.DEAD_LETTER_QUEUE_POLICY)
    return None


def _function(
    w: World, extra: dict[str, Document], action: str, resource: str, context: dict[str, str]
) -> Request:
    identity = {"function": w.app_policy(naming.LogicalId.ROLE_POLICY), **extra}
    return Request(
        w.function_role,
        action,
        resource,
        identity,
        boundary=w.boundary,
        resource_policy=_resource_policy(w, resource),
        context=context,
    )


def _rotation(
    w: World, extra: dict[str, Document], action: str, resource: str, context: dict[str, str]
) -> Request:
    identity = {"rotation": w.app_policy(naming.LogicalId.ROTATION_POLICY), **extra}
    return Request(
        w.rotation_role,
        action,
        resource,
        identity,
        boundary=w.boundary,
        resource_policy=_resource_policy(w, resource),
        context=context,
    )


# The CloudFormation role doing the stack's work: each resource type's create and update.
def _cfn(w: World, action: str, resource: str, **context: str) -> Request:
    identity = w.ci_identity(CiId.cloudformation_role(w.env))
    principal = w.role_arn(naming.cloudformation_role_name(w.env))
    policy = _resource_policy(w, resource)
    return Request(principal, action, resource, identity, resource_policy=policy, context=context)


def _tagged(w: World, prefix: str = "aws:ResourceTag") -> dict[str, str]:
    return {f"{prefix}/Environment": w.env, f"{prefix}/Project": naming.PROJECT}


STACK_NEEDS: dict[str, Callable[[World], Request]] = {
    "create-function-role-with-the-boundary": lambda w: _cfn(
        w, "iam:CreateRole", w.function_role, **{"iam:PermissionsBoundary": w.boundary_arn}
    ),
    "put-function-policy-on-the-bounded-role": lambda w: _cfn(
        w, "iam:PutRolePolicy", w.function_role, **{"iam:PermissionsBoundary": w.boundary_arn}
    ),
    "delete-function-policy-from-the-bounded-role": lambda w: _cfn(
        w, "iam:DeleteRolePolicy", w.function_role, **{"iam:PermissionsBoundary": w.boundary_arn}
    ),
    "set-the-boundary-on-function-role": lambda w: _cfn(
        w,
        "iam:PutRolePermissionsBoundary",
        w.function_role,
        **{"iam:PermissionsBoundary": w.boundary_arn},
    ),
    "tag-function-role": lambda w: _cfn(w, "iam:TagRole", w.function_role),
    "delete-function-role": lambda w: _cfn(w, "iam:DeleteRole", w.function_role),
    "pass-function-role-to-lambda": lambda w: _cfn(
        w, "iam:PassRole", w.function_role, **{"iam:PassedToService": "lambda.amazonaws.com"}
    ),
    "create-rotation-role-with-the-boundary": lambda w: _cfn(
        w, "iam:CreateRole", w.rotation_role, **{"iam:PermissionsBoundary": w.boundary_arn}
    ),
    "put-rotation-policy-on-the-bounded-role": lambda w: _cfn(
        w, "iam:PutRolePolicy", w.rotation_role, **{"iam:PermissionsBoundary": w.boundary_arn}
    ),
    "delete-rotation-role": lambda w: _cfn(w, "iam:DeleteRole", w.rotation_role),
    "pass-rotation-role-to-lambda": lambda w: _cfn(
        w, "iam:PassRole", w.rotation_role, **{"iam:PassedToService": "lambda.amazonaws.com"}
    ),
    "create-the-rotation-function": lambda w: _cfn(
        w,
        "lambda:CreateFunction",
        w.arn("lambda", f"function:{naming.rotation_function_name(w.env)}"),
    ),
    "create-the-rotation-log-group": lambda w: _cfn(w, "logs:CreateLogGroup", w.rotation_log_group),
    "start-the-first-rotation": lambda w: _cfn(w, "secretsmanager:RotateSecret", w.secret),
    "invoke-the-rotation-function-for-rotatesecret": lambda w: _cfn(
        w,
        "lambda:InvokeFunction",
        w.arn("lambda", f"function:{naming.rotation_function_name(w.env)}"),
    ),
    "create-the-function": lambda w: _cfn(
        w, "lambda:CreateFunction", w.arn("lambda", f"function:{naming.function_name(w.env)}")
    ),
    "create-the-data-bucket": lambda w: _cfn(w, "s3:CreateBucket", f"arn:aws:s3:::{w.bucket}"),
    "put-the-data-bucket-policy": lambda w: _cfn(
        w, "s3:PutBucketPolicy", f"arn:aws:s3:::{w.bucket}"
    ),
    "create-the-key-tagged-for-the-environment": lambda w: _cfn(
        # CreateKey has no resource: the CI access template limits it to the region instead.
        w,
        "kms:CreateKey",
        "*",
        **_tagged(w, "aws:RequestTag"),
        **{"aws:RequestedRegion": w.region},
    ),
    "set-the-keys-policy": lambda w: _cfn(w, "kms:PutKeyPolicy", w.key, **_tagged(w)),
    "create-the-secret": lambda w: _cfn(w, "secretsmanager:CreateSecret", w.secret),
    "create-the-queue": lambda w: _cfn(w, "sqs:CreateQueue", w.queue),
    "set-the-queue-policy": lambda w: _cfn(w, "sqs:SetQueueAttributes", w.queue),
    "create-the-log-group": lambda w: _cfn(w, "logs:CreateLogGroup", w.log_group),
    "create-the-alarm-topic": lambda w: _cfn(
        w, "sns:CreateTopic", w.arn("sns", naming.topic_name(w.env))
    ),
    "create-an-alarm": lambda w: _cfn(
        w,
        "cloudwatch:PutMetricAlarm",
        w.arn("cloudwatch", f"alarm:{naming.alarm_name('Lambda-Errors', w.env)}"),
    ),
}


def _ci(w: World, role: str, action: str, resource: str, **context: str) -> Request:
    logical_id, name = CI_ROLES[role]
    return Request(
        w.role_arn(name(w.env)),
        action,
        resource,
        w.ci_identity(logical_id(w.env)),
        resource_policy=_resource_policy(w, resource),
        context=context,
    )


def _cfn_role(w: World) -> str:
    return w.role_arn(naming.cloudformation_role_name(w.env))


def _in_region(w: World) -> dict[str, str]:
    return {"aws:RequestedRegion": w.region}


# A conditional write (If-None-Match: *): creates an object, never overwrites one.
ONCE = {"s3:if-none-match": "*"}

# cloudformation:ChangeSetName as a caller passes a name.
PR_CHANGE_SET = {"cloudformation:ChangeSetName": f"{naming.CHANGE_SET_PR}-dev-abc-20260301T120000Z"}
KEPT_CHANGE_SET = {
    "cloudformation:ChangeSetName": f"{naming.CHANGE_SET_KEPT}-dev-abc-20260301T120000Z"
}

# Each CI role: what it must and must not do (the table in docs/security.md).
CI_DUTIES: dict[tuple[str, str], tuple[str, Callable[[World], Request]]] = {
    ("plan", "create-a-change-set"): (
        ALLOWED,
        lambda w: _ci(w, "plan", "cloudformation:CreateChangeSet", w.stack, **PR_CHANGE_SET),
    ),
    ("plan", "delete-its-change-set-by-id"): (
        ALLOWED,
        lambda w: _ci(
            w, "plan", "cloudformation:DeleteChangeSet", w.stack, **w.change_set_id("pr")
        ),
    ),
    # Change sets by name prefix (naming.CHANGE_SET_*): a pull request's plan never makes the
    # change set an environment's deploy role would execute, nor deletes a kept plan.
    ("plan", "create-a-kept-change-set"): (
        DENIED,
        lambda w: _ci(w, "plan", "cloudformation:CreateChangeSet", w.stack, **KEPT_CHANGE_SET),
    ),
    ("plan", "delete-a-kept-change-set"): (
        DENIED,
        lambda w: _ci(
            w, "plan", "cloudformation:DeleteChangeSet", w.stack, **w.change_set_id("kept")
        ),
    ),
    ("plan", "execute-a-kept-change-set"): (
        DENIED,
        lambda w: _ci(
            w, "plan", "cloudformation:ExecuteChangeSet", w.stack, **w.change_set_id("kept")
        ),
    ),
    ("plan", "describe-a-change-set"): (
        ALLOWED,
        lambda w: _ci(w, "plan", "cloudformation:DescribeChangeSet", w.stack),
    ),
    ("plan", "execute-a-change-set"): (
        DENIED,
        lambda w: _ci(w, "plan", "cloudformation:ExecuteChangeSet", w.stack),
    ),
    ("plan", "pass-the-cloudformation-role"): (
        DENIED,
        lambda w: _ci(
            w,
            "plan",
            "iam:PassRole",
            _cfn_role(w),
            **{"iam:PassedToService": "cloudformation.amazonaws.com"},
        ),
    ),
    ("plan", "list-the-data-buckets-keys"): (
        DENIED,
        lambda w: _ci(w, "plan", "s3:ListBucket", f"arn:aws:s3:::{w.bucket}"),
    ),
    ("plan", "detect-drift"): (
        DENIED,
        lambda w: _ci(w, "plan", "cloudformation:DetectStackDrift", w.stack),
    ),
    ("plan-main", "create-a-change-set"): (
        ALLOWED,
        lambda w: _ci(w, "plan-main", "cloudformation:CreateChangeSet", w.stack, **KEPT_CHANGE_SET),
    ),
    ("plan-main", "create-a-pull-request-change-set"): (
        DENIED,
        lambda w: _ci(w, "plan-main", "cloudformation:CreateChangeSet", w.stack, **PR_CHANGE_SET),
    ),
    ("plan-main", "delete-a-pull-request-change-set"): (
        DENIED,
        lambda w: _ci(
            w, "plan-main", "cloudformation:DeleteChangeSet", w.stack, **w.change_set_id("pr")
        ),
    ),
    ("plan-main", "pass-the-cloudformation-role-to-cloudformation"): (
        ALLOWED,
        lambda w: _ci(
            w,
            "plan-main",
            "iam:PassRole",
            _cfn_role(w),
            **{"iam:PassedToService": "cloudformation.amazonaws.com"},
        ),
    ),
    # No CI job plans the bootstrap stack: the apply may not execute, re-protect or unprotect it.
    ("deploy", "execute-a-change-set-on-the-bootstrap-stack"): (
        DENIED,
        lambda w: _ci(
            w,
            "deploy",
            "cloudformation:ExecuteChangeSet",
            w.bootstrap_stack,
            **w.change_set_id("kept"),
        ),
    ),
    ("deploy", "set-the-bootstrap-stacks-policy"): (
        DENIED,
        lambda w: _ci(w, "deploy", "cloudformation:SetStackPolicy", w.bootstrap_stack),
    ),
    ("deploy", "turn-off-the-bootstrap-stacks-termination-protection"): (
        DENIED,
        lambda w: _ci(w, "deploy", "cloudformation:UpdateTerminationProtection", w.bootstrap_stack),
    ),
    # `plan` never plans the bootstrap stack (only `deploy` does): nothing to create there.
    ("plan-main", "create-a-change-set-on-the-bootstrap-stack"): (
        DENIED,
        lambda w: _ci(w, "plan-main", "cloudformation:CreateChangeSet", w.bootstrap_stack),
    ),
    ("plan-main", "upload-a-new-artifact"): (
        ALLOWED,
        lambda w: _ci(w, "plan-main", "s3:PutObject", w.artifact("handler/x.zip"), **ONCE),
    ),
    ("plan-main", "overwrite-an-artifact"): (
        DENIED,
        lambda w: _ci(w, "plan-main", "s3:PutObject", w.artifact("handler/x.zip")),
    ),
    ("plan", "overwrite-a-large-template"): (
        DENIED,
        lambda w: _ci(
            w,
            "plan",
            "s3:PutObject",
            w.artifact(f"templates/{naming.stack_name(w.env)}/x.json"),
        ),
    ),
    ("plan-main", "execute-a-change-set"): (
        DENIED,
        lambda w: _ci(w, "plan-main", "cloudformation:ExecuteChangeSet", w.stack),
    ),
    # deploy.drift is judged when the kept plan is made: plan-main detects drift, with the
    # configuration reads that needs (the drift role's, for the same main-branch jobs).
    ("plan-main", "detect-drift"): (
        ALLOWED,
        lambda w: _ci(w, "plan-main", "cloudformation:DetectStackDrift", w.stack),
    ),
    ("plan-main", "read-the-function-configuration-for-drift"): (
        ALLOWED,
        lambda w: _ci(
            w,
            "plan-main",
            "lambda:GetFunctionConfiguration",
            w.arn("lambda", f"function:{naming.function_name(w.env)}"),
        ),
    ),
    ("plan-main", "read-an-upload"): (
        DENIED,
        lambda w: _ci(w, "plan-main", "s3:GetObject", _bucket_object(w, "uploads/a"), **TLS),
    ),
    ("plan-main", "read-the-secret-value"): (
        DENIED,
        lambda w: _ci(w, "plan-main", "secretsmanager:GetSecretValue", w.secret),
    ),
    ("deploy", "execute-a-change-set"): (
        ALLOWED,
        lambda w: _ci(
            w, "deploy", "cloudformation:ExecuteChangeSet", w.stack, **w.change_set_id("kept")
        ),
    ),
    ("deploy", "execute-a-kept-change-set-by-name"): (
        ALLOWED,
        lambda w: _ci(w, "deploy", "cloudformation:ExecuteChangeSet", w.stack, **KEPT_CHANGE_SET),
    ),
    ("deploy", "execute-a-pull-request-change-set"): (
        DENIED,
        lambda w: _ci(
            w, "deploy", "cloudformation:ExecuteChangeSet", w.stack, **w.change_set_id("pr")
        ),
    ),
    ("deploy", "execute-a-pull-request-change-set-by-name"): (
        DENIED,
        lambda w: _ci(w, "deploy", "cloudformation:ExecuteChangeSet", w.stack, **PR_CHANGE_SET),
    ),
    ("deploy", "read-the-change-sets-template"): (
        ALLOWED,
        lambda w: _ci(w, "deploy", "cloudformation:GetTemplate", w.stack),
    ),
    ("deploy", "describe-stack-events"): (
        ALLOWED,
        lambda w: _ci(w, "deploy", "cloudformation:DescribeStackEvents", w.stack),
    ),
    ("deploy", "pass-the-cloudformation-role-to-cloudformation"): (
        ALLOWED,
        lambda w: _ci(
            w,
            "deploy",
            "iam:PassRole",
            _cfn_role(w),
            **{"iam:PassedToService": "cloudformation.amazonaws.com"},
        ),
    ),
    ("deploy", "create-a-change-set"): (
        DENIED,
        lambda w: _ci(w, "deploy", "cloudformation:CreateChangeSet", w.stack),
    ),
    # The apply executes the plan; drift was judged when the plan was made.
    ("deploy", "detect-drift"): (
        DENIED,
        lambda w: _ci(w, "deploy", "cloudformation:DetectStackDrift", w.stack),
    ),
    ("deploy", "list-the-data-buckets-keys"): (
        DENIED,
        lambda w: _ci(w, "deploy", "s3:ListBucket", f"arn:aws:s3:::{w.bucket}"),
    ),
    ("deploy", "upload-an-artifact"): (
        DENIED,
        lambda w: _ci(
            w,
            "deploy",
            "s3:PutObject",
            f"arn:aws:s3:::{naming.artifact_bucket(w.account, w.region)}"
            f"/{naming.ARTIFACT_PREFIX}x.zip",
        ),
    ),
    ("cloudformation", "read-a-sibling-secrets-value"): (
        DENIED,
        lambda w: _ci(w, "cloudformation", "secretsmanager:GetSecretValue", w.sibling_secret),
    ),
    ("cloudformation", "read-its-own-secrets-value"): (
        ALLOWED,
        lambda w: _ci(w, "cloudformation", "secretsmanager:GetSecretValue", w.secret),
    ),
    # Resource policies and keys around the boundary (issue: grants outside the account).
    ("cloudformation", "create-a-key-bypassing-the-lockout-check"): (
        DENIED,
        lambda w: _ci(
            w,
            "cloudformation",
            "kms:CreateKey",
            "*",
            **_tagged(w, "aws:RequestTag"),
            **{"aws:RequestedRegion": w.region, "kms:BypassPolicyLockoutSafetyCheck": "true"},
        ),
    ),
    ("cloudformation", "tag-its-key-into-another-environment"): (
        DENIED,
        lambda w: _ci(
            w,
            "cloudformation",
            "kms:TagResource",
            w.key,
            **_tagged(w),
            **{"aws:RequestTag/Environment": "other", "aws:TagKeys": "Environment"},
        ),
    ),
    ("cloudformation", "untag-its-keys-environment"): (
        DENIED,
        lambda w: _ci(
            w,
            "cloudformation",
            "kms:UntagResource",
            w.key,
            **_tagged(w),
            **{"aws:TagKeys": "Environment"},
        ),
    ),
    ("cloudformation", "tag-its-key-with-another-tag"): (
        ALLOWED,
        lambda w: _ci(
            w,
            "cloudformation",
            "kms:TagResource",
            w.key,
            **_tagged(w),
            **{"aws:RequestTag/Team": "data", "aws:TagKeys": "Team"},
        ),
    ),
    ("cloudformation", "configure-the-shared-artifact-bucket"): (
        DENIED,
        lambda w: _ci(
            w,
            "cloudformation",
            "s3:PutBucketPolicy",
            f"arn:aws:s3:::{naming.artifact_bucket(w.account, w.region)}",
        ),
    ),
    ("plan", "write-a-large-template-under-mains-prefix"): (
        DENIED,
        lambda w: _ci(
            w,
            "plan",
            "s3:PutObject",
            w.artifact(f"templates/{naming.stack_name(w.env)}/x.json"),
            **ONCE,
        ),
    ),
    ("plan", "write-a-large-template-under-its-runs-prefix"): (
        ALLOWED,
        lambda w: _ci(w, "plan", "s3:PutObject", w.artifact("templates/pr/0a1b/x.json"), **ONCE),
    ),
    ("plan-main", "describe-a-sibling-secret"): (
        DENIED,
        lambda w: _ci(w, "plan-main", "secretsmanager:DescribeSecret", w.sibling_secret),
    ),
    ("drift", "detect-drift"): (
        ALLOWED,
        lambda w: _ci(w, "drift", "cloudformation:DetectStackDrift", w.stack),
    ),
    # No resource type (Service Authorization Reference): authorized on "*" only, so a grant on
    # log-group ARNs never applied. Drift detection and the change-set read of the log groups
    # call both.
    **{
        (role, f"{verb}-in-its-region"): (
            ALLOWED,
            lambda w, role=role, action=action: _ci(w, role, action, "*", **_in_region(w)),
        )
        for role in ("plan-main", "drift", "cloudformation")
        for verb, action in (
            ("list-log-groups", "logs:DescribeLogGroups"),
            ("describe-index-policies", "logs:DescribeIndexPolicies"),
        )
    },
    ("drift", "list-log-groups-in-another-region"): (
        DENIED,
        lambda w: _ci(
            w, "drift", "logs:DescribeLogGroups", "*", **{"aws:RequestedRegion": "eu-north-1"}
        ),
    ),
    ("drift", "create-a-change-set"): (
        DENIED,
        lambda w: _ci(w, "drift", "cloudformation:CreateChangeSet", w.stack),
    ),
    ("drift", "read-the-secret-value"): (
        DENIED,
        lambda w: _ci(w, "drift", "secretsmanager:GetSecretValue", w.secret),
    ),
}


def _preview_ci(w: World, role: str, action: str, resource: str, **context: str) -> Request:
    logical_id, name = CI_ROLES[role]
    return Request(
        w.role_arn(name(w.env)), action, resource, w.ci_identity(logical_id(w.env)), context=context
    )


def _preview_cfn(w: World, action: str, resource: str, **context: str) -> Request:
    return _preview_ci(w, "preview-cloudformation", action, resource, **context)


def _preview_tagged(w: World, prefix: str = "aws:ResourceTag") -> dict[str, str]:
    return {f"{prefix}/Environment": w.preview, f"{prefix}/Project": naming.PROJECT}


# The preview roles (environments with deploy.previews): what they must and must not do.
PREVIEW_DUTIES: dict[str, tuple[str, Callable[[World], Request]]] = {
    "preview-may-create-a-change-set-tagged-as-a-preview": (
        ALLOWED,
        lambda w: _preview_ci(
            w,
            "preview",
            "cloudformation:CreateChangeSet",
            w.preview_stack,
            **{"aws:RequestTag/PreviewOf": w.env},
        ),
    ),
    "preview-may-not-create-an-untagged-change-set": (
        DENIED,
        lambda w: _preview_ci(
            w,
            "preview",
            "cloudformation:CreateChangeSet",
            w.preview_stack,
            **{"aws:RequestTag/PreviewOf": "other"},
        ),
    ),
    "preview-may-not-execute-on-the-base-stack": (
        DENIED,
        lambda w: _preview_ci(
            w,
            "preview",
            "cloudformation:ExecuteChangeSet",
            w.stack,
            **{"aws:ResourceTag/PreviewOf": w.env},
        ),
    ),
    "preview-may-pass-the-preview-cloudformation-role": (
        ALLOWED,
        lambda w: _preview_ci(
            w,
            "preview",
            "iam:PassRole",
            w.role_arn(naming.preview_cloudformation_role_name(w.env)),
            **{"iam:PassedToService": "cloudformation.amazonaws.com"},
        ),
    ),
    "preview-may-not-pass-the-base-cloudformation-role": (
        DENIED,
        lambda w: _preview_ci(
            w,
            "preview",
            "iam:PassRole",
            _cfn_role(w),
            **{"iam:PassedToService": "cloudformation.amazonaws.com"},
        ),
    ),
    # The bootstrap stack (the artifact bucket) is shared by every environment of the account.
    "preview-may-not-create-a-change-set-on-the-bootstrap-stack": (
        DENIED,
        lambda w: _preview_ci(
            w,
            "preview",
            "cloudformation:CreateChangeSet",
            w.bootstrap_stack,
            **{"aws:RequestTag/PreviewOf": w.env},
        ),
    ),
    "preview-may-not-execute-a-change-set-on-the-bootstrap-stack": (
        DENIED,
        lambda w: _preview_ci(
            w,
            "preview",
            "cloudformation:ExecuteChangeSet",
            w.bootstrap_stack,
            **{"aws:ResourceTag/PreviewOf": w.env},
        ),
    ),
    "preview-may-not-set-the-bootstrap-stacks-policy": (
        DENIED,
        lambda w: _preview_ci(w, "preview", "cloudformation:SetStackPolicy", w.bootstrap_stack),
    ),
    "preview-may-describe-the-bootstrap-stack": (
        ALLOWED,
        lambda w: _preview_ci(w, "preview", "cloudformation:DescribeStacks", w.bootstrap_stack),
    ),
    # The artifact bucket is shared: a preview may add objects, never overwrite one (the code
    # dev's deploy checked and Lambda reads later), nor write the base stack's templates.
    "preview-may-upload-a-new-artifact": (
        ALLOWED,
        lambda w: _preview_ci(w, "preview", "s3:PutObject", w.artifact("handler/x.zip"), **ONCE),
    ),
    "preview-may-not-overwrite-an-artifact": (
        DENIED,
        lambda w: _preview_ci(w, "preview", "s3:PutObject", w.artifact("handler/x.zip")),
    ),
    "preview-may-upload-its-own-large-template": (
        ALLOWED,
        lambda w: _preview_ci(
            w,
            "preview",
            "s3:PutObject",
            w.artifact(f"templates/{naming.stack_name(w.preview)}/x.json"),
            **ONCE,
        ),
    ),
    "preview-may-not-write-the-base-stacks-large-template": (
        DENIED,
        lambda w: _preview_ci(
            w,
            "preview",
            "s3:PutObject",
            w.artifact(f"templates/{naming.stack_name(w.env)}/x.json"),
            **ONCE,
        ),
    ),
    "preview-cloudformation-may-create-the-preview-function-role-with-its-boundary": (
        ALLOWED,
        lambda w: _preview_cfn(
            w,
            "iam:CreateRole",
            w.preview_function_role,
            **{"iam:PermissionsBoundary": w.preview_boundary_arn},
        ),
    ),
    "preview-cloudformation-may-put-the-preview-function-policy": (
        ALLOWED,
        lambda w: _preview_cfn(
            w,
            "iam:PutRolePolicy",
            w.preview_function_role,
            **{"iam:PermissionsBoundary": w.preview_boundary_arn},
        ),
    ),
    "preview-cloudformation-may-pass-the-preview-function-role-to-lambda": (
        ALLOWED,
        lambda w: _preview_cfn(
            w,
            "iam:PassRole",
            w.preview_function_role,
            **{"iam:PassedToService": "lambda.amazonaws.com"},
        ),
    ),
    "preview-cloudformation-may-set-the-preview-keys-policy": (
        ALLOWED,
        # A preview's key has the base's key policy (the same module builds it): KMS needs the
        # key policy's delegation to IAM as well as the identity policy.
        lambda w: dataclasses.replace(
            _preview_cfn(w, "kms:PutKeyPolicy", w.key, **_preview_tagged(w)),
            resource_policy=_resource_policy(w, w.key),
        ),
    ),
    "preview-cloudformation-may-not-create-the-base-function-role": (
        DENIED,
        lambda w: _preview_cfn(
            w, "iam:CreateRole", w.function_role, **{"iam:PermissionsBoundary": w.boundary_arn}
        ),
    ),
    "preview-cloudformation-may-not-put-a-policy-on-the-artifact-bucket": (
        DENIED,
        lambda w: _preview_cfn(
            w, "s3:PutBucketPolicy", f"arn:aws:s3:::{naming.artifact_bucket(w.account, w.region)}"
        ),
    ),
    "preview-cloudformation-may-not-configure-the-artifact-bucket": (
        DENIED,
        lambda w: _preview_cfn(
            w,
            "s3:PutBucketPublicAccessBlock",
            f"arn:aws:s3:::{naming.artifact_bucket(w.account, w.region)}",
        ),
    ),
    "preview-cloudformation-may-not-put-a-bucket-acl": (
        DENIED,
        lambda w: _preview_cfn(w, "s3:PutBucketAcl", f"arn:aws:s3:::{w.preview_bucket}"),
    ),
    "preview-cloudformation-may-not-permit-anyone-to-invoke-the-function": (
        DENIED,
        lambda w: _preview_cfn(
            w, "lambda:AddPermission", w.preview_function, **{"lambda:Principal": "*"}
        ),
    ),
    "preview-cloudformation-may-permit-s3-to-invoke-the-function": (
        ALLOWED,
        lambda w: _preview_cfn(
            w,
            "lambda:AddPermission",
            w.preview_function,
            **{"lambda:Principal": "s3.amazonaws.com"},
        ),
    ),
    "preview-cloudformation-may-not-subscribe-an-outside-endpoint": (
        DENIED,
        lambda w: _preview_cfn(
            w,
            "sns:Subscribe",
            w.preview_topic,
            **{"sns:Endpoint": "https://attacker.example/hook", "sns:Protocol": "https"},
        ),
    ),
    "preview-cloudformation-may-subscribe-a-queue-of-the-account": (
        ALLOWED,
        lambda w: _preview_cfn(
            w,
            "sns:Subscribe",
            w.preview_topic,
            **{"sns:Endpoint": w.arn("sqs", "inbox"), "sns:Protocol": "sqs"},
        ),
    ),
    "preview-cloudformation-may-not-delete-the-base-bucket": (
        DENIED,
        lambda w: _preview_cfn(w, "s3:DeleteBucket", f"arn:aws:s3:::{w.bucket}"),
    ),
}


def _preview_function(w: World, action: str, resource: str, **context: str) -> Request:
    """A preview's function role given ``*:*`` by its (pull request's) change set."""
    return Request(
        w.preview_function_role,
        action,
        resource,
        {"admin": STAR},
        boundary=w.preview_boundary,
        context=context,
    )


# The previews' boundary caps a preview's function role to the preview's own resources.
PREVIEW_CAPPED: dict[str, tuple[str, Callable[[World], Request]]] = {
    "preview-function-role-with-star-cannot-read-the-base-bucket": (
        DENIED,
        lambda w: _preview_function(w, "s3:GetObject", _bucket_object(w, "uploads/a"), **TLS),
    ),
    "preview-function-role-with-star-cannot-read-the-base-secret": (
        DENIED,
        lambda w: _preview_function(w, "secretsmanager:GetSecretValue", w.secret),
    ),
    "preview-function-role-with-star-cannot-create-a-user": (
        DENIED,
        lambda w: _preview_function(w, "iam:CreateUser", w.arn("iam", "user/x", region=False)),
    ),
    "preview-function-role-may-read-its-own-uploads": (
        ALLOWED,
        lambda w: _preview_function(
            w,
            "s3:GetObject",
            f"arn:aws:s3:::{naming.data_bucket(w.preview, w.account)}/uploads/a",
            **TLS,
        ),
    ),
}


# Writes under the results prefix: only the function role (the bucket policy denies the rest).
RESULTS_WRITERS: dict[str, tuple[str, Callable[[World], str]]] = {
    "an-account-administrator": (DENIED, lambda w: w.role_arn("Administrator")),
    "the-cloudformation-role": (DENIED, _cfn_role),
}


def _rotation_rows(w: World) -> dict[str, tuple[str, Request]]:
    """The rotation role: what it needs allowed, and what `*:*` on it still cannot do."""
    rows: dict[str, tuple[str, Request]] = {}
    for row, capped in ROTATION_CAPPED.items():
        action, resource, context = capped(w)
        rows[f"{w.env}-rotation-role-with-star-cannot-{row}"] = (
            DENIED,
            _rotation(w, {"star": STAR}, action, resource, context),
        )
    for row, need in ROTATION_NEEDS.items():
        action, resource, context = need(w)
        rows[f"{w.env}-rotation-role-may-{row}"] = (
            ALLOWED,
            _rotation(w, {}, action, resource, context),
        )
    return rows


# --- who may assume each CI role: GitHub's OIDC subjects, and CloudFormation -------------------
# Each role's trust policy against tokens of the right workflow file and context (allowed) and of
# another file, another ref, another GitHub environment, a pull request outside the preview
# environment, another repository or audience (each denied). Subjects follow the repository's
# OIDC subject customization (docs/ci.md): repo, context, job_workflow_ref.

OIDC = "token.actions.githubusercontent.com"
MAIN = "refs/heads/main"
PULL_REQUEST = "refs/pull/7/merge"
ON_MAIN = f"ref:{MAIN}"


def _sub(context: str, workflow: str, ref: str, repo: str = REPO) -> str:
    return f"repo:{repo}:{context}:job_workflow_ref:{repo}/.github/workflows/{workflow}@{ref}"


def _trust_document(w: World, logical_id: str) -> Document:
    """A role's trust policy as IAM holds it (the provider: the account's, either way)."""
    document = json.loads(
        json.dumps(w.ci["Resources"][logical_id]["Properties"]["AssumeRolePolicyDocument"])
    )
    for statement in document["Statement"]:
        federated = statement["Principal"].get("Federated")
        if isinstance(federated, dict):
            statement["Principal"]["Federated"] = federated["Fn::If"][2]
    return dict(document)


def _github_token(
    w: World, logical_id: str, name: str, sub: str, audience: str = "sts.amazonaws.com"
) -> Request:
    provider = w.arn("iam", f"oidc-provider/{OIDC}", region=False)
    return Request(
        provider,
        "sts:AssumeRoleWithWebIdentity",
        w.role_arn(name),
        {},
        resource_policy=_trust_document(w, logical_id),
        context={f"{OIDC}:aud": audience, f"{OIDC}:sub": sub},
        web_identity=True,
    )


def _github_subjects(w: World) -> dict[str, dict[str, tuple[str, str]]]:
    """Per role: each token's subject and the outcome it must get."""
    env, other_branch = w.env, "refs/heads/x"
    in_env, preview_env = f"environment:{env}", f"environment:preview-{env}"
    smuggled = (  # an environment named like the rest of an allowed subject
        f"repo:{REPO}:{preview_env}:job_workflow_ref:{REPO}/.github/workflows/pr.yml"
        f"@refs/pull/1:job_workflow_ref:{REPO}/.github/workflows/x.yml@refs/heads/a/merge"
    )
    subjects = {
        "plan": {
            "pr-yml-on-a-pull-request": (ALLOWED, _sub("pull_request", "pr.yml", PULL_REQUEST)),
            "another-workflow-on-a-pull-request": (
                DENIED,
                _sub("pull_request", "x.yml", PULL_REQUEST),
            ),
            "pr-yml-on-main": (DENIED, _sub(ON_MAIN, "pr.yml", MAIN)),
            "pr-yml-in-a-github-environment": (DENIED, _sub(in_env, "pr.yml", PULL_REQUEST)),
            "a-pull-request-of-another-repository": (
                DENIED,
                _sub("pull_request", "pr.yml", PULL_REQUEST, repo="octo-org/other"),
            ),
        },
        "plan-main": {
            "wave-yml-on-main": (ALLOWED, _sub(ON_MAIN, "wave.yml", MAIN)),
            "wave-yml-on-another-branch": (
                DENIED,
                _sub(f"ref:{other_branch}", "wave.yml", other_branch),
            ),
            "another-workflow-on-main": (DENIED, _sub(ON_MAIN, "x.yml", MAIN)),
            "wave-yml-called-from-a-pull-request": (DENIED, _sub("pull_request", "wave.yml", MAIN)),
            "wave-yml-in-the-github-environment": (DENIED, _sub(in_env, "wave.yml", MAIN)),
        },
        "deploy": {
            "wave-yml-of-main-in-its-github-environment": (
                ALLOWED,
                _sub(in_env, "wave.yml", MAIN),
            ),
            "wave-yml-of-another-branch-in-its-github-environment": (
                DENIED,
                _sub(in_env, "wave.yml", other_branch),
            ),
            "another-workflow-in-its-github-environment": (DENIED, _sub(in_env, "x.yml", MAIN)),
            "wave-yml-in-another-github-environment": (
                DENIED,
                _sub("environment:other", "wave.yml", MAIN),
            ),
            "wave-yml-on-main-outside-the-environment": (DENIED, _sub(ON_MAIN, "wave.yml", MAIN)),
            "a-pull-request": (DENIED, _sub("pull_request", "pr.yml", PULL_REQUEST)),
        },
        "drift": {
            "drift-yml-on-main": (ALLOWED, _sub(ON_MAIN, "drift.yml", MAIN)),
            "drift-yml-on-another-branch": (
                DENIED,
                _sub(f"ref:{other_branch}", "drift.yml", other_branch),
            ),
            "another-workflow-on-main": (DENIED, _sub(ON_MAIN, "wave.yml", MAIN)),
            "a-pull-request": (DENIED, _sub("pull_request", "drift.yml", PULL_REQUEST)),
        },
    }
    if w.has_previews:
        subjects["preview"] = {
            "pr-yml-in-the-preview-environment": (
                ALLOWED,
                _sub(preview_env, "pr.yml", PULL_REQUEST),
            ),
            "preview-yml-in-the-preview-environment": (
                ALLOWED,
                _sub(preview_env, "preview.yml", PULL_REQUEST),
            ),
            "the-cleanup-on-main": (ALLOWED, _sub(ON_MAIN, "preview-cleanup.yml", MAIN)),
            "a-pull-request-outside-the-preview-environment": (
                DENIED,
                _sub("pull_request", "pr.yml", PULL_REQUEST),
            ),
            "pr-yml-in-the-environments-own-github-environment": (
                DENIED,
                _sub(in_env, "pr.yml", PULL_REQUEST),
            ),
            "another-workflow-in-the-preview-environment": (
                DENIED,
                _sub(preview_env, "x.yml", PULL_REQUEST),
            ),
            "a-branch-in-the-preview-environment": (
                DENIED,
                _sub(preview_env, "pr.yml", other_branch),
            ),
            "the-cleanup-on-another-branch": (
                DENIED,
                _sub(f"ref:{other_branch}", "preview-cleanup.yml", other_branch),
            ),
            "an-environment-named-to-smuggle-a-subject": (DENIED, smuggled),
        }
    return subjects


# CloudFormation assuming a CloudFormation role: the stack it acts for, when it says.
def _cloudformation_assumes(
    w: World, logical_id: str, name: str, account: str, stack: str | None
) -> Request:
    context = {"aws:SourceAccount": account}
    if stack is not None:
        context["aws:SourceArn"] = stack
    return Request(
        "cloudformation.amazonaws.com",
        "sts:AssumeRole",
        w.role_arn(name),
        {},
        resource_policy=_trust_document(w, logical_id),
        context=context,
    )


def _trust_rows(w: World) -> dict[str, tuple[str, Request]]:
    rows: dict[str, tuple[str, Request]] = {}
    for role, cases in _github_subjects(w).items():
        logical_id, name = CI_ROLES[role]
        for case, (expected, sub) in cases.items():
            request = _github_token(w, logical_id(w.env), name(w.env), sub)
            rows[f"{w.env}-{role}-trusts-{case}"] = (expected, request)
        allowed = next(sub for expected, sub in cases.values() if expected == ALLOWED)
        rows[f"{w.env}-{role}-trusts-another-audience"] = (
            DENIED,
            _github_token(w, logical_id(w.env), name(w.env), allowed, audience="https://x"),
        )
    stacks = {
        "its-app-stack": w.stack,
        "the-bootstrap-stack": w.bootstrap_stack,
        "a-preview-stack": w.preview_stack,
        "another-stack": w.arn("cloudformation", "stack/Other/abc-123"),
        "no-stack-named": None,
    }
    served = {
        "cloudformation": {"its-app-stack", "no-stack-named"},  # the bootstrap stack: no role
        "preview-cloudformation": {"a-preview-stack", "no-stack-named"},
    }
    for role, allowed_stacks in served.items():
        if role in PREVIEW_ROLES and not w.has_previews:
            continue
        logical_id, name = CI_ROLES[role]
        for case, stack in stacks.items():
            expected = ALLOWED if case in allowed_stacks else DENIED
            request = _cloudformation_assumes(w, logical_id(w.env), name(w.env), w.account, stack)
            rows[f"{w.env}-{role}-trusts-cloudformation-for-{case}"] = (expected, request)
        rows[f"{w.env}-{role}-trusts-cloudformation-for-another-account"] = (
            DENIED,
            _cloudformation_assumes(w, logical_id(w.env), name(w.env), FOREIGN_ACCOUNT, w.stack),
        )
    return rows


def _all_requests() -> dict[str, tuple[str, Request]]:
    """Every row, by test id, with its expected outcome."""
    rows: dict[str, tuple[str, Request]] = {}
    for env in CI_ENVIRONMENTS:
        w = world(env)
        for role, (logical_id, name) in CI_ROLES.items():
            if role in PREVIEW_ROLES and not w.has_previews:
                continue
            identity = w.ci_identity(logical_id(env))
            principal = w.role_arn(name(env))
            for row, build in ESCALATIONS.items():
                request = build(w, principal, identity)
                policy = _resource_policy(w, request.resource)
                request = dataclasses.replace(request, resource_policy=policy)
                rows[f"{env}-{role}-{row}"] = (DENIED, request)
        for row, capped in CAPPED.items():
            for grant, extra in (("star", STAR), ("admin", STAR)):
                action, resource, context = capped(w)
                rows[f"{env}-function-role-with-{grant}-cannot-{row}"] = (
                    DENIED,
                    _function(w, {grant: extra}, action, resource, context),
                )
        for row, need in HANDLER_NEEDS.items():
            action, resource, context = need(w)
            rows[f"{env}-function-role-may-{row}"] = (
                ALLOWED,
                _function(w, {}, action, resource, context),
            )
        rows.update(_rotation_rows(w))
        rows.update(_trust_rows(w))
        for row, build_stack in STACK_NEEDS.items():
            rows[f"{env}-cloudformation-may-{row}"] = (ALLOWED, build_stack(w))
        for (role, row), (expected, build_duty) in CI_DUTIES.items():
            verb = "may" if expected == ALLOWED else "may-not"
            rows[f"{env}-{role}-{verb}-{row}"] = (expected, build_duty(w))
        if w.has_previews:
            for row, (expected, build_preview) in {**PREVIEW_DUTIES, **PREVIEW_CAPPED}.items():
                rows[f"{env}-{row}"] = (expected, build_preview(w))
        for who, (expected, principal_of) in RESULTS_WRITERS.items():
            principal = principal_of(w)
            rows[f"{env}-results-write-by-{who}"] = (
                expected,
                Request(
                    principal,
                    "s3:PutObject",
                    _bucket_object(w, "processed/a.json"),
                    {"admin": STAR},
                    resource_policy=w.app_policy(naming.LogicalId.DATA_BUCKET_POLICY),
                    context=TLS,
                ),
            )
    return rows


# Queue ingest mode (templates/localqueue.json, the committed template in that mode): only S3,
# for the data bucket, may put a message on the ingest queue; a message is an upload the
# function signs a result for. The queue policy alone decides for the service; for the others,
# `*:*` in their identity policies shows the Deny overrides any grant.
INGEST_ENV = "localqueue"


@cache
def _ingest_world() -> tuple[str, str, Document]:
    """The ingest queue's ARN, the data bucket's ARN and the queue's resolved policy."""
    template = _load(INGEST_ENV)
    block = template["Metadata"]["ServerlessApp"]
    account, region = block["accountId"], block["region"]
    queue = f"arn:aws:sqs:{region}:{account}:{naming.ingest_queue_name(INGEST_ENV)}"
    known = Known(
        account=account,
        region=region,
        attributes={f"{naming.LogicalId.INGEST_QUEUE}.Arn": queue},
    )
    resolved = resolve_template(template, known)
    policy = resolved["Resources"][naming.LogicalId.INGEST_QUEUE_POLICY]["Properties"]
    return (
        queue,
        f"arn:aws:s3:::{naming.data_bucket(INGEST_ENV, account)}",
        policy["PolicyDocument"],
    )


def _send(principal: str, identity: dict[str, Document], **context: str) -> Request:
    queue, _, policy = _ingest_world()
    return Request(
        principal, "sqs:SendMessage", queue, identity, resource_policy=policy, context=context
    )


def _ingest_rows() -> dict[str, tuple[str, Request]]:
    queue, bucket, _ = _ingest_world()
    account = queue.split(":")[4]
    admin = f"arn:aws:iam::{account}:role/Administrator"
    function_role = f"arn:aws:iam::{account}:role/{naming.role_name(INGEST_ENV)}"
    from_bucket = {"aws:SourceArn": bucket, "aws:SourceAccount": account, **TLS}
    return {
        f"{INGEST_ENV}-s3-may-send-the-data-buckets-notifications": (
            ALLOWED,
            _send("s3.amazonaws.com", {}, **from_bucket),
        ),
        f"{INGEST_ENV}-s3-may-not-send-for-another-bucket": (
            DENIED,
            _send(
                "s3.amazonaws.com",
                {},
                **{**from_bucket, "aws:SourceArn": "arn:aws:s3:::someone-elses-bucket"},
            ),
        ),
        f"{INGEST_ENV}-an-account-administrator-may-not-send": (
            DENIED,
            _send(admin, {"admin": STAR}, **TLS),
        ),
        f"{INGEST_ENV}-the-function-role-with-star-may-not-send": (
            DENIED,
            _send(function_role, {"star": STAR}, **TLS),
        ),
        f"{INGEST_ENV}-an-administrator-claiming-the-buckets-source-arn-may-not-send": (
            # aws:SourceArn is set by a service for its resource; a direct caller cannot set it,
            # but even if a request carried it, the administrator has no Allow from the queue.
            DENIED,
            _send(admin, {}, **from_bucket),
        ),
        f"{INGEST_ENV}-an-operators-redrive-through-sqs-may-send": (
            # The dead-letter redrive (StartMessageMoveTask) sends on the operator's behalf.
            ALLOWED,
            _send(admin, {"admin": STAR}, **{**TLS, "aws:ViaAWSService": "true"}),
        ),
    }


ROWS = {**_all_requests(), **_ingest_rows()}


@pytest.fixture(scope="session")  # one per worker, however xdist interleaves modules
def verdicts() -> dict[str, dict[str, Any]]:
    try:
        return simulate({case_id: request for case_id, (_, request) in ROWS.items()})
    except SimulatorMissing as missing:
        pytest.fail(str(missing), pytrace=False)


@pytest.mark.parametrize("case_id", sorted(ROWS))
def test_iam_evaluator_verdict(case_id: str, verdicts: dict[str, dict[str, Any]]) -> None:
    expected, request = ROWS[case_id]
    verdict = verdicts[case_id]
    assert outcome(verdict) == expected, (request.principal, request.action, request.resource)
    # A context key the evaluator ignored would mean the row does not test what it says.
    assert verdict.get("ignoredContextKeys", []) == [], verdict


def test_every_app_stack_role_carries_the_environments_boundary() -> None:
    for env in (*CI_ENVIRONMENTS, "local"):
        template = _load(env)
        roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
        assert roles, env
        for role in roles:
            assert role["Properties"]["PermissionsBoundary"] == {
                "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/"
                + naming.boundary_policy_name(env)
            }, env


def test_boundary_names_no_resource_outside_its_environment() -> None:
    for env in CI_ENVIRONMENTS:
        w = world(env)
        for statement in w.boundary["Statement"]:
            assert statement["Effect"] == "Allow"
            for resource in statement["Resource"]:
                assert resource == "*" or f":{w.account}:" in resource or w.bucket in resource
                assert "*" not in statement["Action"]
