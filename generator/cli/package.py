"""``package``: the handler zip."""

from __future__ import annotations

import argparse

from generator.cli.common import add_root, workspace


def _package(args: argparse.Namespace, runtime: object) -> int:
    from generator.package import PackageOptions, show_artifact

    return show_artifact(PackageOptions(workspace(args), rebuild=args.rebuild))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``package``."""
    text = "build (or reuse) the handler zip and print its sha256, path, size and S3 key"
    parser = sub.add_parser("package", help=text, description=text)
    parser.add_argument(
        "--rebuild", action="store_true", help="ignore cached builds (cached wheels are reused)"
    )
    add_root(parser)
    parser.set_defaults(func=_package)
