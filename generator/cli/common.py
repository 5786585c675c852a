"""Arguments shared by several command groups."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from generator.workspace import CHECKOUT, Workspace

if TYPE_CHECKING:
    from generator.deploy.runtime import Connection


def add_root(parser: argparse.ArgumentParser, *, shown: bool = False) -> None:
    """``--root``: the repository to work on (tests point it at a temporary one)."""
    parser.add_argument(
        "--root",
        type=Path,
        default=CHECKOUT,
        help="repository root (default: this checkout)" if shown else argparse.SUPPRESS,
    )


def workspace(args: argparse.Namespace) -> Workspace:
    """The workspace named by ``--root``."""
    return Workspace(Path(args.root).resolve())


def add_connection(parser: argparse.ArgumentParser) -> None:
    """``--profile`` and ``--endpoint-url``: which AWS (or emulator) a command talks to."""
    parser.add_argument("--profile", help="AWS named profile (default: the standard chain)")
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="send every AWS call to this endpoint (an emulator); default: AWS itself",
    )


def connection(args: argparse.Namespace) -> Connection:
    """The connection named by ``--root``, ``--profile`` and ``--endpoint-url``."""
    from generator.deploy.runtime import Connection  # boto3 only when a command runs

    return Connection(workspace(args), args.profile, args.endpoint_url)
