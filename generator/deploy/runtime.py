"""The outside world of a deploy command, passed in as one object (tests build their own).

Clients, the handler artifact, the clock (and the wall clock), output and confirmation:
everything a command would otherwise reach for globally. Where the clients come from is chosen
by the command layer: ``aws_clients`` is AWS itself; the command layer hands the embedded
emulator's factory in for emulated environments, so nothing here knows the emulator exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from generator.clock import Clock, SystemClock, utc_now
from generator.config import Environment
from generator.contracts import ArtifactFile
from generator.deploy.aws import Clients, make_clients
from generator.deploy.stacks import Out
from generator.errors import ExitCode, GeneratorError
from generator.workspace import Workspace


@dataclass(frozen=True)
class Connection:
    """How to reach an environment's account: a named profile and/or another endpoint."""

    workspace: Workspace
    profile: str | None = None
    endpoint_url: str | None = None


# Clients for one environment, reached as the connection says.
ClientFactory = Callable[[Connection, Environment], Clients]


@dataclass(frozen=True)
class Runtime:
    """What a deploy command uses of the outside world."""

    clients: ClientFactory
    artifact: Callable[[Path], ArtifactFile]
    clock: Clock
    out: Out
    confirm: Callable[[str], str]
    # Wall-clock time, for a preview's expiry tag (the waits use ``clock``).
    utcnow: Callable[[], datetime] = utc_now
    # The committed files a plan or deploy of ``env`` reads that `synth` would change now
    # (empty: up to date); tests that hand-write small templates pass one that finds none.
    stale: Callable[[Path, Environment, ArtifactFile], list[str]] = lambda root, env, built: []


def _print(line: str) -> None:
    print(line, flush=True)


def aws_clients(connection: Connection, env: Environment) -> Clients:
    """AWS itself (or the endpoint ``--endpoint-url`` names), with the standard credential
    chain or ``--profile``. An emulated environment is refused: its clients come from the
    emulator's factory, which only the command layer knows."""
    if env.emulator:
        raise GeneratorError(
            f"environment {env.name!r} is emulated (emulator: true in environments/"
            f"{env.name}.yaml); expected the embedded emulator's clients, not AWS's",
            ExitCode.USAGE,
        )
    return make_clients(
        env.region, endpoint_url=connection.endpoint_url, profile=connection.profile
    )


def built_artifact(root: Path) -> ArtifactFile:
    """The handler zip of the checkout at ``root`` (built, or reused from the cache)."""
    from generator.package import artifact  # imported here: only deploy needs the zip

    built: ArtifactFile = artifact(root)
    return built


def stale_templates(root: Path, env: Environment, built: ArtifactFile) -> list[str]:
    """The committed templates a deploy of ``env`` uses (its own and the bootstrap stack's)
    that differ from what the generator writes now."""
    from generator.synth import differences, render_templates  # only plan and deploy need it

    return differences(root, render_templates([env], built))


def default_runtime(clients: ClientFactory = aws_clients) -> Runtime:
    """The real world: ``clients`` (AWS by default), the real clock, stdout and the terminal."""
    return Runtime(
        clients=clients,
        artifact=built_artifact,
        clock=SystemClock(),
        out=_print,
        confirm=input,
        stale=stale_templates,
    )
