"""Lambda entry point ``app.lambda_handler``: S3 uploads in, one signed JSON result per file out.

Thin on purpose: settings, logging and metrics here; the work is in ``fileproc.core``.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from fileproc import aws, core
from fileproc.errors import RecordsFailed
from fileproc.settings import Settings, settings_from_env
from fileproc.signing import verify_result

__all__ = ["handle", "lambda_handler", "verify_result"]

logger = Logger()  # service and level from POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL
# service="" keeps Powertools from adding a `service` dimension: the only dimension is
# Environment, so dashboards and alarms name exactly one metric series per environment.
metrics = Metrics(service="")


@functools.cache
def settings() -> Settings:
    """Settings from the environment, read once per execution environment."""
    return settings_from_env(os.environ)


def _report(outcome: core.Outcome) -> None:
    """One log line and the metrics for one outcome (never the secret or the object's bytes)."""
    if isinstance(outcome, core.Processed):
        metrics.add_metric(name="FilesProcessed", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="BytesProcessed", unit=MetricUnit.Bytes, value=outcome.size)
        logger.info(
            "processed",
            extra={
                "index": outcome.index,
                "bucket": outcome.bucket,
                "key": outcome.key,
                "version_id": outcome.version_id,
                "size": outcome.size,
                "sha256": outcome.sha256,
                "result_key": outcome.result_key,
            },
        )
    elif isinstance(outcome, core.Skipped):
        metrics.add_metric(name="RecordsSkipped", unit=MetricUnit.Count, value=1)
        if outcome.reason == core.DUPLICATE:
            metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=1)
        logger.info(
            "skipped",
            extra={
                "reason": outcome.reason,
                "index": outcome.index,
                "bucket": outcome.bucket,
                "key": outcome.key,
            },
        )
    else:
        metrics.add_metric(name="ProcessingErrors", unit=MetricUnit.Count, value=1)
        logger.error(
            "failed",
            extra={
                "index": outcome.index,
                "record": outcome.where,
                "code": outcome.code,
                "error": outcome.message,
            },
        )


def handle(event: Any, config: Settings, store: core.ObjectStore, password: Any) -> dict[str, Any]:
    """Process every record, report each, then raise RecordsFailed if any failed."""
    processed: list[str] = []
    skipped: list[str] = []
    failures: list[str] = []
    total = 0
    for outcome in core.process_event(event, store, password, config):
        total += 1
        _report(outcome)
        if isinstance(outcome, core.Processed):
            processed.append(outcome.result_key)
        elif isinstance(outcome, core.Skipped):
            skipped.append(outcome.reason)
        else:
            failures.append(f"{outcome.where} ({outcome.code})")
    if failures:
        raise RecordsFailed(failures, total)
    return {"processed": processed, "skipped": skipped}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Process an S3 notification; raise (so Lambda retries) if any record failed."""
    config = settings()
    metrics.set_default_dimensions(Environment=config.environment)
    return handle(event, config, aws.S3Store(), lambda: aws.read_signing_key(config))
