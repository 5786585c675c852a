"""The emulator server process: ``python -m generator.cli.serve --state-dir DIR [--port N]``.

Started by ``generator.emulator.launcher``, never by hand; its own entry point so the server
process parses its two options here and the domain code stays free of argparse.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# The emulator's apply delay for every server a command starts (tests, demos of slow deploys).
APPLY_DELAY_VARIABLE = "SERVERLESSAPP_EMULATOR_APPLY_DELAY_SECONDS"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options and serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m generator.cli.serve")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument(
        "--apply-delay-seconds",
        type=float,
        default=float(os.environ.get(APPLY_DELAY_VARIABLE, "1.0")),
        help=f"how long after ExecuteChangeSet it is applied (default: ${APPLY_DELAY_VARIABLE} "
        "or 1.0)",
    )
    args = parser.parse_args(argv)

    from generator.emulator.app import ServeOptions, serve

    options = ServeOptions(args.state_dir, args.port, args.apply_delay_seconds)
    return serve(options)


if __name__ == "__main__":
    sys.exit(main())
