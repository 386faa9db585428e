"""The ledger: an eventsourcing Application that records batches of inbound lines.

One batch is one write transaction: look up taken `(source, id)` pairs, load the
states of the batch's customers, judge and decide every line in order, append the
recorded events, remember their pairs and the new states, keep the rejections, and
(through the projector handed in by the composition root) fold the views with their
tracking position. Either all of it is committed or none of it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from engine.batch_timing import BatchTiming
from engine.corrections import correction_targets, target_pair
from engine.customer import CustomerState, evolve
from engine.decide import Rules, check_currency, decide
from engine.difference import first_difference
from engine.errors import Reason, Rejected
from engine.instants import instant_from_datetime, recorded_time, recorded_time_after
from engine.judge import Candidate, Rejection, judge_line
from engine.mapper import decode_event, stored_row
from engine.recording import BatchHook, Decision, EngineProjection
from engine.store.binding import Binding, bind_in
from engine.store.rows import PendingRejection
from schemas.engine_events import EngineEvent
from schemas.inbound import CORRECTION_TYPES
from schemas.recorded import RecordedEvent
from schemas.views import IngestCounts

_STATE_ENCODER = msgspec.msgpack.Encoder()
_STATE_DECODER = msgspec.msgpack.Decoder(CustomerState)
_CONFLICT_RETRIES = 5
R = TypeVar("R")


@dataclass(slots=True)
class InboundLine:
    """One input as received: its bytes, where it came from (a Kafka topic,
    partition and offset), and which kept rejection it re-judges (`rejected --retry`)."""

    raw: bytes
    position: tuple[str, int, int] | None = None
    retry_of: int | None = None

    @property
    def origin(self) -> str | None:
        """A stable name of where the line came from, so a redelivery is kept once."""
        return None if self.position is None else "kafka:{}:{}:{}".format(*self.position)


@dataclass(slots=True)
class KeptRejection:
    """A rejection decided in a batch, for callers that pass it on (the Kafka topic)."""

    line: InboundLine
    reason: str
    message: str


@dataclass(slots=True)
class BatchOutcome:
    """What a recorded batch did."""

    counts: IngestCounts = field(default_factory=IngestCounts)
    # Lines whose Kafka position the store had already recorded: skipped, not counted.
    redelivered: int = 0
    recorded: list[tuple[int, RecordedEvent]] = field(default_factory=list)
    rejections: list[KeptRejection] = field(default_factory=list)


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

    def next_recorded_at(self, c: Any = None) -> str:
        """The recorded time of the next batch: RFC 3339 UTC, fixed width, never earlier
        than the log's last event (read in the write transaction `c`, so it holds
        across processes whose clocks differ: a clock stepping back must not reorder
        history, and `recorded_at` never decreases along the log, CONTRACT.md §11)."""
        last_logged = (self.recorder.last_recorded_at_in(c) or "") if c is not None else ""
        self._last_recorded_at = max(self.now(), self._last_recorded_at, last_logged)
        return self._last_recorded_at

    def stamp_in(self, c: Any) -> str:
        """The recorded time of a transaction holding the write lock: the clock's, never
        earlier than the previous one nor the log's last, and strictly after every floor."""
        at = self.next_recorded_at(c)
        for floor in self.recorded_floors:
            bound = floor(c)
            if bound is not None and at <= bound:
                at = self._last_recorded_at = recorded_time_after(bound)
        return at

    def record_batch(self, lines: Sequence[InboundLine], projector: Projector | None = None) -> BatchOutcome:
        """Judges, decides and records one batch in one transaction."""
        started = time.perf_counter()
        timing = self.batch_timing
        try:
            verdicts = [judge_line(line.raw) for line in lines]
            for _attempt in range(_CONFLICT_RETRIES):
                try:
                    return self._record(lines, verdicts, projector)
                except IntegrityError:
                    # Another writer appended to one of these customers' streams (or took a
                    # pair) since the states were read: read them again and re-decide.
                    self._states.clear()
                    timing.conflicts += 1
            raise RuntimeError(f"batch kept conflicting with other writers after {_CONFLICT_RETRIES} tries")
        finally:
            timing.batches += 1
            timing.lines += len(lines)
            timing.batch_seconds += time.perf_counter() - started

    def _record(self, lines, verdicts, projector) -> BatchOutcome:
        recorder = self.recorder
        locked_at = None
        try:
            with recorder.write_transaction() as c:
                locked_at = time.perf_counter()
                self._bind_in(c)
                # Stamped once the write lock is held, so recorded times follow the
                # order in which batches commit, across processes too.
                batch = _Batch(self, c, self.stamp_in(c))
                lines, verdicts, positions = self._skip_redelivered(c, lines, verdicts, batch.outcome)
                batch.decide_all(lines, verdicts)
                notification_ids = recorder.insert_events_in(
                    c, [stored_row(event) for event in batch.events], batch.events
                )
                recorder.insert_taken_ids(
                    c, [(e.source, e.id, n) for e, n in zip(batch.events, notification_ids, strict=True)]
                )
                recorder.upsert_customer_states(
                    c,
                    [
                        (cid, batch.states[cid].version, _STATE_ENCODER.encode(batch.states[cid]))
                        for cid in batch.touched
                    ],
                )
                recorder.insert_rejections(c, batch.new_rejections)
                recorder.update_rejections(c, batch.still_rejected)
                recorder.mark_rejections_accepted(c, batch.now_accepted)
                recorder.upsert_positions(c, positions)
                batch.outcome.recorded = list(zip(notification_ids, batch.events, strict=True))
                if self.batch_hooks and batch.outcome.recorded:
                    decision = Decision(self, c, batch.recorded_at)
                    for hook in self.batch_hooks:
                        hook(decision, batch.outcome.recorded)
                    self._store_engine_events(decision)
                if projector is not None:
                    projector.project_in(c, self, batch.outcome.recorded)
        except BaseException:
            self._held_since(locked_at)
            self._states.clear()
            self._bound = False  # the binding, if this transaction wrote it, rolled back
            if projector is not None:
                projector.rolled_back()
            raise
        self._held_since(locked_at)
        self._states.update(batch.states)
        return batch.outcome

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

    def _skip_redelivered(self, c, lines, verdicts, outcome: BatchOutcome):
        """Drops lines at Kafka positions this store already recorded; returns the rest
        and the next position of each partition, to be committed with the batch."""
        partitions = {line.position[:2] for line in lines if line.position is not None}
        if not partitions:
            return lines, verdicts, {}
        next_offsets = self.recorder.select_positions(c, partitions)
        kept_lines, kept_verdicts = [], []
        for line, verdict in zip(lines, verdicts, strict=True):
            if line.position is not None:
                topic, partition, offset = line.position
                if offset < next_offsets.get((topic, partition), 0):
                    outcome.redelivered += 1
                    continue
                next_offsets[(topic, partition)] = offset + 1
            kept_lines.append(line)
            kept_verdicts.append(verdict)
        return kept_lines, kept_verdicts, next_offsets

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
        self._states.clear()
        super().close()


class _Batch:
    """The working state of one batch inside its transaction."""

    def __init__(self, ledger: Ledger, cursor: Any, recorded_at: str):
        self.ledger = ledger
        self.cursor = cursor
        self.recorded_at = recorded_at
        self.outcome = BatchOutcome()
        self.events: list[RecordedEvent] = []
        self.states: dict[str, CustomerState] = {}
        self.touched: list[str] = []
        self.new_rejections: list[PendingRejection] = []
        self.still_rejected: list[tuple[int, str, str]] = []
        self.now_accepted: list[tuple[int, str]] = []
        # This batch's accepted events by (source, id): duplicates, and the targets of
        # corrections recorded by an earlier line of the batch.
        self._accepted: dict[tuple[str, str], RecordedEvent] = {}
        # Corrections' targets recorded before this batch, by (source, id).
        self._targets: dict[tuple[str, str], RecordedEvent] = {}

    def decide_all(self, lines: Sequence[InboundLine], verdicts: list[Candidate | Rejection]) -> None:
        candidates = [v for v in verdicts if isinstance(v, Candidate)]
        targets = correction_targets(candidates)
        self._taken = self.ledger.recorder.select_taken_ids(self.cursor, {c.pair for c in candidates} | targets)
        if targets:
            self._targets = self._stored_events({pair: self._taken[pair] for pair in targets if pair in self._taken})
        # Decision states by stream: a customer's, or a partner's roster (no customer).
        streams = {c.stream for c in candidates if c.problem is None and c.data is not None}
        self.states = self.ledger.load_states_in(self.cursor, streams)
        touched: dict[str, None] = {}
        states, events, accepted_events = self.states, self.events, self._accepted
        accepted = duplicates = 0
        for line, verdict in zip(lines, verdicts, strict=True):
            if type(verdict) is Rejection:
                self._reject(line, verdict.reason, verdict.message, verdict)
                continue
            try:
                event = self._decide(verdict)
            except Rejected as rejected:
                self._reject(line, rejected.reason, rejected.message, verdict)
                continue
            if event is None:
                duplicates += 1
            else:
                stream = event.originator_id  # the customer's id, but for a roster
                evolve(states[stream], event)
                events.append(event)
                touched[stream] = None
                accepted_events[verdict.pair] = event
                accepted += 1
            if line.retry_of is not None:
                self.now_accepted.append((line.retry_of, self.recorded_at))
        self.outcome.counts.accepted += accepted
        self.outcome.counts.duplicates += duplicates
        self.touched = list(touched)

    def _decide(self, candidate: Candidate) -> RecordedEvent | None:
        """The event to record, None for an exact duplicate, or `Rejected`."""
        accepted = self._accepted.get(candidate.pair)
        if accepted is not None:
            _check_same_event(candidate, bytes(accepted.fact))
            return None
        if candidate.pair in self._taken:
            _check_same_event(candidate, self.ledger.fact_of(self.cursor, self._taken[candidate.pair]))
            return None
        if candidate.problem is not None:
            raise Rejected(Reason.INVALID_DATA, str(candidate.problem))
        check_currency(candidate, self.ledger.rules)
        state = self.states[candidate.stream]
        if candidate.type in CORRECTION_TYPES:
            pair = target_pair(candidate)
            target = self._accepted.get(pair) or self._targets.get(pair)
            return decide(state, candidate, self.ledger.rules, self.recorded_at, target)
        return decide(state, candidate, self.ledger.rules, self.recorded_at)

    def _stored_events(self, notification_ids: dict[tuple[str, str], int]) -> dict[tuple[str, str], RecordedEvent]:
        """The recorded events at these notification ids, by their (source, id)."""
        stored = self.ledger.recorder.select_states_of_notifications(self.cursor, list(notification_ids.values()))
        return {pair: decode_event(*stored[nid]) for pair, nid in notification_ids.items()}

    def _reject(self, line: InboundLine, reason: Reason, message: str, verdict) -> None:
        self.outcome.counts.rejected += 1
        self.outcome.rejections.append(KeptRejection(line, reason.value, message))
        if line.retry_of is not None:
            self.still_rejected.append((line.retry_of, reason.value, message))
            return
        self.new_rejections.append(
            PendingRejection(
                arrived=self.recorded_at,
                source=verdict.source,
                id=verdict.id,
                type=verdict.type,
                reason=reason.value,
                message=message,
                raw=line.raw,
                origin=line.origin,
            )
        )


def _check_same_event(candidate: Candidate, earlier_fact: bytes) -> None:
    """An exact duplicate passes; the same pair with other content is rejected, naming
    the first field that differs."""
    difference = first_difference(earlier_fact, candidate.fact)
    if difference is None:
        return
    path, was, is_ = difference
    raise Rejected(
        Reason.CONFLICTING_DUPLICATE,
        f"{path}: event {candidate.id} from {candidate.source} was already recorded with {was}, this one has {is_}",
    )
