"""``previews``: list the preview stacks of environments, and destroy the expired ones."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from generator import naming, preview, rollout
from generator.config import load_environments
from generator.errors import ExitCode, GeneratorError

ROOT = Path(__file__).resolve().parents[1]


def _stacks(cfn: Any, env: str) -> list[dict[str, Any]]:
    """The live stacks named like a preview of ``env``, described (with their tags).

    Listed by name first: the preview role may describe only ``TapStack<env>-*`` stacks."""
    prefix = naming.stack_name(env) + preview.SEPARATOR
    names = [
        summary["StackName"]
        for page in cfn.get_paginator("list_stacks").paginate()
        for summary in page.get("StackSummaries", [])
        if summary["StackName"].startswith(prefix) and summary["StackStatus"] != "DELETE_COMPLETE"
    ]
    stacks: list[dict[str, Any]] = []
    for name in sorted(set(names)):
        stacks.extend(cfn.describe_stacks(StackName=name).get("Stacks", []))
    return stacks


def outputs_markdown(item: preview.PreviewStack, stack: dict[str, Any]) -> str:
    """A preview's outputs as Markdown, for the pull request's comment."""
    lines = [
        f"### Preview `{item.stack_name}`",
        f"Expires {item.expires_at or 'never'}; destroyed when the pull request closes or loses "
        "the `preview` label.",
        "",
        "| Output | Value |",
        "| --- | --- |",
    ]
    for output in sorted(stack.get("Outputs") or [], key=lambda o: str(o["OutputKey"])):
        lines.append(f"| {output['OutputKey']} | `{output['OutputValue']}` |")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """List previews (``--expired``: only those past their ExpiresAt); ``--destroy`` them."""
    from generator.deploy import cli as deploy_cli
    from generator.deploy.destroy import destroy_stack

    if args.destroy and not args.expired:
        raise GeneratorError(
            "--destroy removes expired previews only; expected --expired with it (remove one "
            "preview with `destroy --env ENV --preview NAME`)",
            ExitCode.USAGE,
        )
    root = Path(args.root)
    envs = load_environments(root / naming.ENVIRONMENTS_DIR, args.env, root)
    names = args.env or [t.name for t in rollout.rollout(envs.values(), ci=True)]
    hooks = deploy_cli.HOOKS
    now = hooks.utcnow()
    found = 0
    for name in names:
        env = envs[name]
        clients = hooks.clients(args, env)
        for stack in _stacks(clients.cloudformation, name):
            item = preview.as_preview(stack, name)
            if item is None or (args.expired and not item.expired(now)):
                continue
            if args.preview and item.preview != args.preview:
                continue
            found += 1
            state = "expired" if item.expired(now) else "live"
            pull = f"pull request {item.pull_request}" if item.pull_request else "no pull request"
            hooks.out(f"{item.stack_name}: {pull}, expires {item.expires_at or 'never'} ({state})")
            if args.markdown:
                with Path(args.markdown).open("a", encoding="utf-8") as handle:
                    handle.write(outputs_markdown(item, stack))
            if args.destroy:
                destroy_stack(
                    clients.cloudformation,
                    clients.s3,
                    stack,
                    hooks.clock,
                    hooks.out,
                    float(env.deploy.timeout_minutes) * 60.0,
                )
    if not found:
        hooks.out("no expired previews" if args.expired else "no previews")
    return ExitCode.OK


def register(sub: Any) -> None:
    """Add ``previews``."""
    parser = sub.add_parser(
        "previews",
        help="list preview stacks; with --expired --destroy, delete those past their expiry",
        description="Preview stacks are TapStackENV-NAME with the tag PreviewOf=ENV; their "
        "ExpiresAt tag says when `previews --expired --destroy` may delete them.",
    )
    parser.add_argument(
        "--env",
        action="append",
        metavar="ENV",
        help="only previews of this environment (repeatable; default: every CI environment)",
    )
    parser.add_argument("--preview", metavar="NAME", help="only the preview NAME")
    parser.add_argument(
        "--markdown", metavar="FILE", help="append each preview's outputs as Markdown to FILE"
    )
    parser.add_argument("--expired", action="store_true", help="only previews past ExpiresAt")
    parser.add_argument("--destroy", action="store_true", help="delete them (needs --expired)")
    parser.add_argument("--profile", help="AWS named profile (default: the standard chain)")
    parser.add_argument("--endpoint-url", default=None, help="send AWS calls to this endpoint")
    parser.add_argument("--root", default=str(ROOT), help=argparse.SUPPRESS)
    parser.set_defaults(func=run)
