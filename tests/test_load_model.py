"""The load model's formulas, and docs/load-model.md showing exactly what the model computes."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from tests.bench import load_model as lm

DOC = Path(__file__).resolve().parents[1] / "docs" / "load-model.md"


def test_the_doc_shows_the_tables_the_model_computes() -> None:
    text = DOC.read_text(encoding="utf-8")
    begin = text.index("-->\n", text.index("<!-- load-model:begin")) + len("-->\n")
    end = text.index("<!-- load-model:end -->")
    assert text[begin:end] == lm.markdown(), "run tests/bench/load_model.py --markdown"


def test_seconds_per_file_adds_latency_read_and_put() -> None:
    w = lm.Workload("w", 64 * lm.MIB, memory_mb=lm.MB_PER_VCPU, hash_mib_s_per_vcpu=128)
    assert lm.read_seconds(w) == pytest.approx(1.0)  # 64 MiB at the 64 MiB/s stream
    assert lm.seconds_per_file(w) == pytest.approx(0.020 + 1.0 + 0.030 + 0.002)


def test_hashing_speed_follows_memory_up_to_one_vcpu() -> None:
    w = lm.Workload("w", 1, hash_mib_s_per_vcpu=500)
    assert replace(w, memory_mb=lm.MB_PER_VCPU // 2).hash_mib_s() == pytest.approx(
        500 * (lm.MB_PER_VCPU // 2) / lm.MB_PER_VCPU
    )
    assert replace(w, memory_mb=10240).hash_mib_s() == 500


def test_a_single_stream_caps_large_files_whatever_the_memory() -> None:
    assert lm.seconds_per_file(lm.LARGE) == lm.seconds_per_file(lm.LARGE_2GB)
    faster = replace(lm.LARGE_2GB, parallel_streams=8)
    assert lm.seconds_per_file(faster) < lm.seconds_per_file(lm.LARGE_2GB) / 4


def test_throughput_is_linear_in_concurrency() -> None:
    assert lm.files_per_second(lm.SMALL, 50) == pytest.approx(50 * lm.files_per_second(lm.SMALL))


def test_queue_mode_trades_lambda_requests_for_sqs_requests() -> None:
    direct = lm.cost_per_million(lm.SMALL)
    queue = lm.cost_per_million(lm.SMALL, batch_size=10)
    assert direct.sqs_requests == 0
    assert queue.sqs_requests == pytest.approx((1 + 2 / 10) * 0.40)
    assert queue.lambda_requests == pytest.approx(direct.lambda_requests / 10)
    assert queue.s3_requests == direct.s3_requests == pytest.approx(5.40)


def test_bucket_keys_cut_kms_requests_a_hundredfold() -> None:
    with_keys = lm.cost_per_million(lm.SMALL)
    without = lm.cost_per_million(lm.SMALL, bucket_keys=False)
    assert without.kms_requests > 50 * with_keys.kms_requests


def test_lambda_compute_bills_whole_milliseconds() -> None:
    w = lm.Workload("w", 0, first_byte_seconds=0.0004, put_seconds=0, overhead_seconds=0)
    assert lm.billed_gb_seconds(w) == pytest.approx(0.001 * w.memory_mb / 1024)


def test_the_secret_is_read_once_per_environment_and_cache_period() -> None:
    calls = lm.secret_calls_per_million(lm.SMALL, concurrency=10, cache_seconds=300)
    assert calls == pytest.approx(10 + 1_000_000 * lm.seconds_per_file(lm.SMALL) / 300)


def test_direct_mode_ceiling_drains_bursts_within_the_event_age() -> None:
    ceiling = lm.direct_mode_ceiling(lm.SMALL)
    rate = ceiling["sustained_files_per_second"]
    assert rate == pytest.approx(50 / lm.seconds_per_file(lm.SMALL))
    assert ceiling["burst_files_within_max_event_age"] == pytest.approx(rate * 21600)
    assert math.isfinite(rate)
