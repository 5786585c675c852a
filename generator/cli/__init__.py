"""The command line: the only place that knows about argparse, and where errors become exit codes.

One small module per command group; each adds its parsers and, when run, turns the arguments into
a typed options object and calls one domain function. The domain is imported inside the command,
so ``--help``, ``synth``, ``check`` and ``schema`` never load boto3, moto or the deploy package.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from generator import interrupts
from generator.cli import (
    access,
    deploy,
    doctor,
    emulator,
    generate,
    lint,
    package,
    previews,
    rollout,
)
from generator.errors import ExitCode, GeneratorError

if TYPE_CHECKING:
    from generator.deploy.runtime import Runtime

# One line per command group; order is the order of `--help`.
GROUPS = (generate, package, lint, rollout, deploy, access, doctor, previews, emulator)


# The parser of the command given (the innermost, for a command with subcommands): a default each
# parser sets for itself, which a subcommand's parser overrides, as it does any default.
_GIVEN = "_command_parser"


class CommandParser(argparse.ArgumentParser):
    """An argument parser that reports an unknown argument with the usage of the command it was
    given to; argparse reports it with the top-level usage, which does not show the command's
    flags. Subcommand parsers are of this class too (``add_subparsers`` makes its own kind)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_defaults(**{_GIVEN: self})

    def parse_args(self, args: Iterable[str] | None = None, namespace: Any = None) -> Any:
        """Parse ``args`` (default: the command line); exit 2 with the given command's usage
        when something in them is not one of its arguments."""
        parsed, extras = self.parse_known_args(args, namespace)
        given: argparse.ArgumentParser = parsed.__dict__.pop(_GIVEN, self)
        if extras:
            given.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command registered."""
    parser = CommandParser(
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
    interrupts.handle_termination()
    try:
        return int(args.func(args, runtime))
    except GeneratorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted (SIGINT); what was under way is described above", file=sys.stderr)
        return 130
    except interrupts.Terminated as exc:
        print(f"{exc}; what was under way is described above", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        code = _known_failure(exc)
        if code is None:
            return _unexpected(exc, getattr(args, "root", None))
        return code


def _unexpected(exc: Exception, root: object) -> int:
    """A bug or an unforeseen failure: one line, and the whole trace in a file (exit 4)."""
    import traceback
    from datetime import UTC, datetime
    from pathlib import Path

    from generator.render import write_atomic
    from generator.workspace import CHECKOUT, state_dir

    folder = state_dir(Path(root) if isinstance(root, str | Path) else CHECKOUT) / "errors"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    where = folder / f"{stamp}-{os.getpid()}.txt"
    trace = "".join(traceback.format_exception(exc))
    try:
        write_atomic(where, trace)
        saved = f"the full trace is in {where}"
    except OSError as error:
        saved = f"the trace could not be written to {where} ({error.strerror}):\n{trace}"
    print(f"error: unexpected {type(exc).__name__}: {exc}; {saved}", file=sys.stderr)
    return int(ExitCode.FAILED)


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
