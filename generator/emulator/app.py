"""The emulator server process, started as ``python -m generator.cli.serve --state-dir DIR``.

moto's server app with this project's extension installed, on loopback only. It binds first (port
0 lets the OS choose), then installs the extension pointing functions back at itself, then writes
``server.json`` (pid, port, endpoint) for ``generator.emulator.launcher`` to find. SIGTERM or SIGINT
stops it cleanly.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.render import write_atomic

HOST = "127.0.0.1"
LOCK_FILE = "server.lock"
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


@dataclass(frozen=True)
class ServeOptions:
    """Where the server keeps its state, and the port to bind (0: any free port)."""

    state_dir: Path
    port: int = 0
    # How long after ExecuteChangeSet its resources are applied (the stack stays *_IN_PROGRESS
    # meanwhile), so a deploy waits and streams events as it does on AWS.
    apply_delay_seconds: float = 1.0


def serve(options: ServeOptions) -> int:
    """Serve until SIGTERM or SIGINT."""
    state_dir = options.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    # Held for this process's whole life (the OS lets go when it ends, however it ends): a
    # second server for the same folder refuses to start, and the launcher sees a live one
    # even when server.json is damaged or its health answer is slow.
    held = (state_dir / LOCK_FILE).open("a+", encoding="utf-8")
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"[emulator] another emulator serves {state_dir}; not starting a second",
              file=sys.stderr, flush=True)  # fmt: skip
        return 1
    # moto is imported only once this process is the folder's one server (seconds saved when
    # it is not).
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from generator.emulator import extension

    server = make_server(
        HOST,
        options.port,
        with_health(DomainDispatcherApplication(create_backend_app)),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    endpoint = f"http://{HOST}:{server.server_port}"
    extension.install(
        endpoint, state_dir / "work", poll=True, apply_delay_seconds=options.apply_delay_seconds
    )

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="emulator-http", daemon=True)
    thread.start()
    info = json.dumps({"pid": os.getpid(), "port": server.server_port, "endpoint": endpoint})
    held.seek(0)
    held.truncate()
    held.write(info + "\n")
    held.flush()
    write_atomic(state_dir / "server.json", info + "\n")
    print(f"[emulator] listening on {endpoint} (pid {os.getpid()})", file=sys.stderr, flush=True)
    stop.wait()
    print("[emulator] stopping", file=sys.stderr, flush=True)
    server.shutdown()
    extension.uninstall()
    return 0
