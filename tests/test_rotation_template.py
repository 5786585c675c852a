"""The signing key's rotation in the template: schedule, function, role scope, logs, alarm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator import naming
from generator.config import Environment, load_environments
from generator.contracts import ArtifactRef
from generator.stack import build_template

SHA = "cd" * 32
ARTIFACT = ArtifactRef(key=naming.artifact_key(SHA), sha256=SHA)
ENVS = load_environments(Path("environments"))
L = naming.LogicalId
ROTATION_IDS = {
    L.ROTATION_ROLE, L.ROTATION_POLICY, L.ROTATION_LOG_GROUP, L.ROTATION_FUNCTION,
    L.ROTATION_PERMISSION, L.ROTATION_SCHEDULE, L.ROTATION_ERRORS_ALARM,
}  # fmt: skip


def render(env: Environment) -> dict[str, Any]:
    return build_template(env, ARTIFACT).to_dict()


def with_rotation_days(env: Environment, days: int) -> Environment:
    return env.model_copy(update={"secret": env.secret.model_copy(update={"rotation_days": days})})


@pytest.fixture(params=sorted(ENVS), ids=sorted(ENVS))
def env(request: pytest.FixtureRequest) -> Environment:
    return ENVS[request.param]


def props(tpl: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return dict(tpl["Resources"][logical_id]["Properties"])


def statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


def test_every_environment_rotates_every_thirty_days_by_default(env: Environment) -> None:
    tpl = render(env)
    schedule = props(tpl, L.ROTATION_SCHEDULE)
    assert schedule["SecretId"] == {"Ref": L.SECRET}
    assert schedule["RotationLambdaARN"] == {"Fn::GetAtt": [L.ROTATION_FUNCTION, "Arn"]}
    assert schedule["RotationRules"] == {"AutomaticallyAfterDays": env.secret.rotation_days}
    assert env.secret.rotation_days == 30
    # Secrets Manager invokes the function as soon as the schedule exists.
    assert tpl["Resources"][L.ROTATION_SCHEDULE]["DependsOn"] == [L.ROTATION_PERMISSION]


def test_rotation_days_zero_removes_rotation_and_records_why(env: Environment) -> None:
    tpl = render(with_rotation_days(env, 0))
    assert not ROTATION_IDS & set(tpl["Resources"])
    skips = tpl["Resources"][L.SECRET]["Metadata"]["checkov"]["skip"]
    assert [s["id"] for s in skips] == ["CKV2_AWS_57"]
    key_sids = {s["Sid"] for s in props(tpl, L.KEY)["KeyPolicy"]["Statement"]}
    assert "RotationRoleThroughSecretsManager" not in key_sids


def test_the_rotation_function_ships_in_the_handler_artifact(env: Environment) -> None:
    tpl = render(env)
    function, main = props(tpl, L.ROTATION_FUNCTION), props(tpl, L.FUNCTION)
    assert function["Handler"] == "rotation.lambda_handler"
    assert function["Code"] == main["Code"]
    assert function["Code"]["S3Key"] == f"handler/{SHA}.zip"
    assert function["FunctionName"] == f"ServerlessAppSecretRotation{env.name}"
    assert function["Role"] == {"Fn::GetAtt": [L.ROTATION_ROLE, "Arn"]}
    assert function["Runtime"] == main["Runtime"]
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": L.ROTATION_LOG_GROUP}
    assert tpl["Resources"][L.ROTATION_FUNCTION]["DependsOn"] == [L.ROTATION_POLICY]


def test_rotation_role_may_touch_only_this_secret_and_its_own_logs(env: Environment) -> None:
    tpl = render(env)
    trust = props(tpl, L.ROTATION_ROLE)["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    policy = props(tpl, L.ROTATION_POLICY)
    assert policy["Roles"] == [{"Ref": L.ROTATION_ROLE}]
    s = statements(policy["PolicyDocument"])
    assert set(s) == {"RotateOwnSecret", "GeneratePassword", "WriteOwnLogGroup", "XRayTracing"}
    assert sorted(s["RotateOwnSecret"]["Action"]) == [
        "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
    ]  # fmt: skip
    assert s["RotateOwnSecret"]["Resource"] == [{"Ref": L.SECRET}]
    assert s["GeneratePassword"]["Action"] == ["secretsmanager:GetRandomPassword"]
    assert s["WriteOwnLogGroup"]["Resource"] == [{"Fn::GetAtt": [L.ROTATION_LOG_GROUP, "Arn"]}]
    for statement in s.values():
        assert statement["Effect"] == "Allow"
        assert not any(a.endswith("*") for a in statement["Action"]), statement
    # The application function's own policy gained nothing.
    app = statements(props(tpl, L.ROLE_POLICY)["PolicyDocument"])
    assert app["ReadOwnSecret"]["Action"] == ["secretsmanager:GetSecretValue"]


def test_only_secrets_manager_rotating_this_secret_may_invoke_it(env: Environment) -> None:
    permission = props(render(env), L.ROTATION_PERMISSION)
    assert permission == {
        "Action": "lambda:InvokeFunction",
        "FunctionName": {"Ref": L.ROTATION_FUNCTION},
        "Principal": "secretsmanager.amazonaws.com",
        "SourceAccount": {"Ref": "AWS::AccountId"},
        "SourceArn": {"Ref": L.SECRET},
    }


def test_rotation_role_uses_the_key_only_through_secrets_manager(env: Environment) -> None:
    key = statements(props(render(env), L.KEY)["KeyPolicy"])
    rotation = key["RotationRoleThroughSecretsManager"]
    assert rotation["Principal"] == {"AWS": {"Fn::GetAtt": [L.ROTATION_ROLE, "Arn"]}}
    assert sorted(rotation["Action"]) == [
        "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
    ]  # fmt: skip
    via = rotation["Condition"]["StringEquals"]["kms:ViaService"]
    assert [v["Fn::Sub"] for v in via] == ["secretsmanager.${AWS::Region}.amazonaws.com"]


def test_rotation_logs_are_encrypted_and_kept_like_the_functions(env: Environment) -> None:
    tpl = render(env)
    group = props(tpl, L.ROTATION_LOG_GROUP)
    assert group["LogGroupName"] == f"/aws/lambda/ServerlessAppSecretRotation{env.name}"
    assert group["KmsKeyId"] == {"Fn::GetAtt": [L.KEY, "Arn"]}
    assert group["RetentionInDays"] == env.function.log_retention_days
    policy = "Retain" if env.retain_data else "Delete"
    assert tpl["Resources"][L.ROTATION_LOG_GROUP]["DeletionPolicy"] == policy


def test_a_failed_rotation_step_alarms_the_topic(env: Environment) -> None:
    alarm = props(render(env), L.ROTATION_ERRORS_ALARM)
    assert alarm["AlarmName"] == f"ServerlessApp-SecretRotation-Errors-{env.name}"
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/Lambda", "Errors", "Sum",
    )  # fmt: skip
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": L.ROTATION_FUNCTION}}]
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (1, 1)
    assert alarm["AlarmActions"] == [{"Ref": L.ALARM_TOPIC}]
    assert alarm["OKActions"] == [{"Ref": L.ALARM_TOPIC}]
    # The topic policy lets every ServerlessApp-*-<env> alarm publish, this one included.
    assert alarm["AlarmName"].startswith("ServerlessApp-")
    assert alarm["AlarmName"].endswith(f"-{env.name}")


def _ci_statements(kind: str) -> dict[str, dict[str, Any]]:
    """The prod CloudFormation role's managed-policy statements (``kind="cfn"``) or the plan
    role's inline ones (``kind="plan"``), by Sid."""
    from generator.ci_access import build_ci_access_template

    prod = {"prod": ENVS["prod"]}
    resources = build_ci_access_template(prod, "octo-org/repo").to_dict()["Resources"]
    if kind == "plan":
        (policy,) = resources[naming.CiId.plan_role("prod")]["Properties"]["Policies"]
        return statements(policy["PolicyDocument"])
    role = {"Ref": naming.CiId.cloudformation_role("prod")}
    found: dict[str, dict[str, Any]] = {}
    for resource in resources.values():
        if (
            resource["Type"] == "AWS::IAM::ManagedPolicy"
            and role in resource["Properties"]["Roles"]
        ):
            found.update(statements(resource["Properties"]["PolicyDocument"]))
    return found


def _arn_texts(statement: dict[str, Any]) -> list[str]:
    return [r["Fn::Sub"] if isinstance(r, dict) else r for r in statement["Resource"]]


def test_ci_may_start_a_rotation_of_this_secret_through_this_function_only() -> None:
    cfn = _ci_statements("cfn")
    assert {"secretsmanager:RotateSecret", "secretsmanager:CancelRotateSecret"} <= set(
        cfn["ManageSecret"]["Action"]
    )
    assert cfn["StartSecretRotation"]["Action"] == ["lambda:InvokeFunction"]
    [function] = _arn_texts(cfn["StartSecretRotation"])
    assert function.endswith(":function:ServerlessAppSecretRotationprod")


def test_ci_roles_reach_the_rotation_role_function_and_log_group() -> None:
    cfn, plan = _ci_statements("cfn"), _ci_statements("plan")
    for sid, expected in (
        ("ManageFunction", ":function:ServerlessAppSecretRotationprod"),
        ("ManageLogGroup", ":log-group:/aws/lambda/ServerlessAppSecretRotationprod"),
        ("ManageFunctionRole", ":role/ServerlessAppSecretRotationRoleprod"),
        ("PassFunctionRole", ":role/ServerlessAppSecretRotationRoleprod"),
    ):
        assert any(a.endswith(expected) for a in _arn_texts(cfn[sid])), sid
    for sid, expected in (
        ("ReadFunctionRole", ":role/ServerlessAppSecretRotationRoleprod"),
        ("ReadFunction", ":function:ServerlessAppSecretRotationprod"),
        ("ReadLogGroup", ":log-group:/aws/lambda/ServerlessAppSecretRotationprod"),
    ):
        assert any(a.endswith(expected) for a in _arn_texts(plan[sid])), sid
