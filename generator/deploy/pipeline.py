"""``plan``, ``deploy``, ``status`` and ``destroy`` over typed requests: one environment's stack
through change sets (bootstrap, artifact, plan, guard, execute, reconcile).

The outside world (clients, artifact, clock, output, confirmation) comes in as one ``Runtime``;
errors propagate to the command layer, which turns them into exit codes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from generator import contracts, locks, naming, preview, rollout
from generator.config import Environment, load_environments
from generator.contracts import ArtifactFile
from generator.deploy import apply, protection
from generator.deploy import plan as plan_view
from generator.deploy.access_state import drift_line
from generator.deploy.apply import Context, Planned, StackSpec, UpToDate
from generator.deploy.artifacts import upload_artifact, verify_staged
from generator.deploy.aws import Clients, Identity, aws_failure, bound_retries, check_account
from generator.deploy.changeset import (
    delete_change_set,
    list_change_sets,
    orphans,
    template_sha256,
)
from generator.deploy.destroy import destroy_stack
from generator.deploy.drift import DriftReport
from generator.deploy.driftplan import assess
from generator.deploy.runtime import Connection, Runtime
from generator.deploy.stacks import Out, Stack, describe_stack, list_resources, running
from generator.deploy.values import Redaction
from generator.errors import ExitCode, GeneratorError
from generator.render import write_atomic
from generator.workspace import state_dir

# ----------------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class PreviewOptions:
    """A preview of the target's environment (``--preview NAME``, docs/previews.md)."""

    name: str
    pull_request: int | None = None  # tag PullRequest
    ttl_hours: int = preview.DEFAULT_TTL_HOURS  # tag ExpiresAt, from the runtime's wall clock


@dataclass(frozen=True)
class StackTarget:
    """Which environment (or a preview of it), reached how, within how long."""

    connection: Connection
    env: str
    timeout_minutes: int | None = None  # None: the environment's deploy.timeout_minutes
    preview: PreviewOptions | None = None

    @property
    def root(self) -> Path:
        """The repository root."""
        return self.connection.workspace.root


@dataclass(frozen=True)
class ChangeOptions:
    """What a plan or deploy may do and where it reports: reviewed allowances, role, Markdown."""

    allow_replace: tuple[str, ...] = ()
    role_arn: str | None = None
    markdown: Path | None = None
    allow_dirty: bool = False  # deploy a working tree with uncommitted changes to an account
    refuse_dirty: bool = False  # deploy (not plan): a dirty tree needs allow_dirty


@dataclass(frozen=True)
class PlanRequest:
    """``plan``: create a change set, show it, delete it unless ``keep``."""

    target: StackTarget
    change: ChangeOptions = ChangeOptions()
    keep: bool = False


@dataclass(frozen=True)
class DeployRequest:
    """``deploy``: bootstrap, artifact, plan (or the kept ``change_set``), guard, execute."""

    target: StackTarget
    change: ChangeOptions = ChangeOptions()
    change_set: str | None = None


@dataclass(frozen=True)
class StatusRequest:
    """``status``: the deployed template against the committed one, and drift."""

    target: StackTarget


@dataclass(frozen=True)
class DestroyRequest:
    """``destroy``: delete an environment that keeps no data (``yes``: do not ask)."""

    target: StackTarget
    yes: bool = False


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


def uncommitted(root: Path) -> list[str]:
    """Tracked files with uncommitted changes (none outside a git checkout)."""
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=root, capture_output=True, text=True, check=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return []
    return [line[3:] for line in result.stdout.splitlines() if line.strip()]


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
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 ({exc.reason})"
        raise GeneratorError(
            f"cannot read {name}: {why}; expected a generated template: run `python -m "
            "generator synth`",
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
    handler = contracts.template_handler(template)
    if handler is None:
        raise GeneratorError(
            f"{name} has no Metadata.{contracts.METADATA_KEY}.handlerSha256/handlerKey; expected a "
            "template written by `python -m generator synth`",
            ExitCode.USAGE,
        )
    return handler.sha256, handler.key


def check_artifact(artifact: ArtifactFile, sha: str, key: str, name: str) -> None:
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
    markdown: Path | None = None  # also append the plan here as Markdown


def target_environment(target: StackTarget) -> Environment:
    root = target.root
    if target.preview is not None:
        options = target.preview
        return preview.load_preview(root, target.env, options.name, options.pull_request)
    return load_environments(root / naming.ENVIRONMENTS_DIR, [target.env], root)[target.env]


def _preview_template(root: Path, env: Environment, runtime: Runtime) -> str:
    """A preview's template, synthesised in memory (never written to templates/)."""
    from generator.render import to_json
    from generator.stack import build_template

    built = runtime.artifact(root)
    ref = contracts.ArtifactRef(key=built.key, sha256=built.sha256)
    return to_json(build_template(env, ref).to_dict())


def timeout_seconds(target: StackTarget, env: Environment) -> float:
    minutes = target.timeout_minutes or env.deploy.timeout_minutes
    return float(minutes) * 60.0


def _connect(target: StackTarget, env: Environment, runtime: Runtime) -> tuple[Clients, Identity]:
    clients = runtime.clients(target.connection, env)
    identity = check_account(clients.sts, env.account_id, env.name)
    return clients, identity


def refuse_stale(root: Path, env: Environment, runtime: Runtime) -> None:
    """Exit 2 when a template this command reads is not what `synth` writes now (an edited
    environment file not synthesized): a plan of it would say "No changes" and be wrong."""
    stale = runtime.stale(root, env, runtime.artifact(root))
    if stale:
        raise GeneratorError(
            f"{', '.join(stale)} {'is' if len(stale) == 1 else 'are'} out of date with "
            f"environments/{env.name}.yaml and the generator; expected what `python -m "
            "generator synth` writes: run it (and commit the result)",
            ExitCode.USAGE,
        )


def provenance(root: Path, env: Environment, change: ChangeOptions, runtime: Runtime) -> str:
    """The commit the stack is tagged with: ``<sha>``, or ``<sha>-dirty`` when tracked files
    have uncommitted changes (said so); to a real account that needs ``--allow-dirty``."""
    commit = git_commit(root)
    changed = uncommitted(root)
    if not changed:
        return commit
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    if not env.emulator and change.refuse_dirty and not change.allow_dirty:
        raise GeneratorError(
            f"uncommitted changes ({shown}): the stack's git-commit tag would name {commit}, "
            "which does not hold what is deployed; expected a clean working tree. Commit them, "
            "or pass --allow-dirty (the tag then says <sha>-dirty)",
            ExitCode.USAGE,
        )
    runtime.out(f"note: uncommitted changes ({shown}): the stack is tagged {commit}-dirty")
    return f"{commit}-dirty"


def open_session(target: StackTarget, change: ChangeOptions, runtime: Runtime) -> Session:
    """Load the environment and its template, connect, and check the account."""
    root = target.root
    env = target_environment(target)
    name = naming.template_file(env.name)
    if target.preview is not None:
        name = f"the preview {env.name} (in memory)"
        body = _preview_template(root, env, runtime)
        template = json.loads(body)
    else:
        refuse_stale(root, env, runtime)
        body, template = load_template(root, name)
    handler_sha, handler_key = template_handler(template, name)
    allow = tuple(dict.fromkeys((*env.deploy.allow_replace, *change.allow_replace)))
    tags = {
        **naming.base_tags(env.name, env.tags),
        contracts.TEMPLATE_TAG: template_sha256(body),
        contracts.HANDLER_TAG: handler_sha,
        contracts.COMMIT_TAG: provenance(root, env, change, runtime),
    }
    if target.preview is not None:
        ttl = timedelta(hours=target.preview.ttl_hours)
        tags.update(preview.stack_tags(preview.expires_at(runtime.utcnow(), ttl)))
    spec = StackSpec(
        environment=env.name,
        stack_name=naming.stack_name(env.name),
        template_body=body,
        tags=tags,
        allow=allow,
        termination_protection=env.termination_protection,
        notification_arns=env.deploy.notification_arns,
        rollback_monitoring_minutes=env.deploy.rollback_monitoring_minutes,
        role_arn=change.role_arn,
        drift_policy=env.deploy.drift,
    )
    clients, identity = _connect(target, env, runtime)
    ctx = Context(clients, identity, env, runtime.clock, runtime.out, timeout_seconds(target, env))
    return Session(root, env, ctx, spec, handler_sha, handler_key, change.markdown)


# ----------------------------------------------------------------------------------- output


def _append(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text + "\n")


def publish_markdown(session: Session, markdown: str) -> None:
    """Append the Markdown plan to ``--markdown FILE`` and to $GITHUB_STEP_SUMMARY when set."""
    targets = [session.markdown] if session.markdown else []
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        targets.append(Path(summary))
    for target in targets:
        _append(target, markdown)


def show(session: Session, result: Planned | UpToDate) -> None:
    """Print the plan and publish it as Markdown."""
    env, stack = session.env.name, session.spec.stack_name
    if isinstance(result, UpToDate):
        session.ctx.out(plan_view.no_changes_text(env, stack).rstrip())
        publish_markdown(session, plan_view.no_changes_markdown(env, stack))
        return
    view = plan_view.Plan(
        env, stack, result.change_set, result.change_set_type, result.verdict,
        Redaction.from_template(session.spec.template), result.drift,
        template=session.spec.template, approval=session.env.deploy.approval,
    )  # fmt: skip
    session.ctx.out(plan_view.render_text(view).rstrip())
    publish_markdown(session, plan_view.render_markdown(view))


def kept_plan_file(root: Path, env: str) -> Path:
    """Where ``plan --keep`` records the change set id (one line: its ARN); the deploy workflow
    uploads it per environment and ``environments --kept-plans`` reads it back."""
    return rollout.kept_plan_file(state_dir(root), env)


def record_kept(session: Session, change_set_id: str) -> None:
    """Print the kept change set's id and record it for CI and for ``deploy --change-set``."""
    path = kept_plan_file(session.root, session.env.name)
    write_atomic(path, change_set_id + "\n")
    session.ctx.out(f"change-set-id: {change_set_id}")
    session.ctx.out(f"kept; recorded in {path}. Apply exactly this plan with:")
    session.ctx.out(
        f"  python -m generator deploy --env {session.env.name} --change-set {change_set_id}"
    )
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        _append(Path(github_output), f"change-set-id={change_set_id}")


# ---------------------------------------------------------------------------------- commands


def run_lock(target: StackTarget, what: str) -> AbstractContextManager[None]:
    """The machine-wide lock of the target's stack (one plan, deploy or destroy at a time)."""
    name = naming.stack_name(target.env)
    if target.preview is not None:
        name = f"{name}-{target.preview.name}"
    return locks.held(state_dir(target.root), name, what)


def plan(request: PlanRequest, runtime: Runtime) -> int:
    """Create the change set, show it, and delete it (or keep it with ``--keep``)."""
    with run_lock(request.target, "plan"):
        return _plan(request, runtime)


def _plan(request: PlanRequest, runtime: Runtime) -> int:
    session = open_session(request.target, request.change, runtime)
    ctx = session.ctx
    bucket = naming.artifact_bucket(session.env.account_id, session.env.region)
    ctx_with_bucket = _with_bucket_if_present(ctx, bucket)
    purpose = naming.CHANGE_SET_KEPT if request.keep else naming.CHANGE_SET_PR
    session = replace(session, spec=replace(session.spec, change_set_purpose=purpose))
    relaxed = relaxed_policy(session)
    if relaxed:
        ctx.out(f"warning: {protection.relaxed_message(session.spec.stack_name, relaxed)}")
    if not request.keep:
        sweep_orphans(session, naming.CHANGE_SET_PR)
    access_note = access_drift(session)
    result = apply.make_plan(ctx_with_bucket, session.spec)
    show(session, result)
    if access_note:
        ctx.out(f"note: {access_note}")
        publish_markdown(session, f"> **Note:** {access_note}\n")
    if isinstance(result, UpToDate):
        return ExitCode.OK
    drift_refuses = result.drift is not None and result.drift.refuses
    if request.keep and result.verdict.ok and not drift_refuses:
        record_kept(session, result.change_set.id)
        stage_artifact(session, runtime)
        supersede_kept(session, result.change_set.id)
    else:
        # Only a clean plan is kept: one the guard blocks, or refused for drift (its apply does
        # not assess drift again), is deleted, stages nothing and records nothing.
        if request.keep:
            # Nor is an earlier plan's record left behind for CI to apply.
            kept_plan_file(session.root, session.env.name).unlink(missing_ok=True)
            why = (
                "the guard blocks it" if not result.verdict.ok
                else "deploy.drift is refuse and the stack drifted"
            )  # fmt: skip
            ctx.out(f"not kept: {why} (see above); its change set is deleted")
        apply.discard(ctx, result)
    if not result.verdict.ok or drift_refuses:
        return ExitCode.BLOCKED
    return ExitCode.OK


def supersede_kept(session: Session, keep_id: str) -> None:
    """Delete the stack's other kept plans: the newest plan of the committed template is the
    only one to apply, and an older one (its approval rejected, or timed out) must not linger
    executable."""
    ctx = session.ctx
    cfn = ctx.clients.cloudformation
    for kept in list_change_sets(cfn, session.spec.stack_name):
        if kept.purpose != naming.CHANGE_SET_KEPT or kept.id == keep_id:
            continue
        if kept.execution_status not in ("AVAILABLE", "UNAVAILABLE"):
            continue
        delete_change_set(cfn, kept.id)
        ctx.out(f"deleted the earlier kept plan {kept.name} (superseded by this one)")


def stage_artifact(session: Session, runtime: Runtime) -> None:
    """Upload the handler artifact for a kept plan, so the apply finds it (the apply role of
    ci-access reads artifacts but never writes them; the plan-main role writes them).

    When the artifact bucket does not exist yet (a new account) nothing is uploaded: the first
    deploy of an account creates the bootstrap stack (docs/security.md)."""
    ctx = session.ctx
    bucket = naming.artifact_bucket(session.env.account_id, session.env.region)
    if _with_bucket_if_present(ctx, bucket).artifact_bucket is None:
        ctx.out(f"artifact bucket {bucket} does not exist yet: nothing staged")
        return
    artifact = runtime.artifact(session.root)
    check_artifact(
        artifact, session.handler_sha, session.handler_key, naming.template_file(session.env.name)
    )
    uploaded = upload_artifact(ctx.clients.s3, bucket, artifact)
    state = "uploaded" if uploaded else "already present"
    ctx.out(f"handler artifact s3://{bucket}/{artifact.key}: {state} (for the apply)")


def _with_bucket_if_present(ctx: Context, bucket: str) -> Context:
    """The context with the artifact bucket when it exists (large templates need it)."""
    try:
        ctx.clients.s3.head_bucket(Bucket=bucket)
    except ClientError:
        return ctx
    return replace(ctx, artifact_bucket=bucket)


def deploy_bootstrap(root: Path, env: Environment, ctx: Context, *, preview: bool = False) -> str:
    """Create or update the artifact bucket's stack; return the bucket name.

    ``preview`` (``deploy --preview``): the bootstrap stack is never changed (the preview role may
    only describe it: a pull request must not change what every environment of the account
    uses); it must exist already. (``deploy --change-set`` never calls this.)"""
    if preview:
        return _existing_bootstrap_bucket(ctx, env)
    body, _ = load_template(root, f"{naming.TEMPLATES_DIR}/{naming.BOOTSTRAP_TEMPLATE}")
    spec = StackSpec(
        environment=env.name,
        stack_name=naming.BOOTSTRAP_STACK_NAME,
        template_body=body,
        tags={**naming.base_tags(None), contracts.TEMPLATE_TAG: template_sha256(body)},
        termination_protection=env.termination_protection,
        protection_only_enables=True,
        # The caller's own credentials (an administrator's): no CloudFormation role may
        # configure the artifact bucket every environment of the account shares.
        role_arn=None,
    )
    result = apply.make_plan(ctx, spec)
    if isinstance(result, UpToDate):
        ctx.out(f"bootstrap stack {spec.stack_name}: up to date")
        if result.stack:
            apply.reconcile(ctx, spec, result.stack)
    else:
        view = plan_view.Plan(
            env.name, spec.stack_name, result.change_set, result.change_set_type, result.verdict,
            Redaction.from_template(spec.template),
            template=spec.template, approval=env.deploy.approval,
        )  # fmt: skip
        ctx.out(plan_view.render_text(view).rstrip())
        apply.execute(ctx, spec, result)
    bucket = naming.artifact_bucket(env.account_id, env.region)
    stack = describe_stack(ctx.clients.cloudformation, spec.stack_name)
    named = stack.outputs.get(naming.BootstrapId.OUT_ARTIFACT_BUCKET) if stack else None
    if named and named != bucket:
        raise GeneratorError(
            f"bootstrap stack output {naming.BootstrapId.OUT_ARTIFACT_BUCKET} is {named}; "
            f"expected {bucket}",
            ExitCode.FAILED,
        )
    return bucket


# A bootstrap stack whose resources exist as its template says (a failed create's do not).
_SETTLED = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")


def _existing_bootstrap_bucket(ctx: Context, env: Environment) -> str:
    """The artifact bucket of a settled bootstrap stack, which is left as it is."""
    stack = describe_stack(ctx.clients.cloudformation, naming.BOOTSTRAP_STACK_NAME)
    if stack is None or stack.status not in _SETTLED:
        state = "does not exist" if stack is None else f"is {stack.status}"
        raise GeneratorError(
            f"bootstrap stack {naming.BOOTSTRAP_STACK_NAME} {state}; expected it deployed by "
            f"`deploy --env {env.name}` (a preview never creates or changes it)",
            ExitCode.FAILED,
        )
    ctx.out(f"bootstrap stack {naming.BOOTSTRAP_STACK_NAME}: left as it is (preview)")
    return naming.artifact_bucket(env.account_id, env.region)


def publish_summary(markdown: str) -> None:
    """Append to $GITHUB_STEP_SUMMARY when set (a deploy's outcome, after its plan)."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append(Path(summary), markdown)


def deploy(request: DeployRequest, runtime: Runtime) -> int:
    """Bootstrap, upload the artifact, plan (or load a kept plan), guard, execute, wait."""
    with run_lock(request.target, "deploy"):
        return _deploy_locked(request, runtime)


def _deploy_locked(request: DeployRequest, runtime: Runtime) -> int:
    if request.change_set and request.change.allow_replace:
        raise GeneratorError(
            f"--allow-replace {' '.join(request.change.allow_replace)} with --change-set: a kept "
            "plan is applied with the committed allowances only (deploy.allow_replace in "
            f"environments/{request.target.env}.yaml), which the plan was judged with",
            ExitCode.USAGE,
        )
    # A deploy records what it deployed: a dirty tree needs --allow-dirty for a real account.
    session = open_session(request.target, replace(request.change, refuse_dirty=True), runtime)
    # One deadline for everything below: deploy.timeout_minutes bounds the whole deploy.
    session = replace(session, ctx=session.ctx.with_deadline())
    if session.ctx.deadline is not None:
        bound_retries(session.ctx.clients, session.ctx.deadline)
    env, stack_name = session.env.name, session.spec.stack_name
    progress = Progress()
    try:
        stack = _deploy(request, session, runtime, progress)
    except GeneratorError as exc:
        result = progress.result
        blocked = result.verdict.blocked if isinstance(result, Planned) else ()
        publish_summary(plan_view.outcome_failed_markdown(env, stack_name, exc, blocked))
        raise
    except (ClientError, BotoCoreError) as exc:
        # The command layer turns it into exit 4; the summary says so first.
        publish_summary(plan_view.outcome_failed_markdown(env, stack_name, aws_failure(exc), ()))
        raise
    result = progress.result
    if stack is None or not isinstance(result, Planned):
        publish_summary(plan_view.outcome_no_changes_markdown(env, stack_name))
    else:
        view = plan_view.Plan(
            env, stack_name, result.change_set, result.change_set_type, result.verdict,
            template=session.spec.template, approval=session.env.deploy.approval,
        )  # fmt: skip
        status = stack.status
        publish_summary(plan_view.outcome_applied_markdown(view, status))
    return ExitCode.OK


@dataclass
class Progress:
    """How far a deploy got: the plan it made or loaded, for the outcome summary."""

    result: Planned | UpToDate | None = None


def _deploy(
    request: DeployRequest, session: Session, runtime: Runtime, progress: Progress
) -> Stack | None:
    """The deploy itself; returns the stack (None for "No changes") and records the plan."""
    artifact = runtime.artifact(session.root)
    check_artifact(
        artifact, session.handler_sha, session.handler_key, naming.template_file(session.env.name)
    )
    if request.change_set:
        # Applying a kept plan touches nothing but its stack (the deploy role holds no right on
        # the bootstrap stack, which no CI job plans): the artifact bucket is found by its name
        # and the artifact `plan --keep` staged is checked, never uploaded.
        bucket = naming.artifact_bucket(session.env.account_id, session.env.region)
        ctx = replace(session.ctx, artifact_bucket=bucket)
        verify_staged(ctx.clients.s3, bucket, artifact)
        ctx.out(f"handler artifact s3://{bucket}/{artifact.key}: staged by the plan, verified")
    else:
        preview = request.target.preview is not None
        bucket = deploy_bootstrap(session.root, session.env, session.ctx, preview=preview)
        ctx = replace(session.ctx, artifact_bucket=bucket)
        uploaded = upload_artifact(ctx.clients.s3, bucket, artifact)
        upload_state = "uploaded" if uploaded else "already present"
        ctx.out(f"handler artifact s3://{bucket}/{artifact.key}: {upload_state}")
    spec = session.spec
    restore_relaxed_policy(replace(session, ctx=ctx))
    if not request.change_set:
        sweep_orphans(session, naming.CHANGE_SET_DEPLOY)
    if request.change_set:
        result: Planned | UpToDate = apply.load_kept(ctx, spec, request.change_set)
    else:
        result = apply.make_plan(ctx, spec)
    progress.result = result
    show(session, result)
    if isinstance(result, UpToDate):
        if result.stack:
            apply.reconcile(ctx, spec, result.stack)
        return None  # the plan said "No changes"
    stack = apply.execute(ctx, spec, result)
    for key, value in sorted(stack.outputs.items()):
        ctx.out(f"output {key} = {value}")
    return stack


def access_drift(session: Session) -> str | None:
    """Whether the account-access stack is the committed template (CI environments only: an
    emulated environment's account has none unless someone ran `access deploy` there)."""
    if session.env.emulator:
        return None
    return drift_line(session.ctx.clients.cloudformation, session.root)


def sweep_orphans(session: Session, purpose: str) -> None:
    """Delete this purpose's change sets that a killed run left behind (``changeset.orphans``);
    each role may delete only its own prefix's, so a run sweeps only those it makes."""
    ctx = session.ctx
    listed = list_change_sets(ctx.clients.cloudformation, session.spec.stack_name)
    for orphan in orphans(listed, ctx.utcnow(), ctx.timeout_seconds):
        if orphan.purpose != purpose:
            continue
        delete_change_set(ctx.clients.cloudformation, orphan.id)
        ctx.out(f"deleted change set {orphan.name}: left behind by an interrupted run")


def relaxed_policy(session: Session) -> list[str]:
    """The stateful resources the stack's live policy leaves unprotected (none: no stack)."""
    cfn = session.ctx.clients.cloudformation
    stack = describe_stack(cfn, session.spec.stack_name)
    if stack is None or stack.status == "REVIEW_IN_PROGRESS":
        return []
    deployed = list_resources(cfn, session.spec.stack_name)
    return protection.unprotected(cfn, session.spec.stack_name, deployed)


def restore_relaxed_policy(session: Session) -> None:
    """Put back the stack policy an interrupted deploy left relaxed, before anything else runs.

    Only on a settled stack: while another operation runs its policy is that run's business
    (``prepare_stack`` waits it out, and this deploy's execute sets the policy again).
    """
    ctx, spec = session.ctx, session.spec
    cfn = ctx.clients.cloudformation
    stack = describe_stack(cfn, spec.stack_name)
    if stack is None or stack.status == "REVIEW_IN_PROGRESS" or running(stack.status):
        return
    deployed = list_resources(cfn, spec.stack_name)
    relaxed = protection.unprotected(cfn, spec.stack_name, deployed)
    if not relaxed:
        return
    ctx.out(f"warning: {protection.relaxed_message(spec.stack_name, relaxed)}")
    policy = protection.policy_for_template(
        spec.template, protection.deployed_stateful_ids(deployed)
    )
    protection.set_stack_policy(cfn, spec.stack_name, policy)
    ctx.out(f"stack policy of {spec.stack_name}: restored ({', '.join(relaxed)} protected again)")


def status(request: StatusRequest, runtime: Runtime) -> int:
    """Is the deployed template the committed one, and has anything drifted? 0 yes/no, 1 else."""
    session = open_session(request.target, ChangeOptions(), runtime)
    ctx, spec = session.ctx, session.spec
    cfn = ctx.clients.cloudformation
    stack = describe_stack(cfn, spec.stack_name)
    if stack is None or stack.status == "REVIEW_IN_PROGRESS":
        ctx.out(f"{spec.stack_name}: not deployed")
        return ExitCode.DIFFERS
    relaxed = protection.unprotected(cfn, spec.stack_name, list_resources(cfn, spec.stack_name))
    listed = list_change_sets(cfn, spec.stack_name)
    tags = stack.tags
    deployed = tags.get(contracts.TEMPLATE_TAG, "none")
    ctx.out(f"{spec.stack_name}: {stack.status}")
    ctx.out(f"  deployed template-sha256  {deployed}")
    ctx.out(f"  committed template-sha256 {spec.template_hash}")
    ctx.out(f"  deployed commit {tags.get(contracts.COMMIT_TAG, 'unknown')}")
    in_sync = deployed == spec.template_hash
    ctx.out(
        "  template: up to date" if in_sync else "  template: DIFFERS (deploy to bring it in line)"
    )
    view = assess(
        cfn, spec.stack_name, spec.template_body, ctx.clock, ctx.timeout_seconds,
        session.env.deploy.drift, session.env.emulator,
    )  # fmt: skip
    report = view.report
    if report.note and not report.excused:
        ctx.out(f"  {report.note}")
    ctx.out(f"  drift: {report.status}")
    # The same lines as the plan's drift section (and the scheduled drift job's log); an
    # unestablished drift is explained once, by drift_counts below.
    lines = view.text_lines() if report.established else view.detail_lines()
    for line in lines:
        ctx.out(f"  {line}")
    if relaxed:
        ctx.out(f"  stack policy: {protection.relaxed_message(spec.stack_name, relaxed)}")
    else:
        ctx.out("  stack policy: every stateful resource protected")
    for orphan in orphans(listed, ctx.utcnow(), ctx.timeout_seconds):
        ctx.out(
            f"  orphaned change set {orphan.name} (created {orphan.created:%Y-%m-%d %H:%M} UTC, "
            f"never executed): the next {'plan' if orphan.purpose == 'pr' else 'deploy'} "
            "deletes it"
        )
    for kept in (c for c in listed if c.purpose == naming.CHANGE_SET_KEPT):
        ctx.out(f"  kept plan {kept.name}: {kept.execution_status}")
    access_note = access_drift(session)
    if access_note:
        ctx.out(f"  {access_note}")
    settled = stack.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    ok = in_sync and settled and not report.drifted and drift_counts(report, session.env, ctx.out)
    if relaxed:
        return ExitCode.UNPROTECTED
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


def destroy(request: DestroyRequest, runtime: Runtime) -> int:
    """Delete an environment that neither retains data nor is termination-protected."""
    with run_lock(request.target, "destroy"):
        return _destroy(request, runtime)


def _destroy(request: DestroyRequest, runtime: Runtime) -> int:
    env = target_environment(request.target)
    stack_name = naming.stack_name(env.name)
    if env.retain_data or env.termination_protection:
        raise GeneratorError(
            f"environment {env.name} has retain_data={env.retain_data} and "
            f"termination_protection={env.termination_protection}; destroy expects both false "
            f"in environments/{env.name}.yaml (data-keeping environments are never destroyed "
            "by this tool)",
            ExitCode.USAGE,
        )
    clients, _ = _connect(request.target, env, runtime)
    cfn = clients.cloudformation
    stack = describe_stack(cfn, stack_name)
    if stack is None:
        runtime.out(f"{stack_name}: does not exist; nothing to destroy")
        return ExitCode.OK
    base = request.target.env
    if (
        request.target.preview is not None
        and preview.as_preview(stack.name, stack.tags, base) is None
    ):
        raise GeneratorError(
            f"stack {stack_name} has no tag {preview.PREVIEW_OF_TAG}={base}; expected a "
            "preview made by `deploy --preview` (refusing to delete anything else)",
            ExitCode.USAGE,
        )
    if stack.termination_protection:
        raise GeneratorError(
            f"stack {stack_name} has termination protection on in AWS although the environment "
            "file says off; deploy once to reconcile it, then destroy",
            ExitCode.USAGE,
        )
    if not request.yes:
        if not sys.stdin.isatty():
            raise GeneratorError(
                f"destroy asks for confirmation and there is no terminal; expected --yes to "
                f"delete {stack_name}",
                ExitCode.USAGE,
            )
        answer = runtime.confirm(f"Type the stack name ({stack_name}) to delete it and its data: ")
        if answer.strip() != stack_name:
            raise GeneratorError(
                f"not confirmed: got {answer.strip()!r}; expected {stack_name!r}", ExitCode.USAGE
            )
    timeout = timeout_seconds(request.target, env)
    destroy_stack(cfn, clients.s3, stack, runtime.clock, runtime.out, timeout)
    return ExitCode.OK
