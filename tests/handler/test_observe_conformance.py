"""fileproc/observe.py prints what aws-lambda-powertools printed for the same calls.

The handler ships no Powertools (its import cost more than a first event's work), but CloudWatch
(EMF), the dashboards and Logs Insights queries read the lines Powertools wrote. Each test drives
Powertools and our replacement through the same calls, the way ``app.py`` makes them, and compares
the lines: same keys in the same order, same values, apart from the clock (checked for format).
Powertools is a dev dependency for this test only.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from contextlib import redirect_stdout
from typing import Any

import pytest
from fileproc import observe

from tests.handler.conftest import FakeContext

powertools = pytest.importorskip("aws_lambda_powertools")
from aws_lambda_powertools.metrics import MetricUnit as PowertoolsUnit  # noqa: E402

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
# Powertools' default datefmt: local time, comma, milliseconds, UTC offset.
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}[+-]\d{4}$")


@pytest.fixture(autouse=True)
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables Lambda and the stack set for the function."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "serverlessapp")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "ServerlessApp/Lambda")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    monkeypatch.setenv("TZ", "UTC")


def _log_like_the_handler(logger: Any) -> None:
    """The lines app.py writes: info/warning/error with extra keys (some None), one exception.

    Both loggers are called from these same lines, so their ``location`` must agree too.
    """
    logger.info(
        "processed",
        extra={"index": 0, "key": "uploads/ä.txt", "version_id": None, "size": 5, "sha256": "ab"},
    )
    logger.warning("too_large", extra={"index": 1, "size": 10**12})
    logger.error("failed", extra={"index": 2, "record": "r", "code": "OutOfTime", "error": "e"})
    try:
        raise ValueError("bad record")
    except ValueError:
        logger.exception("unexpected", extra={"index": 3})


def _lines(make_logger: Callable[[io.StringIO], Any]) -> list[dict[str, Any]]:
    buffer = io.StringIO()
    logger = make_logger(buffer)

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: Any, context: Any) -> None:
        logger.append_keys(message_id="m-1")
        _log_like_the_handler(logger)

    handler({}, FakeContext())
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def _ours(buffer: io.StringIO) -> observe.Logger:
    logger = observe.Logger()
    logger.registered_handler.setStream(buffer)
    return logger


def _powertools(buffer: io.StringIO) -> Any:
    return powertools.Logger(stream=buffer)


def _without_clock(line: dict[str, Any]) -> dict[str, Any]:
    assert TIMESTAMP.match(line["timestamp"]), line["timestamp"]
    assert isinstance(line["cold_start"], bool)  # Powertools' flag is process-wide
    return {k: v for k, v in line.items() if k not in {"timestamp", "cold_start"}}


def test_log_lines_have_powertools_keys_order_and_values() -> None:
    ours, theirs = _lines(_ours), _lines(_powertools)

    assert [list(line) for line in ours] == [list(line) for line in theirs]
    assert [_without_clock(line) for line in ours] == [_without_clock(line) for line in theirs]
    assert "version_id" not in ours[0]  # None values are dropped, as Powertools drops them
    assert ours[0]["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"


def _emf(metrics: Any, unit: Any) -> dict[str, Any]:
    buffer = io.StringIO()

    @metrics.log_metrics
    def handler(event: Any, context: Any) -> None:
        metrics.set_default_dimensions(Environment="dev")
        metrics.add_metric(name="FilesProcessed", unit=unit.Count, value=1)
        metrics.add_metric(name="BytesProcessed", unit=unit.Bytes, value=5)
        metrics.add_metric(name="BytesProcessed", unit=unit.Bytes, value=7)
        metrics.add_metric(name="RecordsSkipped", unit=unit.Count, value=1)

    with redirect_stdout(buffer):
        handler({}, FakeContext())
    (line,) = [x for x in buffer.getvalue().splitlines() if x.startswith("{")]
    document: dict[str, Any] = json.loads(line)
    return document


def test_emf_document_has_powertools_structure_and_values() -> None:
    theirs_metrics = powertools.Metrics(service="")  # as app.py: no `service` dimension
    theirs_metrics.clear_metrics()
    ours = _emf(observe.Metrics(service=""), observe.MetricUnit)
    theirs = _emf(theirs_metrics, PowertoolsUnit)

    assert isinstance(ours["_aws"].pop("Timestamp"), int)
    assert isinstance(theirs["_aws"].pop("Timestamp"), int)
    assert list(ours) == list(theirs)
    assert ours == theirs
    assert ours["FilesProcessed"] == [1.0]  # a list even for one value
