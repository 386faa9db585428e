"""Deciding batches ahead of the process that writes them (CONTRACT.md's one store
transaction per batch is kept: only *where* a batch is decided moves).

A decider (`AheadDecider`, in a child process: `commands.decider_process`) judges,
decides and encodes batch k+1 while its writer commits batch k. It reads the store
through its own read transactions and owns the decision state: the customers' states
it has decided so far, and the events of batches its writer has not yet said are
committed (`Ledger.in_flight`: a line repeating one of them is a duplicate, a
correction may target one). It hands each batch over as one msgpack frame
(`DecidedBatch`): the stored rows, a share of their log entries rendered but for their
place in the chain (`RenderShare`), the new states, the rejections to keep, and every
100,000 events the views it folded (`FoldedViews`).

The writer (`ReadyBatch`) commits a frame through `Ledger.commit_decided` with the
ledger's own checks: if nobody else appended since its previous commit (the log's head
is where it left it) the decision stands as if made under the lock; if someone did,
the streams and pairs the batch read are compared with the store; a difference rolls
the batch back. Either way the decider's cache can no longer be trusted beyond what
was checked, so the writer tells it to decide again from a given batch with fresh
state (a new *epoch*; frames of the old one are dropped).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import msgspec

from engine.batch_decision import BatchDecision
from engine.batch_types import BatchOutcome, InboundLine
from engine.judge import judge_line
from engine.log_entries import entry_parts, entry_split, parts_from_split
from engine.recorded_events import EventsOfRows
from engine.store.rows import PendingRejection, StoredRow
from projections.changes import ChangedViews, ViewKey, add_changed_by_events
from projections.fold import AssociationRow, BillLineKey, PartnerChargeKey, PartnerLineKey, ViewDelta
from projections.projector import WRITE_EVERY_EVENTS
from schemas.views import IngestCounts

if TYPE_CHECKING:
    from engine.ledger import Ledger


class DecidedBatch(msgspec.Struct, array_like=True, tag="batch"):
    """One batch decided by the decider, as handed to the writer."""

    epoch: int
    seq: int  # the batch's place in the input, from 0
    bytes_read: int  # input bytes read for it (the writer's progress)
    head: int  # the log's head in the snapshot it was decided from
    recorded_at: str
    accepted: int
    duplicates: int
    rejected: int
    rows: list[StoredRow]
    pairs: list[tuple[str, str]]  # each row's event's (source, id)
    entries: list[tuple[bytes, bytes]]  # log_entries.entry_split of the first rows' events
    states: list[tuple[str, int, bytes]]  # the new decision states: stream, version, msgpack
    versions_read: dict[str, int]
    rejected_pairs: list[tuple[str, str]]
    rejections: list[PendingRejection]
    # Kafka lines only (`billing serve`): what was skipped as already recorded, and the
    # partitions' positions read (the store's, or as the batches in flight leave them)
    # and left, as (topic, partition, next offset).
    redelivered: int = 0
    positions_read: list[tuple[str, int, int]] = []
    next_positions: list[tuple[str, int, int]] = []
    # The views folded from this epoch's batches up to this one (since the last that
    # carried them), handed over every `WRITE_EVERY_EVENTS` events.
    views: FoldedViews | None = None
    # `billing serve`: the published records this batch's events change, for the
    # publisher (commands/changed_ranges.py).
    changes: ViewChanges | None = None


class ViewChanges(msgspec.Struct, array_like=True):
    """A batch's `ChangedViews` as handed over."""

    keys: set[ViewKey]
    counts_from: dict[str, str]

    def changed(self) -> ChangedViews:
        return ChangedViews(self.keys, self.counts_from)


class FoldedViews(msgspec.Struct, array_like=True):
    """A `ViewDelta` the decider folded from consecutive batches of one epoch, as handed
    over (the writer applies it when the views are where its first batch began)."""

    bill_lines: dict[BillLineKey, list[int]]
    bill_currencies: dict[tuple[str, str], str]
    partner_charges: dict[PartnerChargeKey, list[int]]
    partner_bill_lines: dict[PartnerLineKey, list[int]]
    new_associations: list[AssociationRow]
    ended_associations: dict[str, str]

    @classmethod
    def of(cls, delta: ViewDelta) -> FoldedViews:
        return cls(
            delta.bill_lines,
            delta.bill_currencies,
            delta.partner_charges,
            delta.partner_bill_lines,
            delta.new_associations,
            delta.ended_associations,
        )

    def delta(self) -> ViewDelta:
        return ViewDelta(
            self.bill_lines,
            self.bill_currencies,
            self.partner_charges,
            self.partner_bill_lines,
            self.new_associations,
            self.ended_associations,
        )


class InputEnded(msgspec.Struct, array_like=True, tag="ended"):
    """Every batch of the input was handed over (in this epoch), with the views folded
    since the last batch that carried them (None: the decider folds none)."""

    epoch: int
    bytes_read: int  # input bytes read after the last batch (blank lines at the end)
    views: FoldedViews | None = None


class DeciderFailed(msgspec.Struct, array_like=True, tag="failed"):
    """The decider stopped. `kind` "line": `message` is the one line the in-process
    ingest would print for the same error (an unreadable input, a damaged store);
    "bug": `message` is the traceback."""

    kind: str
    message: str


class Flushed(msgspec.Struct, array_like=True, tag="flushed"):
    """Every batch of lines sent before `Flush(token)` was handed over (in this epoch),
    with the views folded since the last batch that carried them."""

    epoch: int
    token: int
    views: FoldedViews | None = None


FromDecider = DecidedBatch | InputEnded | Flushed | DeciderFailed


class Committed(msgspec.Struct, array_like=True, tag="committed"):
    """The writer committed batch `seq` of `epoch`. `render_share`: the part of each
    batch's log entries the decider should render from now on (the writer renders the
    rest), so that neither process waits for the other (`RenderShare`)."""

    epoch: int
    seq: int
    render_share: float


class DecideAgain(msgspec.Struct, array_like=True, tag="again"):
    """Drop every cached state and in-flight event; decide from batch `seq` on, in `epoch`."""

    epoch: int
    seq: int


LINES_FLAG = "--lines"  # the decider's argument instead of input paths: it decides `Lines`


class Lines(msgspec.Struct, array_like=True, tag="lines"):
    """A batch of Kafka lines to decide (`billing serve`): raw bytes, topic, partition, offset."""

    seq: int
    lines: list[tuple[bytes, str, int, int]]

    def inbound(self) -> list[InboundLine]:
        return [InboundLine(raw, (topic, partition, offset)) for raw, topic, partition, offset in self.lines]


class Flush(msgspec.Struct, array_like=True, tag="flush"):
    """Answer `Flushed(token)` once every batch of lines sent before is handed over."""

    token: int


FromWriter = Committed | DecideAgain | Lines | Flush

encode = msgspec.msgpack.Encoder().encode
decode_from_decider = msgspec.msgpack.Decoder(FromDecider).decode
decode_from_writer = msgspec.msgpack.Decoder(FromWriter).decode


class _Pending(msgspec.Struct):
    """A batch handed over and not yet committed: kept to be decided again."""

    seq: int
    lines: list[InboundLine]
    bytes_read: int
    next_positions: dict[tuple[str, int], int]


class AheadDecider:
    """The decider's side: decides batches in order, remembering what is in flight."""

    def __init__(self, ledger: Ledger, fold_views: bool = True, note_changes: bool = False):
        self.ledger = ledger
        # `billing serve`'s publisher is told which records each batch changes (the
        # events of a batch from inbound lines are charges, discounts, associations:
        # never a statement's, which the publisher reads back from the log).
        self._period_of = ledger.rules.calendar.period_of if note_changes else None
        self.epoch = 0
        self.render_share = 0.5
        # The views' changes folded from this epoch's batches since the last handed over
        # (None: the writer folds no views, BILLING_PROJECTIONS=separate).
        self._held: ViewDelta | None = ViewDelta() if fold_views else None
        self._held_events = 0
        self._pending: deque[_Pending] = deque()
        self._again: deque[_Pending] = deque()

    def committed(self, message: Committed) -> None:
        """A batch is in the store: its events are found there from now on."""
        self.render_share = message.render_share
        if message.epoch != self.epoch:
            return
        self.ledger.in_flight.drop_through(message.seq)
        while self._pending and self._pending[0].seq <= message.seq:
            self._pending.popleft()
        # The store holds the committed batches' positions now; the others still count.
        positions = self.ledger.in_flight_positions
        positions.clear()
        for pending in self._pending:
            positions.update(pending.next_positions)

    def decide_again(self, message: DecideAgain) -> None:
        """Everything from batch `seq` on is decided again from the store's state."""
        self.epoch = message.epoch
        self.ledger.in_flight.clear()
        self.ledger.in_flight_positions.clear()
        self.ledger.forget_cached_states()
        if self._held is not None:  # its batches may no longer follow each other in the log
            self._held, self._held_events = ViewDelta(), 0
        # Batches still waiting to be decided again from an earlier word count too.
        waiting = sorted([*self._pending, *self._again], key=lambda pending: pending.seq)
        self._again = deque(pending for pending in waiting if pending.seq >= message.seq)
        self._pending.clear()

    def has_work_again(self) -> bool:
        return bool(self._again)

    def next_again(self) -> _Pending | None:
        """A batch to decide again, before any new one."""
        return self._again.popleft() if self._again else None

    def decide(self, seq: int, lines: list[InboundLine], bytes_read: int) -> DecidedBatch:
        ledger = self.ledger
        batch = ledger._decide_batch(lines, [judge_line(line.raw) for line in lines])
        ledger._states.update(batch.states)  # the next batch follows this one
        pairs = batch.pairs
        ledger.in_flight.add(seq, pairs, batch.events)
        ledger.in_flight_positions.update(batch.next_positions)
        self._pending.append(_Pending(seq, lines, bytes_read, batch.next_positions))
        counts = batch.outcome.counts
        rendered = batch.events[: round(len(batch.events) * self.render_share)]
        views = None
        if self._held is not None:
            add = self._held.add
            for event in batch.events:
                add(event)
            self._held_events += len(batch.events)
            if self._held_events >= WRITE_EVERY_EVENTS:
                views = self.take_views()
        changes = None
        if self._period_of is not None:
            changed = ChangedViews(set(), {})
            add_changed_by_events(changed, batch.events, self._period_of)
            changes = ViewChanges(changed.keys, changed.counts_from)
        return DecidedBatch(
            epoch=self.epoch,
            seq=seq,
            bytes_read=bytes_read,
            head=batch.head,
            recorded_at=batch.recorded_at,
            accepted=counts.accepted,
            duplicates=counts.duplicates,
            rejected=counts.rejected,
            rows=batch.rows,
            pairs=pairs,
            entries=[entry_split(event) for event in rendered],
            states=batch.state_rows(),
            versions_read=batch.versions_read,
            rejected_pairs=list(batch.rejected_pairs),
            rejections=batch.new_rejections,
            redelivered=batch.outcome.redelivered,
            positions_read=[(topic, partition, offset) for (topic, partition), offset in batch.positions_read.items()],
            next_positions=[(topic, partition, offset) for (topic, partition), offset in batch.next_positions.items()],
            views=views,
            changes=changes,
        )

    def take_views(self) -> FoldedViews | None:
        """The views folded since the last handed over (None if the writer folds none)."""
        if self._held is None:
            return None
        views = FoldedViews.of(self._held)
        self._held, self._held_events = ViewDelta(), 0
        return views


class ReadyBatch(BatchDecision):
    """The writer's side: a `DecidedBatch` as the ledger commits it. `head` is where
    the writer's previous commit left the log (the decider counted on nothing else
    being appended since), or the decider's snapshot for an epoch's first batch."""

    def __init__(self, ledger: Ledger, decided: DecidedBatch, head: int | None):
        counts = IngestCounts(decided.accepted, decided.duplicates, decided.rejected)
        super().__init__(ledger, BatchOutcome(counts=counts, redelivered=decided.redelivered), decided.recorded_at)
        self.positions_read = {(topic, partition): offset for topic, partition, offset in decided.positions_read}
        self.next_positions = {(topic, partition): offset for topic, partition, offset in decided.next_positions}
        self.head = decided.head if head is None else head
        self.rows = decided.rows
        # Decoded only where needed: the entries the writer renders, a hook's type, a restamp.
        self.events = EventsOfRows(decided.rows)
        self.pairs = decided.pairs
        rendered = len(decided.entries)
        parts = parts_from_split(decided.entries) + [entry_parts(event) for event in self.events[rendered:]]
        self.encoded = ledger.recorder.encode_append(self.rows, self.pairs, self.events, parts)
        self._state_rows = decided.states
        self.touched = [stream for stream, _, _ in decided.states]
        self.versions_read = decided.versions_read
        self.rejected_pairs = set(decided.rejected_pairs)  # decoded as tuples
        self.new_rejections = decided.rejections

    def state_rows(self) -> list[tuple[str, int, bytes]]:
        return self._state_rows

    # `restamp` (a later recorded time committed meanwhile: another writer, or a close's
    # floor) is BatchDecision's: the rows and entries are made again from the events.


class RenderShare:
    """How much of the log entries' rendering the decider takes on: more while the
    writer finds each batch ready before it asks (the writer is the slower), less
    while it has to wait for one (the decider is). Rendering is the one piece of work
    either side can do (~5 µs an event), so it balances the two cores on any machine,
    busy or not."""

    STEP = 0.1

    def __init__(self, share: float = 0.5):
        self.share = share

    def writer_waited(self, waited: bool) -> float:
        step = -self.STEP if waited else self.STEP
        self.share = min(1.0, max(0.0, self.share + step))
        return self.share
