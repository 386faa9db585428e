"""The billing projection: folds the ledger's log into the live views.

It follows eventsourcing's projection contract (`process_event` with a tracking
object, view rows and tracking committed together) and adds the batch form the hot
path uses: `project_in` folds a whole batch inside the ledger's own write transaction,
first catching up on anything the views have not seen, so the views are never behind
the log they were committed with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from engine.ledger import Ledger
from engine.mapper import decode_event
from projections.fold import fold
from projections.view_tables import BillingViewTables
from schemas.recorded import RecordedEvent

CATCH_UP_CHUNK = 20_000


class BillingProjection(Projection[BillingViewTables]):
    """Bills, partner tallies and association intervals, tracked by notification id."""

    name = "billing_views"

    def process_event(self, domain_event: RecordedEvent, tracking: Tracking) -> None:
        """eventsourcing's per-event contract: rows and position in one transaction."""
        with self.view.datastore.transaction(commit=True) as cursor:
            self.view.apply_in(cursor, fold([domain_event]), tracking)

    def project_in(self, cursor: Any, ledger: Ledger, recorded: list[tuple[int, RecordedEvent]]) -> None:
        """Folds a freshly recorded batch (and any gap before it) in the caller's transaction."""
        if not recorded:
            return
        first_id = recorded[0][0]
        position = self.view.position_in(cursor, ledger.name)
        events: list[RecordedEvent] = []
        # Notification ids increase in commit order but may have gaps (PostgreSQL burns
        # the ids of a failed insert): read what lies between, until nothing is left.
        while position < first_id - 1:
            rows = ledger.recorder.select_notifications_in(cursor, position, CATCH_UP_CHUNK, before=first_id)
            events.extend(decode_event(topic, state) for _, topic, state in rows)
            if len(rows) < CATCH_UP_CHUNK:
                break
            position = rows[-1][0]
        events.extend(event for _, event in recorded)
        self.view.apply_in(cursor, fold(events), Tracking(ledger.name, recorded[-1][0]))

    def catch_up(self, ledger: Ledger, progress: Callable[[int], None] | None = None) -> int:
        """Folds whatever the log holds beyond the views' position; returns how many."""
        folded = 0
        while True:
            with ledger.recorder.write_transaction() as cursor:
                position = self.view.position_in(cursor, ledger.name)
                rows = ledger.recorder.select_notifications_in(cursor, position, CATCH_UP_CHUNK)
                if not rows:
                    return folded
                events = [decode_event(topic, state) for _, topic, state in rows]
                self.view.apply_in(cursor, fold(events), Tracking(ledger.name, rows[-1][0]))
            folded += len(rows)
            if progress is not None:
                progress(len(rows))

    def is_behind(self, ledger: Ledger) -> bool:
        with ledger.recorder.read_transaction() as cursor:
            return self.view.position_in(cursor, ledger.name) < ledger.recorder.max_notification_id_in(cursor)
