"""The scale-out step's store yardstick: plain psycopg inserting the rows the engine
stored, and nothing else.

The rows are the events table's exactly (`originator_id, originator_version, topic,
state`, read from a finished run's database in notification order, before the clock
starts); they go into a fresh table of the same shape (the stream's primary key, a
`bigserial` notification id with its unique index) on the same server, one connection,
`batch` rows a transaction as `billing serve` commits them (psycopg's `executemany`,
pipelined). No judging, no deciding, no `(source, id)` pairs, states or positions: the
most one writer could put into that table.
"""

from __future__ import annotations

import time

import psycopg

EVENTS_TABLE = "billingledger_events"  # the ledger's events table on PostgreSQL
_RAW_TABLE = "bench_raw_events"
_CREATE = (
    f"CREATE TABLE {_RAW_TABLE} (originator_id text NOT NULL, originator_version bigint NOT NULL, "
    "topic text NOT NULL, state bytea NOT NULL, notification_id bigserial, "
    "PRIMARY KEY (originator_id, originator_version))",
    f"CREATE UNIQUE INDEX {_RAW_TABLE}_notification_id_idx ON {_RAW_TABLE} (notification_id)",
)
_INSERT = f"INSERT INTO {_RAW_TABLE} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"


def raw_insert(dsn: str, batch: int) -> dict:
    """Inserts the events `dsn`'s store holds into a fresh table beside them, `batch` rows
    a transaction; returns the rows, seconds and rows/s. The table is dropped after."""
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
        rows = connection.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} ORDER BY notification_id"
        ).fetchall()
        connection.execute(f"DROP TABLE IF EXISTS {_RAW_TABLE}")
        for statement in _CREATE:
            connection.execute(statement)
        try:
            start = time.perf_counter()
            for first in range(0, len(rows), batch):
                with connection.transaction(), connection.cursor() as cursor:
                    cursor.executemany(_INSERT, rows[first : first + batch])
            seconds = time.perf_counter() - start
            (stored,) = connection.execute(f"SELECT COUNT(*) FROM {_RAW_TABLE}").fetchone()
        finally:
            connection.execute(f"DROP TABLE IF EXISTS {_RAW_TABLE}")
    if stored != len(rows):
        raise RuntimeError(f"the raw PostgreSQL insert stored {stored} of {len(rows)} rows")
    return {
        "rows": len(rows),
        "batch_rows": batch,
        "mean_state_bytes": sum(len(row[3]) for row in rows) / max(len(rows), 1),
        "seconds": seconds,
        "rows_per_s": len(rows) / seconds if seconds > 0 else None,
    }
