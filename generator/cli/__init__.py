"""The command line: the only place that knows about argparse, and where errors become exit codes.

One small module per command group; each adds its parsers and, when run, turns the arguments into
a typed options object and calls one domain function. The domain is imported inside the command,
so ``--help``, ``synth``, ``check`` and ``schema`` never load boto3, moto or the deploy package.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from generator.cli import deploy, emulator, generate, lint, package
from generator.errors import ExitCode, GeneratorError

if TYPE_CHECKING:
    from generator.deploy.runtime import Runtime

# One line per command group; order is the order of `--help`.
GROUPS = (generate, package, lint, deploy, emulator)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="python -m generator",
        description="Generate, check and deploy the ServerlessApp CloudFormation stacks.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None, *, runtime: Runtime | None = None) -> int:
    """Run one command; return its exit code.

    ``runtime`` replaces the outside world of the deploy commands (tests, the emulator launcher);
    None is the real one.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, runtime))
    except GeneratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        code = _known_failure(exc)
        if code is None:
            raise
        return code


def _known_failure(exc: Exception) -> int | None:
    """The exit code of an expected failure (after printing it); None for a bug.

    The classes are looked up only once their module is loaded: an exception of a module that
    was never imported cannot have been raised, and importing it here would slow every command.
    """
    if "generator.config" in sys.modules:
        from generator.config import ConfigError

        if isinstance(exc, ConfigError):
            count = len(exc.problems)
            plural = "s" if count != 1 else ""
            print(f"error: {count} problem{plural} in environment files:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return int(ExitCode.USAGE)
    if "botocore.exceptions" in sys.modules:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError | BotoCoreError):
            from generator.deploy.aws import aws_failure

            error = aws_failure(exc)
            print(f"error: {error}", file=sys.stderr)
            return int(error.exit_code)
    return None
