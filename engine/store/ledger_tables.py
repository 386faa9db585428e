"""The ledger's own tables, written once for every backend.

The recorders (`sqlite.py`, `postgres.py`) differ in their DDL, in how they take the
write lock and append events, and in a few SQL primitives (`SQLDialect`): placeholders,
table names (PostgreSQL qualifies them with the store's schema), the notification id
column and how rows are read. Everything else — which rows are read and written, how
IN lists are chunked and grouped — lives here, so the two backends behave alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from engine.store.log_chain import LogChainTables
from engine.store.rows import PendingRejection, RejectionRow

CHUNK = 300  # bound parameters per IN (...) list; well under either backend's limit


class SQLDialect:
    """SQL primitives a backend provides. SQL text is written with `?` placeholders
    and `{t}` before each of the store's own table names."""

    table_prefix = ""  # "" (SQLite) or '"schema".' (PostgreSQL)
    # Column types of the features' portable DDL (`engine.store.feature_tables`).
    ddl_types: ClassVar[dict[str, str]] = {}

    def damaged(self, problem: str) -> Exception:
        """The error for a store found inconsistent with itself (e.g. a damaged page a
        read did not fail on), as this backend's driver would say it."""
        return RuntimeError(f"the store is inconsistent: {problem}")

    def sql(self, text: str) -> str:
        """The statement in this backend's placeholder style, with table names qualified."""
        return text.replace("{t}", self.table_prefix)

    def ddl(self, template: str) -> str:
        """A feature's portable DDL (`{key}`, `{int}`, `{blob}`, `{serial}` for column
        types, `{t}` before table names) in this backend's SQL."""
        return template.format(t=self.table_prefix, **self.ddl_types)

    def rows(self, c: Any, text: str, params: Sequence = ()) -> list[tuple]:
        raise NotImplementedError

    def execute(self, c: Any, text: str, params: Sequence = ()) -> None:
        raise NotImplementedError

    def executemany(self, c: Any, text: str, rows: Sequence[Sequence]) -> None:
        raise NotImplementedError

    def has_table(self, c: Any, name: str) -> bool:
        """Whether the store's schema holds a table of this name."""
        raise NotImplementedError

    def table_exists_in(self, c: Any, name: str) -> bool:
        raise NotImplementedError

    def integrity_problems_in(self, c: Any) -> list[str]:
        """What the database's own integrity check finds (nothing: none, or no such check)."""
        return []

    @contextmanager
    def read_transaction(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
            yield cursor

    @contextmanager
    def snapshot_transaction(self) -> Iterator[Any]:
        """A read transaction whose statements all see one committed state, without
        taking any lock a writer waits for (SQLite's WAL read transactions do so)."""
        with self.read_transaction() as cursor:
            yield cursor


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(count: int) -> str:
    return ",".join("?" * count)


_REJECTION_COLUMNS = "seq, arrived, source, id, type, reason, message, raw, accepted"


class LedgerTables(LogChainTables, SQLDialect):
    """Reads and writes of `event_ids`, `customer_states`, `rejections`,
    `consumer_positions`, `log_chain` and the events table, inside the caller's
    transaction."""

    events_table = ""  # the events table's (qualified) name
    notification_id_column = ""  # "rowid" (SQLite) or "notification_id" (PostgreSQL)

    def create_table(self) -> None:
        """Creates the tables (a write open), then chains any events stored before the
        chain existed, so statements' heads and new positions follow them."""
        super().create_table()  # type: ignore[misc]
        self.chain_unchained()

    def select_taken_ids(self, c: Any, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The `(source, id)` pairs already recorded, with their notification ids."""
        # Grouped by source so each query is `source=? AND id IN (…)`, which walks the
        # primary key; a batch has few sources. (A row-value IN list is not indexed.)
        ids_by_source: dict[str, list[str]] = {}
        for source, event_id in pairs:
            ids_by_source.setdefault(source, []).append(event_id)
        taken: dict[tuple[str, str], int] = {}
        for source, ids in ids_by_source.items():
            for chunk in chunks(ids):
                rows = self.rows(
                    c,
                    f"SELECT id, notification_id FROM {{t}}event_ids WHERE source=? AND id IN ({marks(len(chunk))})",
                    [source, *chunk],
                )
                taken.update({(source, row[0]): row[1] for row in rows})
        return taken

    def encode_append(
        self,
        stored_events: Sequence,
        pairs: Sequence[tuple[str, str]],
        events: Sequence | None = None,
        chain_parts: Sequence[tuple[Any, bytes]] | None = None,
    ) -> Any:
        """What a backend can encode of a batch's rows before it holds the write lock
        (PostgreSQL: its COPY fields; here: nothing but `chain_parts`, the entries
        rendered ahead by another process, `log_entries.entry_parts`, if given)."""
        return chain_parts

    WRITES_PAIRS_EARLY = False  # a backend that takes a batch's pairs before the lock says so

    def insert_taken_ids(
        self, c: Any, pairs: Sequence[tuple[str, str]], notification_ids: Sequence[int], encoded: Any = None
    ) -> None:
        """Remembers the `(source, id)` pairs of events stored at these notification ids."""
        rows = [(source, event_id, nid) for (source, event_id), nid in zip(pairs, notification_ids, strict=True)]
        self.executemany(c, "INSERT INTO {t}event_ids (source, id, notification_id) VALUES (?,?,?)", rows)

    def select_state_of_notification(self, c: Any, notification_id: int) -> tuple[str, bytes]:
        """The topic and stored state of one recorded event."""
        rows = self.rows(
            c,
            f"SELECT topic, state FROM {self.events_table} WHERE {self.notification_id_column}=?",
            (notification_id,),
        )
        if not rows:
            raise self.damaged(f"event_ids names notification {notification_id}, which the log lacks")
        return rows[0][0], bytes(rows[0][1])

    def select_states_of_notifications(self, c: Any, notification_ids: list[int]) -> dict[int, tuple[str, bytes]]:
        """The topic and stored state of several recorded events, by notification id."""
        nid = self.notification_id_column
        found: dict[int, tuple[str, bytes]] = {}
        for chunk in chunks(notification_ids):
            rows = self.rows(
                c,
                f"SELECT {nid}, topic, state FROM {self.events_table} WHERE {nid} IN ({marks(len(chunk))})",
                chunk,
            )
            found.update({row[0]: (row[1], bytes(row[2])) for row in rows})
        missing = set(notification_ids) - found.keys()
        if missing:
            raise self.damaged(f"event_ids names notification {min(missing)}, which the log lacks")
        return found

    def select_customer_states(self, c: Any, customer_ids: Iterable[str]) -> dict[str, tuple[int, bytes]]:
        states: dict[str, tuple[int, bytes]] = {}
        for chunk in chunks(list(customer_ids)):
            rows = self.rows(
                c,
                "SELECT customer_id, version, state FROM {t}customer_states "
                f"WHERE customer_id IN ({marks(len(chunk))})",
                chunk,
            )
            states.update({row[0]: (row[1], bytes(row[2])) for row in rows})
        return states

    def select_stream_versions(self, c: Any, customer_ids: Iterable[str]) -> dict[str, int]:
        """The stored decision state's version of each of these streams that has one."""
        versions: dict[str, int] = {}
        for chunk in chunks(list(customer_ids)):
            where = f"customer_id IN ({marks(len(chunk))})"
            rows = self.rows(c, f"SELECT customer_id, version FROM {{t}}customer_states WHERE {where}", chunk)
            versions.update(rows)
        return versions

    def lock_appends_in(self, c: Any) -> None:
        """Takes the lock appends need, in a transaction begun with `write_transaction(lock=False)`
        (a backend whose write transactions lock from their start has nothing to do)."""

    def lock_stream_versions(self, c: Any, customer_ids: Iterable[str]) -> dict[str, int]:
        """The stored versions of these streams' states, their rows locked until the commit
        where the backend locks rows (a write transaction holding the whole store needs not)."""
        return self.select_stream_versions(c, customer_ids)

    def upsert_customer_states(self, c: Any, rows: list[tuple[str, int, bytes]]) -> None:
        self.executemany(
            c,
            "INSERT INTO {t}customer_states VALUES (?,?,?) ON CONFLICT (customer_id) "
            "DO UPDATE SET version=excluded.version, state=excluded.state",
            rows,
        )

    def insert_rejections(self, c: Any, rows: list[PendingRejection]) -> None:
        self.executemany(
            c,
            "INSERT INTO {t}rejections (arrived, source, id, type, reason, message, raw, origin) "
            "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (origin) DO NOTHING",
            [(r.arrived, r.source, r.id, r.type, r.reason, r.message, r.raw, r.origin) for r in rows],
        )

    def update_rejections(self, c: Any, rows: list[tuple[int, str, str]]) -> None:
        """Re-judged and still rejected: (seq, reason, message) of the latest judgement."""
        self.executemany(
            c,
            "UPDATE {t}rejections SET reason=?, message=? WHERE seq=?",
            [(reason, message, seq) for seq, reason, message in rows],
        )

    def mark_rejections_accepted(self, c: Any, rows: list[tuple[int, str]]) -> None:
        """Re-judged and now accepted (or found already recorded): (seq, when)."""
        self.executemany(c, "UPDATE {t}rejections SET accepted=? WHERE seq=?", [(when, seq) for seq, when in rows])

    def select_rejections(self, *, reason: str | None = None, pending_only: bool = False) -> list[RejectionRow]:
        statement = f"SELECT {_REJECTION_COLUMNS} FROM {{t}}rejections"
        conditions, params = [], []
        if reason is not None:
            conditions.append("reason=?")
            params.append(reason)
        if pending_only:
            conditions.append("accepted IS NULL")
        if conditions:
            statement += " WHERE " + " AND ".join(conditions)
        with self.read_transaction() as c:
            return [_rejection(row) for row in self.rows(c, statement + " ORDER BY seq", params)]

    def select_kafka_rejections_after(self, seq: int, limit: int) -> list[RejectionRow]:
        """Rejections of lines that came from Kafka, after a sequence number."""
        with self.read_transaction() as c:
            rows = self.rows(
                c,
                f"SELECT {_REJECTION_COLUMNS} FROM {{t}}rejections "
                "WHERE seq>? AND origin IS NOT NULL ORDER BY seq LIMIT ?",
                (seq, limit),
            )
            return [_rejection(row) for row in rows]

    def select_notifications_in(
        self, c: Any, after: int, limit: int, before: int | None = None
    ) -> list[tuple[int, str, bytes]]:
        """(notification id, topic, state) of the events after a position (and before
        another, if given), in log order. Ids may have gaps: never count on them."""
        nid = self.notification_id_column
        bound = f" AND {nid}<?" if before is not None else ""
        rows = self.rows(
            c,
            f"SELECT {nid}, topic, state FROM {self.events_table} WHERE {nid}>?{bound} ORDER BY {nid} LIMIT ?",
            (after, before, limit) if before is not None else (after, limit),
        )
        if rows and type(rows[0][2]) is not bytes:  # a driver's buffer type: copy to bytes
            return [(row[0], row[1], bytes(row[2])) for row in rows]
        return rows

    def max_notification_id_in(self, c: Any) -> int:
        return self.rows(c, f"SELECT MAX({self.notification_id_column}) FROM {self.events_table}")[0][0] or 0

    def max_version_in(self, c: Any, stream: str) -> int:
        """The latest version of a stream in the log (0: none yet)."""
        rows = self.rows(c, f"SELECT MAX(originator_version) FROM {self.events_table} WHERE originator_id=?", (stream,))
        return rows[0][0] or 0

    def count_events(self) -> int:
        with self.read_transaction() as c:
            return self.rows(c, f"SELECT COUNT(*) FROM {self.events_table}")[0][0]

    def select_positions(self, c: Any, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """The next offset to read of each (topic, partition) recorded so far."""
        positions: dict[tuple[str, int], int] = {}
        for topic, partition in partitions:
            rows = self.rows(
                c, "SELECT next_offset FROM {t}consumer_positions WHERE topic=? AND partition=?", (topic, partition)
            )
            if rows:
                positions[(topic, partition)] = rows[0][0]
        return positions

    def upsert_positions(self, c: Any, positions: dict[tuple[str, int], int]) -> None:
        self.executemany(
            c,
            "INSERT INTO {t}consumer_positions VALUES (?,?,?) ON CONFLICT (topic, partition) "
            "DO UPDATE SET next_offset=excluded.next_offset",
            [(topic, partition, offset) for (topic, partition), offset in positions.items()],
        )


def _rejection(row: Sequence) -> RejectionRow:
    values = list(row)
    values[7] = bytes(values[7])
    return RejectionRow(*values)
