"""Errors that the CLI turns into a message and an exit code, in one place."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented once in docs/operations.md."""

    OK = 0
    DIFFERS = 1  # `check`: committed files differ from what the generator writes
    USAGE = 2  # usage or configuration error
    BLOCKED = 3  # refused by the guard, or a stale plan
    FAILED = 4  # the deployment failed (root cause printed)
    TIMED_OUT = 5  # still in progress when the timeout ran out
    UNPROTECTED = 6  # `status`: the stack policy leaves stateful resources unprotected


class GeneratorError(Exception):
    """An expected failure: the CLI prints the message and exits with ``exit_code``."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
