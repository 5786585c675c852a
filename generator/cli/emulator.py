"""``up``, ``down``, ``upload``, ``rotate``, ``logs`` and ``demo``: the emulator, and the workload.

``up`` and ``down`` start and stop the embedded emulator; ``upload`` and ``rotate`` work against
any environment (``generator.workload``); ``demo`` composes a deploy, an upload and, in the
emulator, an alarm that fires.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli import connect
from generator.cli.common import add_root, workspace
from generator.errors import ExitCode

if TYPE_CHECKING:
    from generator.deploy.runtime import Runtime
    from generator.workload import UploadRequest

# The environment that `make deploy` targets when none is named.
DEFAULT_ENVIRONMENT = "local"


def _up(args: argparse.Namespace, runtime: object) -> int:
    from generator.emulator import launcher

    state = workspace(args).state_dir
    endpoint = launcher.ensure_running(state)
    print(f"emulator running at {endpoint} (log: {launcher.log_file(state)})")
    return ExitCode.OK


def _down(args: argparse.Namespace, runtime: object) -> int:
    from generator.emulator import launcher

    if launcher.stop(workspace(args).state_dir):
        print("emulator stopped; its resources are gone (the next deploy recreates them)")
    else:
        print("emulator was not running")
    return ExitCode.OK


def _request(args: argparse.Namespace, file: Path | None) -> UploadRequest:
    from generator.workload import UploadRequest

    return UploadRequest(
        workspace(args),
        args.env,
        file,
        args.profile,
        args.endpoint_url,
        args.timeout_seconds,
        getattr(args, "preview", None),
    )


def _upload(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.workload import upload

    return upload(_request(args, Path(args.file)), connect.runtime(runtime))


def _rotate(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.workload import RotateRequest, rotate

    request = RotateRequest(
        workspace(args), args.env, args.profile, args.endpoint_url, args.timeout_seconds
    )
    return rotate(request, connect.runtime(runtime))


def _demo(args: argparse.Namespace, given: Runtime | None) -> int:
    """Deploy the environment, upload a sample file and verify its result; in the emulator,
    then deliver a failing upload and show the Errors alarm and its notification."""
    from generator.deploy import pipeline
    from generator.workload import function_python, load_environment, upload

    runtime = connect.runtime(given)
    request = _request(args, None)
    target = pipeline.StackTarget(request.connection, request.env)
    deployed = pipeline.deploy(pipeline.DeployRequest(target), runtime)
    if deployed != ExitCode.OK:
        return deployed
    code = upload(request, runtime)
    env = load_environment(request.workspace.root, request.env)
    clients = runtime.clients(request.connection, env)
    ran_on = function_python(clients, env)
    if ran_on:
        print(f"function ran on {ran_on}")
    if code != ExitCode.OK or not env.emulator:
        return code
    from generator.emulator.observability import alarm_demo  # it sets off an alarm

    fired = alarm_demo.run(env, clients.client, request.timeout_seconds)
    return ExitCode.OK if fired else ExitCode.TIMED_OUT


_DURATION = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(text: str) -> float:
    """``10m``, ``2h``, ``30s``, ``1d``: seconds."""
    unit = text[-1:].lower()
    try:
        value = float(text[:-1]) if unit in _DURATION else -1.0
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"got {text!r}; expected a duration such as 30s, 10m, 2h or 1d"
        )
    return value * _DURATION[unit]


def _logs(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.workload import LogsRequest, logs

    request = LogsRequest(
        workspace(args), args.env, args.since, args.follow, args.profile, args.endpoint_url,
        args.rotation, args.preview,
    )  # fmt: skip
    return logs(request, connect.runtime(runtime))


def _target(parser: argparse.ArgumentParser, waiting_for: str = "the result") -> None:
    add_root(parser)
    parser.add_argument(
        "--env", default=DEFAULT_ENVIRONMENT,
        help=f"environment name (environments/ENV.yaml); default: {DEFAULT_ENVIRONMENT}",
    )  # fmt: skip
    parser.add_argument("--profile", help="AWS named profile for a real account")
    parser.add_argument(
        "--endpoint-url", default=None, help="an emulator already running elsewhere"
    )
    parser.add_argument(
        "--timeout-seconds", type=float, default=60.0,
        help=f"how long to wait for {waiting_for} (default: 60)",
    )  # fmt: skip


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``up``, ``down``, ``upload``, ``rotate`` and ``demo``."""
    up = subparsers.add_parser(
        "up", help="start the embedded AWS emulator (moto) on loopback",
        description="Start the emulator in the background unless it is running; print its "
        "endpoint. `deploy --env local` does this by itself.",
    )  # fmt: skip
    add_root(up)
    up.set_defaults(func=_up)

    down = subparsers.add_parser(
        "down", help="stop the embedded AWS emulator (its resources go with it)"
    )
    add_root(down)
    down.set_defaults(func=_down)

    upload = subparsers.add_parser(
        "upload", help="upload a file, wait for its result and verify the signature",
        description="Put FILE under the upload prefix of the environment's data bucket, wait "
        "for the function's result under the results prefix, print it, and verify its "
        "signature with the secret's password. Exit 0 when valid, 4 when not, 5 on timeout.",
    )  # fmt: skip
    _target(upload)
    upload.add_argument("file", help="the file to upload")
    upload.add_argument("--preview", metavar="NAME", help="upload to this preview of ENV")
    upload.set_defaults(func=_upload)

    rotate = subparsers.add_parser(
        "rotate", help="rotate the signing key now and verify every result by its key version",
        description="Call RotateSecret on the environment's secret (its rotation function runs "
        "the four steps), wait until the new version is AWSCURRENT, then verify every result "
        "under the results prefix with the key version it names. Exit 0 when all verify, 4 "
        "when one does not, 5 when the rotation does not finish in time.",
    )  # fmt: skip
    _target(rotate, "the new key to become current")
    rotate.set_defaults(func=_rotate)

    logs = subparsers.add_parser(
        "logs", help="print the function's log lines (with --follow, keep printing new ones)",
        description="Read the function's CloudWatch log group (the emulator's or an AWS "
        "account's): every line since --since ago, oldest first; --follow polls for new lines "
        "every two seconds until Ctrl-C.",
    )  # fmt: skip
    _target(logs)
    logs.add_argument("--since", type=_duration, default=600.0, metavar="DURATION",
                      help="how far back to start: 30s, 10m (default), 2h, 1d")  # fmt: skip
    logs.add_argument("--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("--rotation", action="store_true",
                      help="the key rotation function's log group instead")  # fmt: skip
    logs.add_argument("--preview", metavar="NAME", help="a preview of ENV")
    logs.set_defaults(func=_logs)

    demo = subparsers.add_parser(
        "demo", help="deploy, upload a sample file and show its verified result",
    )  # fmt: skip
    _target(demo)
    demo.set_defaults(func=_demo)
