"""``previews``: list the preview stacks of environments, and destroy the expired ones."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import connect
from generator.cli.common import add_connection, add_root, connection

if TYPE_CHECKING:
    from generator.deploy.runtime import Runtime


def _previews(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.deploy.previews import PreviewsRequest, previews

    request = PreviewsRequest(
        connection(args),
        tuple(args.env or ()),
        args.preview,
        Path(args.markdown) if args.markdown else None,
        args.expired,
        args.destroy,
    )
    return previews(request, connect.runtime(runtime))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    add_connection(parser)
    add_root(parser)
    parser.set_defaults(func=_previews)
