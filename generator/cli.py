"""The command line: thin; turns errors into messages and exit codes in one place.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func`` to a callable taking the parsed arguments and returning an exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from generator.config import ConfigError
from generator.errors import ExitCode, GeneratorError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    from generator import commands

    parser = argparse.ArgumentParser(
        prog="python -m generator",
        description="Generate, check and deploy the ServerlessApp CloudFormation stacks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in commands.modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        count = len(exc.problems)
        print(
            f"error: {count} problem{'s' if count != 1 else ''} in environment files:",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return ExitCode.USAGE
    except GeneratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
