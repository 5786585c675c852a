"""``lint``: cfn-lint, checkov and Control Tower's rules over the committed templates;
``landing-zone``: install or run the Control Tower gate alone."""

from __future__ import annotations

import argparse

from generator.cli.common import add_root, workspace


def _lint(args: argparse.Namespace, runtime: object) -> int:
    from generator.gates import lint

    return lint(workspace(args))


def _landing_zone(args: argparse.Namespace, runtime: object) -> int:
    from generator import landing_zone

    root = workspace(args).root
    if args.action == "install":
        return landing_zone.install_report(root)
    return landing_zone.check(root)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``lint`` and ``landing-zone``."""
    parser = sub.add_parser(
        "lint",
        help="run cfn-lint, checkov and Control Tower's rules over every template; fail on any",
        description=(
            "Run cfn-lint (informational, serverless and project rules), checkov (from "
            ".venv-checkov, or $CHECKOV) and AWS Control Tower's proactive controls (cfn-guard "
            "from .build/cfn-guard, or $CFN_GUARD_HOME) over templates/*.json. Exit 0 when all "
            "find nothing, 1 on any finding, 2 when a tool or the templates are missing."
        ),
    )
    add_root(parser, shown=True)
    parser.set_defaults(func=_lint)

    zone = sub.add_parser(
        "landing-zone",
        help="install Control Tower's rules and cfn-guard, or run that gate alone",
        description=(
            "install: download the hash-pinned cdklabs-cdk-validator-cfnguard wheel "
            "(requirements-cfnguard.txt) and extract its Control Tower rules and cfn-guard "
            "into .build/cfn-guard. check: run the rules over the resolved templates; exit 1 on "
            "a finding no entry of generator/control_exceptions.py explains or a stale exception."
        ),
    )
    zone.add_argument("action", choices=["install", "check"], help="what to do")
    add_root(zone, shown=True)
    zone.set_defaults(func=_landing_zone)
