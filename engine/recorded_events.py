"""A committed batch's events as its hooks and projectors read them, decoded only
where asked for. The writer of a batch decided in another process (commands/ahead.py)
holds the stored rows, not the events: decoding all of them again cost it ~1.6 µs an
event (py-spy, `billing serve` at 1M), for hooks that want one type in a thousand and
projectors that want the last id."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from engine.mapper import TOPICS, StoredType, decode_event
from engine.store.rows import StoredRow


class EventsOfRows(Sequence[StoredType]):
    """The events of stored rows, each decoded when first read (then kept)."""

    __slots__ = ("_decoded", "_rows")

    def __init__(self, rows: Sequence[StoredRow]):
        self._rows = rows
        self._decoded: list[StoredType | None] = [None] * len(rows)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> StoredType: ...
    @overload
    def __getitem__(self, index: slice) -> list[StoredType]: ...
    def __getitem__(self, index: int | slice) -> StoredType | list[StoredType]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._rows)))]
        event = self._decoded[index]
        if event is None:
            row = self._rows[index]
            event = self._decoded[index] = decode_event(row.topic, row.state)
        return event

    def __iter__(self) -> Iterator[StoredType]:
        return (self[i] for i in range(len(self._rows)))

    def indices_of(self, cls: type) -> list[int]:
        """Where events of type `cls` are, read from the rows' topics (none decoded)."""
        topic = TOPICS[cls]
        return [i for i, row in enumerate(self._rows) if row.topic == topic]


class RecordedEvents(Sequence[tuple[int, StoredType]]):
    """A committed batch's (notification id, event) pairs, in order."""

    __slots__ = ("events", "ids")

    def __init__(self, ids: Sequence[int], events: Sequence[StoredType]):
        if len(ids) != len(events):
            raise ValueError(f"{len(ids)} notification ids for {len(events)} events")
        self.ids = ids
        self.events = events

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> tuple[int, StoredType]: ...
    @overload
    def __getitem__(self, index: slice) -> list[tuple[int, StoredType]]: ...
    def __getitem__(self, index: int | slice) -> tuple[int, StoredType] | list[tuple[int, StoredType]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.ids)))]
        return self.ids[index], self.events[index]

    def __iter__(self) -> Iterator[tuple[int, StoredType]]:
        return zip(self.ids, self.events, strict=True)

    def of_type(self, cls: type) -> list[tuple[int, StoredType]]:
        """The pairs whose event is a `cls`, decoding no other."""
        events = self.events
        if isinstance(events, EventsOfRows):
            return [(self.ids[i], events[i]) for i in events.indices_of(cls)]
        return [(nid, event) for nid, event in zip(self.ids, events, strict=True) if type(event) is cls]
