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

import fcntl
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from eventsourcing.persistence import IntegrityError
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteFactory,
    SQLiteTrackingRecorder,
)

from engine.store.feature_tables import SQLITE_TYPES, feature_ddl
from engine.store.ledger_tables import LedgerTables, SQLDialect
from engine.store.rows import StoredRow

# A writing connection's page cache. 64 MiB, not 256: at 1M events (10,000 customers)
# ingest took the same time with either (one process 41.8-42.8 s against 41.9-42.2 s,
# deciding ahead 28.7-29.3 s against 28.5-29.7 s, two runs each in turn) and peaked
# ~190 MiB lower (one process 300 against 481 MiB). Larger stores: not measured.
_PAGE_CACHE_KIB = 64 * 1024
# Pages of a new store's file (SQLite's default is 4 KiB). The log's rows are ~600
# bytes and arrive in batches of thousands: with 16 KiB pages SQLite spent ~20% less
# CPU inserting the benchmark's events and their (source, id) pairs (5.0-5.5 µs a
# row against 6.6, measured). A store keeps the page size it was made with.
NEW_STORE_PAGE_SIZE = 16384


class SQLiteDialect(SQLDialect):
    """SQL primitives on eventsourcing's SQLite cursors (`?` placeholders, plain table names)."""

    ddl_types = SQLITE_TYPES

    def damaged(self, problem: str) -> Exception:
        # Worded as SQLite words corruption, so the command ends as on any damage.
        return sqlite3.DatabaseError(f"database disk image is malformed ({problem})")

    def rows(self, c: SQLiteCursor, text: str, params: Sequence = ()) -> list[tuple]:
        c.execute(self.sql(text), params)
        return c.fetchall()

    def execute(self, c: SQLiteCursor, text: str, params: Sequence = ()) -> None:
        c.execute(self.sql(text), params)

    def has_table(self, c: SQLiteCursor, name: str) -> bool:
        return bool(self.rows(c, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)))

    def executemany(self, c: SQLiteCursor, text: str, rows: Sequence[Sequence]) -> None:
        try:
            c.executemany(self.sql(text), rows)
        except sqlite3.IntegrityError as error:
            raise IntegrityError(error) from error

    def table_exists_in(self, c: SQLiteCursor, name: str) -> bool:
        return bool(self.rows(c, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)))

    def integrity_problems_in(self, c: SQLiteCursor) -> list[str]:
        """SQLite's `PRAGMA integrity_check`: its messages, none when the file is sound."""
        messages = [row[0] for row in self.rows(c, "PRAGMA integrity_check")]
        return [] if messages == ["ok"] else messages


class LedgerSQLiteRecorder(SQLiteDialect, LedgerTables, SQLiteApplicationRecorder):
    """eventsourcing's application recorder plus the ledger's tables and bulk writes."""

    notification_id_column = "rowid"

    @property
    def events_table(self) -> str:  # type: ignore[override]
        return self.events_table_name

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
            *(self.ddl(template) for template in feature_ddl()),
        ]

    LOCKS_AT_BEGIN = True  # the database's write lock, taken by BEGIN IMMEDIATE

    @contextmanager
    def write_transaction(self, lock: bool = True) -> Iterator[SQLiteCursor]:
        """One write transaction that takes the database's write lock at its start
        (whatever `lock` says: SQLite has no lock to take later).

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
                self.finish_chain_in(cursor)  # the segment a chain worker was hashing
                connection.commit()
            except BaseException:
                self.abandon_chain_in(cursor)
                connection.rollback()
                raise
            finally:
                cursor.sqlite_cursor.close()

    @contextmanager
    def publisher_lock(self) -> Iterator[None]:
        """Held while one `serve` process publishes views: an exclusive lock on a file
        beside the database (released by the kernel if the process dies)."""
        pool = self.datastore.pool
        if pool.is_sqlite_memory_mode:
            yield
            return
        with open(f"{pool.db_name}.publish-lock", "a+b") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def insert_events_in(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredRow],
        events: Sequence | None = None,
        encoded: Sequence | None = None,
    ) -> list[int]:
        """Appends events with one executemany and chains them (`events`: the event
        objects of the rows, if the caller has them; `encoded`: their log entries
        rendered ahead, from `encode_append`); returns their notification ids.

        eventsourcing's own recorder runs one INSERT per event to read each rowid back.
        Inside this write transaction nobody else can insert, so the rowids are the
        next consecutive ones after the current maximum; the count is checked after.
        """
        if not stored_events:
            return []
        c.execute(self.select_max_notification_id_statement)
        first = (c.fetchone()[0] or 0) + 1
        self.begin_chain_in(c, stored_events, events, first - 1, encoded)
        try:
            c.executemany(self.insert_events_statement, stored_events)  # rows already
        except sqlite3.IntegrityError as error:
            raise IntegrityError(error) from error
        c.execute(self.select_max_notification_id_statement)
        last = c.fetchone()[0]
        if last != first + len(stored_events) - 1:
            raise RuntimeError(f"notification ids not consecutive: {first}..{last}")
        ids = list(range(first, last + 1))
        self.end_chain_in(c, ids)
        return ids


class LedgerSQLiteFactory(SQLiteFactory):
    """SQLite persistence with the ledger's recorder (chosen by PERSISTENCE_MODULE)."""

    application_recorder_class = LedgerSQLiteRecorder
    tracking_recorder_class = SQLiteTrackingRecorder

    def __init__(self, env):
        super().__init__(env)  # the pool connects on first use, not here
        pool = self.datastore.pool
        if not pool.is_sqlite_memory_mode and self.env_create_table():
            _prepare_new_file(pool.db_name)
        if not pool.is_sqlite_memory_mode:
            # Keep one idle connection, not eventsourcing's five: the pool hands them out
            # in turn, and each one that ever wrote a batch holds its own large page cache
            # (_PAGE_CACHE_KIB), so five would each fill theirs (serve peaked at 926 MiB
            # with the views at 1M events). Connections opened beyond it for a moment
            # of concurrent use are closed when returned. (A memory store keeps
            # eventsourcing's pool: its database lives only while a connection is open.)
            pool.pool_size = 1


def _prepare_new_file(db_name: str) -> None:
    """Gives a store's file, if it is new, its page size, before eventsourcing turns on
    WAL (after which SQLite no longer changes the page size)."""
    if not db_name or db_name.startswith("file:") or ":memory:" in db_name:
        return  # a URI (memory, read-only): nothing to make
    path = Path(db_name)
    if path.exists() and path.stat().st_size > 0:
        return
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute(f"PRAGMA page_size={NEW_STORE_PAGE_SIZE}")
        connection.execute("PRAGMA journal_mode=WAL")


Factory = LedgerSQLiteFactory
