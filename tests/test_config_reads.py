"""The read-path settings of the environment model: read-ahead sized for memory, stop margin,
object size limit."""

from __future__ import annotations

from typing import Any

import pytest

from generator.config import ConfigError, parse_environment

VALID: dict[str, Any] = {"account_id": "123456789012", "region": "us-east-1"}


def test_read_ahead_defaults_to_a_quarter_of_the_memory() -> None:
    env = parse_environment("dev", VALID, "dev.yaml")
    assert env.function.read_part_mib == 8
    assert env.function.effective_read_concurrency == 8  # 64 MiB in flight of 256 MB
    small = parse_environment("dev", {**VALID, "function": {"memory_mb": 128}}, "dev.yaml")
    assert small.function.effective_read_concurrency == 4
    big = parse_environment("dev", {**VALID, "function": {"memory_mb": 4096}}, "dev.yaml")
    assert big.function.effective_read_concurrency == 16


def test_stop_margin_defaults_to_a_tenth_of_the_timeout() -> None:
    env = parse_environment("dev", VALID, "dev.yaml")
    assert env.function.effective_stop_margin_seconds == 6
    short = parse_environment("dev", {**VALID, "function": {"timeout_seconds": 3}}, "dev.yaml")
    assert short.function.effective_stop_margin_seconds == 1


def test_max_object_bytes_defaults_to_5_gib_and_null_means_no_limit() -> None:
    assert parse_environment("dev", VALID, "dev.yaml").storage.max_object_bytes == 5 * 1024**3
    unlimited = parse_environment(
        "dev", {**VALID, "storage": {"max_object_bytes": None}}, "dev.yaml"
    )
    assert unlimited.storage.max_object_bytes is None


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ({"read_part_mib": 64, "read_concurrency": 4}, "256 MiB in flight"),
        ({"read_part_mib": 129}, "129 MiB in flight"),
        ({"stop_margin_seconds": 60}, "expected less than timeout_seconds 60"),
    ],
)
def test_rejects_reads_that_do_not_fit_the_function(function: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_environment("dev", {**VALID, "function": function}, "dev.yaml")
