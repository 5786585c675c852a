"""Lambda entry point ``app.lambda_handler``: S3 uploads in, one signed JSON result per file out.

Thin on purpose: settings, logging and metrics here; the work is in ``fileproc.core``.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from fileproc import aws, core, events, objects
from fileproc.errors import OutOfTime, RecordsFailed
from fileproc.observe import Logger, Metrics, MetricUnit
from fileproc.settings import Settings, settings_from_env
from fileproc.signing import STATUS_TOO_LARGE, verify_result

__all__ = ["handle", "handle_batch", "lambda_handler", "verify_result"]

logger = Logger()  # service and level from POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL
# service="" keeps the metrics from adding a `service` dimension: the only dimension is
# Environment, so dashboards and alarms name exactly one metric series per environment.
metrics = Metrics(service="")


@functools.cache
def settings() -> Settings:
    """Settings from the environment, read once per execution environment."""
    return settings_from_env(os.environ)


def _report(outcome: core.Outcome) -> None:
    """One log line and the metrics for one outcome (never the secret or the object's bytes)."""
    if isinstance(outcome, core.Processed) and outcome.status == STATUS_TOO_LARGE:
        metrics.add_metric(name="FilesTooLarge", unit=MetricUnit.Count, value=1)
        logger.warning(
            "too_large",
            extra={
                "index": outcome.index,
                "bucket": outcome.bucket,
                "key": outcome.key,
                "version_id": outcome.version_id,
                "size": outcome.size,
                "result_key": outcome.result_key,
            },
        )
    elif isinstance(outcome, core.Processed):
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
        if outcome.code == OutOfTime.code:
            metrics.add_metric(name="ReadsOutOfTime", unit=MetricUnit.Count, value=1)
        logger.error(
            "failed",
            extra={
                "index": outcome.index,
                "record": outcome.where,
                "code": outcome.code,
                "error": outcome.message,
            },
        )


def handle(
    event: Any,
    config: Settings,
    store: objects.ObjectStore,
    password: Any,
    time_left: objects.TimeLeft | None = None,
) -> dict[str, Any]:
    """Process every record, report each, then raise RecordsFailed if any failed."""
    processed: list[str] = []
    skipped: list[str] = []
    failures: list[str] = []
    total = 0
    for outcome in core.process_event(event, store, password, config, time_left):
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


def handle_batch(
    event: Any,
    config: Settings,
    store: objects.ObjectStore,
    password: Any,
    time_left: objects.TimeLeft | None = None,
) -> dict[str, Any]:
    """Queue mode: process every message, report each, and name only the failed messages.

    When every message failed the batch raises instead, as Powertools' batch processor does:
    the effect on the queue is the same (all are received again), and the invocation counts as
    an error, so the Errors alarm sees a batch that cannot make progress.
    """
    # Imported here: only a queue-mode function needs it, and a cold start compiles every module
    # it imports from source.
    from fileproc import sqs

    failed: list[str] = []
    total = 0
    for result in sqs.process_batch(event, store, password, config, time_left):
        total += 1
        logger.append_keys(message_id=result.message_id)
        for outcome in result.outcomes:
            _report(outcome)
        if result.failed:
            failed.append(result.message_id)
    logger.remove_keys(["message_id"])
    if failed:
        metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=len(failed))
        if len(failed) == total:
            raise RecordsFailed([f"message {m}" for m in failed], total)
    return sqs.batch_response(failed)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    """Process an S3 notification (raise, so Lambda retries, if any record failed) or, in queue
    mode, an SQS batch of them (report the failed messages)."""
    config = settings()
    metrics.set_default_dimensions(Environment=config.environment)
    signing_key = functools.partial(aws.read_signing_key, config)
    if events.is_sqs_batch(event):
        return handle_batch(event, config, aws.S3Store(), signing_key, time_left_of(context))
    return handle(event, config, aws.S3Store(), signing_key, time_left_of(context))


def time_left_of(context: Any) -> objects.TimeLeft | None:
    """Seconds left in the invocation, from the Lambda context (None if it cannot tell)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return None
    return lambda: float(remaining()) / 1000
