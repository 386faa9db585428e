"""Each `billing serve` worker's own batch timing, read from the line it logs when it
stops cleanly (commands/serve_service.py `close`):

    2026-11-30 10:47:08,123 billing.serve INFO recorded 40 batches of 200000 lines in …;
    as JSON {"batches":40,"lines":200000,"batch_seconds":47.1,"lock_held_seconds":44.0,…}

(one line). The figures are the worker's (engine/batch_timing.py): the bench only reads
them, and pools them over the workers of one run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec

_LINE = re.compile(rb"billing\.serve INFO recorded [^\n]*?; as JSON (\{[^\n]*\})[ \t\r]*$", re.MULTILINE)


class WorkerTiming(msgspec.Struct, frozen=True):
    """What one worker counted over its batches (further fields of a newer worker are ignored)."""

    batches: int
    lines: int
    batch_seconds: float
    lock_held_seconds: float
    conflicts: int
    lock_held_share: float
    # Queueing for the lock, inside batch time (BatchTiming counts it since c360527); None
    # from a worker that did not report it: the bench then uses its own samples.
    lock_wait_seconds: float | None = None


class TimingLineError(ValueError):
    """A worker's log has no usable timing line; the message says what was wrong."""


def worker_timing(log: bytes) -> WorkerTiming:
    """The timing a worker logged at its clean stop (the last such line, if it logged more)."""
    found = _LINE.findall(log)
    if not found:
        raise TimingLineError("no 'billing.serve INFO recorded …; as JSON {…}' line (did the worker stop cleanly?)")
    try:
        timing = msgspec.json.decode(found[-1], type=WorkerTiming)
    except msgspec.DecodeError as error:
        raise TimingLineError(f"the timing line's JSON is unusable: {error}") from None
    if not 0.0 <= timing.lock_held_share <= 1.0 + 1e-9:
        raise TimingLineError(f"lock_held_share {timing.lock_held_share} is outside 0..1")
    return timing


def as_json(timing: WorkerTiming) -> dict:
    return msgspec.structs.asdict(timing)


def pooled(timings: Sequence[WorkerTiming]) -> dict:
    """A run's figures over its workers. The mean share counts the workers that recorded
    at least one batch (an idle worker's share, 0 by definition, says nothing of the lock);
    the pooled share weighs each worker by its batch time."""
    busy = [t for t in timings if t.batches]
    batch_seconds = sum(t.batch_seconds for t in timings)
    held_seconds = sum(t.lock_held_seconds for t in timings)
    return {
        "lock_held_share_mean": sum(t.lock_held_share for t in busy) / len(busy) if busy else None,
        "lock_held_share_pooled": held_seconds / batch_seconds if batch_seconds > 0 else None,
        "lock_held_seconds": held_seconds,
        "batch_seconds": batch_seconds,
        "batches": sum(t.batches for t in timings),
        "lines": sum(t.lines for t in timings),
        "conflicts": sum(t.conflicts for t in timings),
        "lock_wait_seconds": (
            sum(t.lock_wait_seconds for t in timings) if all(t.lock_wait_seconds is not None for t in timings) else None
        ),
        "idle_workers": len(timings) - len(busy),
    }
