"""A fault-injecting HTTP proxy between the command line and the embedded emulator.

Why a proxy rather than botocore event hooks: the command runs as a subprocess (it must be
killable with SIGKILL at a chosen moment, and its retries, timeouts and signal handling must be
its own, unpatched), and a proxy on the wire is what a flaky network or a lost reply looks like
to it. It relays every request to the emulator and, as its rules say:

- fails a random share of calls *before* they reach the emulator: 503 ServiceUnavailable,
  400 Throttling (S3: 503 SlowDown), or a connection reset, each of which botocore retries;
- loses the reply to one call *after* the emulator applied it (the connection closes without an
  answer), as a network cut at the worst moment does;
- runs a hook once a call has been applied, before its reply is sent: the tests kill the command
  there, "right after ExecuteChangeSet".

Calls are named as AWS names them: the ``Action`` of a query request (CloudFormation, STS), the
``X-Amz-Target`` of a JSON one, and for S3's REST calls ``PutObject``, ``GetObject``,
``HeadObject`` (an object key in the path) or ``S3:<METHOD>`` (a bucket).
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

_QUERY_ERROR = (
    "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>injected by the fault "
    "proxy</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
)
_S3_ERROR = "<Error><Code>{code}</Code><Message>injected by the fault proxy</Message></Error>"


def action_of(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    """The AWS name of a request's call."""
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    if body and b"Action=" in body:
        return parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
    parts = [p for p in urlparse(path).path.split("/") if p]
    if len(parts) >= 2 and not urlparse(path).query:
        return {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject"}.get(
            method, f"S3:{method}"
        )
    return f"S3:{method}"


@dataclass
class Rules:
    """What the proxy does to which calls; tests change them between commands."""

    failure_rate: float = 0.0
    seed: int = 7
    lose_reply_of: set[str] = field(default_factory=set)  # once each
    # Once each, after the call took effect and before its reply: action -> (hook, and a text
    # the request's path or body must contain, e.g. the stack's name; "" for any).
    after: dict[str, tuple[Callable[[], None], str]] = field(default_factory=dict)
    spare: frozenset[str] = frozenset({"GetCallerIdentity"})  # never failed at random


class FaultProxy:
    """The proxy on a free loopback port; ``seen`` counts calls, ``injected`` the faults."""

    def __init__(self, upstream: str) -> None:
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.rules = Rules()
        self.seen: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.lost: list[str] = []
        self._random = random.Random(self.rules.seed)  # noqa: S311 - faults, not secrets
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        """The proxy's URL, to pass as ``--endpoint-url``."""
        return f"http://127.0.0.1:{self._server.server_port}"

    def reset(self, rules: Rules | None = None) -> None:
        """New rules (the counters start again)."""
        with self._lock:
            self.rules = rules or Rules()
            self._random = random.Random(self.rules.seed)  # noqa: S311
            self.seen.clear()
            self.injected.clear()
            self.lost.clear()

    def close(self) -> None:
        """Stop listening."""
        self._server.shutdown()
        self._server.server_close()

    def _decide(self, action: str) -> str | None:
        """The fault to inject before relaying (None: relay)."""
        with self._lock:
            self.seen[action] += 1
            rules = self.rules
            if action in rules.spare or rules.failure_rate <= 0:
                return None
            if self._random.random() >= rules.failure_rate:
                return None
            fault = self._random.choice(("unavailable", "throttled", "reset"))
            self.injected[fault] += 1
            return fault

    def _after(self, action: str, request: str) -> tuple[bool, Callable[[], None] | None]:
        """Whether to lose this call's reply, and the hook to run, each once."""
        with self._lock:
            lose = action in self.rules.lose_reply_of
            self.rules.lose_reply_of.discard(action)
            if lose:
                self.lost.append(action)
            hook, needle = self.rules.after.get(action, (None, ""))
            if hook is None or needle not in request:
                return lose, None
            del self.rules.after[action]
            return lose, hook

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return  # quiet: the tests read the command's own output

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                action = action_of(self.command, self.path, headers, body)
                fault = proxy._decide(action)
                if fault == "reset":
                    self._reset()
                    return
                if fault is not None:
                    self._fail(fault, action)
                    return
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    upstream.request(self.command, self.path, body, dict(self.headers.items()))
                    reply = upstream.getresponse()
                    data = reply.read()
                finally:
                    upstream.close()
                request = self.path + "\n" + body.decode("utf-8", "replace")
                lose, hook = proxy._after(action, unquote(request))
                if hook is not None:
                    hook()
                if lose:
                    self._reset()
                    return
                self.send_response(reply.status, reply.reason)
                for name, value in reply.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _fail(self, fault: str, action: str) -> None:
                s3 = action.startswith("S3:") or action.endswith("Object")
                if s3:
                    code = "SlowDown"
                    status, text = 503, _S3_ERROR.format(code=code)
                elif fault == "throttled":
                    status, text = 400, _QUERY_ERROR.format(kind="Sender", code="Throttling")
                else:
                    status = 503
                    text = _QUERY_ERROR.format(kind="Receiver", code="ServiceUnavailable")
                data = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _reset(self) -> None:
                """Close the connection with no answer (RST where the OS allows)."""
                self.close_connection = True
                try:
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

        return Handler
