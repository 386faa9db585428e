"""The raw limit: plain `sqlite3` inserting the rows in one transaction, nothing else.

The table, statement and journal mode are those of eventsourcing 9.5.6's
`SQLiteApplicationRecorder` (a rowid table with the stream's primary key, WAL, SQLite's
default synchronous setting, as the engine leaves it). The rows are built in memory
before the clock starts, so only `executemany` and the commit are timed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

import msgspec

CREATE_TABLE = (
    "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
    "state BLOB, PRIMARY KEY (originator_id, originator_version))"
)
INSERT = "INSERT INTO stored_events VALUES (?,?,?,?)"
Row = tuple[str, int, str, bytes]

# The recorded-event topic the engine stores for each inbound type.
_TOPICS = {
    "customer.associated": "schemas.recorded:CustomerAssociated",
    "customer.disassociated": "schemas.recorded:CustomerDisassociated",
    "discount.granted": "schemas.recorded:DiscountGranted",
    "discount.revoked": "schemas.recorded:DiscountRevoked",
}
_CHARGE_TOPIC = "schemas.recorded:ChargeRecorded"


class _Data(msgspec.Struct):
    customer_id: str = ""


class _Head(msgspec.Struct):
    type: str = ""
    data: _Data = msgspec.field(default_factory=_Data)


def line_rows(log_path: str) -> list[Row]:
    """One row per line: (customer id, its next version, the engine's topic, the line's bytes)."""
    decode = msgspec.json.Decoder(_Head).decode
    versions: dict[str, int] = {}
    rows: list[Row] = []
    with open(log_path, "rb") as file:
        for raw in file:
            line = raw.rstrip(b"\n")
            try:
                head = decode(line)
                customer, kind = head.data.customer_id, head.type
            except msgspec.DecodeError:
                customer, kind = "", ""
            version = versions[customer] = versions.get(customer, 0) + 1
            rows.append((customer, version, _TOPICS.get(kind, _CHARGE_TOPIC), line))
    return rows


def engine_rows(store_path: Path) -> list[Row]:
    """The rows the engine stored, exactly, in log order."""
    with closing(sqlite3.connect(f"{store_path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
        return connection.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid"
        ).fetchall()


def insert_seconds(rows: Iterable[Row], path: Path, batch: int | None = None) -> float:
    """Seconds to insert the rows into a fresh WAL database and commit: in one
    transaction, or in one transaction per `batch` rows."""
    rows = list(rows)
    size = batch or max(len(rows), 1)
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(CREATE_TABLE)
        start = time.perf_counter()
        for first in range(0, len(rows), size):
            connection.execute("BEGIN")
            connection.executemany(INSERT, rows[first : first + size])
            connection.execute("COMMIT")
        seconds = time.perf_counter() - start
        (stored,) = connection.execute("SELECT COUNT(*) FROM stored_events").fetchone()
    if stored != len(rows):
        raise RuntimeError(f"raw insert stored {stored} of {len(rows)} rows")
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    return seconds


def best_rate(rows: list[Row], path: Path, repeats: int) -> tuple[float, list[float]]:
    """Rows per second of the fastest of `repeats` inserts (a limit is the best the machine does)."""
    runs = [insert_seconds(rows, path) for _ in range(repeats)]
    return len(rows) / min(runs), runs


def mean_state_bytes(rows: list[Row]) -> float:
    return sum(len(row[3]) for row in rows) / max(len(rows), 1)
