"""Where an environment's AWS calls go: AWS itself, or the embedded emulator.

The deploy code builds its clients from a ``Target``; for an emulated environment that is the
emulator's loopback endpoint and fake credentials, and everything after that is the same code
path a real account takes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import boto3

from generator.config import Environment
from generator.emulator import server
from generator.errors import ExitCode, GeneratorError
from generator.workspace import state_dir

# moto's default account: every request with fake credentials lands in it.
EMULATOR_ACCOUNT = "123456789012"
FAKE_CREDENTIAL = "testing"


@dataclass(frozen=True)
class Target:
    """An endpoint (None: AWS's own) and a session (None: the standard credential chain)."""

    endpoint_url: str | None = None
    session: boto3.session.Session | None = None

    @property
    def emulated(self) -> bool:
        """Whether calls go to the embedded emulator."""
        return self.session is not None


def is_emulated(env: Environment) -> bool:
    """Whether the environment deploys to the embedded emulator rather than an AWS account."""
    return env.emulator


def emulator_session(region: str) -> boto3.session.Session:
    """A session with fake credentials: nothing sent with it can authenticate to AWS."""
    return boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIAL,
        aws_secret_access_key=FAKE_CREDENTIAL,
        region_name=region,
    )


def target_for(env: Environment, root: Path, endpoint_url: str | None = None) -> Target:
    """The target of ``env``; starts the emulator when the environment is emulated.

    An explicit ``endpoint_url`` (``--endpoint-url``) wins: it names an emulator run elsewhere.
    """
    if not is_emulated(env):
        return Target(endpoint_url=endpoint_url)
    if env.account_id != EMULATOR_ACCOUNT:
        raise GeneratorError(
            f"environment {env.name!r} is emulated but names account {env.account_id}; expected "
            f"the emulator's account {EMULATOR_ACCOUNT} "
            f"(account_id in environments/{env.name}.yaml)",
            ExitCode.USAGE,
        )
    endpoint = endpoint_url or server.ensure_running(state_dir(root))
    print(
        f"environment {env.name!r}: embedded AWS emulator (moto) at {endpoint}, fake credentials; "
        "nothing is sent to AWS",
        file=sys.stderr,
        flush=True,
    )
    return Target(endpoint_url=endpoint, session=emulator_session(env.region))
