"""``doctor``: the setup checklist of one environment (or all), each with its fix."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from generator.cli import connect
from generator.cli.access import repository_argument
from generator.cli.common import add_connection, add_root, workspace

if TYPE_CHECKING:
    from generator.deploy.runtime import Runtime


def _doctor(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.doctor import DoctorRequest, doctor

    if not args.all and not args.env:
        raise SystemExit("python -m generator doctor: error: expected --env ENV or --all")
    request = DoctorRequest(
        workspace(args),
        () if args.all else tuple(args.env),
        args.profile,
        args.endpoint_url,
        args.repository,
    )
    return doctor(request, connect.runtime(runtime))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``doctor``."""
    parser = subparsers.add_parser(
        "doctor",
        help="check everything an environment's setup needs (AWS and GitHub), with the fixes",
        description="A checklist per environment: the account id, credentials, the bootstrap "
        "and account-access stacks, GitHub's OIDC provider, Lambda's concurrency quota, and on "
        "GitHub (a token from GITHUB_TOKEN or `gh auth token`) the environment, its deployment "
        "branches and reviewers, previews, the OIDC subject claim, and the gates `main` "
        "requires. Exit 0 only when every check holds, else 1.",
    )
    parser.add_argument("--env", action="append", metavar="ENV", help="repeatable")
    parser.add_argument("--all", action="store_true", help="every environment file")
    parser.add_argument("--repository", type=repository_argument, metavar="OWNER/NAME",
                        help="default: the checkout's github.com origin")  # fmt: skip
    add_connection(parser)
    add_root(parser)
    parser.set_defaults(func=_doctor)
