"""``access plan|deploy``: the account-access stack through the same change-set engine as the
app stack, run once per account by an administrator (docs/ci.md).

The template (``templates/ci-access.json``, about 280 KB) is far over CloudFormation's 51,200-byte
inline limit, so it goes by URL from the account's artifact bucket: ``deploy`` creates (or
updates) the bootstrap stack first. GitHub's OIDC provider can exist only once per account: an
existing one is detected and reused (``CreateOidcProvider=false``), unless this stack made it.
The plan is shown, the guard judges it, and ``deploy`` asks for confirmation on a terminal
(``--yes`` or no terminal: none).

What ``plan`` and ``status`` say about it is ``access_state.drift_line``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from generator import contracts, naming
from generator.config import Environment, load_environments
from generator.deploy import apply
from generator.deploy import plan as plan_view
from generator.deploy.access_state import STACK, template_file
from generator.deploy.apply import Context, Planned, StackSpec, UpToDate
from generator.deploy.aws import check_account
from generator.deploy.changeset import template_sha256
from generator.deploy.runtime import Runtime
from generator.deploy.stacks import describe_stack
from generator.deploy.values import Redaction
from generator.errors import ExitCode, GeneratorError

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
_REMOTE = re.compile(
    r"github\.com[:/](?P<repo>[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+?)(?:\.git)?$"
)


@dataclass(frozen=True)
class AccessRequest:
    """``access plan`` (apply False) or ``access deploy`` for the account of ``target.env``."""

    target: Any  # pipeline.StackTarget (kept loose: pipeline imports this module)
    apply: bool = False
    repository: str | None = None  # owner/name; default: the stack's, else git's origin
    yes: bool = False


# The repository an emulated account-access stack trusts when none is given or found.
EMULATED_REPOSITORY = "example-org/serverlessapp"


def git_repository(root: Path) -> str | None:
    """owner/name of the checkout's GitHub origin, if it has one."""
    try:
        url = subprocess.run(
            ["git", "remote", "get-url", "origin"],  # noqa: S607 - git from PATH
            cwd=root, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    found = _REMOTE.search(url)
    return found["repo"] if found else None


def existing_provider(iam: Any) -> str | None:
    """The ARN of the account's GitHub OIDC provider, if there is one."""
    for provider in iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", []):
        arn = str(provider.get("Arn", ""))
        if arn.endswith(f"oidc-provider/{GITHUB_OIDC_HOST}"):
            return arn
    return None


def parameters(ctx: Context, request: AccessRequest, root: Path) -> dict[str, str]:
    """GitHubRepository and CreateOidcProvider, from the request, the stack and the account."""
    stack = describe_stack(ctx.clients.cloudformation, STACK)
    previous = stack.parameters if stack is not None else {}
    repository = request.repository or previous.get("GitHubRepository") or git_repository(root)
    if not repository and ctx.env.emulator:
        # Nothing on the emulator is reachable from GitHub: any well-formed subject will do.
        repository = EMULATED_REPOSITORY
        ctx.out(f"note: no GitHub repository given: the emulated roles trust {repository} "
                "(give --repository OWNER/NAME for another)")  # fmt: skip
    if not repository:
        raise GeneratorError(
            "no GitHub repository: expected --repository OWNER/NAME (or a git origin on "
            "github.com, or an account-access stack that names one)",
            ExitCode.USAGE,
        )
    ours = previous.get("CreateOidcProvider") == "true"
    provider = existing_provider(ctx.clients.client("iam"))
    create = "true" if ours or provider is None else "false"
    if provider is not None and not ours:
        ctx.out(f"GitHub's OIDC provider exists in this account ({provider}): reused")
    return {"GitHubRepository": repository, "CreateOidcProvider": create}


def _refuse_stale(root: Path, body: str) -> None:
    from generator.synth import render_ci_access

    envs = load_environments(root / naming.ENVIRONMENTS_DIR, None, root)
    if render_ci_access(envs)[template_file()] != body:
        raise GeneratorError(
            f"{template_file()} is out of date with the environment files and the generator; "
            "expected what `python -m generator synth` writes: run it (and commit the result)",
            ExitCode.USAGE,
        )


def access(request: AccessRequest, runtime: Runtime) -> int:
    """Plan, and with ``apply`` deploy, the account-access stack of the target's account."""
    from generator.deploy.pipeline import (
        deploy_bootstrap,
        git_commit,
        target_environment,
        timeout_seconds,
    )

    target = request.target
    root: Path = target.root
    env: Environment = target_environment(target)
    try:
        body = (root / template_file()).read_text(encoding="utf-8")
    except OSError as exc:
        raise GeneratorError(
            f"cannot read {template_file()}: {exc.strerror}; run `python -m generator synth`",
            ExitCode.USAGE,
        ) from None
    _refuse_stale(root, body)
    clients = runtime.clients(target.connection, env)
    identity = check_account(clients.sts, env.account_id, env.name)
    timeout = timeout_seconds(target, env)
    ctx = Context(clients, identity, env, runtime.clock, runtime.out, timeout).with_deadline()
    bucket = naming.artifact_bucket(env.account_id, env.region)
    if request.apply:
        bucket = deploy_bootstrap(root, env, ctx)  # the template goes by URL from its bucket
    elif describe_stack(clients.cloudformation, naming.BOOTSTRAP_STACK_NAME) is None:
        runtime.out(
            f"bootstrap stack {naming.BOOTSTRAP_STACK_NAME} does not exist yet: the account-access "
            f"template ({len(body.encode())} bytes) goes by URL from its bucket, so `access "
            "deploy` creates it first; nothing to plan before that"
        )
        return ExitCode.OK
    ctx = replace(ctx, artifact_bucket=bucket)
    spec = StackSpec(
        environment=env.name,
        stack_name=STACK,
        template_body=body,
        tags={
            **naming.base_tags(None),
            contracts.TEMPLATE_TAG: template_sha256(body),
            contracts.COMMIT_TAG: git_commit(root),
        },
        termination_protection=True,
        protection_only_enables=True,
        parameters=parameters(ctx, request, root),
    )
    result = apply.make_plan(ctx, spec)
    if isinstance(result, UpToDate):
        runtime.out(plan_view.no_changes_text(env.name, STACK).rstrip())
        if request.apply and result.stack is not None:
            apply.reconcile(ctx, spec, result.stack)
        return ExitCode.OK
    view = plan_view.Plan(
        env.name, STACK, result.change_set, result.change_set_type, result.verdict,
        Redaction.from_template(spec.template), template=spec.template,
    )  # fmt: skip
    runtime.out(plan_view.render_text(view).rstrip())
    if not request.apply or not result.verdict.ok:
        apply.discard(ctx, result)
        return ExitCode.OK if result.verdict.ok else ExitCode.BLOCKED
    if not _confirmed(request, runtime, env, result):
        apply.discard(ctx, result)
        runtime.out("not applied; the change set was deleted")
        return ExitCode.BLOCKED
    apply.execute(ctx, spec, result)
    return ExitCode.OK


def _confirmed(
    request: AccessRequest, runtime: Runtime, env: Environment, planned: Planned
) -> bool:
    """Whether to execute: --yes, or no terminal to ask (CI, a script), or the answer."""
    if request.yes or not sys.stdin.isatty():
        return True
    answer = runtime.confirm(
        f"Apply change set {planned.change_set.name} to {STACK} in account {env.account_id}? "
        "Type yes: "
    )
    return answer.strip().lower() == "yes"
