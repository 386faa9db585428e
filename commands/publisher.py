"""Publishes changed views and Kafka-borne rejections downstream, from the log.

The publisher keeps its own positions in eventsourcing's tracking table
(`published:views`, a notification id; `published:rejections`, a rejection number)
and moves them only after the broker acknowledged every message up to them. After a
crash it publishes again from the last position: each message is the whole current
record (a bill, a partner's counts or performance, a statement), so a repeat is
harmless and a consumer reading a topic from the beginning ends with the live views.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import msgspec
from eventsourcing.persistence import IntegrityError, Tracking

from commands import accounts, queries
from commands.bootstrap import Engine
from commands.changed_ranges import ChangedRanges
from commands.statement_feed import StatementFeed
from projections.changes import (
    BILL,
    CUSTOMER_COUNTS,
    PERFORMANCE,
    ChangedViews,
    ViewKey,
    add_changed_views,
    merge_changed,
)
from schemas import topics

VIEWS_POSITION = "published:views"
REJECTIONS_POSITION = "published:rejections"
NOTIFICATIONS_POSITION = "published:notifications"  # a notification's number (§8)
READ_CHUNK = 5_000
MAX_KEYS = 100_000  # view records a round at most (bounds a round's memory)
_ENCODER = msgspec.json.Encoder()


@dataclass(slots=True)
class Outgoing:
    """One message to publish."""

    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str] | None = None


@dataclass(slots=True)
class PendingWork:
    """Messages to publish, and the positions to record once they are acknowledged."""

    messages: list[Outgoing]
    positions: list[Tracking]


Send = Callable[[list[Outgoing]], Awaitable[None]]


class ViewPublisher:
    """Turns what the log gained since the last publication into messages."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.tracking = engine.projection.view
        # Told by serve's committing thread when it decides ahead; empty otherwise.
        self.changed_ranges = ChangedRanges()

    def pending(self, fold_views: bool = True) -> PendingWork:
        """What to publish: every view changed after the published position (a chunk
        of the log at most), and Kafka-borne rejections not yet published. With
        `fold_views` False, only as far as the views are folded already (serve deciding
        ahead while catching up: its decider hands the folded views over every
        100,000 events; folding them here too would be done twice)."""
        messages: list[Outgoing] = []
        positions: list[Tracking] = []
        ledger = self.engine.ledger
        if self.engine.settings.projections == "inline" and fold_views:
            self.engine.projection.bring_up_to_date(ledger)
        # Publish only what the views have folded (with BILLING_PROJECTIONS=separate the
        # projection process may still be behind the log).
        folded = self.tracking.max_tracking_id(ledger.name) or 0
        published = after = self.tracking.max_tracking_id(VIEWS_POSITION) or 0
        # Every record changed since the last round is sent once, however many events
        # changed it: the keys of the whole backlog first (in chunks of the log, or as
        # the batches' committer told them: commands/changed_ranges.py), then one
        # message per key (up to MAX_KEYS a round).
        changed = ChangedViews(set(), {})
        statements = StatementFeed(self.engine)
        recorder, period_of = ledger.recorder, self.engine.rules.calendar.period_of
        ranges = self.changed_ranges
        ranges.forget_through(published)
        while after < folded and len(changed.keys) < MAX_KEYS:
            told = ranges.starting_at(after)
            if told is not None and told.last <= folded:  # its keys are known: not read back
                merge_changed(changed, told.changed)
                after = told.last
                continue
            # Read up to the next range told, if any (and no further than the views).
            next_start = ranges.next_start_after(after)
            end = folded if next_start is None else min(folded, next_start)
            with recorder.read_transaction() as cursor:
                rows = recorder.select_notifications_in(cursor, after, READ_CHUNK, before=end + 1)
            if not rows:
                if end == folded:
                    break
                after = end  # nothing before the next range
                continue
            add_changed_views(changed, rows, period_of)
            statements.add_rows(rows)
            after = rows[-1][0]
        keys = changed.keys | self._later_counts(changed.counts_from)
        messages.extend(self._bill_messages([key for key in keys if key.kind == BILL]))
        for key in sorted(key for key in keys if key.kind != BILL):
            messages.extend(self._view_messages(key))
        messages.extend(Outgoing(topics.STATEMENTS, key, value) for key, value in statements.messages())
        if after > published:
            positions.append(Tracking(VIEWS_POSITION, after))
        seq = self.tracking.max_tracking_id(REJECTIONS_POSITION) or 0
        rejections = self.engine.ledger.recorder.select_kafka_rejections_after(seq, READ_CHUNK)
        for row in rejections:
            headers = {"reason": row.reason, "message": row.message}
            messages.append(Outgoing(topics.EVENTS_REJECTED, None, bytes(row.raw), headers))
        if rejections:
            positions.append(Tracking(REJECTIONS_POSITION, rejections[-1].seq))
        self._add_notifications(messages, positions)
        return PendingWork(messages, positions)

    def _add_notifications(self, messages: list[Outgoing], positions: list[Tracking]) -> None:
        """Partner notifications not yet published (key partner_id), each once; the
        `notification` header carries its number, so a consumer can drop a message
        sent again after a crash between the broker's ack and the position's commit."""
        seq = self.tracking.max_tracking_id(NOTIFICATIONS_POSITION) or 0
        notifications = accounts.notifications_after(self.engine, seq, READ_CHUNK)
        for number, notification in notifications:
            messages.append(
                Outgoing(
                    topics.NOTIFICATIONS,
                    notification.partner_id.encode(),
                    _ENCODER.encode(notification),
                    {"notification": str(number)},
                )
            )
        if notifications:
            positions.append(Tracking(NOTIFICATIONS_POSITION, notifications[-1][0]))

    def _pending_holding(self, reading: Callable[[], AbstractContextManager], fold_views: bool) -> PendingWork:
        with reading():
            return self.pending(fold_views)

    def outside_work_waiting(self) -> bool:
        """Whether another process recorded something to publish that no consumed batch
        announces: a notification (`billing transfer`, `payment`, `warn`, …) or events
        in the log (a statement confirmed with `billing confirm`)."""
        published = self.tracking.max_tracking_id(NOTIFICATIONS_POSITION) or 0
        return accounts.last_notification(self.engine) > published or self.log_moved()

    def log_moved(self) -> bool:
        """Whether the log holds events after the published position (recorded by
        another process, say: a statement confirmed with `billing confirm`)."""
        ledger = self.engine.ledger
        with ledger.recorder.read_transaction() as cursor:
            head = ledger.recorder.max_notification_id_in(cursor)
        return head > (self.tracking.max_tracking_id(VIEWS_POSITION) or 0)

    def _later_counts(self, counts_from: dict[str, str]) -> set[ViewKey]:
        """The customer counts an association history changed: each period of the
        partner's records from the earliest changed one on."""
        period_of = self.engine.rules.calendar.period_of
        return {
            ViewKey(CUSTOMER_COUNTS, partner_id, period)
            for partner_id, earliest in counts_from.items()
            for period in self.tracking.partner_periods(partner_id, period_of)
            if period >= earliest
        }

    def _bill_messages(self, keys: list[ViewKey]) -> list[Outgoing]:
        """The changed bills, read a period at a time (a busy round changes thousands)."""
        customers_by_period: dict[str, list[str]] = {}
        for key in keys:
            customers_by_period.setdefault(key.period, []).append(key.key)
        bills = [
            bill
            for period, customer_ids in customers_by_period.items()
            for bill in queries.bills_of(self.engine, period, customer_ids, fresh=False)
        ]
        bills.sort(key=lambda bill: (bill.customer_id, bill.period))
        return [Outgoing(topics.BILLS, bill.customer_id.encode(), _ENCODER.encode(bill)) for bill in bills]

    def _view_messages(self, key: ViewKey) -> list[Outgoing]:
        """The message of one partner's customer counts or performance."""
        engine = self.engine
        if key.kind == CUSTOMER_COUNTS:
            counts = queries.customer_counts(engine, key.key, key.period, fresh=False)
            return [Outgoing(topics.CUSTOMER_COUNTS, key.key.encode(), _ENCODER.encode(counts))]
        if key.kind == PERFORMANCE:
            performance = queries.performance(engine, key.key, key.period, fresh=False)
            return [Outgoing(topics.PERFORMANCE, key.key.encode(), _ENCODER.encode(performance))]
        raise ValueError(f"unknown view kind {key.kind!r}")

    def mark_published(self, positions: list[Tracking]) -> None:
        for position in positions:
            try:
                self.tracking.insert_tracking(position)
            except IntegrityError:
                # Another worker's publisher (same store) recorded this position or a later
                # one first; messages are whole records, so having sent them too is harmless.
                if (self.tracking.max_tracking_id(position.application_name) or 0) < position.notification_id:
                    raise

    async def publish_pending(
        self, send: Send, fold_views: bool = True, reading: Callable[[], AbstractContextManager] = nullcontext
    ) -> int:
        """Publishes until nothing is pending; returns how many messages were sent
        (`fold_views`: as `pending`'s; `reading`: held while the store is read).

        Each round (collect, send, record the positions) holds the store's publisher
        lock, so several workers publish one at a time and every round sends records
        at least as new as the previous round's, whichever worker sent that."""
        sent = 0
        while True:
            lock = self.engine.ledger.recorder.publisher_lock()
            await asyncio.to_thread(lock.__enter__)
            try:
                work = await asyncio.to_thread(self._pending_holding, reading, fold_views)
                if work.positions:
                    await send(work.messages)
                    await asyncio.to_thread(self.mark_published, work.positions)
            finally:
                await asyncio.to_thread(lock.__exit__, None, None, None)
            if not work.positions:
                return sent
            sent += len(work.messages)
