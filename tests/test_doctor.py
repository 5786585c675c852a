"""``doctor``: each setup check against recorded GitHub and AWS answers (no network), and the
CLI's checklist and exit code when credentials and a token are missing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from generator import doctor, naming
from generator.cli import main
from generator.deploy.aws import make_clients
from generator.deploy.runtime import default_runtime
from generator.workspace import Workspace

REPO = "octo-org/serverlessapp"


def github_answers(**overrides: tuple[int, Any]) -> dict[str, tuple[int, Any]]:
    """A repository set up as docs/ci.md says (prod needs approval; dev has previews)."""
    main_only = {"protected_branches": False, "custom_branch_policies": True}
    reviewers = {"type": "required_reviewers", "prevent_self_review": True,
                 "reviewers": [{"type": "Team", "reviewer": {"slug": "platform"}}]}  # fmt: skip
    answers: dict[str, tuple[int, Any]] = {
        f"/repos/{REPO}/environments/prod": (
            200, {"deployment_branch_policy": main_only, "protection_rules": [reviewers]}
        ),
        f"/repos/{REPO}/environments/dev": (
            200, {"deployment_branch_policy": main_only, "protection_rules": []}
        ),
        f"/repos/{REPO}/environments/preview-dev": (200, {"protection_rules": [reviewers]}),
        f"/repos/{REPO}/labels/preview": (200, {"name": "preview"}),
        f"/repos/{REPO}/actions/oidc/customization/sub": (
            200, {"use_default": False, "include_claim_keys": doctor.SUBJECT_CLAIMS}
        ),
        f"/repos/{REPO}/branches/main/protection": (
            200, {"required_status_checks": {"contexts": ["gates (make test)"]}}
        ),
    }  # fmt: skip
    for env in ("prod", "dev"):
        answers[f"/repos/{REPO}/environments/{env}/deployment-branch-policies"] = (
            200, {"branch_policies": [{"name": "main"}]}
        )  # fmt: skip
    answers.update(overrides)
    return answers


def checks_of(env_name: str, answers: dict[str, tuple[int, Any]], repo_root: Path) -> list[Any]:
    from generator.config import load_environments

    envs = load_environments(repo_root / "environments", None, repo_root)
    return doctor.github_checks(
        envs[env_name], envs.values(), REPO, lambda path: answers.get(path, (404, None)), repo_root
    )


def failing(checks: list[Any]) -> list[str]:
    return [c.what for c in checks if c.ok is False]


def test_a_repository_set_up_as_documented_passes(repo_root: Path) -> None:
    assert failing(checks_of("prod", github_answers(), repo_root)) == []
    assert failing(checks_of("dev", github_answers(), repo_root)) == []


@pytest.mark.parametrize(
    ("env", "path", "answer", "fails"),
    [
        ("prod", "environments/prod", (404, None), "GitHub environment prod"),
        ("prod", "environments/prod", (200, {"protection_rules": []}),
         "prod: required reviewers"),
        ("prod", "environments/prod/deployment-branch-policies",
         (200, {"branch_policies": [{"name": "main"}, {"name": "*"}]}),
         "prod: deploys only from main"),
        ("dev", "environments/preview-dev", (404, None), "GitHub environment preview-dev"),
        ("dev", "labels/preview", (404, None), "label 'preview'"),
        ("dev", "actions/oidc/customization/sub", (200, {"use_default": True}),
         "OIDC subject names the workflow"),
        ("dev", "branches/main/protection", (404, None), "branch main requires the gates"),
    ],
)  # fmt: skip
def test_each_missing_setting_fails_its_own_check_with_a_fix(
    repo_root: Path, env: str, path: str, answer: tuple[int, Any], fails: str
) -> None:
    answers = github_answers(**{f"/repos/{REPO}/{path}": answer})
    checks = checks_of(env, answers, repo_root)
    failed = [c for c in checks if c.ok is False]
    assert next(c.what for c in failed).startswith(fails), [c.what for c in failed]
    assert all(c.fix for c in failed)


def test_reviewers_on_an_environment_without_approval_fail(repo_root: Path) -> None:
    reviewers = {"type": "required_reviewers", "prevent_self_review": True, "reviewers": [{}]}
    answers = github_answers(**{f"/repos/{REPO}/environments/dev": (200, {
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
        "protection_rules": [reviewers]})})  # fmt: skip
    assert "dev: no required reviewers (deploy.approval is false)" in failing(
        checks_of("dev", answers, repo_root)
    )


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_the_aws_half_names_each_missing_stack_and_the_provider(repo_root: Path, aws: None) -> None:
    from generator.config import load_environments

    env = load_environments(repo_root / "environments", ["dev"], repo_root)["dev"]
    env = env.model_copy(update={"account_id": "123456789012"})  # moto's account
    runtime = replace(default_runtime(), clients=lambda c, e: make_clients(e.region))
    checks = doctor.aws_checks(env, repo_root, runtime, doctor.Connection(Workspace(repo_root)))
    assert failing(checks)[:3] == [
        f"stack {naming.BOOTSTRAP_STACK_NAME} deployed",
        f"stack {naming.CI_ACCESS_STACK_NAME} deployed",
        "GitHub's OIDC provider (token.actions.githubusercontent.com)",
    ]
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ThumbprintList=["a" * 40]
    )
    checks = doctor.aws_checks(env, repo_root, runtime, doctor.Connection(Workspace(repo_root)))
    assert "GitHub's OIDC provider (token.actions.githubusercontent.com)" not in failing(checks)


def test_without_credentials_or_token_it_names_each_missing_piece_and_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no `gh` to ask for a token
    assert main(["doctor", "--env", "dev", "--repository", REPO]) == 1
    out = capsys.readouterr().out
    assert "✗ account_id 111111111111 is a real account: a placeholder" in out
    assert "✗ AWS credentials for the account: cannot determine the AWS identity" in out
    assert "✗ GitHub token: none found" in out
    assert "Traceback" not in out
    assert out.rstrip().endswith("3 check(s) fail")


class FakeLambda:
    def __init__(self, unreserved: int, reserved_now: int = 0) -> None:
        self.unreserved, self.reserved_now = unreserved, reserved_now

    def get_account_settings(self) -> dict[str, Any]:
        limits = {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": self.unreserved}
        return {"AccountLimit": limits}

    def get_function_concurrency(self, FunctionName: str) -> dict[str, Any]:
        return {"ReservedConcurrentExecutions": self.reserved_now}


@pytest.mark.parametrize(
    ("unreserved", "reserved_now", "holds"),
    [(1000, 0, True), (150, 0, False), (100, 100, True), (10, 0, False)],
)
def test_the_quota_must_leave_100_unreserved_after_the_reservation(
    repo_root: Path, unreserved: int, reserved_now: int, holds: bool
) -> None:
    from generator.config import load_environments

    env = load_environments(repo_root / "environments", ["prod"], repo_root)["prod"]
    env = env.model_copy(
        update={"function": env.function.model_copy(update={"reserved_concurrency": 100})}
    )
    check = doctor.concurrency_check(FakeLambda(unreserved, reserved_now), env)
    assert check.ok is holds, check.detail
