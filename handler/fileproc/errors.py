"""What the handler raises on purpose, and the skip signal AWS access uses."""

from __future__ import annotations

from collections.abc import Sequence


class HandlerError(Exception):
    """Base of every error the handler raises on purpose; anything else is a bug."""


class ConfigurationError(HandlerError):
    """The function's environment variables are missing or inconsistent."""


class InvalidEvent(HandlerError):
    """The event is not an S3 notification at all (not a JSON object, or Records not a list)."""


class RecordError(HandlerError):
    """One record could not be processed; ``code`` names the kind of failure in logs."""

    code = "RecordError"


class InvalidRecord(RecordError):
    """A record lacks a field S3 always sends, or carries a value of the wrong type."""

    code = "InvalidRecord"


class SizeMismatch(RecordError):
    """The bytes read differ from the size the event announced."""

    code = "SizeMismatch"


class EventMismatch(RecordError):
    """The object S3 holds is not the one the event describes (its ETag differs)."""

    code = "EventMismatch"


class SecretUnreadable(RecordError):
    """The signing secret could not be read or has no usable password."""

    code = "SecretUnreadable"


class OutOfTime(RecordError):
    """Too little of the invocation's time is left to start or finish reading an object.

    Raised before the function would be killed, with nothing written: the retry starts over.
    """

    code = "OutOfTime"


class SkipRecord(Exception):  # a control-flow signal, not an error
    """Raised by AWS access when a record must be skipped, never retried (``reason`` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RecordsFailed(HandlerError):
    """Raised once every record was tried, naming the failed ones, so Lambda retries the event."""

    def __init__(self, failures: Sequence[str], total: int) -> None:
        self.failures = tuple(failures)
        listed = "; ".join(self.failures)
        super().__init__(f"{len(self.failures)} of {total} records failed: {listed}")
