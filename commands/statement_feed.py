"""The `billing.statements` topic (CONTRACT.md §7): the whole statement when issued and
at every change of its status, keyed by partner_id.

The publisher hands over the stored rows it walks (commands/publisher.py); each issue
or status-change event among them becomes one message: the statement as it was right
after that event (its history up to it), so a consumer sees every status in order and
a repeat after a crash sends the same record again.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from commands.bootstrap import Engine
from commands.statements import statement_at
from engine.mapper import TOPICS, decode_event
from engine.statements import tables
from schemas.statement_events import StatementIssued, StatementStatusChanged

STATEMENT_TOPICS = frozenset({TOPICS[StatementIssued], TOPICS[StatementStatusChanged]})
_ENCODER = msgspec.json.Encoder()


class StatementFeed:
    """Collects statement events from stored rows; turns them into (key, value) messages."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._steps: list[tuple[str, str, int]] = []  # partner, period, stream version

    def add_rows(self, rows: Iterable[tuple[int, str, bytes]]) -> None:
        for _id, topic, state in rows:
            if topic in STATEMENT_TOPICS:
                event = decode_event(topic, state)
                self._steps.append((event.partner_id, event.period, event.originator_version))

    def messages(self) -> list[tuple[bytes, bytes]]:
        """One message per collected event, in log order."""
        if not self._steps:
            return []
        out = []
        with tables.reading(self.engine.ledger.recorder) as db:
            for partner_id, period, version in self._steps:
                statement = statement_at(db, partner_id, period, version)
                if statement is not None:
                    out.append((partner_id.encode(), _ENCODER.encode(statement)))
        return out
