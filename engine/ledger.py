"""The ledger: an eventsourcing Application that records batches of inbound lines.

A batch is decided without the store's write lock and written in one write
transaction. Deciding (`engine.batch_decision`) reads the taken `(source, id)` pairs
and the states of the batch's customers in a read transaction, then judges and
decides every line in order and encodes the rows. The write transaction takes the
lock, checks that nothing the decision read has changed since (else the batch is
decided again from fresh state), appends the recorded events, remembers their pairs
and the new states, keeps the rejections, and (through the projector handed in by
the composition root) folds the views with their tracking position. Either all of
it is committed or none of it is. Holding the lock only to write is what lets
several workers on one store decide at once (README, "Scaling out").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from engine.batch_decision import BatchDecision
from engine.batch_timing import BatchTiming
from engine.batch_types import BatchOutcome, InboundLine, KeptRejection
from engine.customer import CustomerState
from engine.decide import Rules
from engine.events_in_flight import EventsInFlight
from engine.instants import instant_from_datetime, recorded_time, recorded_time_after
from engine.judge import judge_line
from engine.mapper import decode_event, stored_row
from engine.recorded_events import RecordedEvents
from engine.recording import BatchHook, Decision, EngineProjection
from engine.store.binding import Binding, bind_in
from schemas.engine_events import EngineEvent
from schemas.recorded import RecordedEvent

__all__ = ["BatchOutcome", "InboundLine", "KeptRejection", "Ledger", "Projector", "utc_now"]

_STATE_DECODER = msgspec.msgpack.Decoder(CustomerState)
_CONFLICT_RETRIES = 5
R = TypeVar("R")


class StaleDecision(Exception):
    """What a batch was decided from changed before it could be written."""


class Projector(Protocol):
    """Folds newly recorded events into views inside the ledger's write transaction."""

    def project_in(self, cursor: Any, ledger: Ledger, recorded: list[tuple[int, RecordedEvent]]) -> None: ...

    def rolled_back(self) -> None:
        """The transaction `project_in` ran in did not commit."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ledger(Application):
    """The append-only event store of the billing engine."""

    name = "BillingLedger"

    def __init__(self, env: dict[str, str], rules: Rules, clock: Callable[[], datetime] = utc_now):
        super().__init__(env)
        self.rules = rules
        self.clock = clock
        self._last_recorded_at = ""
        # Decision states by customer, as of the last commit; any doubt clears it.
        self._states: dict[str, CustomerState] = {}
        # The log's head as of which the cached states are current (None: none cached).
        self.cached_states_head: int | None = None
        # Events decided but not yet known to be committed, by (source, id): empty but
        # in a process deciding batches ahead of their writer (commands/ahead.py).
        self.in_flight = EventsInFlight()
        # Likewise the next Kafka offset of each partition as the batches in flight leave
        # it (read instead of the store's: those batches will have moved it when this one
        # commits).
        self.in_flight_positions: dict[tuple[str, int], int] = {}
        # Wired by the composition root: the features' inline projections of engine
        # events, and the hooks that follow an ingest batch in its transaction.
        self.engine_projections: list[EngineProjection] = []
        self.batch_hooks: list[BatchHook] = []
        # Recorded times the next stamp must come strictly after, read in the write
        # transaction (e.g. the last close: whatever is recorded after a close must be
        # recorded after its `issued_at`, even under a fixed clock, so that replay
        # `--as-of ISSUED_AT` sees exactly what the close saw).
        self.recorded_floors: list[Callable[[Any], str | None]] = []
        # Whether this process has checked (or recorded) the store's binding to its
        # currency and time zone in a write transaction (engine/store/binding.py).
        self._bound = False
        # Told when a store with records adopts this command's settings (said on stderr).
        self.on_notice: Callable[[str], None] = lambda message: None
        # Checks `billing verify` runs on the store once the chain holds (e.g. the
        # accounts' zero sum): each reads what it needs and returns a one-line problem
        # or None.
        self.store_checks: list[Callable[[Ledger], str | None]] = []
        self.batch_timing = BatchTiming()

    @property
    def binding(self) -> Binding:
        return Binding(self.rules.currency, self.rules.calendar.timezone_name)

    def bind_store(self) -> None:
        """Records the store's currency and time zone if it has none, else checks them
        (a write: called when a write command opens the store)."""
        try:
            with self.recorder.write_transaction() as c:
                self._bind_in(c)
        except BaseException:
            self._bound = False
            raise

    def _bind_in(self, c: Any) -> None:
        """Once a process, in its first write transaction: a store bound to other
        settings fails it (BindingMismatch) before anything is written."""
        if self._bound:
            return
        if bind_in(self.recorder, c, self.binding):
            self.on_notice(
                f"this store recorded no currency or time zone (it was made by an earlier version); "
                f"it is bound to {self.binding.currency} and {self.binding.timezone} from now on"
            )
        self._bound = True

    def now(self) -> str:
        """The clock's time as a recorded time (RFC 3339 UTC, fixed width)."""
        return recorded_time(instant_from_datetime(self.clock()))

    def next_recorded_at(self, c: Any = None, proposed: str | None = None) -> str:
        """The recorded time of the next batch: RFC 3339 UTC, fixed width, never earlier
        than the log's last event (read in the write transaction `c`, so it holds
        across processes whose clocks differ: a clock stepping back must not reorder
        history, and `recorded_at` never decreases along the log, CONTRACT.md §11).
        `proposed` stands for the clock: a time stamped earlier, kept if still late enough."""
        last_logged = (self.recorder.last_recorded_at_in(c) or "") if c is not None else ""
        self._last_recorded_at = max(proposed or self.now(), self._last_recorded_at, last_logged)
        return self._last_recorded_at

    def stamp_in(self, c: Any, proposed: str | None = None) -> str:
        """The recorded time of a transaction holding the write lock: the clock's (or
        `proposed`), never earlier than the previous one nor the log's last, and
        strictly after every floor."""
        at = self.next_recorded_at(c, proposed)
        for floor in self.recorded_floors:
            bound = floor(c)
            if bound is not None and at <= bound:
                at = self._last_recorded_at = recorded_time_after(bound)
        return at

    def record_batch(self, lines: Sequence[InboundLine], projector: Projector | None = None) -> BatchOutcome:
        """Judges and decides one batch without the write lock, and records it in one
        write transaction; decides it again if another writer changed what it read."""
        started = time.perf_counter()
        timing = self.batch_timing
        try:
            verdicts = [judge_line(line.raw) for line in lines]
            for _attempt in range(_CONFLICT_RETRIES):
                batch = self._decide_batch(lines, verdicts)
                try:
                    return self._commit(batch, projector)
                except (IntegrityError, StaleDecision):
                    # Another writer appended to one of these customers' streams, took a
                    # pair or moved a partition since the batch was decided: decide it
                    # again from fresh state (the cached states are dropped).
                    timing.conflicts += 1
            raise RuntimeError(f"batch kept conflicting with other writers after {_CONFLICT_RETRIES} tries")
        finally:
            timing.batches += 1
            timing.lines += len(lines)
            timing.batch_seconds += time.perf_counter() - started

    def _decide_batch(self, lines: Sequence[InboundLine], verdicts: list) -> BatchDecision:
        """The batch decided from a read transaction (no write lock)."""
        try:
            with self.recorder.read_transaction() as c:
                batch = BatchDecision(self, BatchOutcome(), self.stamp_in(c))
                batch.decide_in(c, lines, verdicts)
        except BaseException:
            self._forget_states()  # deciding evolves the cached states in place
            raise
        return batch

    def _commit(self, batch: BatchDecision, projector: Projector | None) -> BatchOutcome:
        recorder = self.recorder
        # A backend whose write transactions may take the lock later (PostgreSQL) writes
        # the customers' states (under row locks) and the pairs first, so the lock covers
        # only the events and what must follow their ids.
        early = not recorder.LOCKS_AT_BEGIN
        locked_at = None
        asked_at = time.perf_counter()
        try:
            with recorder.write_transaction(lock=not early) as c:
                if early:
                    if not batch.touched_streams_current_in(c):
                        raise StaleDecision
                    recorder.upsert_customer_states(c, batch.state_rows())
                    if recorder.WRITES_PAIRS_EARLY:
                        recorder.insert_taken_pairs_early(c, batch.encoded)
                    asked_at = time.perf_counter()
                    recorder.lock_appends_in(c)
                locked_at = time.perf_counter()
                self.batch_timing.lock_wait_seconds += locked_at - asked_at
                self._bind_in(c)
                if not batch.still_current_in(c, touched_checked=early):
                    raise StaleDecision
                # Recorded times follow the order in which batches commit, across
                # processes too: a later time committed meanwhile moves this batch's up.
                recorded_at = self.stamp_in(c, proposed=batch.recorded_at)
                if recorded_at != batch.recorded_at:
                    batch.restamp(recorded_at)
                notification_ids = recorder.insert_events_in(c, batch.rows, batch.events, batch.encoded)
                if not (early and recorder.WRITES_PAIRS_EARLY):
                    recorder.insert_taken_ids(c, batch.pairs, notification_ids, batch.encoded)
                if not early:
                    recorder.upsert_customer_states(c, batch.state_rows())
                recorder.insert_rejections(c, batch.new_rejections)
                recorder.update_rejections(c, batch.still_rejected)
                recorder.mark_rejections_accepted(c, batch.now_accepted)
                recorder.upsert_positions(c, batch.next_positions)
                batch.outcome.recorded = RecordedEvents(notification_ids, batch.events)
                if self.batch_hooks and batch.outcome.recorded:
                    decision = Decision(self, c, batch.recorded_at)
                    for hook in self.batch_hooks:
                        hook(decision, batch.outcome.recorded)
                    self._store_engine_events(decision)
                if projector is not None:
                    projector.project_in(c, self, batch.outcome.recorded)
                committed_head = recorder.max_notification_id_in(c)
        except BaseException:
            self._held_since(locked_at)
            self._forget_states()
            self._bound = False  # the binding, if this transaction wrote it, rolled back
            if projector is not None:
                projector.rolled_back()
            raise
        self._held_since(locked_at)
        if batch.head_moved:
            # Others appended meanwhile: of the cached states, only those this batch read
            # (and checked against the store's versions) are known to be current.
            self._states = dict(batch.states)
        else:
            self._states.update(batch.states)
        self.cached_states_head = committed_head
        return batch.outcome

    def commit_decided(self, batch: BatchDecision, projector: Projector | None = None) -> BatchOutcome:
        """Records a batch decided elsewhere (`commands.ahead`: in another process) in one
        write transaction; `StaleDecision` (or IntegrityError) if what it was decided
        from has changed."""
        return self._commit(batch, projector)

    def _forget_states(self) -> None:
        self._states.clear()
        self.cached_states_head = None

    def forget_cached_states(self) -> None:
        """Drops every cached decision state (the next batch reads them from the store)."""
        self._forget_states()

    def _held_since(self, locked_at: float | None) -> None:
        """Counts the write lock as held from `locked_at` (None: never granted) to now."""
        if locked_at is not None:
            self.batch_timing.lock_held_seconds += time.perf_counter() - locked_at

    def record_decision(self, decide: Callable[[Decision], R]) -> R:
        """Runs `decide` in one write transaction and stores the events it appends
        (see `engine.recording`); an exception from it records nothing."""
        try:
            with self.recorder.write_transaction() as c:
                self._bind_in(c)
                decision = Decision(self, c, self.stamp_in(c))
                result = decide(decision)
                self._store_engine_events(decision)
        except BaseException:
            self._bound = False  # the binding, if this transaction wrote it, rolled back
            raise
        return result

    def _store_engine_events(self, decision: Decision) -> list[tuple[int, EngineEvent]]:
        """Stores the decision's events and folds them into the features' tables; an
        inline projection may append events that follow from them (a confirmed
        statement's transfer), stored the same way until none are left."""
        stored_all: list[tuple[int, EngineEvent]] = []
        while decision.events:
            events, decision.events = decision.events, []
            ids = self.recorder.insert_events_in(decision.cursor, [stored_row(event) for event in events], events)
            stored = list(zip(ids, events, strict=True))
            for project in self.engine_projections:
                project(decision, stored)
            stored_all += stored
        return stored_all

    def stored_positions(self, partitions: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The next Kafka offset to read of each partition, as committed with the events."""
        with self.recorder.read_transaction() as c:
            return self.recorder.select_positions(c, partitions)

    def load_states_in(self, c: Any, customer_ids: set[str]) -> dict[str, CustomerState]:
        """States of these customers: from memory where known, else from the store."""
        states = {cid: self._states[cid] for cid in customer_ids if cid in self._states}
        missing = customer_ids - states.keys()
        if missing:
            stored = self.recorder.select_customer_states(c, missing)
            for cid in missing:
                row = stored.get(cid)
                states[cid] = _STATE_DECODER.decode(row[1]) if row else CustomerState(customer_id=cid)
        return states

    def fact_of(self, c: Any, notification_id: int) -> bytes:
        topic, state = self.recorder.select_state_of_notification(c, notification_id)
        return bytes(decode_event(topic, state).fact)

    def close(self) -> None:
        self._forget_states()
        super().close()
