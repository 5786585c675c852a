"""Large objects: concurrent ranged GETs of one pinned version feeding the SHA-256 in order.

Imported by ``core.process_object`` only for an object larger than one part, so a small file's cold
start never compiles it (Lambda compiles every imported module of the bundle from source). It
imports what it shares with the core from ``objects``, never the core itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from .errors import OutOfTime, SizeMismatch
from .objects import Hasher, ObjectStore, Pin, StoredObject, TimeLeft, deadline
from .settings import Settings

# Parts are read in pieces smaller than the core's single-stream chunks: http.client holds each
# read twice over while it returns it, on every connection at once, and that is memory beyond
# the read-ahead bound.
PART_CHUNK_SIZE = 256 * 1024


def seconds_to_margin(time_left: TimeLeft | None, margin: float) -> float | None:
    """How long one may wait before the stop margin (None: no deadline)."""
    return None if time_left is None else max(0.0, time_left() - margin)


def part_ranges(start: int, size: int, part_bytes: int) -> Iterator[tuple[int, int]]:
    """Inclusive byte ranges of at most ``part_bytes`` covering ``[start, size)`` in order."""
    for first in range(start, size, part_bytes):
        yield first, min(first + part_bytes, size) - 1


class Stopped(Exception):
    """A part read noticed the read was abandoned (never leaves this module)."""


def read_part(
    store: ObjectStore, pin: Pin, first: int, last: int, stop: threading.Event
) -> list[bytes]:
    """The bytes ``first..last`` of the pinned object, as read (runs in a worker thread).

    Kept as the list of reads rather than joined or copied into one buffer: the hash consumes
    them in order, so a part costs its length once and no byte is copied twice.
    """
    length = last - first + 1
    stored = store.open(pin.bucket, pin.key, pin.version_id, pin.if_match, (first, last))
    chunks: list[bytes] = []
    filled = 0
    try:
        while filled < length:
            if stop.is_set():
                raise Stopped
            chunk = stored.body.read(min(PART_CHUNK_SIZE, length - filled))
            if not chunk:
                break
            chunks.append(chunk)
            filled += len(chunk)
    finally:
        stored.body.close()
    if filled != length:
        raise SizeMismatch(f"range bytes={first}-{last} returned {filled} bytes; expected {length}")
    return chunks


def digest_ranged(
    first_part: StoredObject,
    pin: Pin,
    size: int,
    store: ObjectStore,
    settings: Settings,
    time_left: TimeLeft | None = None,
    digest: Hasher | None = None,
) -> tuple[int, str]:
    """SHA-256 of an object whose first part is open: the rest read ahead by concurrent ranges.

    At most ``read_concurrency`` parts of ``read_part_bytes`` are requested or held at a time;
    the hash consumes them in order, so memory stays within their product whatever the size.
    """
    digest = digest if digest is not None else hashlib.sha256()
    check = deadline(time_left, settings.stop_margin_seconds)
    part_bytes, concurrency = settings.read_part_bytes, settings.read_concurrency
    ranges = part_ranges(part_bytes, size, part_bytes)
    stop = threading.Event()
    pending: deque[Future[list[bytes]]] = deque()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="read-part")

    def submit_next() -> None:
        span = next(ranges, None)
        if span is not None:
            pending.append(pool.submit(read_part, store, pin, span[0], span[1], stop))

    try:
        for _ in range(concurrency):
            submit_next()
        # The first part streams straight into the hash while the next ones download.
        read = 0
        while chunk := first_part.body.read(PART_CHUNK_SIZE):
            digest.update(chunk)
            read += len(chunk)
            check(f"after {read} of {size} bytes")
        if read != min(part_bytes, size):
            raise SizeMismatch(f"the first part returned {read} bytes; expected {part_bytes}")
        while pending:
            future = pending.popleft()
            wait = seconds_to_margin(time_left, settings.stop_margin_seconds)
            try:
                part = future.result(timeout=wait)
            except FutureTimeout:
                raise OutOfTime(
                    f"the part after byte {read} of {size} did not arrive within {wait:.1f} s, "
                    f"before the stop margin of {settings.stop_margin_seconds:g} s; stopped with "
                    "nothing written so the retry starts over"
                ) from None
            for chunk in part:
                digest.update(chunk)
                read += len(chunk)
            # Released (the future holds it too) before the next part is requested: the bound.
            del part, future
            check(f"after {read} of {size} bytes")
            submit_next()
    finally:
        stop.set()
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
    return read, digest.hexdigest()
