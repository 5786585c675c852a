"""Which AWS a command talks to: the one place that picks real AWS or the embedded emulator.

The deploy pipelines and the workload commands take a ``Runtime`` whose client factory this
module chooses: an environment with ``emulator: true`` gets clients on the emulator's loopback
endpoint with fake credentials (the emulator is started when needed); every other environment
gets AWS's own, through the standard credential chain, ``--profile`` and ``--endpoint-url``.
Nothing below the command layer imports the emulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.config import Environment
    from generator.deploy.aws import Clients
    from generator.deploy.runtime import Connection, Runtime


def clients(connection: Connection, env: Environment) -> Clients:
    """The emulator's clients for an emulated environment, AWS's for every other."""
    from generator.deploy.aws import make_clients
    from generator.deploy.runtime import aws_clients

    if not env.emulator:
        return aws_clients(connection, env)
    from generator.emulator.endpoint import emulator_session, endpoint_for

    endpoint = endpoint_for(env, connection.workspace.root, connection.endpoint_url)
    return make_clients(env.region, session=emulator_session(env.region), endpoint_url=endpoint)


def runtime(given: Runtime | None) -> Runtime:
    """The runtime a command runs with: the caller's (tests), else the real world."""
    if given is not None:
        return given
    from generator.deploy.runtime import default_runtime

    return default_runtime(clients)
