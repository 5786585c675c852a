"""The emulator server process: ``python -m generator.cli.serve --state-dir DIR [--port N]``.

Started by ``generator.emulator.launcher``, never by hand; its own entry point so the server
process parses its two options here and the domain code stays free of argparse.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options and serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m generator.cli.serve")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args(argv)

    from generator.emulator.app import ServeOptions, serve

    return serve(ServeOptions(state_dir=args.state_dir, port=args.port))


if __name__ == "__main__":
    sys.exit(main())
