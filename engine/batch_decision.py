"""Deciding one batch of inbound lines from a snapshot of the store, without its write lock.

A `BatchDecision` reads what the batch's lines need (the log's head, the Kafka positions,
the taken `(source, id)` pairs, the corrections' targets, the customers' states) in a
read transaction, judges and decides every line in order, and encodes the rows to
write. It remembers what it read, so that the ledger, once it holds the write lock,
can tell whether another writer changed any of it since (`still_current_in`): if so
the batch is decided again from fresh state; if not, the decision stands as if it had
been made under the lock.

Why this is exact: every decision depends only on the states of the streams its lines
name, the taken pairs, the correction targets (recorded in the same customer's
stream) and the partitions' positions. Streams only change when events are appended,
which moves the log's head; positions are checked on their own (a batch of nothing but
rejections moves them without an event). An unchanged head and unchanged positions
mean nothing the batch read has changed; a moved head means the versions of every
stream read and the pairs of the rejected lines are read again and compared. A pair
accepted by another writer meanwhile fails the commit on `event_ids`' primary key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from engine.batch_types import BatchOutcome, InboundLine, KeptRejection
from engine.corrections import correction_targets, target_pair
from engine.customer import CustomerState, evolve
from engine.decide import check_currency, decide
from engine.difference import first_difference
from engine.errors import Reason, Rejected
from engine.judge import Candidate, Rejection
from engine.mapper import decode_event, stored_row
from engine.store.rows import PendingRejection, StoredRow
from schemas.inbound import CORRECTION_TYPES
from schemas.recorded import RecordedEvent

if TYPE_CHECKING:
    from engine.ledger import Ledger

_STATE_ENCODER = msgspec.msgpack.Encoder()


class BatchDecision:
    """One batch decided from what a read transaction saw, ready to be written."""

    def __init__(self, ledger: Ledger, outcome: BatchOutcome, recorded_at: str):
        self.ledger = ledger
        self.outcome = outcome
        self.recorded_at = recorded_at
        self.events: list[RecordedEvent] = []
        self.rows: list[StoredRow] = []
        self.pairs: list[tuple[str, str]] = []  # the events' (source, id), in order
        self.encoded: Any = None  # what the backend encoded of the rows ahead (engine.store.pg_copy)
        self.states: dict[str, CustomerState] = {}
        self.touched: list[str] = []
        self.new_rejections: list[PendingRejection] = []
        self.still_rejected: list[tuple[int, str, str]] = []
        self.now_accepted: list[tuple[int, str]] = []
        # What the decision was made from, compared again under the write lock.
        self.head = 0
        self.positions_read: dict[tuple[str, int], int] = {}
        self.next_positions: dict[tuple[str, int], int] = {}
        self.versions_read: dict[str, int] = {}
        self.rejected_pairs: set[tuple[str, str]] = set()
        # Set by `still_current_in` when others appended since the decision's head: the
        # states it read are then the only cached ones known to be current.
        self.head_moved = False
        # This batch's accepted events by (source, id): duplicates, and the targets of
        # corrections recorded by an earlier line of the batch.
        self._accepted: dict[tuple[str, str], RecordedEvent] = {}
        # Corrections' targets recorded before this batch, by (source, id).
        self._targets: dict[tuple[str, str], RecordedEvent] = {}
        self._taken: dict[tuple[str, str], int] = {}
        self.cursor: Any = None

    def decide_in(self, c: Any, lines: Sequence[InboundLine], verdicts: list[Candidate | Rejection]) -> None:
        """Reads what the lines need through the read transaction `c` (the head first:
        anything committed after it is caught under the lock) and decides them."""
        recorder = self.ledger.recorder
        self.cursor = c
        # States cached from this process's own commits are current as of its last
        # one, those read here as of this head: the older of the two is what counts.
        self.head = recorder.max_notification_id_in(c)
        if self.ledger.cached_states_head is not None:
            self.head = min(self.head, self.ledger.cached_states_head)
        lines, verdicts = self._skip_redelivered(c, lines, verdicts)
        candidates = [v for v in verdicts if isinstance(v, Candidate)]
        targets = correction_targets(candidates)
        self._taken = recorder.select_taken_ids(c, {v.pair for v in candidates} | targets)
        if targets:
            self._targets = self._stored_events({pair: self._taken[pair] for pair in targets if pair in self._taken})
        # Decision states by stream: a customer's, or a partner's roster (no customer).
        streams = {v.stream for v in candidates if v.problem is None and v.data is not None}
        self.states = self.ledger.load_states_in(c, streams)
        self.versions_read = {stream: state.version for stream, state in self.states.items()}
        self._decide_all(lines, verdicts)
        self.cursor = None
        self._encode()

    def _encode(self) -> None:
        """The rows to write, encoded as far as they can be before the write lock."""
        self.rows = [stored_row(event) for event in self.events]
        self.pairs = [(event.source, event.id) for event in self.events]
        self.encoded = self.ledger.recorder.encode_append(self.rows, self.pairs, self.events)

    def restamp(self, recorded_at: str) -> None:
        """Another writer committed a later recorded time meanwhile: this batch's times
        move up to `recorded_at` (no decision depends on the recorded time)."""
        self.recorded_at = recorded_at
        for event in self.events:
            event.recorded_at = recorded_at
        self._encode()
        for rejection in self.new_rejections:
            rejection.arrived = recorded_at
        self.now_accepted = [(seq, recorded_at) for seq, _ in self.now_accepted]

    def touched_streams_current_in(self, c: Any) -> bool:
        """Whether the streams this batch appends to are at the versions it read, their
        state rows locked from now on where the backend locks rows (so nobody can append
        to them before this transaction ends: every append writes its stream's row)."""
        stored = self.ledger.recorder.lock_stream_versions(c, self.touched)
        return all(stored.get(stream, 0) == self.versions_read[stream] for stream in self.touched)

    def still_current_in(self, c: Any, touched_checked: bool = False) -> bool:
        """Whether what the decision read is still what the store holds (`c` holds the
        write lock; `touched_checked`: the appended-to streams were checked already)."""
        recorder = self.ledger.recorder
        if self.positions_read and recorder.select_positions(c, self.positions_read.keys()) != self.positions_read:
            return False
        if recorder.max_notification_id_in(c) == self.head:
            return True
        self.head_moved = True
        touched = set(self.touched) if touched_checked else set()
        streams = [stream for stream in self.versions_read if stream not in touched]
        stored = recorder.select_stream_versions(c, streams)
        if any(stored.get(stream, 0) != self.versions_read[stream] for stream in streams):
            return False
        return not (self.rejected_pairs and recorder.select_taken_ids(c, self.rejected_pairs))

    def state_rows(self) -> list[tuple[str, int, bytes]]:
        return [(s, self.states[s].version, _STATE_ENCODER.encode(self.states[s])) for s in self.touched]

    def _skip_redelivered(self, c, lines, verdicts):
        """Drops lines at Kafka positions this store already recorded; keeps the rest
        and the next position of each partition, to be committed with the batch."""
        partitions = {line.position[:2] for line in lines if line.position is not None}
        if not partitions:
            return lines, verdicts
        self.positions_read = self.ledger.recorder.select_positions(c, partitions)
        in_flight = self.ledger.in_flight_positions
        if in_flight:
            self.positions_read.update({p: in_flight[p] for p in partitions if p in in_flight})
        next_offsets = dict(self.positions_read)
        kept_lines, kept_verdicts = [], []
        for line, verdict in zip(lines, verdicts, strict=True):
            if line.position is not None:
                topic, partition, offset = line.position
                if offset < next_offsets.get((topic, partition), 0):
                    self.outcome.redelivered += 1
                    continue
                next_offsets[(topic, partition)] = offset + 1
            kept_lines.append(line)
            kept_verdicts.append(verdict)
        self.next_positions = next_offsets
        return kept_lines, kept_verdicts

    def _decide_all(self, lines: Sequence[InboundLine], verdicts: list[Candidate | Rejection]) -> None:
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
                if verdict.pair not in self._taken:
                    self.rejected_pairs.add(verdict.pair)
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
        accepted = self._accepted.get(candidate.pair) or self.ledger.in_flight.get(candidate.pair)
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
            target = self._accepted.get(pair) or self.ledger.in_flight.get(pair) or self._targets.get(pair)
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
