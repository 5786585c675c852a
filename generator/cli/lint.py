"""``lint``: cfn-lint and checkov over the committed templates."""

from __future__ import annotations

import argparse

from generator.cli.common import add_root, workspace


def _lint(args: argparse.Namespace, runtime: object) -> int:
    from generator.gates import lint

    return lint(workspace(args))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``lint``."""
    parser = sub.add_parser(
        "lint",
        help="run cfn-lint and checkov over every committed template; fail on any finding",
        description=(
            "Run cfn-lint (informational, serverless and project rules) and checkov "
            "(from .venv-checkov, or $CHECKOV) over templates/*.json. Exit 0 when both find "
            "nothing, 1 on any finding, 2 when a tool or the templates are missing."
        ),
    )
    add_root(parser, shown=True)
    parser.set_defaults(func=_lint)
