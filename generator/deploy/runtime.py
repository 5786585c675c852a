"""The outside world of a deploy command, passed in as one object (tests build their own).

Clients, the handler artifact, the clock, output and confirmation: everything a command would
otherwise reach for globally. ``default_runtime()`` is the real world; the emulator's launcher
and the tests pass another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from generator.clock import Clock, SystemClock
from generator.config import Environment
from generator.contracts import ArtifactFile
from generator.deploy.aws import Clients, make_clients
from generator.deploy.events import Out
from generator.workspace import Workspace


@dataclass(frozen=True)
class Connection:
    """How to reach an environment's account: a named profile and/or another endpoint."""

    workspace: Workspace
    profile: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True)
class Runtime:
    """What a deploy command uses of the outside world."""

    clients: Callable[[Connection, Environment], Clients]
    artifact: Callable[[Path], ArtifactFile]
    clock: Clock
    out: Out
    confirm: Callable[[str], str]


def _print(line: str) -> None:
    print(line, flush=True)


def aws_clients(connection: Connection, env: Environment) -> Clients:
    """The embedded emulator for emulated environments (started if needed); AWS otherwise."""
    from generator.emulator.target import target_for

    target = target_for(env, connection.workspace.root, connection.endpoint_url)
    return make_clients(
        env.region,
        session=target.session,
        endpoint_url=target.endpoint_url,
        profile=connection.profile,
    )


def built_artifact(root: Path) -> ArtifactFile:
    """The handler zip of the checkout at ``root`` (built, or reused from the cache)."""
    from generator.package import artifact  # imported here: only deploy needs the zip

    built: ArtifactFile = artifact(root)
    return built


def default_runtime() -> Runtime:
    """The real world: AWS (or the emulator), the real clock, stdout and the terminal."""
    return Runtime(
        clients=aws_clients,
        artifact=built_artifact,
        clock=SystemClock(),
        out=_print,
        confirm=input,
    )
