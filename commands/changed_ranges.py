"""What the views a run of the log changed, as told by whoever recorded it, so the
publisher need not read those events back (commands/publisher.py).

`billing serve` deciding ahead (commands/serve_ahead.py): the decider knows which
records each batch changes (it decided the events), and the committing thread knows
where in the log the batch landed. A publishing round used to find the same keys by
reading every event since its last position and decoding it again: about 3 s of
serve's busy process at 1M events (the most of a round). A range is told only when it
holds the batch's events and nothing else (ids one after the other, the last the log's
head once committed), so the keys it carries are exactly those a read of it would
find; anything else in the log between or after ranges is read, as before.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from projections.changes import ChangedViews

# Ranges kept at most (a batch each); past it the oldest are dropped and read back
# instead: bounds memory when publishing stalls (a broker away) while batches commit.
MAX_RANGES = 1_000


@dataclass(frozen=True, slots=True)
class ChangedRange:
    """The log's events after notification id `after` up to `last` changed `changed`."""

    after: int
    last: int
    changed: ChangedViews


class ChangedRanges:
    """Ranges told by a committing thread, taken by the publisher's rounds."""

    def __init__(self, max_ranges: int = MAX_RANGES):
        self._lock = threading.Lock()
        self._ranges: dict[int, ChangedRange] = {}  # by `after`, in the order told
        self._max = max_ranges

    def tell(self, recorded: list[tuple[int, object]], head: int, changed: ChangedViews) -> bool:
        """A batch committed its events at the notification ids of `recorded` (id,
        event), in order, leaving the log's head at `head`: kept if those ids are one
        run that ends at the head (nothing else in the transaction appended: a hook's
        events are read back instead)."""
        if not recorded:
            return False
        first, last = recorded[0][0], recorded[-1][0]
        if last != head or last - first + 1 != len(recorded):
            return False
        told = ChangedRange(first - 1, last, changed)
        with self._lock:
            self._ranges[told.after] = told
            while len(self._ranges) > self._max:
                del self._ranges[next(iter(self._ranges))]
        return True

    def starting_at(self, position: int) -> ChangedRange | None:
        """The range right after `position`, if one was told."""
        with self._lock:
            return self._ranges.get(position)

    def next_start_after(self, position: int) -> int | None:
        """Where the first range told beyond `position` starts (None: none)."""
        with self._lock:
            return min((after for after in self._ranges if after > position), default=None)

    def forget_through(self, position: int) -> None:
        """Drops the ranges published (ending at or before `position`)."""
        with self._lock:
            for after in [after for after, told in self._ranges.items() if told.last <= position]:
                del self._ranges[after]
