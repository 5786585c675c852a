"""Who may assume each CI role: GitHub's OIDC tokens of one repository, by subject (pull
request, default branch, GitHub environment), and CloudFormation acting for the account."""

from __future__ import annotations

from collections.abc import Sequence

from awacs import sts
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import If, Ref, Sub

from generator import arns
from generator.config import Environment
from generator.naming import CiId

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
OIDC_AUDIENCE = "sts.amazonaws.com"
# The branch whose pushes deploy and whose scheduled runs check drift.
MAIN_BRANCH = "main"


def provider_arn() -> If:
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
                Principal=Principal("Federated", provider_arn()),
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
