"""Large-object benchmark (``make bench``): prints figures; not collected by pytest.

    .venv/bin/python tests/bench/bench_ranged.py [--size-mib 1024] [--part-mib 8] [--concurrency 8]

An S3-compatible endpoint on loopback (a child process, so its threads do not share the
handler's interpreter) serves one versioned object of synthetic bytes and throttles every
response like one S3 stream: ``--first-byte-ms`` (20) before the first byte, then
``--stream-mib-s`` (64) MiB/s per connection. The handler's real read path
(``core.process_object`` over ``aws.S3Store`` and a boto3 client) reads the object twice: as one
stream (the part size set above the object's size) and as concurrent ranged GETs. Printed: both
times, the speed-up, the peak traced memory and RSS growth of the ranged read against the
read-ahead bound, the digest against ``hashlib``, and the requests (each pinned to the version).
Everything listens on 127.0.0.1 only, and the server exits with the benchmark (or after
``--server-seconds``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import subprocess
import sys
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
BUCKET = "bench-bucket"
KEY = "uploads/big.bin"
VERSION_ID = "3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"
ETAG = "0123456789abcdef0123456789abcdef-128"
BLOCK = 1 * MIB  # the synthetic object repeats one random block (seeded: same bytes each run)
SEED = 20261130
RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")
SEND_SIZE = 1 * MIB  # per write: few system calls, so the endpoint's own CPU stays small


def synthetic_block() -> bytes:
    """The block the object repeats: deterministic pseudo-random bytes."""
    import random

    return random.Random(SEED).randbytes(BLOCK)  # noqa: S311 -- benchmark bytes, not a secret


# --- the throttled endpoint (child process) ------------------------------------------------


def serve(size: int, mib_s: float, first_byte_ms: float, lifetime: float) -> None:
    """Serve GET (with Range, pinned by versionId) and PUT on 127.0.0.1; print the port."""
    doubled = memoryview(synthetic_block() * 2)  # any slice up to BLOCK long is contiguous
    rate = mib_s * MIB
    lock = threading.Lock()
    stats = {"active": 0, "peak": 0, "gets": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: one connection serves one stream at a time

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _error(self, status: int, code: str) -> None:
            body = f"<Error><Code>{code}</Code><Message>{code}</Message></Error>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            params = dict(p.partition("=")[::2] for p in query.split("&") if p)
            if path == "/__stats":
                body = repr({**stats, "cpu_s": round(time.process_time(), 2)}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if path != f"/{BUCKET}/{KEY}":
                self._error(404, "NoSuchKey")
                return
            if params.get("versionId", VERSION_ID) != VERSION_ID:
                self._error(404, "NoSuchVersion")
                return
            first, last, status = 0, size - 1, 200
            match = RANGE.match(self.headers.get("Range", ""))
            if match:
                first, last, status = int(match[1]), min(int(match[2]), size - 1), 206
            length = last - first + 1
            with lock:
                stats["active"] += 1
                stats["gets"] += 1
                stats["peak"] = max(stats["peak"], stats["active"])
            try:
                time.sleep(first_byte_ms / 1000)  # time to first byte
                self.send_response(status)
                self.send_header("Content-Length", str(length))
                self.send_header("ETag", f'"{ETAG}"')
                self.send_header("x-amz-version-id", VERSION_ID)
                self.send_header("Content-Type", "application/octet-stream")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
                self.end_headers()
                started, sent = time.perf_counter(), 0
                while sent < length:
                    offset = (first + sent) % BLOCK
                    n = min(SEND_SIZE, length - sent)
                    self.wfile.write(doubled[offset : offset + n])
                    sent += n
                    # Pace this connection: never ahead of `rate` bytes per second.
                    ahead = started + sent / rate - time.perf_counter()
                    if ahead > 0:
                        time.sleep(ahead)
            finally:
                with lock:
                    stats["active"] -= 1

        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("ETag", '"result"')
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Timer(lifetime, server.shutdown).start()  # never outlives a stuck benchmark
    print(server.server_address[1], flush=True)
    server.serve_forever()


# --- the handler's read path against it ----------------------------------------------------


def expected_digest(size: int) -> str:
    """hashlib over the same synthetic bytes, computed independently of the handler."""
    block = synthetic_block()
    digest = hashlib.sha256()
    whole, rest = divmod(size, BLOCK)
    for _ in range(whole):
        digest.update(block)
    digest.update(block[:rest])
    return digest.hexdigest()


def read_once(port: int, size: int, part_mib: int, concurrency: int) -> dict[str, Any]:
    """One object through core.process_object; returns seconds, digest and the GET requests."""
    import boto3
    from botocore.config import Config
    from fileproc import aws, core, events
    from fileproc.settings import settings_from_env
    from fileproc.signing import SigningKey

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=aws.CLIENT_CONFIG.merge(Config(s3={"addressing_style": "path"})),
    )
    requests: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: requests.append(dict(params))
    )
    config = settings_from_env({"SECRET_ARN": "arn:bench", "BUCKET_NAME": BUCKET})._replace(
        read_part_bytes=part_mib * MIB, read_concurrency=concurrency
    )
    ref = events.ObjectEvent(0, BUCKET, KEY, VERSION_ID, size, ETAG)
    cpu_started = time.process_time()
    started = time.perf_counter()
    outcome = core.process_object(
        ref, aws.S3Store(client), lambda: SigningKey("p" * 32, "v1"), config
    )
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if not isinstance(outcome, core.Processed):
        raise RuntimeError(f"unexpected outcome {outcome}")
    return {"seconds": seconds, "cpu": cpu, "sha256": outcome.sha256, "requests": requests}


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen[str], int]:
    """The throttled endpoint in a child process, and its port."""
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(args.size_mib * MIB),
            str(args.stream_mib_s),
            str(args.first_byte_ms),
            str(args.server_seconds),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, int(server.stdout.readline())


def main() -> int:
    """Run both reads against the throttled endpoint and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--stream-mib-s", type=float, default=64.0)
    parser.add_argument("--first-byte-ms", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3, help="ranged passes (best is shown)")
    parser.add_argument("--server-seconds", type=float, default=300.0)
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        size, mib_s, first_byte_ms, lifetime = args.serve
        serve(int(size), float(mib_s), float(first_byte_ms), float(lifetime))
        return 0

    sys.path.insert(0, str(ROOT / "handler"))
    os.environ.update({"AWS_EC2_METADATA_DISABLED": "true"})
    size = args.size_mib * MIB
    server, port = start_server(args)
    try:
        import boto3  # noqa: F401 -- imported before the RSS baseline, as in a warm Lambda

        expected = expected_digest(size)
        single = read_once(port, size, args.size_mib + 1, args.concurrency)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Best of a few passes: other processes on the machine only ever slow a pass down (the
        # single stream is bound by its throttle, so one pass measures it).
        passes = [
            read_once(port, size, args.part_mib, args.concurrency) for _ in range(args.rounds)
        ]
        ranged = min(passes, key=lambda p: float(p["seconds"]))
        rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        traced = read_once(port, size, args.part_mib, args.concurrency)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/__stats", timeout=5) as response:
            stats = response.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=10)

    from fileproc.ranged import PART_CHUNK_SIZE

    # The parts in flight, plus what each connection's read holds at once (http.client
    # allocates a read twice over): the parts' workers and the first part's stream.
    read_ahead = args.part_mib * args.concurrency
    # plus 1 MiB for the rest (futures, parsed responses, the hash state).
    bound = read_ahead + (args.concurrency + 1) * 2 * PART_CHUNK_SIZE / MIB + 1
    mib = args.size_mib
    pinned = all(r.get("VersionId") == VERSION_ID for p in (*passes, traced) for r in p["requests"])
    print(
        f"throttled endpoint: {args.stream_mib_s:g} MiB/s per connection, "
        f"{args.first_byte_ms:g} ms to first byte; object {mib} MiB"
    )
    print(
        f"single stream   {single['seconds']:.2f} s ({mib / single['seconds']:.0f} MiB/s), "
        f"{len(single['requests'])} GET"
    )
    times = ", ".join(f"{p['seconds']:.2f}" for p in passes)
    print(
        f"ranged {args.concurrency} x {args.part_mib} MiB  {ranged['seconds']:.2f} s best of "
        f"{args.rounds} ({times}) "
        f"({mib / ranged['seconds']:.0f} MiB/s), {len(ranged['requests'])} GETs, "
        f"every one pinned to the version: {pinned}; server saw {stats}; "
        f"handler CPU {ranged['cpu']:.2f} s (a CPU-starved machine caps the speed-up)"
    )
    print(f"ranged speed-up {single['seconds'] / ranged['seconds']:.1f}x (target >= 4x)")
    print(
        f"ranged peak traced memory {(peak - base) / MIB:.1f} MiB, max RSS growth "
        f"{rss_growth:.1f} MiB; bound {bound:.1f} MiB = read-ahead {args.concurrency} x "
        f"{args.part_mib} MiB + 2 x {PART_CHUNK_SIZE // 1024} KiB per connection + 1 MiB; "
        f"within: {(peak - base) / MIB <= bound}"
    )
    digests = {single["sha256"], traced["sha256"], *(p["sha256"] for p in passes)}
    same = digests == {expected}
    print(f"digest equals hashlib: {same} ({expected[:16]}...)")
    return 0 if same and pinned else 1


if __name__ == "__main__":
    sys.exit(main())
