"""The emulator server process: ``python -m generator.emulator.serve --state-dir DIR [--port N]``.

moto's server app with this project's extension installed, on loopback only. It binds first (port
0 lets the OS choose), then installs the extension pointing functions back at itself, then writes
``server.json`` (pid, port, endpoint) for ``generator.emulator.server`` to find. SIGTERM or SIGINT
stops it cleanly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
HEALTH_PATH = "/_emulator/health"
IDENTITY = "serverlessapp-emulator"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def with_health(app: WsgiApp) -> WsgiApp:
    """Answer the health path (naming this process) before moto sees the request."""
    body = json.dumps({"service": IDENTITY, "pid": os.getpid()}).encode()

    def wrapped(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        return app(environ, start_response)

    return wrapped


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write a small JSON file so that readers never see half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m generator.emulator.serve")
    parser.add_argument("--state-dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from generator.emulator import extension

    state_dir: Path = args.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    server = make_server(
        HOST,
        args.port,
        with_health(DomainDispatcherApplication(create_backend_app)),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    endpoint = f"http://{HOST}:{server.server_port}"
    extension.install(endpoint, state_dir / "work", poll=True)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="emulator-http", daemon=True)
    thread.start()
    info = {"pid": os.getpid(), "port": server.server_port, "endpoint": endpoint}
    write_json_atomic(state_dir / "server.json", info)
    print(f"[emulator] listening on {endpoint} (pid {os.getpid()})", file=sys.stderr, flush=True)
    stop.wait()
    print("[emulator] stopping", file=sys.stderr, flush=True)
    server.shutdown()
    extension.uninstall()
    return 0


if __name__ == "__main__":
    sys.exit(main())
