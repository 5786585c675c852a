"""Who may assume each CI role: GitHub's OIDC tokens of one repository, each role's by exactly the
workflow file (and context: pull request, default branch, GitHub environment) that uses it, and
CloudFormation acting for the account on the stacks the role serves.

The subjects assume the repository's OIDC subject customization (docs/ci.md, one-time setup):
``include_claim_keys`` ``repo``, ``context``, ``job_workflow_ref``, so that a token's ``sub`` is
``repo:OWNER/REPO:<context>:job_workflow_ref:OWNER/REPO/.github/workflows/<file>@<ref>``, where
the context is ``pull_request``, ``ref:refs/heads/main`` or ``environment:<name>``. A job of a
reusable workflow carries the called file (``wave.yml``), at the ref the caller called it with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from awacs import sts
from awacs.aws import (
    Allow,
    ArnLikeIfExists,
    Condition,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
    StringNotLike,
)
from troposphere import If, Ref, Sub

from generator import arns
from generator.config import Environment
from generator.naming import CiId

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
OIDC_AUDIENCE = "sts.amazonaws.com"
# The branch whose pushes deploy and whose scheduled runs check drift and sweep previews.
MAIN_BRANCH = "main"
MAIN_REF = f"refs/heads/{MAIN_BRANCH}"
# The claims GitHub puts in `sub`, set once on the repository (docs/ci.md).
SUBJECT_CLAIM_KEYS = ("repo", "context", "job_workflow_ref")
# A pull request's jobs run at its merge ref, refs/pull/<number>/merge: the one wildcard.
PULL_REQUEST_REF = "refs/pull/*/merge"
# The GitHub environment whose required reviewers approve a preview of <env>.
PREVIEW_ENVIRONMENT_PREFIX = "preview-"
# A legitimate subject has at most five colons (`repo:R:environment:E:job_workflow_ref:F@REF`;
# a repository, a workflow path and a git ref hold none). A wildcard matches colons too, so a
# subject with more (a GitHub environment named to look like the rest of a subject) is refused
# wherever a wildcard is used.
MORE_COLONS_THAN_A_SUBJECT = "*:*:*:*:*:*:*"


class Workflow:
    """The workflow files (.github/workflows) whose jobs assume the roles."""

    PULL_REQUEST = "pr.yml"  # gates, plans and preview deploys of a pull request
    WAVE = "wave.yml"  # a wave of deploy.yml: plan (plan-main role) and apply (deploy role)
    DRIFT = "drift.yml"
    PREVIEW = "preview.yml"  # destroys a pull request's previews
    PREVIEW_CLEANUP = "preview-cleanup.yml"  # destroys expired previews, on main


@dataclass(frozen=True)
class Subject:
    """One `sub` a role trusts: a context, a workflow file and the ref it runs at."""

    context: str
    workflow: str
    ref: str

    @property
    def wildcard(self) -> bool:
        """Whether the subject is a pattern (only a pull request's ref is)."""
        return "*" in self.ref

    def value(self, repository: str) -> str:
        """The subject for ``repository`` (``owner/name``, or the template's parameter)."""
        workflow_ref = f"{repository}/.github/workflows/{self.workflow}@{self.ref}"
        return f"repo:{repository}:{self.context}:job_workflow_ref:{workflow_ref}"

    def sub(self) -> Sub:
        """The subject in the template, for the repository the stack is given."""
        return Sub(self.value(f"${{{CiId.REPOSITORY}}}"))


def _on_main(workflow: str) -> Subject:
    return Subject(f"ref:{MAIN_REF}", workflow, MAIN_REF)


def github_subjects_plan() -> list[Subject]:
    """The plan role: pr.yml's jobs on a pull request (not in a GitHub environment)."""
    return [Subject("pull_request", Workflow.PULL_REQUEST, PULL_REQUEST_REF)]


def github_subjects_plan_main() -> list[Subject]:
    """The plan-main role: wave.yml's plan jobs on the default branch, outside any environment."""
    return [_on_main(Workflow.WAVE)]


def github_subjects_drift() -> list[Subject]:
    """The drift role: drift.yml on the default branch."""
    return [_on_main(Workflow.DRIFT)]


def github_subjects_deploy(env: str) -> list[Subject]:
    """The deploy role of ``env``: wave.yml's apply jobs of the default branch, in the GitHub
    environment ``env`` (whose rules keep other branches' runs out: docs/ci.md)."""
    return [Subject(f"environment:{env}", Workflow.WAVE, MAIN_REF)]


def preview_environment(env: str) -> str:
    """The GitHub environment of ``env``'s previews, whose reviewers approve each deploy."""
    return f"{PREVIEW_ENVIRONMENT_PREFIX}{env}"


def github_subjects_preview(env: str) -> list[Subject]:
    """The preview role of ``env``: a pull request's deploy (pr.yml) and destroy (preview.yml)
    in the GitHub environment preview-<env> only, and the expiry sweep (preview-cleanup.yml) on
    the default branch."""
    reviewed = f"environment:{preview_environment(env)}"
    return [
        Subject(reviewed, Workflow.PULL_REQUEST, PULL_REQUEST_REF),
        Subject(reviewed, Workflow.PREVIEW, PULL_REQUEST_REF),
        _on_main(Workflow.PREVIEW_CLEANUP),
    ]


def provider_arn() -> If:
    """The provider created here, or the account's existing one (same ARN, by construction)."""
    return If(
        CiId.PROVIDER_CONDITION,
        Ref(CiId.PROVIDER),
        Sub(arns.arn("iam", f"oidc-provider/{GITHUB_OIDC_HOST}", region="")),
    )


def github_trust(subjects: Sequence[Subject]) -> PolicyDocument:
    """Trust GitHub's OIDC tokens for this repository and exactly these subjects: compared
    exactly, or (a pull request's ref) as a pattern that matches no subject with extra colons."""
    audience = {f"{GITHUB_OIDC_HOST}:aud": OIDC_AUDIENCE}
    subs = [subject.sub() for subject in subjects]
    key = f"{GITHUB_OIDC_HOST}:sub"
    if any(subject.wildcard for subject in subjects):
        # A subject without `*` or `?` matches itself only under StringLike too.
        condition = Condition(
            [
                StringEquals(audience),
                StringLike({key: subs}),
                StringNotLike({key: MORE_COLONS_THAN_A_SUBJECT}),
            ]
        )
    else:
        # One StringEquals with both keys: awacs keeps only the last of two same-operator
        # conditions, which would silently drop the audience check.
        condition = Condition(StringEquals({**audience, key: subs}))
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Federated", provider_arn()),
                Action=[sts.AssumeRoleWithWebIdentity],
                Condition=condition,
            )
        ],
    )


def cloudformation_trust(env: Environment, stacks: Sequence[Sub]) -> PolicyDocument:
    """Only CloudFormation, acting for this account, assumes the CloudFormation role, and when it
    names the stack it acts for, only for ``stacks``.

    ``aws:SourceArn`` is compared only if present (ArnLikeIfExists): AWS's CloudFormation guide
    recommends the key against the confused deputy, but does not say that CloudFormation sends it
    when it assumes a stack's service role, and a role CloudFormation could not assume would stop
    every deploy. ``aws:SourceAccount`` stays required."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Service", "cloudformation.amazonaws.com"),
                Action=[sts.AssumeRole],
                Condition=Condition(
                    [
                        StringEquals("aws:SourceAccount", env.account_id),
                        ArnLikeIfExists("aws:SourceArn", list(stacks)),
                    ]
                ),
            )
        ],
    )
