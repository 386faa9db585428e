"""Events decided but not yet committed, found by their (source, id).

A process deciding batches ahead of their writer (commands/ahead.py) keeps each
batch's events until the writer says the batch is in the store. They are kept one
map a batch so that a committed batch goes in one step: popping its 20,000 pairs one
by one from a single map cost the decider ~1.3 µs a pair (py-spy, 600k lines; about
half of it freeing the batch's events, which stays), against two or three look-ups a
line here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from schemas.recorded import RecordedEvent

Pair = tuple[str, str]


class EventsInFlight:
    def __init__(self) -> None:
        self._batches: deque[tuple[int, dict[Pair, RecordedEvent]]] = deque()

    def __bool__(self) -> bool:
        return bool(self._batches)

    def get(self, pair: Pair) -> RecordedEvent | None:
        # A pair is in one batch at most: a repeat in a later batch is a duplicate,
        # never recorded again.
        for _, events in self._batches:
            event = events.get(pair)
            if event is not None:
                return event
        return None

    def add(self, seq: int, pairs: Iterable[Pair], events: Iterable[RecordedEvent]) -> None:
        """Batch `seq`'s events (batches are added in the order of their seq)."""
        self._batches.append((seq, dict(zip(pairs, events, strict=True))))

    def drop_through(self, seq: int) -> None:
        """Batches up to `seq` are committed: their events are found in the store now."""
        batches = self._batches
        while batches and batches[0][0] <= seq:
            batches.popleft()

    def clear(self) -> None:
        self._batches.clear()
