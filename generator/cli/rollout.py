"""``environments``: the rollout (each environment, its wave and roles) for people and CI."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.cli.common import add_root, workspace
from generator.contracts import MAX_WAVES


def _wave(text: str) -> int:
    """A wave slot, 1 to MAX_WAVES."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_WAVES:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a wave from 1 to {MAX_WAVES}")
    return value


def _environments(args: argparse.Namespace, runtime: object) -> int:
    from generator.rollout import EnvironmentsRequest, environments

    kept = Path(args.kept_plans) if args.kept_plans is not None else None
    request = EnvironmentsRequest(
        workspace(args), args.json, args.ci, args.only, args.wave, args.github_output, kept
    )
    return environments(request)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``environments``."""
    parser = sub.add_parser(
        "environments",
        help="list the environments in rollout order (waves), as a table or JSON",
        description="Every environment file in rollout order: wave, then name. The workflows "
        "build their matrices from `--json --ci` (the emulated environment is left out).",
    )
    parser.add_argument("--json", action="store_true", help="print the rollout as JSON")
    parser.add_argument(
        "--ci", action="store_true", help="only what CI deploys (leave out emulated environments)"
    )
    parser.add_argument(
        "--only", default="all", metavar="ENV", help="only this environment (default: all)"
    )
    parser.add_argument("--wave", type=_wave, default=None, help="only this wave")
    parser.add_argument(
        "--github-output",
        action="store_true",
        help="write the rollout to $GITHUB_OUTPUT: environments, names, previews, wave1..wave"
        f"{MAX_WAVES} (one-line JSON lists)",
    )
    parser.add_argument(
        "--kept-plans",
        metavar="DIR",
        help="with --wave: the wave's environments that have a change set kept in DIR "
        "(plan-ENV.changeset); written as output `apply` and summarised",
    )
    add_root(parser)
    parser.set_defaults(func=_environments)
