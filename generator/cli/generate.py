"""``synth``, ``check`` and ``schema``: the generated files (no AWS, no deploy code)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from generator.cli.common import add_root, workspace

if TYPE_CHECKING:
    from generator.synth import Selection


def _selection(args: argparse.Namespace) -> Selection:
    from generator.synth import Selection

    names = tuple(args.env) if args.env else None
    return Selection(workspace(args), names)


def _synth(args: argparse.Namespace, runtime: object) -> int:
    from generator.synth import run_synth

    return run_synth(_selection(args))


def _check(args: argparse.Namespace, runtime: object) -> int:
    from generator.synth import run_check

    return run_check(_selection(args))


def _schema(args: argparse.Namespace, runtime: object) -> int:
    from generator.synth import run_schema

    return run_schema()


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``synth``, ``check`` and ``schema``."""
    for name, func, text in (
        ("synth", _synth, "write templates/ (and the environment schema) from environments/"),
        ("check", _check, "fail if committed generated files differ from the generator"),
    ):
        parser = sub.add_parser(name, help=text, description=text)
        parser.add_argument(
            "--env", action="append", metavar="ENV", help="only this environment (repeatable)"
        )
        add_root(parser)
        parser.set_defaults(func=func)
    parser = sub.add_parser("schema", help="print the JSON Schema of an environment file")
    parser.set_defaults(func=_schema)
