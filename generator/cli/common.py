"""Arguments shared by several command groups."""

from __future__ import annotations

import argparse
from pathlib import Path

from generator.workspace import CHECKOUT, Workspace


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
