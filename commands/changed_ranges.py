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

Consecutive batches' ranges are merged as they are told, until the publisher takes the
range (or it holds `MERGE_UP_TO_KEYS` keys): the same bills and tallies change in
batch after batch, and keeping each batch's keys apart until a round came held ~90 MiB
of repeated keys in serve's process by 800,000 events (tracemalloc), when catching up
publishes three times in a million events.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from projections.changes import ChangedViews, merge_changed

# Ranges kept at most (a batch each); past it the oldest are dropped and read back
# instead: bounds memory when publishing stalls (a broker away) while batches commit.
MAX_RANGES = 1_000
# Keys a merged range holds at most before the next batch starts a new one (a round
# takes ranges whole, and reads up to `publisher.MAX_KEYS`, 100,000, a round).
MERGE_UP_TO_KEYS = 50_000


@dataclass(frozen=True, slots=True)
class ChangedRange:
    """The log's events after notification id `after` up to `last` changed `changed`."""

    after: int
    last: int
    changed: ChangedViews


class ChangedRanges:
    """Ranges told by a committing thread, taken by the publisher's rounds."""

    def __init__(self, max_ranges: int = MAX_RANGES, merge_up_to_keys: int = MERGE_UP_TO_KEYS):
        self._lock = threading.Lock()
        self._ranges: dict[int, ChangedRange] = {}  # by `after`, in the order told
        self._max = max_ranges
        self._merge_up_to = merge_up_to_keys
        self._open: ChangedRange | None = None  # the last range told, while the next may join it

    def tell(
        self, recorded: Sequence[tuple[int, object]], head: int, changed: ChangedViews, views_end_here: bool = False
    ) -> bool:
        """A batch committed its events at the notification ids of `recorded` (id,
        event), in order, leaving the log's head at `head`: kept if those ids are one
        run that ends at the head (nothing else in the transaction appended: a hook's
        events are read back instead). `views_end_here`: the views were folded through
        this batch; a round that does not fold them reads only that far, so no later
        batch joins its range (a range beyond the views is read back instead)."""
        if not recorded:
            return False
        first, last = recorded[0][0], recorded[-1][0]
        if last != head or last - first + 1 != len(recorded):
            return False
        with self._lock:
            joined = self._open
            if joined is not None and joined.last == first - 1 and joined.after in self._ranges:
                merge_changed(joined.changed, changed)  # the range is this object's alone until taken
                told = ChangedRange(joined.after, last, joined.changed)
            else:
                told = ChangedRange(first - 1, last, changed)
            self._ranges[told.after] = told
            self._open = None if views_end_here or len(told.changed.keys) >= self._merge_up_to else told
            while len(self._ranges) > self._max:
                del self._ranges[next(iter(self._ranges))]
        return True

    def starting_at(self, position: int) -> ChangedRange | None:
        """The range right after `position`, if one was told; no later batch joins it."""
        with self._lock:
            told = self._ranges.get(position)
            if told is not None and self._open is not None and self._open.after == position:
                self._open = None
            return told

    def next_start_after(self, position: int) -> int | None:
        """Where the first range told beyond `position` starts (None: none)."""
        with self._lock:
            return min((after for after in self._ranges if after > position), default=None)

    def forget_through(self, position: int) -> None:
        """Drops the ranges published (ending at or before `position`)."""
        with self._lock:
            for after in [after for after, told in self._ranges.items() if told.last <= position]:
                del self._ranges[after]
