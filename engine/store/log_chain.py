"""The log's hash chain (CONTRACT.md §11), stored beside the events on every backend.

Every recorded event has a `position` (from 1, in commit order, never a gap) and its
entry's `hash` (see `engine.log_entries`). They are stored a *segment* a row: the
events one `insert_events_in` stored take consecutive positions, so a row holds the
first position, how many entries, their notification ids (a range on SQLite, where
they are consecutive; the list where PostgreSQL's have gaps) and their hashes. One
row a batch instead of one an event keeps the chain's writes out of ingest's way.

Segments are written in the write transaction that stores their events, under its
lock (SQLite's BEGIN IMMEDIATE, PostgreSQL's EXCLUSIVE lock on the events table), so
concurrent writers still make one chain. Batches are hashed in the writer's own
process; a writer that asked for it (`prepare_chain_worker`, BILLING_CHAIN_WORKER=1)
has a large batch hashed by a child process while the transaction goes on
(`chain_worker.py`) and its segment written just before the commit
(`finish_chain_in`); anything that reads the head first finishes it. Off by default:
measured on the shared 2-core machine (200,000 benchmark lines, 5 interleaved runs),
hashing inline took 12% less CPU and 14% less wall time than the worker, whose child
decodes every row again (~6 µs an entry against ~4.9 inline from the event objects)
and competes with the writer for the cores.

A store written before the chain existed (or by a version without it) has events no
position covers: opening it for writing, or the next write, chains them first.
"""

from __future__ import annotations

import struct
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.store.chain_worker import ChainWorker

LOG_CHAIN_DDL = (
    "CREATE TABLE IF NOT EXISTS {t}log_chain (first_position {int} PRIMARY KEY, entries {int} NOT NULL, "
    "first_notification_id {int} NOT NULL, last_notification_id {int} NOT NULL, notification_ids {blob}, "
    "hashes {blob} NOT NULL, last_hash {text} NOT NULL)"
)
MIN_ENTRIES = 2_000  # a batch this large is hashed by the worker (a round trip costs ~1 ms)
ZERO_HASH = "0" * 64  # the hash before the first entry
HASH_DIGITS = 64  # an entry's hash in hex, as printed and as chained
DIGEST_BYTES = 32  # as stored: the raw SHA-256 digest
_SEGMENT_COLUMNS = (
    "first_position, entries, first_notification_id, last_notification_id, notification_ids, hashes, last_hash"
)
_BACKFILL_CHUNK = 10_000
_WORKER_GRACE_SECONDS = 1e-6  # an entry (hashing one inline takes ~5 µs)


class ChainDamaged(Exception):
    """The chain's own rows are inconsistent at a position."""

    def __init__(self, position: int, message: str):
        super().__init__(message)
        self.position = position
        self.message = message


@dataclass(slots=True)
class ChainSegment:
    """One stored row of the chain: consecutive entries from `first_position`."""

    first_position: int
    entries: int
    first_notification_id: int
    last_notification_id: int
    notification_ids: bytes | None  # None: consecutive from first_notification_id
    hashes: bytes  # the entries' SHA-256 digests, 32 bytes each, back to back
    last_hash: str

    @property
    def last_position(self) -> int:
        return self.first_position + self.entries - 1

    def links(self) -> list[tuple[int, int, str]]:
        """(position, notification id, hash) of each entry (`ChainDamaged` if the row
        does not hold what it says)."""
        entries = self.entries
        if entries < 1 or len(self.hashes) != entries * DIGEST_BYTES:
            raise ChainDamaged(self.first_position, f"the chain's row at position {self.first_position} is damaged")
        if self.notification_ids is None:
            ids: Sequence[int] = range(self.first_notification_id, self.first_notification_id + entries)
        elif len(self.notification_ids) == 8 * entries:
            ids = struct.unpack(f"<{entries}q", self.notification_ids)
        else:
            ids = ()
        text = self.hashes.hex()
        if len(ids) != entries or (ids[0], ids[-1]) != (self.first_notification_id, self.last_notification_id):
            raise ChainDamaged(self.first_position, f"the chain's row at position {self.first_position} is damaged")
        if text[-HASH_DIGITS:] != self.last_hash:
            raise ChainDamaged(self.last_position, "the chain's row holds two hashes for this position")
        hashes = [text[start : start + HASH_DIGITS] for start in range(0, len(text), HASH_DIGITS)]
        return list(zip(range(self.first_position, self.first_position + entries), ids, hashes, strict=True))


@dataclass(slots=True)
class _PendingSegment:
    """A segment being chained in this transaction (its hashes from a worker, or
    computed inline; its ids once its events are stored)."""

    first_position: int
    notification_ids: Sequence[int]
    prev_hash: bytes
    rows: Sequence[Sequence]
    events: Sequence | None
    digests: bytes | None = None  # raw, 32 bytes an entry; None while the worker computes them
    # Entries prepared before the lock (log_entries.entry_parts), hashed when the caller
    # says (`hash_prepared_chain_in`: while the database inserts the rows) or at the end.
    parts: Sequence[tuple[Any, bytes]] | None = None


class LogChainTables:
    """Reads and writes of `log_chain`, mixed into the ledger's recorders (which give
    the SQL primitives, the events table and `select_notifications_in`)."""

    events_table = ""
    notification_id_column = ""

    # --- writing (inside the write transaction) --------------------------------------

    def begin_chain_in(
        self,
        c: Any,
        rows: Sequence[Sequence],
        events: Sequence | None,
        last_id: int,
        parts: Sequence[tuple[Any, bytes]] | None = None,
    ) -> None:
        """Starts chaining events about to be stored (called before they are inserted,
        so a worker hashes while they are): their rows (ending with topic and state),
        the event objects if the caller has them (they spare decoding the rows), the
        events table's last notification id before them, and (`parts`) their entries
        rendered before the write lock was taken (`log_entries.entry_parts`)."""
        from engine.log_entries import chain_hashes  # not at import: `billing --help` needs no hashlib

        self.finish_chain_in(c)
        position, chained_id, prev_hash = self._chain_head_in(c)
        if last_id > chained_id:  # events no position covers yet: chained first
            position, prev_hash = self._chain_stored_in(c, position, prev_hash, chained_id, last_id + 1)
        prev = prev_hash.encode()
        job = _PendingSegment(position + 1, (), prev, rows, events)
        worker_wanted = self.__dict__.get("_chain_worker_wanted", False)
        if parts is not None:  # all but the hashing done before the lock: nothing for a worker to share
            job.parts = parts
        elif len(rows) < MIN_ENTRIES or not worker_wanted or not self._worker().submit(position, prev, rows):
            job.digests = _digests(chain_hashes(position, prev, rows, events))
        self._chain_jobs()[id(c)] = job

    def hash_prepared_chain_in(self, c: Any) -> None:
        """Hashes the entries begun with `parts` (pure computation: a caller may run it
        while the database works on the rows it was just sent)."""
        from engine.log_entries import chain_hashes_from_parts

        job = self._chain_jobs()[id(c)]
        if job.parts is not None and job.digests is None:
            job.digests = _digests(chain_hashes_from_parts(job.first_position - 1, job.prev_hash, job.parts))

    def end_chain_in(self, c: Any, notification_ids: Sequence[int]) -> None:
        """The events begun with `begin_chain_in` are stored with these ids: their
        segment is written now, or before the commit if a worker is hashing it."""
        self.hash_prepared_chain_in(c)
        job = self._chain_jobs()[id(c)]
        job.notification_ids = notification_ids
        if job.digests is not None:
            del self._chain_jobs()[id(c)]
            self._insert_segment_in(c, job.first_position, notification_ids, job.digests)

    def finish_chain_in(self, c: Any) -> None:
        """Writes the segment the worker has been hashing for this transaction (called
        before the commit, and before anything reads the head)."""
        job = self._chain_jobs().pop(id(c), None)
        if job is None:
            return
        from engine.log_entries import chain_hashes

        # The worker has had the whole transaction; a little longer is worth it, not
        # longer than hashing inline would take (a busy machine may starve it).
        digests = job.digests or self._worker().collect(timeout=len(job.rows) * _WORKER_GRACE_SECONDS)
        if digests is None or len(digests) != DIGEST_BYTES * len(job.rows):
            digests = _digests(chain_hashes(job.first_position - 1, job.prev_hash, job.rows, job.events))
        self._insert_segment_in(c, job.first_position, job.notification_ids, digests)

    def abandon_chain_in(self, c: Any) -> None:
        """The transaction is rolling back: its pending segment is dropped."""
        job = self._chain_jobs().pop(id(c), None)
        if job is not None and job.digests is None:
            self._worker().collect(timeout=0)

    def _insert_segment_in(self, c: Any, first_position: int, ids: Sequence[int], digests: bytes) -> None:
        """Writes a segment: its entries' ids and hashes (raw digests, back to back)."""
        first, last = ids[0], ids[-1]
        packed = None if last - first == len(ids) - 1 else struct.pack(f"<{len(ids)}q", *ids)
        self.execute(  # type: ignore[attr-defined]
            c,
            "INSERT INTO {t}log_chain VALUES (?,?,?,?,?,?,?)",
            (first_position, len(ids), first, last, packed, digests, digests[-DIGEST_BYTES:].hex()),
        )

    def prepare_chain_worker(self) -> None:
        """Has large batches hashed by the chain's worker from now on, and starts it
        now (it takes a moment to start). Without this call every batch is hashed in
        this process."""
        self.__dict__["_chain_worker_wanted"] = True
        self._worker().start()

    def _chain_jobs(self) -> dict[int, _PendingSegment]:
        jobs = self.__dict__.get("_pending_chain_jobs")
        if jobs is None:
            jobs = self.__dict__["_pending_chain_jobs"] = {}
        return jobs

    def _worker(self) -> ChainWorker:
        from engine.store.chain_worker import ChainWorker

        worker = self.__dict__.get("_chain_worker")
        if worker is None:
            worker = self.__dict__["_chain_worker"] = ChainWorker()
            weakref.finalize(self, worker.close)
        return worker

    def _chain_head_in(self, c: Any) -> tuple[int, int, str]:
        """(last position, its notification id, its hash); (0, 0, zeros) when empty."""
        rows = self.rows(  # type: ignore[attr-defined]
            c,
            "SELECT first_position, entries, last_notification_id, last_hash FROM {t}log_chain "
            "ORDER BY first_position DESC LIMIT 1",
        )
        if not rows:
            return 0, 0, ZERO_HASH
        first, entries, last_id, last_hash = rows[0]
        return first + entries - 1, last_id, last_hash

    def _chain_stored_in(self, c: Any, position: int, prev_hash: str, after_id: int, before_id: int) -> tuple[int, str]:
        """Chains the stored events between two notification ids that no position
        covers yet (a store older than the chain), rendered from their rows."""
        from engine.log_entries import chain_hashes

        while True:
            rows = self.select_notifications_in(c, after_id, _BACKFILL_CHUNK, before_id)  # type: ignore[attr-defined]
            if not rows:
                return position, prev_hash
            digests = _digests(chain_hashes(position, prev_hash.encode(), rows))
            self._insert_segment_in(c, position + 1, [row[0] for row in rows], digests)
            position, prev_hash, after_id = position + len(rows), digests[-DIGEST_BYTES:].hex(), rows[-1][0]

    def chain_unchained(self) -> int:
        """Chains every stored event not chained yet (a store written before the chain
        existed), in one write transaction; how many were chained."""
        with self.read_transaction() as c:  # type: ignore[attr-defined]
            _, last_id, _ = self._chain_head_in(c)
            last_event = self.max_notification_id_in(c)  # type: ignore[attr-defined]
        if last_event <= last_id:
            return 0
        with self.write_transaction() as c:  # type: ignore[attr-defined]
            start, last_id, prev_hash = self._chain_head_in(c)
            end, _ = self._chain_stored_in(c, start, prev_hash, last_id, self.max_notification_id_in(c) + 1)  # type: ignore[attr-defined]
        return end - start

    # --- reading ---------------------------------------------------------------------

    def log_head_in(self, c: Any) -> tuple[int, str]:
        """The log's last entry as (position, hash) (CONTRACT.md §11); (0, 64 zeros)
        for an empty log."""
        self.finish_chain_in(c)
        position, _, hash_ = self._chain_head_in(c)
        return position, hash_

    def last_recorded_at_in(self, c: Any) -> str | None:
        """When the last event of the log was recorded (None: the log is empty)."""
        from engine.log_entries import recorded_at_of

        nid = self.notification_id_column
        rows = self.rows(c, f"SELECT topic, state FROM {self.events_table} ORDER BY {nid} DESC LIMIT 1")  # type: ignore[attr-defined]
        return recorded_at_of(rows[0][0], bytes(rows[0][1])) if rows else None

    def has_log_chain_in(self, c: Any) -> bool:
        """Whether the store has the chain's table (a store written before the chain
        existed, and not written since, has not)."""
        return self.table_exists_in(c, "log_chain")  # type: ignore[attr-defined]

    def chain_bounds_in(self, c: Any) -> tuple[int, int, int]:
        """The chain's last position, the events' count and last notification id, read
        in one statement (one snapshot on either backend)."""
        nid = self.notification_id_column
        rows = self.rows(  # type: ignore[attr-defined]
            c,
            "SELECT (SELECT first_position + entries - 1 FROM {t}log_chain ORDER BY first_position DESC LIMIT 1), "
            f"(SELECT COUNT(*) FROM {self.events_table}), (SELECT MAX({nid}) FROM {self.events_table})",
        )
        return rows[0][0] or 0, rows[0][1] or 0, rows[0][2] or 0

    def select_segments_in(self, c: Any, after: int, limit: int) -> list[ChainSegment]:
        """Segments starting after a position, in order."""
        rows = self.rows(  # type: ignore[attr-defined]
            c,
            f"SELECT {_SEGMENT_COLUMNS} FROM {{t}}log_chain WHERE first_position>? ORDER BY first_position LIMIT ?",
            (after, limit),
        )
        return [_segment(row) for row in rows]

    def segment_at_in(self, c: Any, position: int) -> ChainSegment | None:
        """The segment that starts at or before a position (the one holding it, if any)."""
        rows = self.rows(  # type: ignore[attr-defined]
            c,
            f"SELECT {_SEGMENT_COLUMNS} FROM {{t}}log_chain WHERE first_position<=? "
            "ORDER BY first_position DESC LIMIT 1",
            (position,),
        )
        return _segment(rows[0]) if rows else None

    def select_states_in(self, c: Any, first_id: int, last_id: int) -> dict[int, tuple[str, bytes]]:
        """Topic and state of the events with notification ids in a range, by id."""
        states: dict[int, tuple[str, bytes]] = {}
        after = first_id - 1
        while True:
            rows = self.select_notifications_in(c, after, _BACKFILL_CHUNK, last_id + 1)  # type: ignore[attr-defined]
            if not rows:
                return states
            states.update({row[0]: (row[1], row[2]) for row in rows})
            after = rows[-1][0]


def _digests(hashes: list[bytes]) -> bytes:
    """Hex hashes (ASCII bytes) as raw digests, back to back."""
    return bytes.fromhex(b"".join(hashes).decode())


def _segment(row: Sequence) -> ChainSegment:
    ids = row[4]
    return ChainSegment(row[0], row[1], row[2], row[3], None if ids is None else bytes(ids), bytes(row[5]), row[6])
