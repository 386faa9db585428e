"""The ledger's PostgreSQL persistence: eventsourcing's PostgreSQL recorder, with the
ledger's tables (the same as on SQLite, see `ledger_tables.py`) in the store's schema.

Commit order. eventsourcing serializes every transaction that inserts events with an
EXCLUSIVE lock on the events table (readers are not blocked), so notification ids are
handed out in commit order and a reader following the log never passes over an id
that commits later. The ledger's write transaction takes that lock first, before it
reads taken ids and states: the whole read-decide-write of a batch is serialized, as
SQLite's BEGIN IMMEDIATE serializes it.

Gaps. A transaction that fails after drawing ids from the sequence (a duplicate key,
another writer's version) burns them: notification ids increase in commit order but
need not be consecutive. Nothing in the engine counts on consecutive ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

import psycopg
from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresTrackingRecorder,
)
from psycopg import Cursor
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from engine.store.feature_tables import POSTGRES_TYPES, feature_ddl
from engine.store.ledger_tables import LedgerTables, SQLDialect
from engine.store.pg_copy import (
    EncodedAppend,
    bigint_field,
    bytes_field,
    copy_data,
    row_start,
    text_field,
)
from engine.store.rows import StoredRow

# Text keys compare byte-wise (as on SQLite), whatever the database's collation.
TEXT = 'text COLLATE "C"'


@contextmanager
def _integrity_errors() -> Iterator[None]:
    """A duplicate key surfaces as eventsourcing's IntegrityError, which the ledger retries
    on; so does a deadlock between two writers taking the same customers' rows before
    the lock (only around a rebalance: PostgreSQL aborts one of them)."""
    try:
        yield
    except (psycopg.IntegrityError, psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as error:
        raise IntegrityError(str(error)) from error


_PUBLISHER_LOCK_KEY = 0x62696C6C  # "bill": the advisory lock of the view publisher


class PostgresDialect(SQLDialect):
    """SQL primitives on psycopg cursors: `%s` placeholders, tables in the store's schema,
    rows read as tuples (eventsourcing's own cursors return dicts)."""

    datastore: PostgresDatastore
    ddl_types = POSTGRES_TYPES

    @property
    def table_prefix(self) -> str:  # type: ignore[override]
        return Identifier(self.datastore.schema).as_string() + "."

    def sql(self, text: str) -> str:
        cache = self.__dict__.setdefault("_sql_cache", {})
        statement = cache.get(text)
        if statement is None:
            statement = cache[text] = super().sql(text).replace("?", "%s")
        return statement

    def rows(self, c: Cursor, text: str, params: Sequence = ()) -> list[tuple]:
        with c.connection.cursor(row_factory=tuple_row) as tuples:
            tuples.execute(self.sql(text), params)
            return tuples.fetchall()

    def execute(self, c: Cursor, text: str, params: Sequence = ()) -> None:
        c.execute(self.sql(text), params)

    def has_table(self, c: Cursor, name: str) -> bool:
        return bool(
            self.rows(
                c,
                "SELECT 1 FROM information_schema.tables WHERE table_schema=? AND table_name=?",
                (self.datastore.schema, name),
            )
        )

    def executemany(self, c: Cursor, text: str, rows: Sequence[Sequence]) -> None:
        if rows:
            with _integrity_errors():
                c.executemany(self.sql(text), rows)

    @contextmanager
    def snapshot_transaction(self) -> Iterator[Cursor]:
        """REPEATABLE READ: every statement sees the snapshot of the first (READ
        COMMITTED, the default, would let a writer's commit in between be half seen)."""
        with self.read_transaction() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield cursor

    def table_exists_in(self, c: Cursor, name: str) -> bool:
        return self.rows(c, "SELECT to_regclass(?)", (self.table_prefix + name,))[0][0] is not None

    def create_statements(self, statements: list[str]) -> None:
        """Adds DDL (with `{t}` before table names) to eventsourcing's create statements."""
        self.sql_create_statements.extend(SQL(self.sql(s)) for s in statements)  # type: ignore[attr-defined]


class LedgerPostgresRecorder(PostgresDialect, LedgerTables, PostgresApplicationRecorder):
    """eventsourcing's application recorder plus the ledger's tables and bulk writes."""

    notification_id_column = "notification_id"

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.events_table = self.table_prefix + Identifier(events_table_name).as_string()
        self.create_statements(
            [
                # A pair names its event by stream and version (known before the lock, so
                # written before it); pairs written before that existed name its id.
                f"CREATE TABLE IF NOT EXISTS {{t}}event_ids (source {TEXT} NOT NULL, id {TEXT} NOT NULL, "
                f"notification_id bigint, originator_id {TEXT}, originator_version bigint, PRIMARY KEY (source, id))",
                f"CREATE TABLE IF NOT EXISTS {{t}}customer_states (customer_id {TEXT} PRIMARY KEY, "
                "version bigint NOT NULL, state bytea NOT NULL)",
                "CREATE TABLE IF NOT EXISTS {t}rejections (seq bigserial PRIMARY KEY, arrived text NOT NULL, "
                "source text, id text, type text, reason text NOT NULL, message text NOT NULL, "
                "raw bytea NOT NULL, accepted text, origin text UNIQUE)",
                f"CREATE TABLE IF NOT EXISTS {{t}}consumer_positions (topic {TEXT} NOT NULL, "
                "partition integer NOT NULL, next_offset bigint NOT NULL, PRIMARY KEY (topic, partition))",
            ]
        )
        self.sql_create_statements.extend(SQL(self.ddl(template)) for template in feature_ddl())  # type: ignore[attr-defined]
        self._sequence: str | None = None
        self._locked_cursors: set[int] = set()  # the cursors of transactions holding the lock
        self._copy_events_sql = (
            f"COPY {self.events_table} (originator_id, originator_version, topic, state, notification_id) "
            "FROM STDIN (FORMAT BINARY)"
        )
        self._copy_taken_ids_sql = self.sql(
            "COPY {t}event_ids (source, id, originator_id, originator_version) FROM STDIN (FORMAT BINARY)"
        )
        # The event looked up per pair found (by the events' primary key): a join lets
        # the planner hash the whole events table for a batch that finds no pair.
        self._select_taken_sql = self.sql(
            "SELECT p.id, COALESCE(p.notification_id, "
            f"(SELECT e.notification_id FROM {self.events_table} e "
            "WHERE e.originator_id = p.originator_id AND e.originator_version = p.originator_version)) "
            "FROM {t}event_ids p WHERE p.source = ? AND p.id = ANY(?)"
        )
        self._upsert_states_sql = self.sql(
            "INSERT INTO {t}customer_states SELECT * FROM unnest(%b::text[], %b::bigint[], %b::bytea[]) "
            "ON CONFLICT (customer_id) DO UPDATE SET version=excluded.version, state=excluded.state"
        )

    def create_table(self) -> None:
        super().create_table()
        self._let_pairs_name_their_stream()

    def _let_pairs_name_their_stream(self) -> None:
        """A store made before pairs named their event by stream and version gets the
        columns (once: the check is a read, so opening a store takes no table lock)."""
        with self.datastore.transaction(commit=True) as c:
            rows = self.rows(
                c,
                "SELECT is_nullable FROM information_schema.columns "
                "WHERE table_schema=? AND table_name='event_ids' AND column_name='notification_id'",
                (self.datastore.schema,),
            )
            if rows and rows[0][0] == "NO":
                self.execute(c, "ALTER TABLE {t}event_ids ALTER COLUMN notification_id DROP NOT NULL")
                self.execute(c, f"ALTER TABLE {{t}}event_ids ADD COLUMN IF NOT EXISTS originator_id {TEXT}")
                self.execute(c, "ALTER TABLE {t}event_ids ADD COLUMN IF NOT EXISTS originator_version bigint")

    # A batch's transaction may write rows of its own before it takes the events table's
    # lock (`write_transaction(lock=False)`, then `lock_appends_in`).
    LOCKS_AT_BEGIN = False

    @contextmanager
    def write_transaction(self, lock: bool = True) -> Iterator[Cursor]:
        """One transaction that holds the events table's EXCLUSIVE lock from its start
        (or, `lock=False`, from `lock_appends_in`).

        The lock is eventsourcing's own (`_lock_table`, with its lock timeout): held
        while events are appended and until the commit, so their notification ids
        follow the commit order.
        """
        with self.datastore.get_connection() as connection, connection.transaction(), connection.cursor() as c:
            if lock:
                self.lock_appends_in(c)
            try:
                yield c
                self.finish_chain_in(c)  # the segment a chain worker was hashing
            except BaseException:
                self.abandon_chain_in(c)
                raise
            finally:
                self._locked_cursors.discard(id(c))  # before another cursor can take its id

    @contextmanager
    def publisher_lock(self) -> Iterator[None]:
        """Held while one `serve` worker publishes views: a session advisory lock, so
        workers publish one at a time and each sends newer records than the last (it
        is released with the connection if the process dies)."""
        with self.datastore.get_connection() as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", (_PUBLISHER_LOCK_KEY,))
            try:
                yield
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", (_PUBLISHER_LOCK_KEY,))

    def encode_append(
        self,
        stored_events: Sequence[StoredRow],
        pairs: Sequence[tuple[str, str]],
        events: Sequence | None = None,
        chain_parts: Sequence[tuple[Any, bytes]] | None = None,
    ) -> EncodedAppend:
        """What can be prepared of a batch's rows before the lock is taken: the COPY
        fields of the events and their `(source, id)` pairs but for the notification
        ids, and (given the event objects) their log entries but for their place in
        the chain. Under the lock only the ids and the chain's positions and hashes
        are added."""
        from engine.log_entries import entry_parts  # not at import: `billing --help` needs no hashlib

        pairs_row = row_start(4)
        return EncodedAppend(
            events=_event_fields(stored_events),
            pairs=[
                pairs_row + text_field(source) + text_field(event_id) + text_field(row.originator_id)
                + bigint_field(row.originator_version)
                for (source, event_id), row in zip(pairs, stored_events, strict=True)
            ],
            chain_parts=chain_parts
            if chain_parts is not None or events is None
            else [entry_parts(event) for event in events],
        )  # fmt: skip

    def insert_events_in(
        self,
        c: Cursor,
        stored_events: Sequence[StoredRow],
        events: Sequence | None = None,
        encoded: EncodedAppend | None = None,
    ) -> list[int]:
        """Appends events (with eventsourcing's table lock and NOTIFY, by COPY) and chains
        them (`events`: the event objects of the rows, if the caller has them)."""
        if not stored_events:
            return []
        parts = encoded.chain_parts if encoded is not None else None
        self.begin_chain_in(c, stored_events, events, self.max_notification_id_in(c), parts)
        if id(c) not in self._locked_cursors:  # a write transaction holds it already
            self.lock_appends_in(c)
        self._notify_channel(c)
        # The ids are drawn as one range (this transaction holds the table's lock, so no
        # other draws meanwhile) and the rows copied in binary with them: eventsourcing's
        # INSERT of an array of a composite type has psycopg render every state as
        # escaped text (measured: 3.0 of a batch's 6.7 s under the lock).
        count = len(stored_events)
        [(last,)] = self.rows(
            c, "SELECT setval(?::regclass, nextval(?::regclass) + ? - 1)", (*self._id_sequence(c), count)
        )
        ids = list(range(last - count + 1, last + 1))
        with _integrity_errors(), c.copy(self._copy_events_sql) as copy:  # another writer took a stream version
            copy.write(copy_data(encoded.events if encoded is not None else _event_fields(stored_events), ids))
            # While the server inserts the rows: the chain's hashes need no id, only positions.
            self.hash_prepared_chain_in(c)
        self.end_chain_in(c, ids)
        return ids

    # Pairs are written before the lock (`insert_taken_pairs_early`), naming their events
    # by stream and version; under it there is nothing left to write.
    WRITES_PAIRS_EARLY = True

    def insert_taken_pairs_early(self, c: Cursor, encoded: EncodedAppend) -> None:
        """Takes a batch's `(source, id)` pairs before the events table's lock: another
        writer taking one of them waits for this transaction, then fails on the key."""
        if encoded.pairs:
            with _integrity_errors(), c.copy(self._copy_taken_ids_sql) as copy:
                copy.write(copy_data(encoded.pairs))

    def select_taken_ids(self, c: Cursor, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The `(source, id)` pairs already recorded, with their events' notification ids
        (found by stream and version for pairs that name them so)."""
        ids_by_source: dict[str, list[str]] = {}
        for source, event_id in pairs:
            ids_by_source.setdefault(source, []).append(event_id)
        taken: dict[tuple[str, str], int] = {}
        for source, ids in ids_by_source.items():
            rows = self.rows(c, self._select_taken_sql, (source, ids))
            for event_id, nid in rows:
                if nid is None:
                    raise self.damaged(f"event_ids: ({source!r}, {event_id!r}) names an event the log lacks")
                taken[(source, event_id)] = nid
        return taken

    def _id_sequence(self, c: Cursor) -> tuple[str, str]:
        """The events table's notification id sequence (twice: the statement names it twice)."""
        if self._sequence is None:
            [(self._sequence,)] = self.rows(
                c, "SELECT pg_get_serial_sequence(?, 'notification_id')", (self.events_table,)
            )
        return self._sequence, self._sequence

    def lock_appends_in(self, c: Cursor) -> None:
        """Takes the events table's lock in a transaction begun with `lock=False`."""
        self._lock_table(c)
        self._locked_cursors.add(id(c))

    def lock_stream_versions(self, c: Cursor, customer_ids: Iterable[str]) -> dict[str, int]:
        """The stored versions of these streams' states, their rows locked until the
        commit (in one order, so two writers wanting the same rows queue, not deadlock)."""
        with _integrity_errors():
            rows = self.rows(
                c,
                "SELECT customer_id, version FROM {t}customer_states WHERE customer_id = ANY(?) "
                "ORDER BY customer_id FOR UPDATE",
                (sorted(customer_ids),),
            )
        return dict(rows)

    def upsert_customer_states(self, c: Cursor, rows: list[tuple[str, int, bytes]]) -> None:
        if rows:
            customers, versions, states = zip(*sorted(rows), strict=True)
            with _integrity_errors():
                c.execute(self._upsert_states_sql, (list(customers), list(versions), list(states)))


class LedgerPostgresFactory(PostgresFactory):
    """PostgreSQL persistence with the ledger's recorder (chosen by PERSISTENCE_MODULE)."""

    application_recorder_class = LedgerPostgresRecorder
    tracking_recorder_class = PostgresTrackingRecorder

    def __init__(self, env):
        super().__init__(env)
        # libpq parameters beyond eventsourcing's five (sslmode, application_name, …),
        # from the store URL's query, added before the pool opens its connections.
        options = dict(parse_qsl(self.env.get("BILLING_POSTGRES_OPTIONS") or "", keep_blank_values=True))
        self.datastore.pool.kwargs.update(options)
        # An empty host, port, user or password leaves libpq its default (the Unix socket,
        # 5432, the login name, no password), as in a libpq URL that leaves them out.
        for key in ("host", "port", "user", "password", "dbname"):
            if self.datastore.pool.kwargs.get(key) in ("", None):
                self.datastore.pool.kwargs.pop(key, None)


Factory = LedgerPostgresFactory


def _event_fields(stored_events: Sequence[StoredRow]) -> list[bytes]:
    """The COPY fields of events but for their notification ids (engine.store.pg_copy)."""
    events_row = row_start(5)
    return [
        events_row + text_field(row.originator_id) + bigint_field(row.originator_version)
        + text_field(row.topic) + bytes_field(row.state)
        for row in stored_events
    ]  # fmt: skip
