"""``doctor``: everything the setup of an environment needs, each checked, each with its fix.

The AWS half (with the environment's credentials, or the embedded emulator's): the account id is
real and the caller's, the bootstrap and account-access stacks are deployed and current, GitHub's
OIDC provider exists, and Lambda's concurrency quota leaves room for the function's reservation.
The GitHub half (REST API, a token from ``GITHUB_TOKEN`` or ``gh auth token``): the environment
exists, deploys only from ``main``, has required reviewers (who may not approve their own runs)
exactly when ``deploy.approval`` is true, previews have their reviewed environment and label,
the repository's OIDC subject names the workflow, and ``main`` requires the gates. An emulated
environment has no GitHub side. Exit 0 only when every check holds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator import contracts, naming
from generator.ci_access.trust import (
    GITHUB_OIDC_HOST,
    MAIN_BRANCH,
    SUBJECT_CLAIM_KEYS,
    preview_environment,
)
from generator.config import Environment, load_environments
from generator.deploy.aws import caller_identity
from generator.deploy.changeset import template_sha256
from generator.deploy.runtime import Connection, Runtime
from generator.deploy.stacks import describe_stack
from generator.errors import ExitCode, GeneratorError
from generator.workspace import Workspace

SUBJECT_CLAIMS = list(SUBJECT_CLAIM_KEYS)
OIDC_HOST = GITHUB_OIDC_HOST
MAIN = MAIN_BRANCH
PREVIEW_LABEL = "preview"
# Lambda keeps this much of the account's concurrency unreserved, whatever is reserved.
LAMBDA_UNRESERVED_MINIMUM = 100
_PLACEHOLDER = re.compile(r"^(\d)\1{11}$")  # 111111111111 and the like
_API = "https://api.github.com"

GitHubGet = Callable[[str], tuple[int, Any]]


@dataclass(frozen=True)
class Check:
    """One line of the checklist: holds (True), fails (False) or does not apply (None)."""

    what: str
    ok: bool | None
    detail: str = ""
    fix: str = ""

    def line(self) -> str:
        mark = {True: "✓", False: "✗", None: "-"}[self.ok]
        text = f"  {mark} {self.what}"
        if self.detail:
            text += f": {self.detail}"
        if self.ok is False and self.fix:
            text += f"\n      fix: {self.fix}"
        return text


@dataclass(frozen=True)
class DoctorRequest:
    """Which environments (all: every file), reached how, for which repository."""

    workspace: Workspace
    envs: tuple[str, ...] = ()
    profile: str | None = None
    endpoint_url: str | None = None
    repository: str | None = None
    token: str | None = None  # None: GITHUB_TOKEN, else `gh auth token`


@dataclass
class Report:
    """The checklist of one run, per environment."""

    sections: dict[str, list[Check]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok is not False for checks in self.sections.values() for c in checks)


# --------------------------------------------------------------------------------- AWS half


def aws_checks(
    env: Environment, root: Path, runtime: Runtime, connection: Connection
) -> list[Check]:
    """The account, its stacks, its OIDC provider and Lambda's quota, for one environment."""
    checks: list[Check] = []
    placeholder = _PLACEHOLDER.match(env.account_id) and not env.emulator
    checks.append(
        Check(
            f"account_id {env.account_id} is a real account",
            not placeholder,
            "a placeholder" if placeholder else "",
            f"set account_id in environments/{env.name}.yaml to the account's 12-digit id",
        )
    )
    try:
        clients = runtime.clients(connection, env)
        identity = caller_identity(clients.sts)
    except (GeneratorError, ClientError, BotoCoreError) as exc:
        checks.append(
            Check(
                "AWS credentials for the account",
                False,
                str(exc).split("; expected")[0],
                f"credentials of account {env.account_id} (AWS_PROFILE=... or `aws sso login`); "
                "the other AWS checks need them",
            )
        )
        return checks
    theirs = identity.account == env.account_id
    checks.append(
        Check(
            f"the credentials are account {env.account_id}'s",
            theirs,
            "" if theirs else f"they are {identity.account}'s ({identity.arn})",
            f"use credentials of account {env.account_id}, or fix account_id in "
            f"environments/{env.name}.yaml",
        )
    )
    if identity.account != env.account_id:
        return checks
    cfn = clients.cloudformation
    checks.append(
        _stack_check(
            cfn,
            root,
            naming.BOOTSTRAP_STACK_NAME,
            "bootstrap.json",
            f"python -m generator deploy --env {env.name}",
        )
    )
    checks.append(
        _stack_check(
            cfn,
            root,
            naming.CI_ACCESS_STACK_NAME,
            "ci-access.json",
            f"python -m generator access deploy --env {env.name}",
        )
    )
    checks.append(_oidc_check(clients.client("iam"), env))
    if env.emulator:
        checks.append(Check("Lambda's concurrency quota", None, "the emulator has no quotas"))
    else:
        checks.append(concurrency_check(clients.client("lambda"), env))
    return checks


def _stack_check(cfn: Any, root: Path, stack_name: str, template: str, fix: str) -> Check:
    path = root / naming.TEMPLATES_DIR / template
    try:
        wanted = template_sha256(path.read_text(encoding="utf-8"))
    except OSError:
        return Check(
            f"stack {stack_name}", False, f"{path} is missing", "python -m generator synth"
        )
    try:
        stack = describe_stack(cfn, stack_name)
    except ClientError as exc:
        return Check(f"stack {stack_name}", False, f"cannot read it ({exc})", fix)
    if stack is None:
        return Check(f"stack {stack_name} deployed", False, "it does not exist", fix)
    current = stack.tags.get(contracts.TEMPLATE_TAG) == wanted
    settled = stack.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    detail = (
        ""
        if current and settled
        else (f"{stack.status}" + ("" if current else f", not templates/{template} as committed"))
    )
    return Check(f"stack {stack_name} deployed and current", current and settled, detail, fix)


def _oidc_check(iam: Any, env: Environment) -> Check:
    try:
        providers = iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", [])
    except (ClientError, BotoCoreError) as exc:
        return Check("GitHub's OIDC provider", False, f"cannot list providers ({exc})")
    found = any(str(p.get("Arn", "")).endswith(f"oidc-provider/{OIDC_HOST}") for p in providers)
    return Check(
        f"GitHub's OIDC provider ({OIDC_HOST})",
        found,
        "" if found else "the account has none",
        f"python -m generator access deploy --env {env.name} (creates it, or reuses one)",
    )


def concurrency_check(lam: Any, env: Environment) -> Check:
    wanted = env.function.reserved_concurrency or 0
    what = f"Lambda's concurrency quota leaves {LAMBDA_UNRESERVED_MINIMUM} unreserved"
    try:
        settings = lam.get_account_settings()
    except (ClientError, BotoCoreError) as exc:
        return Check(what, False, f"cannot read the account settings ({exc})")
    limits = settings.get("AccountLimit", {})
    unreserved = int(limits.get("UnreservedConcurrentExecutions", 0))
    total = int(limits.get("ConcurrentExecutions", 0))
    try:
        config = lam.get_function_concurrency(FunctionName=naming.function_name(env.name))
        reserved_now = int(config.get("ReservedConcurrentExecutions") or 0)
    except (ClientError, BotoCoreError):
        reserved_now = 0
    left = unreserved - max(0, wanted - reserved_now)
    return Check(
        what + (f" with the function's {wanted} reserved" if wanted else ""),
        left >= LAMBDA_UNRESERVED_MINIMUM,
        f"quota {total}, unreserved {unreserved}, {left} left after this reservation",
        f"ask for a higher concurrency quota (Service Quotas: Lambda, Concurrent executions) "
        f"or lower function.reserved_concurrency in environments/{env.name}.yaml",
    )


# ------------------------------------------------------------------------------ GitHub half


def github_token(given: str | None) -> str | None:
    """The token to read the repository's settings with: given, GITHUB_TOKEN, or gh's."""
    if given or os.environ.get("GITHUB_TOKEN"):
        return given or os.environ["GITHUB_TOKEN"]
    try:
        done = subprocess.run(
            ["gh", "auth", "token"],  # noqa: S607 - the GitHub CLI from PATH, if any
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def github_api(token: str, base: str | None = None) -> GitHubGet:
    """GET a path of GitHub's REST API: (HTTP status, parsed JSON or None)."""
    root = (base or os.environ.get("GITHUB_API_URL") or _API).rstrip("/")

    def get(path: str) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 - https, GitHub's API
            f"{root}{path}",
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "serverlessapp-doctor",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as reply:  # noqa: S310
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except (urllib.error.URLError, OSError) as exc:
            raise GeneratorError(f"could not reach {root} ({exc})", ExitCode.FAILED) from None

    return get


def _required_checks(root: Path) -> list[str]:
    """The pull-request gates `main` must require: the pr.yml jobs that gate a merge."""
    import yaml

    try:
        workflow = yaml.safe_load((root / ".github" / "workflows" / "pr.yml").read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    jobs = (workflow or {}).get("jobs") or {}
    gates = jobs.get("gates") or {}
    return [str(gates.get("name", "gates"))] if gates else []


def github_checks(
    env: Environment, envs: Iterable[Environment], repository: str, get: GitHubGet, root: Path
) -> list[Check]:
    """The repository's settings this environment needs."""
    checks: list[Check] = []
    settings = f"https://github.com/{repository}/settings/environments"
    status, environment = get(f"/repos/{repository}/environments/{env.name}")
    checks.append(
        Check(
            f"GitHub environment {env.name}",
            status == 200,
            "" if status == 200 else f"HTTP {status}",
            f"create it: {settings} (or `gh api --method PUT repos/{repository}/environments/"
            f"{env.name}`)",
        )
    )
    if status == 200:
        checks += _environment_rules(env.name, env.deploy.approval, environment, repository, get)
    if env.deploy.previews:
        name = preview_environment(env.name)
        status, preview_env = get(f"/repos/{repository}/environments/{name}")
        checks.append(
            Check(
                f"GitHub environment {name} (previews run after a reviewer approves)",
                status == 200,
                "" if status == 200 else f"HTTP {status}",
                f"create it with required reviewers: {settings}",
            )
        )
        if status == 200:
            checks += _environment_rules(name, True, preview_env, repository, get, branches=False)
        status, _ = get(f"/repos/{repository}/labels/{PREVIEW_LABEL}")
        checks.append(
            Check(
                f"label {PREVIEW_LABEL!r}",
                status == 200,
                "" if status == 200 else "missing",
                f"gh label create {PREVIEW_LABEL} --repo {repository}",
            )
        )
    status, claims = get(f"/repos/{repository}/actions/oidc/customization/sub")
    keys = (claims or {}).get("include_claim_keys") if status == 200 else None
    custom = (
        status == 200 and not (claims or {}).get("use_default", True) and keys == SUBJECT_CLAIMS
    )
    checks.append(
        Check(
            f"OIDC subject names the workflow ({', '.join(SUBJECT_CLAIMS)})",
            custom,
            "" if custom else f"HTTP {status}, {json.dumps(claims)}",
            f"gh api --method PUT repos/{repository}/actions/oidc/customization/sub -F "
            "use_default=false -f 'include_claim_keys[]=repo' -f 'include_claim_keys[]=context' "
            "-f 'include_claim_keys[]=job_workflow_ref' (docs/ci.md)",
        )
    )
    required = _required_checks(root)
    status, protection = get(f"/repos/{repository}/branches/{MAIN}/protection")
    contexts = set((protection or {}).get("required_status_checks", {}).get("contexts") or [])
    contexts |= {
        c.get("context")
        for c in (protection or {}).get("required_status_checks", {}).get("checks") or []
    }
    missing = [c for c in required if c not in contexts]
    checks.append(
        Check(
            f"branch {MAIN} requires the gates ({', '.join(required) or 'pr.yml'})",
            status == 200 and not missing,
            f"HTTP {status}" if status != 200 else (f"missing {missing}" if missing else ""),
            f"branch protection on {MAIN}: require the status checks {required} "
            f"(https://github.com/{repository}/settings/branches)",
        )
    )
    return checks


def _environment_rules(
    name: str,
    approval: bool,
    environment: Any,
    repository: str,
    get: GitHubGet,
    branches: bool = True,
) -> list[Check]:
    checks: list[Check] = []
    rules = (environment or {}).get("protection_rules") or []
    reviewers = [r for r in rules if r.get("type") == "required_reviewers"]
    has_reviewers = bool(reviewers and reviewers[0].get("reviewers"))
    no_self = bool(reviewers and reviewers[0].get("prevent_self_review"))
    settings = f"https://github.com/{repository}/settings/environments"
    if approval:
        checks.append(
            Check(
                f"{name}: required reviewers",
                has_reviewers,
                "" if has_reviewers else "none",
                f"add required reviewers: {settings}",
            )
        )
        checks.append(
            Check(
                f"{name}: reviewers may not approve their own runs",
                no_self,
                "" if no_self else "prevent self-review is off",
                f"tick 'Prevent self-review': {settings}",
            )
        )
    else:
        checks.append(
            Check(
                f"{name}: no required reviewers (deploy.approval is false)",
                not has_reviewers,
                "it has some" if has_reviewers else "",
                f"remove them, or set deploy.approval: true in environments/{name}.yaml",
            )
        )
    if branches:
        policy = (environment or {}).get("deployment_branch_policy") or {}
        custom = bool(policy.get("custom_branch_policies")) and not policy.get("protected_branches")
        names: list[str] = []
        if custom:
            _, listed = get(f"/repos/{repository}/environments/{name}/deployment-branch-policies")
            names = sorted(p.get("name", "") for p in (listed or {}).get("branch_policies", []))
        only_main = custom and names == [MAIN]
        checks.append(
            Check(
                f"{name}: deploys only from {MAIN}",
                only_main,
                "" if only_main else f"deployment branches: {names or policy or 'all'}",
                f"Deployment branches and tags: selected, only `{MAIN}`: {settings}",
            )
        )
    return checks


# ------------------------------------------------------------------------------------ doctor


def doctor(request: DoctorRequest, runtime: Runtime, get: GitHubGet | None = None) -> int:
    """Print the checklist of every requested environment; 0 only when every check holds."""
    root = request.workspace.root
    everything = load_environments(root / naming.ENVIRONMENTS_DIR, None, root)
    names = list(request.envs) or sorted(everything)
    unknown = [n for n in names if n not in everything]
    if unknown:
        raise GeneratorError(
            f"no environment {unknown}; expected one of {sorted(everything)}", ExitCode.USAGE
        )
    from generator.deploy.access import git_repository

    connection = Connection(request.workspace, request.profile, request.endpoint_url)
    repository = request.repository or git_repository(root)
    needs_github = any(not everything[n].emulator for n in names)
    token = github_token(request.token) if needs_github else None
    if get is None and token:
        get = github_api(token)
    report = Report()
    for name in names:
        env = everything[name]
        checks = aws_checks(env, root, runtime, connection)
        if env.emulator:
            checks.append(Check("GitHub settings", None, "none: an emulated environment has no CI"))
        elif not repository:
            checks.append(
                Check(
                    "GitHub repository",
                    False,
                    "unknown",
                    "pass --repository OWNER/NAME (no github.com origin here)",
                )
            )
        elif get is None:
            checks.append(
                Check(
                    "GitHub token",
                    False,
                    "none found",
                    "export GITHUB_TOKEN=... (read access to the repository's "
                    "administration), or `gh auth login`",
                )
            )
        else:
            checks += github_checks(env, everything.values(), repository, get, root)
        report.sections[name] = checks
        runtime.out(f"environment {name} (account {env.account_id}, {env.region}):")
        for check in checks:
            runtime.out(check.line())
    failed = sum(1 for c in (c for cs in report.sections.values() for c in cs) if c.ok is False)
    runtime.out("all checks hold" if report.ok else f"{failed} check(s) fail")
    return ExitCode.OK if report.ok else ExitCode.DIFFERS
