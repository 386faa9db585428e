"""The statements' tables: closes, statements, their status history and the carried tally.

Written only by the inline projection of the close and statement events
(`engine.statements.projection`), in the transaction that records them, so they follow
the log on every backend. Amounts are decimal text of 10⁻⁸ integers (sums may pass 2⁶³).
Every function takes a `db` with the `Decision` primitives (`rows`, `execute`,
`executemany`: `?` placeholders, `{t}` before table names).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

DDL = [
    "CREATE TABLE IF NOT EXISTS {t}statement_closes (period {key} NOT NULL PRIMARY KEY, closed_at {text} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {t}statements (period {key} NOT NULL, partner_id {key} NOT NULL, "
    "status {text} NOT NULL, issued_at {text} NOT NULL, total_payable {text} NOT NULL, "
    "total_settled {text} NOT NULL, digest {text} NOT NULL, body {text} NOT NULL, PRIMARY KEY (period, partner_id))",
    "CREATE TABLE IF NOT EXISTS {t}statement_history (period {key} NOT NULL, partner_id {key} NOT NULL, "
    "version {int} NOT NULL, status {text} NOT NULL, at_time {text} NOT NULL, reason {text}, "
    "PRIMARY KEY (period, partner_id, version))",
    # One row per statement that carried charges of (partner, period, customer): the
    # tally of what statements carried is their sum.
    "CREATE TABLE IF NOT EXISTS {t}statement_carried (partner_id {key} NOT NULL, period {key} NOT NULL, "
    "customer_id {key} NOT NULL, statement_period {key} NOT NULL, payable {text} NOT NULL, "
    "settled {text} NOT NULL, charges {int} NOT NULL, "
    "PRIMARY KEY (partner_id, period, customer_id, statement_period))",
]


class Db(Protocol):
    def rows(self, text: str, params: Sequence = ()) -> list[tuple]: ...

    def execute(self, text: str, params: Sequence = ()) -> None: ...

    def executemany(self, text: str, rows: Sequence[Sequence]) -> None: ...


class StoreReader:
    """The `Db` primitives on a recorder's cursor (a read transaction)."""

    def __init__(self, recorder: Any, cursor: Any):
        self.recorder, self.cursor = recorder, cursor

    def rows(self, text: str, params: Sequence = ()) -> list[tuple]:
        return self.recorder.rows(self.cursor, text, params)

    def execute(self, text: str, params: Sequence = ()) -> None:
        self.recorder.execute(self.cursor, text, params)

    def executemany(self, text: str, rows: Sequence[Sequence]) -> None:
        self.recorder.executemany(self.cursor, text, rows)


@contextmanager
def reading(recorder: Any) -> Iterator[StoreReader]:
    with recorder.read_transaction() as cursor:
        yield StoreReader(recorder, cursor)


def tables_present(db: Db, recorder: Any) -> bool:
    """Whether the store has these tables (one written before they existed has not,
    until its next write opens it for writing)."""
    prefix = getattr(recorder, "table_prefix", "")
    if prefix:  # PostgreSQL: a schema-qualified name
        return db.rows("SELECT to_regclass(?) IS NOT NULL", (f"{prefix}statement_closes",))[0][0]
    return bool(db.rows("SELECT 1 FROM sqlite_master WHERE type='table' AND name='statement_closes'"))


# Closes.


def closes(db: Db) -> dict[str, str]:
    """Every closed period and when it closed."""
    return dict(db.rows("SELECT period, closed_at FROM {t}statement_closes"))


def last_close(db: Db) -> tuple[str, str] | None:
    rows = db.rows("SELECT period, closed_at FROM {t}statement_closes ORDER BY period DESC LIMIT 1")
    return (rows[0][0], rows[0][1]) if rows else None


def last_closed_at(db: Db) -> str | None:
    return db.rows("SELECT MAX(closed_at) FROM {t}statement_closes")[0][0]


def insert_close(db: Db, period: str, closed_at: str) -> None:
    db.execute("INSERT INTO {t}statement_closes VALUES (?,?)", (period, closed_at))


# The carried tally.


def carried_tally(db: Db, up_to: str) -> dict[tuple[str, str, str], list[int]]:
    """(partner, period, customer) -> [payable, settled, charges] carried so far, for periods up to `up_to`."""
    tally: dict[tuple[str, str, str], list[int]] = {}
    for partner_id, period, customer_id, payable, settled, charges in db.rows(
        "SELECT partner_id, period, customer_id, payable, settled, charges FROM {t}statement_carried WHERE period<=?",
        (up_to,),
    ):
        sums = tally.setdefault((partner_id, period, customer_id), [0, 0, 0])
        sums[0] += int(payable)
        sums[1] += int(settled)
        sums[2] += charges
    return tally


def insert_carried(db: Db, rows: list[tuple[str, str, str, str, int, int, int]]) -> None:
    """(partner, period, customer, statement period, payable, settled, charges) rows."""
    db.executemany(
        "INSERT INTO {t}statement_carried VALUES (?,?,?,?,?,?,?)",
        [(*row[:4], str(row[4]), str(row[5]), row[6]) for row in rows],
    )


# Statements and their history.

STATEMENT_COLUMNS = "period, partner_id, status, issued_at, total_payable, total_settled, digest, body"


def insert_statement(db: Db, row: tuple[str, str, str, str, str, str, str, str]) -> None:
    db.execute(f"INSERT INTO {{t}}statements ({STATEMENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", row)


def set_status(db: Db, period: str, partner_id: str, status: str) -> None:
    db.execute("UPDATE {t}statements SET status=? WHERE period=? AND partner_id=?", (status, period, partner_id))


def insert_step(db: Db, period: str, partner_id: str, version: int, status: str, at: str, reason: str | None) -> None:
    db.execute(
        "INSERT INTO {t}statement_history VALUES (?,?,?,?,?,?)", (period, partner_id, version, status, at, reason)
    )


def statement_row(db: Db, partner_id: str, period: str) -> tuple | None:
    rows = db.rows(
        f"SELECT {STATEMENT_COLUMNS} FROM {{t}}statements WHERE period=? AND partner_id=?", (period, partner_id)
    )
    return rows[0] if rows else None


def statement_rows(
    db: Db, partner_id: str | None = None, period: str | None = None, status: str | None = None
) -> list[tuple]:
    """Statements (without body) matching the filters given."""
    conditions, params = [], []
    for column, value in (("partner_id", partner_id), ("period", period), ("status", status)):
        if value is not None:
            conditions.append(f"{column}=?")
            params.append(value)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return db.rows(
        "SELECT period, partner_id, status, issued_at, total_payable, total_settled FROM {t}statements" + where, params
    )


def history(
    db: Db, partner_id: str, period: str, up_to_version: int | None = None
) -> list[tuple[int, str, str, str | None]]:
    """(version, status, at, reason) of a statement, oldest first."""
    rows = db.rows(
        "SELECT version, status, at_time, reason FROM {t}statement_history WHERE period=? AND partner_id=? "
        "ORDER BY version",
        (period, partner_id),
    )
    return [row for row in rows if up_to_version is None or row[0] <= up_to_version]
