"""The pipeline's load model: throughput per invocation and versus concurrency, where direct mode
stops being enough, and cost per million files in direct and queue mode.

Pure functions over stated assumptions (``Workload``, ``Prices``, ``Limits``): every figure in
docs/load-model.md is computed here (``python tests/bench/load_model.py --markdown`` prints the
doc's tables; a test keeps the doc and this module in step) and printed by ``make bench``.

    .venv/bin/python tests/bench/load_model.py [--markdown] [--hash-mib-s 551]
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace

MIB = 1024 * 1024
KIB = 1024
# Lambda allocates CPU in proportion to memory: 1,769 MB is one full vCPU.
MB_PER_VCPU = 1769


@dataclass(frozen=True)
class Prices:
    """Public list prices, us-east-1, as assumed on ``AS_OF`` (no free tier, no savings plans)."""

    AS_OF = "2025-06-01"
    lambda_gb_second_arm: float = 0.0000133334  # first 7.5 billion GB-s per month
    lambda_per_million_requests: float = 0.20
    s3_put_per_thousand: float = 0.005  # PUT, COPY, POST, LIST (S3 Standard)
    s3_get_per_thousand: float = 0.0004  # GET, SELECT and all other requests
    sqs_per_million_requests: float = 0.40  # standard queue, after the first million
    kms_per_ten_thousand_requests: float = 0.03  # symmetric key requests
    secrets_per_ten_thousand_calls: float = 0.05
    secret_per_month: float = 0.40
    logs_ingestion_per_gb: float = 0.50  # CloudWatch Logs, standard class


@dataclass(frozen=True)
class Workload:
    """One kind of file and how long each part of handling it takes (assumptions, not
    measurements, except ``hash_mib_s_per_vcpu`` which ``make bench`` measures)."""

    name: str
    file_bytes: int
    memory_mb: int = 256  # function.memory_mb default
    first_byte_seconds: float = 0.020  # S3 GET: time to first byte
    put_seconds: float = 0.030  # the result's conditional PutObject
    stream_mib_s: float = 64.0  # what one S3 GET stream delivers
    hash_mib_s_per_vcpu: float = 551.0  # SHA-256 on one vCPU (bench: raw hashlib)
    overhead_seconds: float = 0.002  # parse, sign, log and metrics per record
    log_bytes_per_file: int = 1024  # the "processed" line, the EMF line, START/END/REPORT
    parallel_streams: int = 1  # ranged reads in flight (1: today's single GET)

    def hash_mib_s(self) -> float:
        """SHA-256 speed at this memory size (CPU share grows with memory up to one vCPU;
        the digest is sequential, so more vCPUs do not help it)."""
        return self.hash_mib_s_per_vcpu * min(1.0, self.memory_mb / MB_PER_VCPU)


@dataclass(frozen=True)
class Limits:
    """Lambda's limits as documented (defaults; quotas can be raised)."""

    account_concurrency: int = 1000  # regional default quota
    reserved_concurrency: int = 50  # prod's function.reserved_concurrency
    scale_per_10_seconds: int = 1000  # each function's scaling rate
    max_event_age_seconds: int = 21600  # async events older than this are dropped (6 h)
    sqs_pollers_idle: int = 5  # an event source mapping's long-polling connections at rest
    sqs_long_poll_seconds: int = 20


SMALL = Workload("small (64 KiB)", 64 * KIB)
LARGE = Workload("large (1 GiB, one stream)", 1024 * MIB)
LARGE_2GB = replace(LARGE, name="large (1 GiB, one stream, 2048 MB)", memory_mb=2048)
WORKLOADS = (SMALL, LARGE, LARGE_2GB)
RANGED_PLACEHOLDER = "ranged reads (1 GiB, throttled)"


def read_seconds(w: Workload) -> float:
    """Reading and hashing the body: the slower of the network streams and the digest."""
    rate = min(w.stream_mib_s * w.parallel_streams, w.hash_mib_s())
    return w.file_bytes / MIB / rate


def seconds_per_file(w: Workload) -> float:
    """One record, warm: GET to first byte, read and hash, signed result PUT, overhead."""
    return w.first_byte_seconds + read_seconds(w) + w.put_seconds + w.overhead_seconds


def files_per_second(w: Workload, concurrency: int = 1) -> float:
    """Throughput of ``concurrency`` executions, each handling one file after another."""
    return concurrency / seconds_per_file(w)


def billed_gb_seconds(w: Workload, files_per_invocation: int = 1) -> float:
    """GB-s per file: Lambda bills each invocation's duration rounded up to 1 ms."""
    ms = math.ceil(seconds_per_file(w) * files_per_invocation * 1000)
    return ms / 1000 * w.memory_mb / 1024 / files_per_invocation


def secret_calls_per_million(w: Workload, concurrency: int, cache_seconds: int = 300) -> float:
    """GetSecretValue calls per million files: one per execution environment at start, then one
    per environment per cache period of busy time (the cache is per environment)."""
    busy_seconds = 1_000_000 * seconds_per_file(w)
    return concurrency + busy_seconds / cache_seconds


@dataclass(frozen=True)
class Cost:
    """Dollars per million files, by service."""

    lambda_requests: float
    lambda_compute: float
    s3_requests: float
    sqs_requests: float
    kms_requests: float
    secrets_manager: float
    logs: float

    @property
    def total(self) -> float:
        """The sum of every line."""
        return (
            self.lambda_requests + self.lambda_compute + self.s3_requests + self.sqs_requests
            + self.kms_requests + self.secrets_manager + self.logs
        )  # fmt: skip


def cost_per_million(
    w: Workload,
    *,
    batch_size: int | None = None,
    concurrency: int = 50,
    bucket_keys: bool = True,
    prices: Prices = Prices(),
) -> Cost:
    """Direct mode (``batch_size`` None: one S3 event, one invocation, one file) or queue mode
    (S3 -> SQS -> event source mapping, ``batch_size`` files per invocation).

    Requests per file: S3 GET 1 and PUT 1 (the result; the upload's own PUT is the uploader's);
    queue mode adds SQS SendMessage 1 (S3's notification), ReceiveMessage 1/B and
    DeleteMessageBatch 1/B. KMS: the object's Decrypt and the result's GenerateDataKey (2), which
    S3 Bucket Keys cut to about 1% (AWS: "up to 99%"); SQS reuses its data key for the reuse
    period, so its KMS calls do not grow with files; one Decrypt per GetSecretValue.
    """
    per_invocation = batch_size or 1
    million = 1_000_000
    sqs_per_file = 0.0 if batch_size is None else 1 + 2 / batch_size
    kms_per_file = 2 * (0.01 if bucket_keys else 1.0)
    secret_calls = secret_calls_per_million(w, concurrency)
    return Cost(
        lambda_requests=prices.lambda_per_million_requests / per_invocation,
        lambda_compute=million * billed_gb_seconds(w, per_invocation) * prices.lambda_gb_second_arm,
        s3_requests=million * (prices.s3_get_per_thousand + prices.s3_put_per_thousand) / 1000,
        sqs_requests=sqs_per_file * prices.sqs_per_million_requests,
        kms_requests=(million * kms_per_file + secret_calls)
        * prices.kms_per_ten_thousand_requests
        / 10_000,
        secrets_manager=secret_calls * prices.secrets_per_ten_thousand_calls / 10_000,
        logs=million * w.log_bytes_per_file / 1e9 * prices.logs_ingestion_per_gb,
    )


def idle_queue_requests_per_month(limits: Limits = Limits()) -> float:
    """SQS requests an idle event source mapping makes in 30 days (empty long polls)."""
    return limits.sqs_pollers_idle * 30 * 86400 / limits.sqs_long_poll_seconds


def direct_mode_ceiling(w: Workload, limits: Limits = Limits()) -> dict[str, float]:
    """Where direct mode stops: the sustained rate the reserved concurrency serves, and the
    largest burst whose backlog Lambda's async queue drains before events expire."""
    rate = files_per_second(w, limits.reserved_concurrency)
    return {
        "sustained_files_per_second": rate,
        "burst_files_within_max_event_age": rate * limits.max_event_age_seconds,
        "seconds_to_scale_to_reserved": 10
        * math.ceil(limits.reserved_concurrency / limits.scale_per_10_seconds),
    }


# ----------------------------------------------------------------------------------- report


def _money(value: float) -> str:
    if value == 0:
        return "-"
    return f"${value:,.2f}" if value >= 0.01 else f"${value:.4f}"


def markdown(hash_mib_s_per_vcpu: float = 551.0) -> str:
    """The doc's tables, computed."""
    workloads = [replace(w, hash_mib_s_per_vcpu=hash_mib_s_per_vcpu) for w in WORKLOADS]
    lines = [
        f"Assumptions: us-east-1 list prices as of {Prices.AS_OF}; SHA-256 at "
        f"{hash_mib_s_per_vcpu:.0f} MiB/s per vCPU (`make bench`, raw hashlib); one S3 stream "
        f"{SMALL.stream_mib_s:.0f} MiB/s, {SMALL.first_byte_seconds * 1000:.0f} ms to first "
        f"byte, result PUT {SMALL.put_seconds * 1000:.0f} ms.",
        "",
        "| Workload | Memory | Hash MiB/s | Seconds per file | Files/s per execution "
        "| MiB/s per execution |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w in workloads:
        seconds = seconds_per_file(w)
        lines.append(
            f"| {w.name} | {w.memory_mb} MB | {w.hash_mib_s():.0f} | {seconds:.3f} "
            f"| {files_per_second(w):.2f} | {w.file_bytes / MIB / seconds:.1f} |"
        )
    lines.append(
        f"| {RANGED_PLACEHOLDER} | TODO | TODO | TODO | TODO | TODO (C1's ranged-read bench) |"
    )
    lines += [
        "",
        "| Concurrency | Small files/s | Large (1 GiB) files/h | Large GiB/s |",
        "| ---: | ---: | ---: | ---: |",
    ]
    small, large = workloads[0], workloads[1]
    for c in (1, 10, 50, 200, 1000):
        lines.append(
            f"| {c} | {files_per_second(small, c):,.0f} | {files_per_second(large, c) * 3600:,.0f} "
            f"| {files_per_second(large, c) * large.file_bytes / (1024 * MIB):.2f} |"
        )
    ceiling = direct_mode_ceiling(small)
    lines += [
        "",
        f"Direct mode at prod's reserved concurrency ({Limits().reserved_concurrency}), small "
        f"files: {ceiling['sustained_files_per_second']:,.0f} files/s sustained; a burst of up "
        f"to {ceiling['burst_files_within_max_event_age']:,.0f} files drains before Lambda's "
        f"{Limits().max_event_age_seconds // 3600} h maximum event age.",
        "",
        "| Per million files | Direct | Queue (batch 10) | Direct, no bucket keys |",
        "| --- | ---: | ---: | ---: |",
    ]
    rows = {
        "direct": cost_per_million(small),
        "queue": cost_per_million(small, batch_size=10),
        "nokeys": cost_per_million(small, bucket_keys=False),
    }
    for label, field in (
        ("Lambda requests", "lambda_requests"), ("Lambda compute (GB-s)", "lambda_compute"),
        ("S3 requests (GET + PUT)", "s3_requests"), ("SQS requests", "sqs_requests"),
        ("KMS requests", "kms_requests"), ("Secrets Manager calls", "secrets_manager"),
        ("CloudWatch Logs ingestion", "logs"),
    ):  # fmt: skip
        values = [_money(getattr(rows[k], field)) for k in ("direct", "queue", "nokeys")]
        lines.append(f"| {label} | {' | '.join(values)} |")
    totals = [_money(rows[k].total) for k in ("direct", "queue", "nokeys")]
    lines.append(f"| **Total** | {' | '.join(f'**{t}**' for t in totals)} |")
    large_direct = cost_per_million(large)
    lines += [
        "",
        f"Large files (1 GiB, one stream, 256 MB) cost {_money(large_direct.total)} per million "
        f"files, {_money(large_direct.lambda_compute)} of it Lambda compute. Fixed monthly: the "
        f"secret {_money(Prices().secret_per_month)}; an idle queue's event source mapping "
        f"{idle_queue_requests_per_month():,.0f} empty receives "
        f"({_money(idle_queue_requests_per_month() * Prices().sqs_per_million_requests / 1e6)})."
        f" Secrets Manager: {secret_calls_per_million(small, 50):,.0f} GetSecretValue calls per "
        "million small files at concurrency 50 with the 300 s cache.",
    ]
    return "\n".join(lines) + "\n"


def summary(hash_mib_s_per_vcpu: float = 551.0) -> str:
    """A few lines for ``make bench``."""
    small = replace(SMALL, hash_mib_s_per_vcpu=hash_mib_s_per_vcpu)
    large = replace(LARGE, hash_mib_s_per_vcpu=hash_mib_s_per_vcpu)
    direct, queue = cost_per_million(small), cost_per_million(small, batch_size=10)
    ceiling = direct_mode_ceiling(small)
    return "\n".join(
        [
            f"load model: small file {seconds_per_file(small) * 1000:.0f} ms -> "
            f"{files_per_second(small):.1f} files/s per execution, "
            f"{files_per_second(small, 50):,.0f} files/s at concurrency 50",
            f"load model: 1 GiB in one stream {seconds_per_file(large):.1f} s at 256 MB "
            f"(hash {large.hash_mib_s():.0f} MiB/s, stream {large.stream_mib_s:.0f} MiB/s)",
            f"load model: direct mode sustains {ceiling['sustained_files_per_second']:,.0f} "
            "small files/s at reserved concurrency 50",
            f"load model: per million small files direct {_money(direct.total)}, "
            f"queue (batch 10) {_money(queue.total)} (prices {Prices.AS_OF}, us-east-1)",
        ]
    )


def main() -> int:
    """Print the summary, or the doc's tables with ``--markdown``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print docs/load-model.md's tables")
    parser.add_argument("--hash-mib-s", type=float, default=551.0)
    args = parser.parse_args()
    print(markdown(args.hash_mib_s) if args.markdown else summary(args.hash_mib_s) + "\n", end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
