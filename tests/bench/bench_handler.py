"""Handler benchmark (``make bench``): prints figures; not collected by pytest.

    .venv/bin/python tests/bench/bench_handler.py [--size-mib 1024] [--runs 5]

1. AWS calls per one-file event, cold and warm, ours vs the reference handler (counted with a
   botocore ``before-call`` hook on every client, in fresh processes against one moto server).
2. Cold start: a fresh process importing the handler from the extracted artifact (no bytecode,
   as on Lambda's read-only /var/task) and handling its first event, ours vs the reference, same
   moto server, same run; medians of alternating runs.
3. Streaming a large object through the real read loop (``S3Store.open`` -> botocore
   ``StreamingBody`` -> ``digest_stream`` -> signed result) from a synthetic body, so moto does not
   hold 1 GiB: throughput vs raw ``hashlib.sha256`` over the same bytes, and peak memory growth.
   A 64 MiB object also goes through ``lambda_handler`` with in-process moto.
4. Artifact size.
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()  # child mode: cold start counts from here, before any import

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DOC = ROOT.parent / "shared" / "reference" / "000_3359c276799d39f4.txt"
BUCKET = "serverlessapp-files-dev-123456789012"
MIB = 1024 * 1024
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
HANDLER_ENV = {
    "BUCKET_NAME": BUCKET,
    "UPLOAD_PREFIX": "uploads/",
    "RESULTS_PREFIX": "processed/",
    "ENVIRONMENT": "bench",
    "SECRET_CACHE_SECONDS": "300",
    "POWERTOOLS_SERVICE_NAME": "ServerlessApp",
    "POWERTOOLS_METRICS_NAMESPACE": "ServerlessApp/Lambda",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


class Context:
    """The Lambda context attributes Powertools reads."""

    function_name = "ServerlessAppLambdabench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"


def event_for(key: str, size: int, version_id: str | None, etag: str) -> dict[str, Any]:
    """An ObjectCreated:Put event as S3 sends it."""
    from urllib.parse import quote_plus

    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag}
    if version_id:
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": BUCKET}, "object": obj},
            }
        ]
    }


# --- child: one cold start in a fresh process ---------------------------------------------


def child(kind: str, code_dir: str, events_json: str) -> None:
    """Import a handler, run its first (cold) and second (warm) event; print one JSON line."""
    calls: list[str] = []
    import boto3

    # Every client either handler creates comes from the default session: hook it first.
    boto3.setup_default_session()
    boto3.DEFAULT_SESSION.events.register(  # type: ignore[union-attr]
        "before-call", lambda model, **_: calls.append(model.name)
    )
    sys.path.insert(0, code_dir)
    module = __import__("app" if kind == "ours" else "index")
    imported = time.perf_counter() - _STARTED
    cold_event, warm_event = json.loads(events_json)
    module.lambda_handler(cold_event, Context())
    cold_seconds = time.perf_counter() - _STARTED
    cold_calls = list(calls)
    calls.clear()
    module.lambda_handler(warm_event, Context())
    figures = {"import": imported, "cold": cold_seconds, "cold_calls": cold_calls, "warm": calls}
    print("BENCH " + json.dumps(figures))


# --- parent -------------------------------------------------------------------------------


def reference_code() -> str | None:
    """The reference stack's inline handler, from the reference document."""
    if not REFERENCE_DOC.is_file():
        return None
    text = REFERENCE_DOC.read_text(encoding="utf-8")
    start = text.index('lambda_code = """') + len('lambda_code = """')
    return text[start : text.index('"""', start)]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cold_starts(runs: int, artifact_zip: Path) -> dict[str, Any]:
    """Alternate fresh-process runs of both handlers against one moto server."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, **FAKE_CREDENTIALS, **HANDLER_ENV, "AWS_ENDPOINT_URL": endpoint}
    env.pop("AWS_PROFILE", None)
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, **_creds())
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        secrets = boto3.client("secretsmanager", endpoint_url=endpoint, **_creds())
        env["SECRET_ARN"] = secrets.create_secret(
            Name="ServerlessApp/bench/app",
            SecretString=json.dumps({"username": "admin", "password": "p" * 32}),
        )["ARN"]
        with tempfile.TemporaryDirectory() as tmp:
            ours_dir, reference_dir = Path(tmp) / "ours", Path(tmp) / "reference"
            with zipfile.ZipFile(artifact_zip) as archive:
                archive.extractall(ours_dir)
            kinds = {"ours": ours_dir}
            code = reference_code()
            if code is not None:
                reference_dir.mkdir()
                (reference_dir / "index.py").write_text(code, encoding="utf-8")
                kinds["reference"] = reference_dir
            figures: dict[str, dict[str, Any]] = {
                k: {"cold": [], "wall": [], "import": []} for k in kinds
            }
            for run in range(runs):
                for kind, code_dir in kinds.items():
                    pair = []
                    for which in ("cold", "warm"):
                        key = f"uploads/bench/{kind}-{run}-{which}.csv"
                        body = f"{kind},{run},{which}\n".encode() * 100
                        put = s3.put_object(Bucket=BUCKET, Key=key, Body=body)
                        pair.append(
                            event_for(key, len(body), put["VersionId"], put["ETag"].strip('"'))
                        )
                    argv = [sys.executable, "-B", __file__, "--child", kind, str(code_dir)]
                    started = time.perf_counter()
                    done = subprocess.run(
                        [*argv, json.dumps(pair)],
                        capture_output=True,
                        text=True,
                        env=env,
                        check=False,
                    )
                    wall = time.perf_counter() - started
                    lines = [x for x in done.stdout.splitlines() if x.startswith("BENCH ")]
                    if done.returncode != 0 or not lines:
                        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-3000:]}")
                    result = json.loads(lines[-1][len("BENCH ") :])
                    figures[kind]["cold"].append(result["cold"])
                    figures[kind]["import"].append(result["import"])
                    figures[kind]["wall"].append(wall)
                    figures[kind]["cold_calls"] = result["cold_calls"]
                    figures[kind]["warm_calls"] = result["warm"]
            return figures
    finally:
        server.stop()


def _creds() -> dict[str, str]:
    return {
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


class SyntheticRaw:
    """A raw HTTP-like stream of ``size`` bytes: every read returns fresh bytes, like a socket."""

    def __init__(self, size: int, block: bytes) -> None:
        self.remaining = size
        self.view = memoryview(block)

    def read(self, amt: int | None = None) -> bytes:
        n = self.remaining if amt is None else min(amt, self.remaining)
        n = min(n, len(self.view))
        self.remaining -= n
        return bytes(self.view[:n])

    def close(self) -> None:
        """Nothing to release."""


class StubS3:
    """get_object returns a botocore StreamingBody over the synthetic stream; put is recorded."""

    def __init__(self, size: int, block: bytes) -> None:
        self.size, self.block, self.puts = size, block, 0

    def get_object(self, **_: Any) -> dict[str, Any]:
        from botocore.response import StreamingBody

        raw = SyntheticRaw(self.size, self.block)
        return {
            "Body": StreamingBody(raw, self.size),
            "ETag": '"synthetic"',
            "VersionId": "v1",
            "ContentType": "application/octet-stream",
        }

    def put_object(self, **_: Any) -> dict[str, Any]:
        self.puts += 1
        return {}


def streaming(size: int, rounds: int) -> dict[str, float]:
    """Throughput and memory of the real read loop vs raw hashlib over the same bytes."""
    import hashlib
    import tracemalloc

    sys.path.insert(0, str(ROOT / "handler"))
    from fileproc import aws, core
    from fileproc.settings import settings_from_env
    from fileproc.signing import SigningKey

    config = settings_from_env({"SECRET_ARN": "arn:bench", "BUCKET_NAME": BUCKET})
    block = os.urandom(core.CHUNK_SIZE)
    blocks = size // len(block)
    ref = core.events.ObjectEvent(0, BUCKET, "uploads/big.bin", "v1", blocks * len(block), None)

    def raw_hashlib() -> float:
        started = time.perf_counter()
        digest = hashlib.sha256()
        for _ in range(blocks):
            digest.update(block)
        digest.hexdigest()
        return time.perf_counter() - started

    def real_loop() -> tuple[float, core.Processed | core.Skipped]:
        store = aws.S3Store(StubS3(ref.size, block))
        started = time.perf_counter()
        outcome = core.process_object(ref, store, lambda: SigningKey("p" * 32, "v1"), config)
        return time.perf_counter() - started, outcome

    # Interleaved rounds, best of each: other processes on the machine only ever slow a pass.
    raw_times, loop_times = [], []
    for _ in range(rounds):
        raw_times.append(raw_hashlib())
        seconds, outcome = real_loop()
        assert isinstance(outcome, core.Processed), outcome
        assert outcome.size == ref.size, outcome
        loop_times.append(seconds)
    raw_seconds, loop_seconds = min(raw_times), min(loop_times)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    real_loop()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "bytes": float(ref.size),
        "raw_mib_s": ref.size / MIB / raw_seconds,
        "loop_mib_s": ref.size / MIB / loop_seconds,
        "ratio": raw_seconds / loop_seconds,
        "peak_mib": (peak - base) / MIB,
        "rss_growth_mib": rss_growth(size),
    }


def rss_growth(size: int) -> float:
    """Peak RSS growth (MiB) of one pass, in a fresh process whose high-water mark starts low."""
    done = subprocess.run(
        [sys.executable, __file__, "--child-memory", str(size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def child_memory(size: int) -> None:
    """Print the max-RSS growth (MiB) of streaming ``size`` bytes through the real read loop."""
    import resource

    sys.path.insert(0, str(ROOT / "handler"))
    from fileproc import aws, core
    from fileproc.settings import settings_from_env
    from fileproc.signing import SigningKey

    config = settings_from_env({"SECRET_ARN": "arn:bench", "BUCKET_NAME": BUCKET})
    block = os.urandom(core.CHUNK_SIZE)
    ref = core.events.ObjectEvent(0, BUCKET, "uploads/big.bin", "v1", size, None)
    import botocore.response  # noqa: F401 -- imported before the baseline, like in Lambda

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = core.process_object(
        ref, aws.S3Store(StubS3(size, block)), lambda: SigningKey("p", "v1"), config
    )
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert isinstance(outcome, core.Processed), outcome
    print((after - before) / 1024)


def moto_end_to_end(size_mib: int) -> dict[str, float]:
    """A real object through lambda_handler with in-process moto."""
    import boto3
    from moto import mock_aws

    os.environ.update({**FAKE_CREDENTIALS, **HANDLER_ENV})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    sys.path.insert(0, str(ROOT / "handler"))
    with mock_aws():
        s3 = boto3.client("s3", **_creds())
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        secrets = boto3.client("secretsmanager", **_creds())
        os.environ["SECRET_ARN"] = secrets.create_secret(
            Name="bench", SecretString=json.dumps({"username": "admin", "password": "p" * 32})
        )["ARN"]
        import app
        from fileproc import aws

        aws.reset()
        app.settings.cache_clear()
        body = os.urandom(size_mib * MIB)
        put = s3.put_object(Bucket=BUCKET, Key="uploads/big.bin", Body=body)
        event = event_for("uploads/big.bin", len(body), put["VersionId"], put["ETag"].strip('"'))
        app.logger.setLevel("WARNING")
        with contextlib.redirect_stdout(io.StringIO()):  # the EMF line
            started = time.perf_counter()
            processed = app.lambda_handler(event, Context())["processed"]
            seconds = time.perf_counter() - started
        assert len(processed) == 1, processed
        result = json.loads(s3.get_object(Bucket=BUCKET, Key=processed[0])["Body"].read())
        import hashlib

        assert result["sha256"] == hashlib.sha256(body).hexdigest()
    return {"mib": float(size_mib), "seconds": seconds}


def main() -> int:
    """Run every measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5, help="cold starts per handler")
    parser.add_argument("--rounds", type=int, default=4, help="streaming passes per variant")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--child-memory", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        child_memory(args.child_memory)
        return 0
    if args.child:
        child(*args.child)
        return 0
    sys.path.insert(0, str(ROOT))
    from generator.package import artifact

    began = time.perf_counter()
    built = artifact(ROOT)
    with zipfile.ZipFile(built.path) as archive:
        unzipped = sum(i.file_size for i in archive.infolist())
    print(f"artifact        {built.key}")
    print(f"artifact size   {built.size / MIB:.2f} MiB zipped (stored), {unzipped / MIB:.2f} MiB")

    figures = cold_starts(args.runs, built.path)
    for kind, fig in figures.items():
        print(
            f"{kind:<10} AWS calls: cold {len(fig['cold_calls'])} {fig['cold_calls']}, "
            f"warm {len(fig['warm_calls'])} {fig['warm_calls']}"
        )
    for kind, fig in figures.items():
        print(
            f"{kind:<10} cold start (import + first event, median of {args.runs}): "
            f"{statistics.median(fig['cold']) * 1000:.0f} ms in-process "
            f"(import {statistics.median(fig['import']) * 1000:.0f} ms), "
            f"{statistics.median(fig['wall']) * 1000:.0f} ms with interpreter start"
        )
    if "reference" in figures:
        ours = statistics.median(figures["ours"]["cold"])
        theirs = statistics.median(figures["reference"]["cold"])
        print(f"cold start ours/reference: {ours / theirs:.2f}")

    stream = streaming(args.size_mib * MIB, args.rounds)
    print(
        f"streaming {stream['bytes'] / MIB:.0f} MiB: raw hashlib {stream['raw_mib_s']:.0f} MiB/s, "
        f"handler read loop {stream['loop_mib_s']:.0f} MiB/s "
        f"({stream['ratio'] * 100:.0f}% of raw)"
    )
    print(
        f"streaming {stream['bytes'] / MIB:.0f} MiB: peak traced memory growth "
        f"{stream['peak_mib']:.1f} MiB, max RSS growth {stream['rss_growth_mib']:.1f} MiB"
    )
    e2e = moto_end_to_end(64)
    print(
        f"moto end to end: {e2e['mib']:.0f} MiB object through lambda_handler in "
        f"{e2e['seconds'] * 1000:.0f} ms"
    )
    # The load model (docs/load-model.md) with this machine's measured SHA-256 speed.
    from load_model import summary  # this script's folder is first on sys.path

    print(summary(stream["raw_mib_s"]))
    print(f"bench finished in {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
