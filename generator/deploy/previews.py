"""``previews``: find the preview stacks of environments, list them, destroy the expired ones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import naming, preview, rollout
from generator.config import load_environments
from generator.deploy.aws import pages
from generator.deploy.destroy import destroy_stack
from generator.deploy.runtime import Connection, Runtime
from generator.deploy.stacks import Stack
from generator.errors import ExitCode, GeneratorError


@dataclass(frozen=True)
class PreviewsRequest:
    """Which previews (of which environments), and what to do with them."""

    connection: Connection
    envs: tuple[str, ...] = ()  # empty: every environment CI deploys
    preview: str | None = None  # only this preview
    markdown: Path | None = None  # append each preview's outputs here
    expired: bool = False  # only those past their ExpiresAt
    destroy: bool = False  # delete them (only with ``expired``)


def find_stacks(cfn: Any, env: str) -> list[Stack]:
    """The live stacks named like a preview of ``env``, described (with their tags).

    Listed by name first: the preview role may describe only ``TapStack<env>-*`` stacks."""
    prefix = naming.stack_name(env) + preview.SEPARATOR
    names = {
        summary["StackName"]
        for page in pages(cfn, "list_stacks")
        for summary in page.get("StackSummaries", [])
        if summary["StackName"].startswith(prefix) and summary["StackStatus"] != "DELETE_COMPLETE"
    }
    return [
        Stack.parse(raw)
        for name in sorted(names)
        for raw in cfn.describe_stacks(StackName=name).get("Stacks", [])
    ]


def outputs_markdown(item: preview.PreviewStack, stack: Stack) -> str:
    """A preview's outputs as Markdown, for the pull request's comment."""
    lines = [
        f"### Preview `{item.stack_name}`",
        f"Expires {item.expires_at or 'never'}; destroyed when the pull request closes or loses "
        "the `preview` label.",
        "",
        "| Output | Value |",
        "| --- | --- |",
    ]
    for key, value in sorted(stack.outputs.items()):
        lines.append(f"| {key} | `{value}` |")
    return "\n".join(lines) + "\n"


def previews(request: PreviewsRequest, runtime: Runtime) -> int:
    """List previews (``expired``: only those past their ExpiresAt); ``destroy`` them."""
    if request.destroy and not request.expired:
        raise GeneratorError(
            "--destroy removes expired previews only; expected --expired with it (remove one "
            "preview with `destroy --env ENV --preview NAME`)",
            ExitCode.USAGE,
        )
    root = request.connection.workspace.root
    wanted = list(request.envs) or None
    envs = load_environments(root / naming.ENVIRONMENTS_DIR, wanted, root)
    names = request.envs or tuple(t.name for t in rollout.rollout(envs.values(), ci=True))
    now = runtime.utcnow()
    found = 0
    for name in names:
        env = envs[name]
        clients = runtime.clients(request.connection, env)
        for stack in find_stacks(clients.cloudformation, name):
            item = preview.as_preview(stack.name, stack.tags, name)
            if item is None or (request.expired and not item.expired(now)):
                continue
            if request.preview and item.preview != request.preview:
                continue
            found += 1
            state = "expired" if item.expired(now) else "live"
            pull = f"pull request {item.pull_request}" if item.pull_request else "no pull request"
            runtime.out(
                f"{item.stack_name}: {pull}, expires {item.expires_at or 'never'} ({state})"
            )
            if request.markdown:
                with request.markdown.open("a", encoding="utf-8") as handle:
                    handle.write(outputs_markdown(item, stack))
            if request.destroy:
                timeout = float(env.deploy.timeout_minutes) * 60.0
                destroy_stack(
                    clients.cloudformation, clients.s3, stack, runtime.clock, runtime.out, timeout
                )
    if not found:
        runtime.out("no expired previews" if request.expired else "no previews")
    return ExitCode.OK
