"""The scale-out step's store yardstick: plain psycopg putting the rows the engine
stored into a table of the same shape, and nothing else.

The rows are the events table's exactly (`originator_id, originator_version, topic,
state`, read from a finished run's database in notification order, before the clock
starts); they go into a fresh table of the same shape (the stream's primary key, a
`bigserial` notification id with its unique index) on the same server, one connection,
`batch` rows a transaction as `billing serve` commits them, twice: by binary COPY with
the rows encoded before the clock (as the ledger encodes them before its lock,
engine/store/pg_copy.py), the limit; and by psycopg's pipelined `executemany` of
INSERTs, for reference. No judging, no deciding, no `(source, id)` pairs, states or
positions: the most one writer could put into that table.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg

from engine.store.pg_copy import SIGNATURE, TRAILER, bigint_field, bytes_field, text_field

EVENTS_TABLE = "billingledger_events"  # the ledger's events table on PostgreSQL
_RAW_TABLE = "bench_raw_events"
_COLUMNS = "originator_id, originator_version, topic, state"
_CREATE = (
    f"CREATE TABLE {_RAW_TABLE} (originator_id text NOT NULL, originator_version bigint NOT NULL, "
    "topic text NOT NULL, state bytea NOT NULL, notification_id bigserial, "
    "PRIMARY KEY (originator_id, originator_version))",
    f"CREATE UNIQUE INDEX {_RAW_TABLE}_notification_id_idx ON {_RAW_TABLE} (notification_id)",
)
_INSERT = f"INSERT INTO {_RAW_TABLE} ({_COLUMNS}) VALUES (%s, %s, %s, %s)"
_COPY = f"COPY {_RAW_TABLE} ({_COLUMNS}) FROM STDIN (FORMAT binary)"
_FIELDS = b"\x00\x04"  # four fields a row


def raw_insert(dsn: str, batch: int) -> dict:
    """Puts the events `dsn`'s store holds into a fresh table beside them, `batch` rows a
    transaction, by COPY and by INSERTs; the rows, seconds and rows/s of each (`rows_per_s`:
    COPY's). The table is dropped after."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
        rows = connection.execute(f"SELECT {_COLUMNS} FROM {EVENTS_TABLE} ORDER BY notification_id").fetchall()
        batches = [rows[first : first + batch] for first in range(0, len(rows), batch)]
        copies = [_copy_data(part) for part in batches]

        def copy(cursor: psycopg.Cursor, index: int) -> None:
            with cursor.copy(_COPY) as feed:
                feed.write(copies[index])

        def insert(cursor: psycopg.Cursor, index: int) -> None:
            cursor.executemany(_INSERT, batches[index])

        copy_seconds = _timed(connection, len(batches), copy, len(rows))
        insert_seconds = _timed(connection, len(batches), insert, len(rows))
    return {
        "rows": len(rows),
        "batch_rows": batch,
        "mean_state_bytes": sum(len(row[3]) for row in rows) / max(len(rows), 1),
        "copy_seconds": copy_seconds,
        "rows_per_s": len(rows) / copy_seconds if copy_seconds > 0 else None,
        "executemany_seconds": insert_seconds,
        "executemany_rows_per_s": len(rows) / insert_seconds if insert_seconds > 0 else None,
    }


def _copy_data(rows: list[tuple]) -> bytes:
    body = b"".join(
        _FIELDS + text_field(origin) + bigint_field(version) + text_field(topic) + bytes_field(state)
        for origin, version, topic, state in rows
    )
    return SIGNATURE + body + TRAILER


def _timed(connection: psycopg.Connection, batches: int, write: Callable, expected: int) -> float:
    """Seconds to write every batch into a fresh raw table, a transaction each."""
    connection.execute(f"DROP TABLE IF EXISTS {_RAW_TABLE}")
    for statement in _CREATE:
        connection.execute(statement)
    try:
        start = time.perf_counter()
        for index in range(batches):
            with connection.transaction(), connection.cursor() as cursor:
                write(cursor, index)
        seconds = time.perf_counter() - start
        (stored,) = connection.execute(f"SELECT COUNT(*) FROM {_RAW_TABLE}").fetchone()
    finally:
        connection.execute(f"DROP TABLE IF EXISTS {_RAW_TABLE}")
    if stored != expected:
        raise RuntimeError(f"the raw PostgreSQL insert stored {stored} of {expected} rows")
    return seconds
