"""The ledger's SQLite persistence: eventsourcing's SQLite recorder, with its hot path in bulk.

Beside eventsourcing's `stored_events` table (the log; rowid is the notification id)
the same database holds, written in the same transaction as the events:
- `event_ids`: every accepted `(source, id)`, its primary key being the permanent
  deduplication the contract asks for;
- `customer_states`: each customer's decision state at its stream version (a cache of
  the fold of the stream, checked against the version on every write);
- `rejections`: every rejected input with its raw bytes, kept for listing and retry.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteFactory,
    SQLiteTrackingRecorder,
)

from engine.store.rows import PendingRejection, RejectionRow

_CHUNK = 300  # bound parameters per IN (...) list; well under SQLite's limit
_PAGE_CACHE_KIB = 256 * 1024


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """eventsourcing's application recorder plus the ledger's tables and bulk writes."""

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS event_ids ("
            "source TEXT NOT NULL, id TEXT NOT NULL, notification_id INTEGER NOT NULL, "
            "PRIMARY KEY (source, id)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS customer_states ("
            "customer_id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL"
            ") WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS rejections ("
            "seq INTEGER PRIMARY KEY AUTOINCREMENT, arrived TEXT NOT NULL, "
            "source TEXT, id TEXT, type TEXT, reason TEXT NOT NULL, message TEXT NOT NULL, "
            "raw BLOB NOT NULL, accepted TEXT, origin TEXT UNIQUE)",
            "CREATE TABLE IF NOT EXISTS consumer_positions ("
            "topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL, "
            "PRIMARY KEY (topic, partition)) WITHOUT ROWID",
        ]

    @contextmanager
    def write_transaction(self) -> Iterator[SQLiteCursor]:
        """One write transaction that takes the database's write lock at its start.

        BEGIN IMMEDIATE, not eventsourcing's plain BEGIN: the batch reads (taken ids,
        states) before it writes, and a deferred transaction could find another
        writer in between and fail at its first write.
        """
        with self.datastore.get_connection(commit=True) as connection:
            cursor = connection.cursor()
            if not getattr(connection, "tuned_for_batches", False):
                # A larger page cache than SQLite's 2 MiB default: deduplication and view
                # look-ups hit B-trees at random, and a large store outgrows 2 MiB fast.
                cursor.execute(f"PRAGMA cache_size=-{_PAGE_CACHE_KIB}")
                connection.tuned_for_batches = True
            try:
                cursor.execute("BEGIN IMMEDIATE")
                yield cursor
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                cursor.sqlite_cursor.close()

    @contextmanager
    def read_transaction(self) -> Iterator[SQLiteCursor]:
        with self.datastore.transaction(commit=False) as cursor:
            yield cursor

    def insert_events_in(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Appends events with one executemany; returns their notification ids.

        eventsourcing's own recorder runs one INSERT per event to read each rowid back.
        Inside this write transaction nobody else can insert, so the rowids are the
        next consecutive ones after the current maximum; the count is checked after.
        """
        if not stored_events:
            return []
        c.execute(self.select_max_notification_id_statement)
        first = (c.fetchone()[0] or 0) + 1
        try:
            c.executemany(
                self.insert_events_statement,
                [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored_events],
            )
        except sqlite3.IntegrityError as error:
            raise IntegrityError(error) from error
        c.execute(self.select_max_notification_id_statement)
        last = c.fetchone()[0]
        if last != first + len(stored_events) - 1:
            raise RuntimeError(f"notification ids not consecutive: {first}..{last}")
        return list(range(first, last + 1))

    def select_taken_ids(self, c: SQLiteCursor, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The `(source, id)` pairs already recorded, with their notification ids."""
        # Grouped by source so each query is `source=? AND id IN (…)`, which walks the
        # primary key; a batch has few sources. (A row-value IN list is not indexed.)
        ids_by_source: dict[str, list[str]] = {}
        for source, event_id in pairs:
            ids_by_source.setdefault(source, []).append(event_id)
        taken: dict[tuple[str, str], int] = {}
        for source, ids in ids_by_source.items():
            for chunk in _chunks(ids, _CHUNK):
                c.execute(
                    "SELECT id, notification_id FROM event_ids "
                    f"WHERE source=? AND id IN ({','.join('?' * len(chunk))})",
                    [source, *chunk],
                )
                taken.update({(source, row[0]): row[1] for row in c.fetchall()})
        return taken

    def insert_taken_ids(self, c: SQLiteCursor, rows: list[tuple[str, str, int]]) -> None:
        try:
            c.executemany("INSERT INTO event_ids VALUES (?,?,?)", rows)
        except sqlite3.IntegrityError as error:
            raise IntegrityError(error) from error

    def select_state_of_notification(self, c: SQLiteCursor, notification_id: int) -> tuple[str, bytes]:
        """The topic and stored state of one recorded event."""
        c.execute(f"SELECT topic, state FROM {self.events_table_name} WHERE rowid=?", (notification_id,))
        row = c.fetchone()
        return row[0], row[1]

    def select_customer_states(self, c: SQLiteCursor, customer_ids: Iterable[str]) -> dict[str, tuple[int, bytes]]:
        states: dict[str, tuple[int, bytes]] = {}
        for chunk in _chunks(list(customer_ids), _CHUNK):
            c.execute(
                f"SELECT customer_id, version, state FROM customer_states WHERE customer_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            states.update({row[0]: (row[1], row[2]) for row in c.fetchall()})
        return states

    def upsert_customer_states(self, c: SQLiteCursor, rows: list[tuple[str, int, bytes]]) -> None:
        c.executemany(
            "INSERT INTO customer_states VALUES (?,?,?) ON CONFLICT (customer_id) "
            "DO UPDATE SET version=excluded.version, state=excluded.state",
            rows,
        )

    def insert_rejections(self, c: SQLiteCursor, rows: list[PendingRejection]) -> None:
        c.executemany(
            "INSERT INTO rejections (arrived, source, id, type, reason, message, raw, origin) "
            "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (origin) DO NOTHING",
            [
                (r.arrived, r.source, r.id, r.type, r.reason, r.message, r.raw, r.origin)
                for r in rows
            ],
        )

    def update_rejections(self, c: SQLiteCursor, rows: list[tuple[int, str, str]]) -> None:
        """Re-judged and still rejected: (seq, reason, message) of the latest judgement."""
        c.executemany(
            "UPDATE rejections SET reason=?, message=? WHERE seq=?",
            [(reason, message, seq) for seq, reason, message in rows],
        )

    def mark_rejections_accepted(self, c: SQLiteCursor, rows: list[tuple[int, str]]) -> None:
        """Re-judged and now accepted (or found already recorded): (seq, when)."""
        c.executemany("UPDATE rejections SET accepted=? WHERE seq=?", [(when, seq) for seq, when in rows])

    def select_rejections(self, *, reason: str | None = None, pending_only: bool = False) -> list[RejectionRow]:
        statement = "SELECT seq, arrived, source, id, type, reason, message, raw, accepted FROM rejections"
        conditions, params = [], []
        if reason is not None:
            conditions.append("reason=?")
            params.append(reason)
        if pending_only:
            conditions.append("accepted IS NULL")
        if conditions:
            statement += " WHERE " + " AND ".join(conditions)
        with self.read_transaction() as c:
            c.execute(statement + " ORDER BY seq", params)
            return [RejectionRow(*row) for row in c.fetchall()]

    def select_notifications_in(self, c: SQLiteCursor, after: int, limit: int) -> list[tuple[int, str, bytes]]:
        """(notification id, topic, state) of the events after a position, in log order."""
        c.execute(
            f"SELECT rowid, topic, state FROM {self.events_table_name} WHERE rowid>? ORDER BY rowid LIMIT ?",
            (after, limit),
        )
        return [(row[0], row[1], row[2]) for row in c.fetchall()]

    def max_notification_id_in(self, c: SQLiteCursor) -> int:
        return self._max_notification_id(c) or 0

    def select_positions(self, c: SQLiteCursor, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The next offset to read of each (topic, partition) recorded so far."""
        positions: dict[tuple[str, int], int] = {}
        for topic, partition in partitions:
            c.execute(
                "SELECT next_offset FROM consumer_positions WHERE topic=? AND partition=?", (topic, partition)
            )
            row = c.fetchone()
            if row is not None:
                positions[(topic, partition)] = row[0]
        return positions

    def upsert_positions(self, c: SQLiteCursor, positions: dict[tuple[str, int], int]) -> None:
        c.executemany(
            "INSERT INTO consumer_positions VALUES (?,?,?) ON CONFLICT (topic, partition) "
            "DO UPDATE SET next_offset=excluded.next_offset",
            [(topic, partition, offset) for (topic, partition), offset in positions.items()],
        )

    def select_kafka_rejections_after(self, seq: int, limit: int) -> list[RejectionRow]:
        """Rejections of lines that came from Kafka, after a sequence number."""
        with self.read_transaction() as c:
            c.execute(
                "SELECT seq, arrived, source, id, type, reason, message, raw, accepted FROM rejections "
                "WHERE seq>? AND origin IS NOT NULL ORDER BY seq LIMIT ?",
                (seq, limit),
            )
            return [RejectionRow(*row) for row in c.fetchall()]

    def count_events(self) -> int:
        with self.read_transaction() as c:
            c.execute(f"SELECT COUNT(*) FROM {self.events_table_name}")
            return c.fetchone()[0]


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LedgerSQLiteFactory(SQLiteFactory):
    """SQLite persistence with the ledger's recorder (chosen by PERSISTENCE_MODULE)."""

    application_recorder_class = LedgerSQLiteRecorder
    tracking_recorder_class = SQLiteTrackingRecorder


Factory = LedgerSQLiteFactory
