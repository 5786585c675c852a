"""The handler's stdlib logger and EMF metrics (what Powertools did for it)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from fileproc.observe import Logger, Metrics, MetricUnit

from tests.handler.conftest import FakeContext


def test_log_lines_are_json_with_keys_context_and_cold_start_once() -> None:
    logger = Logger(service="svc", level="INFO")
    buffer = io.StringIO()
    logger.registered_handler.setStream(buffer)

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: Any, context: Any) -> None:
        logger.append_keys(message_id="m1")
        logger.info("hello", extra={"key": "uploads/a"})
        logger.remove_keys(["message_id"])
        logger.debug("hidden")
        logger.warning("after")

    handler({}, FakeContext())
    handler({}, FakeContext())

    lines = [json.loads(x) for x in buffer.getvalue().splitlines()]
    assert [x["message"] for x in lines] == ["hello", "after", "hello", "after"]
    assert lines[0]["key"] == "uploads/a"
    assert lines[0]["message_id"] == "m1"
    assert "message_id" not in lines[1]
    assert lines[0]["service"] == "svc"
    assert lines[0]["level"] == "INFO"
    assert lines[0]["function_request_id"] == FakeContext.aws_request_id
    assert [x["cold_start"] for x in lines] == [True, True, False, False]


def test_metrics_print_one_emf_document_per_invocation_even_when_it_raises(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = Metrics(service="", namespace="NS")
    metrics.set_default_dimensions(Environment="dev")

    @metrics.log_metrics
    def handler() -> None:
        metrics.add_metric(name="Files", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Files", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Bytes", unit=MetricUnit.Bytes, value=5)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        handler()

    (doc,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "NS"
    assert directive["Dimensions"] == [["Environment"]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "Files": "Count",
        "Bytes": "Bytes",
    }
    assert (doc["Environment"], doc["Files"], doc["Bytes"]) == ("dev", [1.0, 1.0], [5.0])


def test_metrics_flush_before_a_metric_exceeds_the_emf_limit_of_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = Metrics(service="", namespace="NS")
    for _ in range(150):
        metrics.add_metric(name="Files", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    metrics.flush_metrics()  # nothing left: prints nothing

    docs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [len(d["Files"]) for d in docs] == [100, 50]
