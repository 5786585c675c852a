"""``plan``, ``deploy``, ``status`` and ``destroy``: one environment's stack through change sets."""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator import naming, preview
from generator.config import Environment, load_environments
from generator.deploy import apply
from generator.deploy import plan as plan_view
from generator.deploy.apply import Context, Planned, StackSpec, UpToDate
from generator.deploy.artifacts import ArtifactLike, upload_artifact
from generator.deploy.aws import (
    Clients,
    Clock,
    Identity,
    SystemClock,
    check_account,
    error_code,
    error_message,
    make_clients,
)
from generator.deploy.changeset import template_sha256
from generator.deploy.destroy import destroy_stack
from generator.deploy.drift import DriftReport, stack_drift, uncheckable
from generator.deploy.events import Out, describe_stack, stack_tags
from generator.errors import ExitCode, GeneratorError

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = ".state"
TEMPLATE_META_KEY = "ServerlessApp"


def _print(line: str) -> None:
    print(line, flush=True)


@dataclass
class Hooks:
    """The outside world, replaceable in tests (and by the local emulator's launcher)."""

    clients: Callable[[argparse.Namespace, Environment], Clients]
    artifact: Callable[[Path], ArtifactLike]
    clock: Clock
    out: Out
    confirm: Callable[[str], str]
    # Wall-clock time, for a preview's expiry tag (the deploy's waits use ``clock``).
    utcnow: Callable[[], datetime] = lambda: datetime.now(UTC)


def _default_clients(args: argparse.Namespace, env: Environment) -> Clients:
    # The embedded emulator for emulated environments (started if needed); AWS otherwise.
    from generator.emulator.target import target_for

    target = target_for(env, Path(args.root), args.endpoint_url)
    return make_clients(
        env.region, session=target.session, endpoint_url=target.endpoint_url, profile=args.profile
    )


def _default_artifact(root: Path) -> ArtifactLike:
    from generator.package import artifact  # imported here: only deploy needs the zip

    built: ArtifactLike = artifact(root)
    return built


HOOKS = Hooks(
    clients=_default_clients,
    artifact=_default_artifact,
    clock=SystemClock(),
    out=_print,
    confirm=input,
)


# ----------------------------------------------------------------------------------- inputs


def git_commit(root: Path) -> str:
    """The commit being deployed: git's HEAD, else $GITHUB_SHA, else ``unknown``."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=root, capture_output=True, text=True, check=True, timeout=10,
        )  # fmt: skip
        commit = result.stdout.strip()
        if commit:
            return commit
    except (OSError, subprocess.SubprocessError):
        pass
    return os.environ.get("GITHUB_SHA") or "unknown"


def load_template(root: Path, name: str) -> tuple[str, dict[str, Any]]:
    """A committed template's text and parsed form."""
    path = root / name
    try:
        body = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GeneratorError(
            f"{name} does not exist; expected a generated template: run `python -m generator "
            "synth`",
            ExitCode.USAGE,
        ) from None
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise GeneratorError(f"{name} is not valid JSON ({exc}); run `python -m generator synth`",
                             ExitCode.USAGE) from None  # fmt: skip
    if not isinstance(parsed, dict) or "Resources" not in parsed:
        raise GeneratorError(f"{name} has no Resources; expected a CloudFormation template",
                             ExitCode.USAGE)  # fmt: skip
    return body, parsed


def template_handler(template: dict[str, Any], name: str) -> tuple[str, str]:
    """The handler sha256 and artifact key the template was generated for."""
    meta = (template.get("Metadata") or {}).get(TEMPLATE_META_KEY) or {}
    sha, key = meta.get("handlerSha256"), meta.get("handlerKey")
    if not sha or not key:
        raise GeneratorError(
            f"{name} has no Metadata.{TEMPLATE_META_KEY}.handlerSha256/handlerKey; expected a "
            "template written by `python -m generator synth`",
            ExitCode.USAGE,
        )
    return str(sha), str(key)


def check_artifact(artifact: ArtifactLike, sha: str, key: str, name: str) -> None:
    """Refuse templates generated for another handler build."""
    if artifact.sha256 != sha or artifact.key != key:
        raise GeneratorError(
            f"{name} is out of date: it deploys handler {sha} ({key}) but the handler builds to "
            f"{artifact.sha256} ({artifact.key}). Run `python -m generator synth` and commit "
            "the templates",
            ExitCode.USAGE,
        )


@dataclass(frozen=True)
class Session:
    """An environment, its template and a context to deploy it."""

    root: Path
    env: Environment
    ctx: Context
    spec: StackSpec
    handler_sha: str
    handler_key: str


def _environment(args: argparse.Namespace) -> Environment:
    root = Path(args.root)
    name = getattr(args, "preview", None)
    if not name:
        return load_environments(root / naming.ENVIRONMENTS_DIR, [args.env], root)[args.env]
    envs = load_environments(root / naming.ENVIRONMENTS_DIR, None, root)
    if args.env not in envs:  # the loader names the file it expected
        load_environments(root / naming.ENVIRONMENTS_DIR, [args.env], root)
    preview.validate(args.env, name, envs)
    return preview.preview_environment(envs[args.env], name, getattr(args, "pull_request", None))


def _preview_template(root: Path, env: Environment) -> str:
    """A preview's template, synthesised in memory (never written to templates/)."""
    from generator.render import to_json
    from generator.stack import Artifact, build_template

    built = HOOKS.artifact(root)
    return to_json(build_template(env, Artifact(key=built.key, sha256=built.sha256)).to_dict())


def _timeout_seconds(args: argparse.Namespace, env: Environment) -> float:
    minutes = args.timeout_minutes or env.deploy.timeout_minutes
    return float(minutes) * 60.0


def _connect(args: argparse.Namespace, env: Environment) -> tuple[Clients, Identity]:
    clients = HOOKS.clients(args, env)
    identity = check_account(clients.sts, env.account_id, env.name)
    return clients, identity


def open_session(args: argparse.Namespace) -> Session:
    """Load the environment and its template, connect, and check the account."""
    root = Path(args.root)
    env = _environment(args)
    name = naming.template_file(env.name)
    if getattr(args, "preview", None):
        name = f"the preview {env.name} (in memory)"
        body = _preview_template(root, env)
        template = json.loads(body)
    else:
        body, template = load_template(root, name)
    handler_sha, handler_key = template_handler(template, name)
    allow = tuple(
        dict.fromkeys((*env.deploy.allow_replace, *(getattr(args, "allow_replace", None) or ())))
    )
    tags = {
        **naming.base_tags(env.name),
        **env.tags,
        apply.TEMPLATE_TAG: template_sha256(body),
        apply.HANDLER_TAG: handler_sha,
        apply.COMMIT_TAG: git_commit(root),
    }
    if getattr(args, "preview", None):
        ttl = timedelta(hours=getattr(args, "ttl_hours", None) or preview.DEFAULT_TTL_HOURS)
        tags.update(preview.stack_tags(preview.expires_at(HOOKS.utcnow(), ttl)))
    spec = StackSpec(
        environment=env.name,
        stack_name=naming.stack_name(env.name),
        template_body=body,
        tags=tags,
        allow=allow,
        termination_protection=env.termination_protection,
        notification_arns=env.deploy.notification_arns,
        rollback_monitoring_minutes=env.deploy.rollback_monitoring_minutes,
        role_arn=getattr(args, "role_arn", None),
    )
    clients, identity = _connect(args, env)
    ctx = Context(clients, identity, env, HOOKS.clock, HOOKS.out, _timeout_seconds(args, env))
    return Session(root, env, ctx, spec, handler_sha, handler_key)


# ----------------------------------------------------------------------------------- output


def _append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")


def publish_markdown(args: argparse.Namespace, markdown: str) -> None:
    """Append the Markdown plan to ``--markdown FILE`` and to $GITHUB_STEP_SUMMARY when set."""
    targets = [Path(args.markdown)] if getattr(args, "markdown", None) else []
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        targets.append(Path(summary))
    for target in targets:
        _append(target, markdown)


def show(args: argparse.Namespace, session: Session, result: Planned | UpToDate) -> None:
    """Print the plan and publish it as Markdown."""
    env, stack = session.env.name, session.spec.stack_name
    if isinstance(result, UpToDate):
        session.ctx.out(plan_view.no_changes_text(env, stack).rstrip())
        publish_markdown(args, plan_view.no_changes_markdown(env, stack))
        return
    view = plan_view.Plan(env, stack, result.change_set, result.change_set_type, result.verdict)
    session.ctx.out(plan_view.render_text(view).rstrip())
    publish_markdown(args, plan_view.render_markdown(view))


def kept_plan_file(root: Path, env: str) -> Path:
    """Where ``plan --keep`` records the change set id (one line: its ARN)."""
    return root / STATE_DIR / f"plan-{env}.changeset"


def record_kept(session: Session, change_set_id: str) -> None:
    """Print the kept change set's id and record it for CI and for ``deploy --change-set``."""
    path = kept_plan_file(session.root, session.env.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(change_set_id + "\n", encoding="utf-8")
    session.ctx.out(f"change-set-id: {change_set_id}")
    session.ctx.out(f"kept; recorded in {path}. Apply exactly this plan with:")
    session.ctx.out(
        f"  python -m generator deploy --env {session.env.name} --change-set {change_set_id}"
    )
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        _append(Path(github_output), f"change-set-id={change_set_id}")


# ---------------------------------------------------------------------------------- commands


def aws_failure(exc: ClientError | BotoCoreError) -> GeneratorError:
    """An unexpected AWS refusal (e.g. AccessDenied) as a message and exit 4."""
    if isinstance(exc, ClientError):
        operation = exc.operation_name or "an AWS call"
        return GeneratorError(
            f"AWS refused {operation}: {error_code(exc)}: {error_message(exc)}", ExitCode.FAILED
        )
    return GeneratorError(f"AWS call failed: {exc}", ExitCode.FAILED)


def _aws_errors(
    command: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Turn an unexpected AWS refusal (e.g. AccessDenied) into a message and exit 4."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (ClientError, BotoCoreError) as exc:
            raise aws_failure(exc) from None

    return run


@_aws_errors
def run_plan(args: argparse.Namespace) -> int:
    """Create the change set, show it, and delete it (or keep it with ``--keep``)."""
    session = open_session(args)
    ctx = session.ctx
    bucket = naming.artifact_bucket(session.env.account_id, session.env.region)
    ctx_with_bucket = _with_bucket_if_present(ctx, bucket)
    result = apply.make_plan(ctx_with_bucket, session.spec)
    show(args, session, result)
    if isinstance(result, UpToDate):
        return ExitCode.OK
    if args.keep:
        record_kept(session, result.change_set.id)
    else:
        apply.discard(ctx, result)
    if not result.verdict.ok:
        return ExitCode.BLOCKED
    return ExitCode.OK


def _with_bucket_if_present(ctx: Context, bucket: str) -> Context:
    """The context with the artifact bucket when it exists (large templates need it)."""
    try:
        ctx.clients.s3.head_bucket(Bucket=bucket)
    except ClientError:
        return ctx
    return replace(ctx, artifact_bucket=bucket)


def deploy_bootstrap(session: Session, args: argparse.Namespace) -> str:
    """Create or update the artifact bucket's stack; return the bucket name."""
    root, env, ctx = session.root, session.env, session.ctx
    body, _ = load_template(root, f"{naming.TEMPLATES_DIR}/{naming.BOOTSTRAP_TEMPLATE}")
    spec = StackSpec(
        environment=env.name,
        stack_name=naming.BOOTSTRAP_STACK_NAME,
        template_body=body,
        tags={
            "Project": naming.PROJECT,
            "Owner": naming.OWNER,
            apply.TEMPLATE_TAG: template_sha256(body),
        },
        termination_protection=env.termination_protection,
        protection_only_enables=True,
        role_arn=session.spec.role_arn,
    )
    result = apply.make_plan(ctx, spec)
    if isinstance(result, UpToDate):
        ctx.out(f"bootstrap stack {spec.stack_name}: up to date")
        if result.stack:
            apply.reconcile(ctx, spec, result.stack)
    else:
        view = plan_view.Plan(
            env.name, spec.stack_name, result.change_set, result.change_set_type, result.verdict
        )
        ctx.out(plan_view.render_text(view).rstrip())
        apply.execute(ctx, spec, result)
    bucket = naming.artifact_bucket(env.account_id, env.region)
    stack = describe_stack(ctx.clients.cloudformation, spec.stack_name) or {}
    named = apply.outputs(stack).get(naming.BootstrapId.OUT_ARTIFACT_BUCKET)
    if named and named != bucket:
        raise GeneratorError(
            f"bootstrap stack output {naming.BootstrapId.OUT_ARTIFACT_BUCKET} is {named}; "
            f"expected {bucket}",
            ExitCode.FAILED,
        )
    return bucket


def publish_summary(markdown: str) -> None:
    """Append to $GITHUB_STEP_SUMMARY when set (a deploy's outcome, after its plan)."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append(Path(summary), markdown)


@_aws_errors
def run_deploy(args: argparse.Namespace) -> int:
    """Bootstrap, upload the artifact, plan (or load a kept plan), guard, execute, wait."""
    session = open_session(args)
    # One deadline for everything below: deploy.timeout_minutes bounds the whole deploy.
    session = replace(session, ctx=session.ctx.with_deadline())
    env, stack_name = session.env.name, session.spec.stack_name
    progress = Progress()
    try:
        stack = _deploy(args, session, progress)
    except GeneratorError as exc:
        result = progress.result
        blocked = result.verdict.blocked if isinstance(result, Planned) else ()
        publish_summary(plan_view.outcome_failed_markdown(env, stack_name, exc, blocked))
        raise
    except (ClientError, BotoCoreError) as exc:
        error = aws_failure(exc)
        publish_summary(plan_view.outcome_failed_markdown(env, stack_name, error, ()))
        raise error from None
    result = progress.result
    if stack is None or not isinstance(result, Planned):
        publish_summary(plan_view.outcome_no_changes_markdown(env, stack_name))
    else:
        view = plan_view.Plan(
            env, stack_name, result.change_set, result.change_set_type, result.verdict
        )
        status = str(stack.get("StackStatus", ""))
        publish_summary(plan_view.outcome_applied_markdown(view, status))
    return ExitCode.OK


@dataclass
class Progress:
    """How far a deploy got: the plan it made or loaded, for the outcome summary."""

    result: Planned | UpToDate | None = None


def _deploy(
    args: argparse.Namespace, session: Session, progress: Progress
) -> dict[str, Any] | None:
    """The deploy itself; returns the stack (None for "No changes") and records the plan."""
    artifact = HOOKS.artifact(session.root)
    check_artifact(
        artifact, session.handler_sha, session.handler_key, naming.template_file(session.env.name)
    )
    bucket = deploy_bootstrap(session, args)
    ctx = replace(session.ctx, artifact_bucket=bucket)
    uploaded = upload_artifact(ctx.clients.s3, bucket, artifact)
    upload_state = "uploaded" if uploaded else "already present"
    ctx.out(f"handler artifact s3://{bucket}/{artifact.key}: {upload_state}")
    spec = session.spec
    if args.change_set:
        result: Planned | UpToDate = apply.load_kept(ctx, spec, args.change_set)
    else:
        result = apply.make_plan(ctx, spec)
    progress.result = result
    show(args, session, result)
    if isinstance(result, UpToDate):
        if result.stack:
            apply.reconcile(ctx, spec, result.stack)
        return None  # the plan said "No changes"
    stack = apply.execute(ctx, spec, result)
    for key, value in sorted(apply.outputs(stack).items()):
        ctx.out(f"output {key} = {value}")
    return stack


@_aws_errors
def run_status(args: argparse.Namespace) -> int:
    """Is the deployed template the committed one, and has anything drifted? 0 yes/no, 1 else."""
    session = open_session(args)
    ctx, spec = session.ctx, session.spec
    cfn = ctx.clients.cloudformation
    stack = describe_stack(cfn, spec.stack_name)
    if stack is None or stack.get("StackStatus") == "REVIEW_IN_PROGRESS":
        ctx.out(f"{spec.stack_name}: not deployed")
        return ExitCode.DIFFERS
    tags = stack_tags(stack)
    deployed = tags.get(apply.TEMPLATE_TAG, "none")
    ctx.out(f"{spec.stack_name}: {stack['StackStatus']}")
    ctx.out(f"  deployed template-sha256  {deployed}")
    ctx.out(f"  committed template-sha256 {spec.template_hash}")
    ctx.out(f"  deployed commit {tags.get(apply.COMMIT_TAG, 'unknown')}")
    in_sync = deployed == spec.template_hash
    ctx.out(
        "  template: up to date" if in_sync else "  template: DIFFERS (deploy to bring it in line)"
    )
    reasons = uncheckable(spec.template_body)
    report = stack_drift(cfn, spec.stack_name, ctx.clock, ctx.timeout_seconds).excusing(reasons)
    if report.note and not report.excused:
        ctx.out(f"  {report.note}")
    ctx.out(f"  drift: {report.status}")
    for logical_id in report.excused:
        ctx.out(f"    not checked by design: {logical_id} ({reasons[logical_id]})")
    for item in report.drifted:
        ctx.out(f"    {item.status:<9} {item.logical_id} [{item.resource_type}]")
        for difference in item.differences:
            ctx.out(f"      {difference}")
    settled = stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    ok = in_sync and settled and not report.drifted and drift_counts(report, session.env, ctx.out)
    return ExitCode.OK if ok else ExitCode.DIFFERS


def drift_counts(report: DriftReport, env: Environment, out: Out) -> bool:
    """Whether the drift result lets ``status`` pass; says why when drift is not established.

    Unknown drift fails the check (exit 1): a role without drift permissions or a failed
    detection must not read as "no drift". The one exception is an emulated environment, whose
    emulator has no drift detection: there only the template comparison counts.
    """
    if report.established:
        return True
    why = report.why_unknown()
    if env.emulator:
        out(f"  drift: not established ({why}); ignored for the emulated environment {env.name}")
        return True
    out(f"  drift: NOT ESTABLISHED ({why}); cannot confirm the stack has not drifted")
    return False


@_aws_errors
def run_destroy(args: argparse.Namespace) -> int:
    """Delete an environment that neither retains data nor is termination-protected."""
    env = _environment(args)
    stack_name = naming.stack_name(env.name)
    if env.retain_data or env.termination_protection:
        raise GeneratorError(
            f"environment {env.name} has retain_data={env.retain_data} and "
            f"termination_protection={env.termination_protection}; destroy expects both false "
            f"in environments/{env.name}.yaml (data-keeping environments are never destroyed "
            "by this tool)",
            ExitCode.USAGE,
        )
    clients, _ = _connect(args, env)
    cfn = clients.cloudformation
    stack = describe_stack(cfn, stack_name)
    if stack is None:
        HOOKS.out(f"{stack_name}: does not exist; nothing to destroy")
        return ExitCode.OK
    if getattr(args, "preview", None) and preview.as_preview(stack, args.env) is None:
        raise GeneratorError(
            f"stack {stack_name} has no tag {preview.PREVIEW_OF_TAG}={args.env}; expected a "
            "preview made by `deploy --preview` (refusing to delete anything else)",
            ExitCode.USAGE,
        )
    if stack.get("EnableTerminationProtection"):
        raise GeneratorError(
            f"stack {stack_name} has termination protection on in AWS although the environment "
            "file says off; deploy once to reconcile it, then destroy",
            ExitCode.USAGE,
        )
    if not args.yes:
        if not sys.stdin.isatty():
            raise GeneratorError(
                f"destroy asks for confirmation and there is no terminal; expected --yes to "
                f"delete {stack_name}",
                ExitCode.USAGE,
            )
        answer = HOOKS.confirm(f"Type the stack name ({stack_name}) to delete it and its data: ")
        if answer.strip() != stack_name:
            raise GeneratorError(
                f"not confirmed: got {answer.strip()!r}; expected {stack_name!r}", ExitCode.USAGE
            )
    destroy_stack(cfn, clients.s3, stack, HOOKS.clock, HOOKS.out, _timeout_seconds(args, env))
    return ExitCode.OK


# ---------------------------------------------------------------------------------- parsers


def _minutes(text: str) -> int:
    """A positive whole number of minutes."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a whole number of minutes >= 1")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="environment name (environments/ENV.yaml)")
    parser.add_argument("--profile", help="AWS named profile (default: the standard chain)")
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="send every AWS call to this endpoint (an emulator); default: AWS itself",
    )
    parser.add_argument(
        "--timeout-minutes",
        type=_minutes,
        default=None,
        help="give up waiting after this long (default: deploy.timeout_minutes)",
    )
    parser.add_argument(
        "--preview",
        metavar="NAME",
        help="a preview of ENV: its own stack TapStackENV-NAME, every physical name suffixed, "
        "nothing retained (docs/previews.md)",
    )
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)


def _positive(text: str) -> int:
    """A whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a whole number >= 1")
    return value


def _preview_tags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pull-request",
        type=_positive,
        metavar="N",
        help="with --preview: the pull request it previews (tag PullRequest)",
    )
    parser.add_argument(
        "--ttl-hours",
        type=_positive,
        metavar="H",
        help=f"with --preview: expire it after H hours (tag ExpiresAt; default "
        f"{preview.DEFAULT_TTL_HOURS}); `previews --expired --destroy` removes it then",
    )


def _allow(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-replace",
        action="append",
        metavar="LOGICAL_ID",
        help="allow the reviewed removal or replacement of this stateful resource (repeatable)",
    )


_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]+:role/[\w+=,.@/-]+$")


def _role_arn(text: str) -> str:
    """An IAM role ARN."""
    if not _ROLE_ARN.match(text):
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected an IAM role ARN such as arn:aws:iam::123456789012:role/Name"
        )
    return text


def _role(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--role-arn",
        type=_role_arn,
        help="CloudFormation service role for the change sets (app and bootstrap stacks); "
        "default: the role the stack already has, else the caller's credentials",
    )


def _markdown(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--markdown",
        metavar="FILE",
        help="append the plan as Markdown to FILE (also to $GITHUB_STEP_SUMMARY when set)",
    )


def register(subparsers: Any) -> None:
    """Add ``plan``, ``deploy``, ``status`` and ``destroy``."""
    plan = subparsers.add_parser(
        "plan",
        help="create a change set and show what a deploy would do",
        description="Create a change set, print it as a table (and Markdown), run the guard, "
        "and delete it unless --keep. Exit 3 when the guard would block the deploy.",
    )
    _common(plan)
    _allow(plan)
    _role(plan)
    _markdown(plan)
    _preview_tags(plan)
    plan.add_argument(
        "--keep",
        action="store_true",
        help="keep the change set for `deploy --change-set`; its id is printed and written "
        "to .state/plan-ENV.changeset (and to $GITHUB_OUTPUT as change-set-id)",
    )
    plan.set_defaults(func=run_plan)

    deploy = subparsers.add_parser(
        "deploy",
        help="deploy an environment through a change set",
        description="Bootstrap, upload the handler, create a change set, guard, execute, wait.",
    )
    _common(deploy)
    _allow(deploy)
    _role(deploy)
    _markdown(deploy)
    _preview_tags(deploy)
    deploy.add_argument(
        "--change-set",
        metavar="ID",
        help="execute exactly this change set kept by `plan --keep` (refused when stale)",
    )
    deploy.set_defaults(func=run_deploy)

    status = subparsers.add_parser(
        "status",
        help="compare the deployed template with the committed one and detect drift",
        description="Exit 0 when the stack is settled, runs the committed template, and drift "
        "detection found every resource in sync; else 1. Drift that cannot be established "
        "(no permission, detection failed, resources not checked) is exit 1, except for an "
        "environment with `emulator: true`, whose emulator has no drift detection: there the "
        "exit code reflects only the template comparison.",
    )
    _common(status)
    status.set_defaults(func=run_status)

    destroy = subparsers.add_parser(
        "destroy",
        help="delete an environment that retains no data (empties its buckets first)",
    )
    _common(destroy)
    destroy.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    destroy.set_defaults(func=run_destroy)
