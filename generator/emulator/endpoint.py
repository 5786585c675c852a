"""Where an emulated environment's AWS calls go: the embedded emulator's loopback endpoint, with
fake credentials. The command layer builds the deploy code's clients from these two, and
everything after that is the same code path a real account takes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import boto3

from generator.config import Environment
from generator.emulator import launcher
from generator.errors import ExitCode, GeneratorError
from generator.workspace import state_dir

# moto's default account: every request with fake credentials lands in it.
EMULATOR_ACCOUNT = "123456789012"
FAKE_CREDENTIAL = "testing"
_announced: set[tuple[str, str]] = set()


def emulator_session(region: str) -> boto3.session.Session:
    """A session with fake credentials: nothing sent with it can authenticate to AWS."""
    return boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIAL,
        aws_secret_access_key=FAKE_CREDENTIAL,
        region_name=region,
    )


def endpoint_for(env: Environment, root: Path, endpoint_url: str | None = None) -> str:
    """The emulator endpoint of an emulated environment; starts the emulator when needed.

    An explicit ``endpoint_url`` (``--endpoint-url``) wins: it names an emulator run elsewhere.
    """
    if not env.emulator:
        raise GeneratorError(
            f"environment {env.name!r} is not emulated; expected `emulator: true` in "
            f"environments/{env.name}.yaml",
            ExitCode.USAGE,
        )
    if env.account_id != EMULATOR_ACCOUNT:
        raise GeneratorError(
            f"environment {env.name!r} is emulated but names account {env.account_id}; expected "
            f"the emulator's account {EMULATOR_ACCOUNT} "
            f"(account_id in environments/{env.name}.yaml)",
            ExitCode.USAGE,
        )
    endpoint = endpoint_url or launcher.ensure_running(state_dir(root))
    if (env.name, endpoint) not in _announced:  # once per command, however many clients it makes
        _announced.add((env.name, endpoint))
        print(
            f"environment {env.name!r}: embedded AWS emulator (moto) at {endpoint}, fake "
            "credentials; nothing is sent to AWS",
            file=sys.stderr,
            flush=True,
        )
    return endpoint
