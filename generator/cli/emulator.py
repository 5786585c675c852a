"""``up``, ``down``, ``upload``, ``rotate`` and ``demo``: the emulator, the pipeline end to end."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from generator.cli.common import add_root, workspace

if TYPE_CHECKING:
    from generator.deploy.runtime import Runtime
    from generator.emulator.commands import UploadRequest

# The environment that `make deploy` targets when none is named.
DEFAULT_ENVIRONMENT = "local"


def _up(args: argparse.Namespace, runtime: object) -> int:
    from generator.emulator.commands import up

    return up(workspace(args))


def _down(args: argparse.Namespace, runtime: object) -> int:
    from generator.emulator.commands import down

    return down(workspace(args))


def _request(args: argparse.Namespace, file: Path | None) -> UploadRequest:
    from generator.emulator.commands import UploadRequest

    return UploadRequest(
        workspace(args), args.env, file, args.profile, args.endpoint_url, args.timeout_seconds
    )


def _upload(args: argparse.Namespace, runtime: object) -> int:
    from generator.emulator.commands import upload

    return upload(_request(args, Path(args.file)))


def _rotate(args: argparse.Namespace, runtime: object) -> int:
    from generator.emulator.commands import RotateRequest, rotate

    request = RotateRequest(
        workspace(args), args.env, args.profile, args.endpoint_url, args.timeout_seconds
    )
    return rotate(request)


def _demo(args: argparse.Namespace, runtime: Runtime | None) -> int:
    from generator.deploy.runtime import default_runtime
    from generator.emulator.commands import demo

    return demo(_request(args, None), runtime or default_runtime())


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

    demo = subparsers.add_parser(
        "demo", help="deploy, upload a sample file and show its verified result",
    )  # fmt: skip
    _target(demo)
    demo.set_defaults(func=_demo)
