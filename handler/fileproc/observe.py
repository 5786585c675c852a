"""Structured logs and embedded-metric-format metrics, with the standard library only.

The handler used AWS Lambda Powertools for these two things; Lambda compiles a bundled package
from source at every cold start (``/var/task`` is read-only and the zip carries no bytecode), and
Powertools with typing-extensions cost more than the whole work of a first event. This module
keeps the part of their interface the handler uses (``Logger``, ``Metrics``, ``MetricUnit``), the
same environment variables (``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_LOG_LEVEL``,
``POWERTOOLS_METRICS_NAMESPACE``) and the same output: one JSON object per log line with the
Lambda context's fields, and one EMF document per invocation on stdout.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., Any])
MAX_VALUES_PER_METRIC = 100  # an EMF document carries at most 100 values of one metric


class MetricUnit:
    """The CloudWatch units the handler uses (plain strings: an Enum class costs a cold start
    more than the rest of this module)."""

    Count = "Count"
    Bytes = "Bytes"
    Milliseconds = "Milliseconds"


def _timestamp(created: float) -> str:
    """Powertools' log timestamp: local time (UTC on Lambda), comma, milliseconds, offset."""
    moment = datetime.fromtimestamp(created).astimezone()
    return moment.strftime(f"%Y-%m-%d %H:%M:%S,{int(created * 1000) % 1000:03d}%z")


def _xray_trace_id() -> str | None:
    """The trace's Root id from Lambda's _X_AMZN_TRACE_ID, as Powertools logs it."""
    header = os.environ.get("_X_AMZN_TRACE_ID", "")
    for part in header.split(";"):
        name, _, value = part.partition("=")
        if name == "Root" and value:
            return value
    return None


def _stack_trace(exc_info: Any) -> dict[str, Any]:
    """Powertools' structured ``stack_trace``: the exception and its frames."""
    kind, value, tb = exc_info
    return {
        "type": getattr(kind, "__name__", ""),
        "value": str(value),
        "module": getattr(kind, "__module__", ""),
        "frames": [
            {"file": f.filename, "line": f.lineno, "function": f.name, "statement": f.line or ""}
            for f in traceback.extract_tb(tb)
        ],
    }


class _JsonFormatter(logging.Formatter):
    """One JSON object per record, keys in Powertools' order: level, location, message,
    timestamp, the logger's keys and the line's extra keys (None values dropped, as Powertools
    does), then the exception and the X-Ray trace id."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.getMessage(),
            "timestamp": _timestamp(record.created),
        }
        fields.update(getattr(record, "fields", {}))
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
            fields["exception_name"] = getattr(record.exc_info[0], "__name__", "")
            fields["stack_trace"] = _stack_trace(record.exc_info)
        fields["xray_trace_id"] = _xray_trace_id()
        present = {name: value for name, value in fields.items() if value is not None}
        return json.dumps(present, default=str, separators=(",", ":"), ensure_ascii=False)


class Logger:
    """A JSON logger with persistent keys and the Lambda context's fields on every line."""

    def __init__(self, service: str | None = None, level: str | None = None) -> None:
        self.service = service or os.environ.get("POWERTOOLS_SERVICE_NAME") or "service_undefined"
        self._logger = logging.getLogger(f"fileproc.{self.service}")
        self._logger.propagate = False  # the Lambda runtime's root handler would log it twice
        self._logger.handlers.clear()
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(_JsonFormatter())
        self._logger.addHandler(handler)
        self.registered_handler = handler
        self.setLevel(level or os.environ.get("POWERTOOLS_LOG_LEVEL") or "INFO")
        self._keys: dict[str, Any] = {"service": self.service}
        self._cold_start = True

    def setLevel(self, level: str | int) -> None:  # logging's (and Powertools') name
        """Log records at ``level`` and above."""
        self._logger.setLevel(level.upper() if isinstance(level, str) else level)

    def append_keys(self, **keys: Any) -> None:
        """Add keys to every following line."""
        self._keys.update(keys)

    def remove_keys(self, keys: Iterable[str]) -> None:
        """Stop adding ``keys``."""
        for key in keys:
            self._keys.pop(key, None)

    def _log(self, level: int, message: str, extra: dict[str, Any] | None, **kw: Any) -> None:
        if self._logger.isEnabledFor(level):
            fields = {**self._keys, **(extra or {})}
            self._logger.log(level, message, extra={"fields": fields}, stacklevel=3, **kw)

    def debug(self, message: str, extra: dict[str, Any] | None = None) -> None:
        """Log at DEBUG."""
        self._log(logging.DEBUG, message, extra)

    def info(self, message: str, extra: dict[str, Any] | None = None) -> None:
        """Log at INFO."""
        self._log(logging.INFO, message, extra)

    def warning(self, message: str, extra: dict[str, Any] | None = None) -> None:
        """Log at WARNING."""
        self._log(logging.WARNING, message, extra)

    def error(self, message: str, extra: dict[str, Any] | None = None) -> None:
        """Log at ERROR."""
        self._log(logging.ERROR, message, extra)

    def exception(self, message: str, extra: dict[str, Any] | None = None) -> None:
        """Log at ERROR with the exception being handled."""
        self._log(logging.ERROR, message, extra, exc_info=True)

    def inject_lambda_context(self, *, clear_state: bool = False) -> Callable[[Handler], Handler]:
        """Decorator: the context's fields (and cold_start) on every line of the invocation.

        Only the form the handler uses, ``@logger.inject_lambda_context(clear_state=...)``.
        """
        return functools.partial(self._with_context, clear_state=clear_state)

    def _with_context(self, handler: Handler, *, clear_state: bool) -> Handler:
        @functools.wraps(handler)
        def wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            if clear_state:
                self._keys = {"service": self.service}
            self.append_keys(
                cold_start=self._cold_start,
                function_name=getattr(context, "function_name", None),
                function_memory_size=getattr(context, "memory_limit_in_mb", None),
                function_arn=getattr(context, "invoked_function_arn", None),
                function_request_id=getattr(context, "aws_request_id", None),
            )
            self._cold_start = False
            return handler(event, context, *args, **kwargs)

        return wrapper  # type: ignore[return-value]


class Metrics:
    """Metrics of one invocation, printed as one embedded-metric-format document at its end."""

    def __init__(self, service: str | None = None, namespace: str | None = None) -> None:
        self.namespace = namespace or os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "default"
        # Like Powertools, a service name becomes a dimension; "" adds none.
        self._service = service
        self._values: dict[str, tuple[str, list[float]]] = {}
        self._default_dimensions: dict[str, str] = {}

    def add_metric(self, name: str, unit: str, value: float) -> None:
        """Record one value (flushed early if a metric reaches the EMF limit of values)."""
        values = self._values.setdefault(name, (str(unit), []))[1]
        values.append(float(value))
        if len(values) >= MAX_VALUES_PER_METRIC:
            self.flush_metrics()

    def set_default_dimensions(self, **dimensions: str) -> None:
        """Dimensions of every document from now on."""
        self._default_dimensions = dict(dimensions)

    def clear_metrics(self) -> None:
        """Forget the values not yet printed."""
        self._values.clear()

    def document(self) -> dict[str, Any]:
        """The EMF document of the values recorded so far."""
        dimensions = dict(self._default_dimensions)
        if self._service:
            dimensions["service"] = self._service
        doc: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [list(dimensions)],
                        "Metrics": [
                            {"Name": name, "Unit": unit} for name, (unit, _) in self._values.items()
                        ],
                    }
                ],
            },
            **dimensions,
        }
        for name, (_, values) in self._values.items():
            doc[name] = values  # a list even for one value, as Powertools prints it
        return doc

    def flush_metrics(self) -> None:
        """Print the document (one line on stdout, which Lambda sends to CloudWatch)."""
        if self._values:
            print(json.dumps(self.document(), separators=(",", ":")), flush=True)
            self.clear_metrics()

    def log_metrics(self, handler: Handler) -> Handler:
        """Decorator: flush at the end of every invocation, also when it raises."""

        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return handler(*args, **kwargs)
            finally:
                self.flush_metrics()

        return wrapper  # type: ignore[return-value]
