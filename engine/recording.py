"""Engine decisions: one write transaction that reads state, decides and appends.

Everything the engine decides on its own account (a close, a transfer, a payment
step, …) goes through `Ledger.record_decision(decide)`: the write lock is taken
(SQLite's BEGIN IMMEDIATE, PostgreSQL's table lock), `decide` reads what it needs
through the `Decision` it is handed and appends events, and the events are stored in
the log with the inline projections of their feature (`EngineProjection`) in the
same transaction. A `Refused` raised by `decide` rolls everything back: a refused
request records nothing. Two processes never decide from the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from schemas.engine_events import EngineEvent, engine_stream

if TYPE_CHECKING:
    from engine.ledger import Ledger
    from engine.recorded_events import RecordedEvents

E = TypeVar("E", bound=EngineEvent)


class Decision:
    """One engine decision's transaction: the cursor, the recorded time, the events."""

    def __init__(self, ledger: Ledger, cursor: Any, recorded_at: str):
        self.ledger = ledger
        self.cursor = cursor
        self.recorded_at = recorded_at
        self.events: list[EngineEvent] = []
        self._versions: dict[str, int] = {}

    def append(self, event_type: type[E], /, *, stream: str, id: str, **fields: Any) -> E:
        """Appends an event to the engine stream `stream` (stored under
        `engine_stream(stream)`) at its next version, stamped with this transaction's
        recorded time."""
        stream = engine_stream(stream)
        version = self._next_version(stream)
        event = event_type(
            originator_id=stream, originator_version=version, id=id, recorded_at=self.recorded_at, **fields
        )
        self.events.append(event)
        return event

    def _next_version(self, stream: str) -> int:
        version = self._versions.get(stream)
        if version is None:
            version = self.ledger.recorder.max_version_in(self.cursor, stream)
        self._versions[stream] = version + 1
        return version + 1

    # The store's SQL primitives on this transaction's cursor (`?` placeholders,
    # `{t}` before the store's own table names), for features' state tables.
    def rows(self, text: str, params: Sequence = ()) -> list[tuple]:
        return self.ledger.recorder.rows(self.cursor, text, params)

    def execute(self, text: str, params: Sequence = ()) -> None:
        self.ledger.recorder.execute(self.cursor, text, params)

    def executemany(self, text: str, rows: Sequence[Sequence]) -> None:
        self.ledger.recorder.executemany(self.cursor, text, rows)


class EngineProjection(Protocol):
    """A feature's inline projection: folds the engine events just stored (with their
    notification ids) into the feature's tables, in the same transaction."""

    def __call__(self, decision: Decision, stored: list[tuple[int, EngineEvent]]) -> None: ...


class BatchHook(Protocol):
    """Runs in an ingest batch's transaction after its events are stored: may append
    engine events that follow from them (e.g. a disassociation revoking authorizations)."""

    def __call__(self, decision: Decision, recorded: RecordedEvents) -> None: ...
