"""``access plan|deploy``: the account-access stack (an administrator's, once per account)."""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from generator.cli import connect
from generator.cli.common import add_connection, add_root, connection

if TYPE_CHECKING:
    from generator.deploy.runtime import Runtime

_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def repository_argument(text: str) -> str:
    if not _REPOSITORY.match(text):
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected OWNER/NAME of a GitHub repository"
        )
    return text


def _access(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.deploy.access import AccessRequest, access
    from generator.deploy.pipeline import StackTarget

    target = StackTarget(connection(args), args.env, args.timeout_minutes)
    request = AccessRequest(target, args.action == "deploy", args.repository, args.yes)
    return access(request, connect.runtime(runtime))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``access``."""
    parser = subparsers.add_parser(
        "access",
        help="plan or deploy the account-access stack (CI roles; an administrator, per account)",
        description="The CI account-access stack (templates/ci-access.json) through a change "
        "set: `plan` shows it, `deploy` creates the bootstrap stack first (the template goes by "
        "URL from its bucket), then applies it after confirmation (--yes, or no terminal: "
        "none). An existing GitHub OIDC provider is reused. Exit codes as for `deploy`.",
    )
    parser.add_argument("action", choices=("plan", "deploy"))
    parser.add_argument("--env", required=True, help="an environment of the account")
    parser.add_argument(
        "--repository",
        type=repository_argument,
        metavar="OWNER/NAME",
        help="the GitHub repository whose workflows may assume the roles (default: the "
        "deployed stack's, else the checkout's github.com origin)",
    )
    parser.add_argument("--yes", action="store_true", help="deploy without asking")
    parser.add_argument(
        "--timeout-minutes",
        type=int,
        default=None,
        help="give up waiting after this long (default: deploy.timeout_minutes)",
    )
    add_connection(parser)
    add_root(parser)
    parser.set_defaults(func=_access)
