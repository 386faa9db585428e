"""The ledger's tables and their SQL, on every backend (portable DDL, `?` placeholders,
`{t}` before table names; see `engine.store.feature_tables`).

Amounts are stored as decimal text of integer 10⁻⁸ units: a transfer may be up to
999999999999, which in 10⁻⁸ units outgrows a 64-bit integer column, and sums grow
further. The engine reads and adds them in Python, never in SQL.

Everything is read and written through an `Sql` (an engine `Decision`, or a `Reader`
on a read transaction), so a decision's reads and writes share its transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import msgspec

from engine.accounts.rules import Balances, PaymentRecord, TransferRecord
from engine.store.ledger_tables import chunks, marks

DDL = [
    "CREATE TABLE IF NOT EXISTS {t}ledger_accounts (account {key} PRIMARY KEY, partner_id {key}, "
    "debits_posted {text} NOT NULL, credits_posted {text} NOT NULL, "
    "debits_pending {text} NOT NULL, credits_pending {text} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {t}ledger_transfers (seq {serial}, id {key} NOT NULL UNIQUE, "
    "kind {key} NOT NULL, partner_id {key} NOT NULL, debit {key} NOT NULL, credit {key} NOT NULL, "
    "amount {text} NOT NULL, status {key} NOT NULL, at {text} NOT NULL, note {text}, "
    "UNIQUE (partner_id, seq))",
    "CREATE TABLE IF NOT EXISTS {t}payment_applications (seq {serial}, id {key} NOT NULL UNIQUE, "
    "partner_id {key} NOT NULL, amount {text} NOT NULL, status {key} NOT NULL, history {text} NOT NULL, "
    "UNIQUE (partner_id, seq))",
    # Thresholds and the edge state of each partner's balance warning: not logged (§11).
    "CREATE TABLE IF NOT EXISTS {t}balance_warnings (partner_id {key} PRIMARY KEY, below {text}, low {int} NOT NULL)",
    # `once_key` makes a notification that happens once per subject (a payment step, an
    # issued statement) unique; a balance warning may recur and has none.
    "CREATE TABLE IF NOT EXISTS {t}partner_notifications (seq {serial}, type {key} NOT NULL, "
    "partner_id {key} NOT NULL, at {text} NOT NULL, data {text} NOT NULL, once_key {key} UNIQUE, "
    "UNIQUE (partner_id, seq))",
]

_TRANSFER_COLUMNS = "id, kind, partner_id, debit, credit, amount, status, at, note"
_HISTORY = msgspec.json.Encoder()
_HISTORY_DECODER = msgspec.json.Decoder(list[tuple[str, str, str | None]])


class Sql(Protocol):
    def rows(self, text: str, params: Sequence = ()) -> list[tuple]: ...

    def execute(self, text: str, params: Sequence = ()) -> None: ...

    def executemany(self, text: str, rows: Sequence[Sequence]) -> None: ...


class Reader:
    """An `Sql` for reads: the store's primitives on a read transaction's cursor."""

    def __init__(self, recorder: Any, cursor: Any):
        self.recorder, self.cursor = recorder, cursor

    def rows(self, text: str, params: Sequence = ()) -> list[tuple]:
        return self.recorder.rows(self.cursor, text, params)


def _in(sql: Sql, select: str, keys: Iterable[str]) -> list[tuple]:
    """Rows of `select … IN ({marks})` over `keys`, a chunk at a time."""
    found: list[tuple] = []
    for chunk in chunks(sorted(set(keys))):
        found += sql.rows(select.format(marks=marks(len(chunk))), chunk)
    return found


# --- accounts ----------------------------------------------------------------------------


def _balances(row: Sequence) -> Balances:
    return Balances(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def load_accounts(sql: Sql, names: Iterable[str]) -> dict[str, Balances]:
    rows = _in(
        sql,
        "SELECT account, debits_posted, credits_posted, debits_pending, credits_pending "
        "FROM {{t}}ledger_accounts WHERE account IN ({marks})",
        names,
    )
    return {row[0]: _balances(row[1:]) for row in rows}


def all_accounts(sql: Sql) -> dict[str, Balances]:
    rows = sql.rows(
        "SELECT account, debits_posted, credits_posted, debits_pending, credits_pending FROM {t}ledger_accounts"
    )
    return {row[0]: _balances(row[1:]) for row in rows}


def save_accounts(sql: Sql, accounts: dict[str, Balances], partner_of) -> None:
    sql.executemany(
        "INSERT INTO {t}ledger_accounts (account, partner_id, debits_posted, credits_posted, debits_pending, "
        "credits_pending) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account) DO UPDATE SET "
        "debits_posted=excluded.debits_posted, credits_posted=excluded.credits_posted, "
        "debits_pending=excluded.debits_pending, credits_pending=excluded.credits_pending",
        [
            (
                name,
                partner_of(name),
                str(b.debits_posted),
                str(b.credits_posted),
                str(b.debits_pending),
                str(b.credits_pending),
            )
            for name, b in sorted(accounts.items())
        ],
    )


# --- transfers ---------------------------------------------------------------------------


def _transfer(row: Sequence) -> TransferRecord:
    return TransferRecord(row[0], row[1], row[2], row[3], row[4], int(row[5]), row[6], row[7], row[8])


def load_transfers(sql: Sql, ids: Iterable[str]) -> dict[str, TransferRecord]:
    rows = _in(sql, f"SELECT {_TRANSFER_COLUMNS} FROM {{{{t}}}}ledger_transfers WHERE id IN ({{marks}})", ids)
    return {row[0]: _transfer(row) for row in rows}


def list_transfers(sql: Sql, partner_id: str | None) -> list[TransferRecord]:
    where, params = ("WHERE partner_id=?", (partner_id,)) if partner_id is not None else ("", ())
    rows = sql.rows(f"SELECT {_TRANSFER_COLUMNS} FROM {{t}}ledger_transfers {where} ORDER BY seq", params)
    return [_transfer(row) for row in rows]


def insert_transfers(sql: Sql, transfers: Sequence[TransferRecord]) -> None:
    sql.executemany(
        f"INSERT INTO {{t}}ledger_transfers ({_TRANSFER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (t.id, t.kind, t.partner_id, t.debit, t.credit, str(t.amount_units), t.status, t.at, t.note)
            for t in transfers
        ],
    )


def update_transfer_statuses(sql: Sql, transfers: Sequence[TransferRecord]) -> None:
    sql.executemany("UPDATE {t}ledger_transfers SET status=? WHERE id=?", [(t.status, t.id) for t in transfers])


# --- payment applications ------------------------------------------------------------------

_PAYMENT_COLUMNS = "id, partner_id, amount, status, history"


def _payment(row: Sequence) -> PaymentRecord:
    return PaymentRecord(row[0], row[1], int(row[2]), row[3], list(_HISTORY_DECODER.decode(row[4])))


def load_payments(sql: Sql, ids: Iterable[str]) -> dict[str, PaymentRecord]:
    rows = _in(sql, f"SELECT {_PAYMENT_COLUMNS} FROM {{{{t}}}}payment_applications WHERE id IN ({{marks}})", ids)
    return {row[0]: _payment(row) for row in rows}


def list_payments(sql: Sql, partner_id: str | None, status: str | None) -> list[PaymentRecord]:
    conditions = [(c, v) for c, v in (("partner_id=?", partner_id), ("status=?", status)) if v is not None]
    where = "WHERE " + " AND ".join(c for c, _ in conditions) if conditions else ""
    rows = sql.rows(
        f"SELECT {_PAYMENT_COLUMNS} FROM {{t}}payment_applications {where} ORDER BY seq", [v for _, v in conditions]
    )
    return [_payment(row) for row in rows]


def insert_payments(sql: Sql, payments: Sequence[PaymentRecord]) -> None:
    sql.executemany(
        f"INSERT INTO {{t}}payment_applications ({_PAYMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        [(p.id, p.partner_id, str(p.amount_units), p.status, _HISTORY.encode(p.history).decode()) for p in payments],
    )


def update_payments(sql: Sql, payments: Sequence[PaymentRecord]) -> None:
    sql.executemany(
        "UPDATE {t}payment_applications SET status=?, history=? WHERE id=?",
        [(p.status, _HISTORY.encode(p.history).decode(), p.id) for p in payments],
    )


# --- balance warnings -----------------------------------------------------------------------


def load_warnings(sql: Sql, partner_ids: Iterable[str]) -> dict[str, tuple[int | None, bool]]:
    """Each partner's threshold (None: unset) and whether it is warned (below, notified)."""
    rows = _in(
        sql, "SELECT partner_id, below, low FROM {{t}}balance_warnings WHERE partner_id IN ({marks})", partner_ids
    )
    return {row[0]: (None if row[1] is None else int(row[1]), bool(row[2])) for row in rows}


def save_warnings(sql: Sql, warnings: dict[str, tuple[int | None, bool]]) -> None:
    sql.executemany(
        "INSERT INTO {t}balance_warnings (partner_id, below, low) VALUES (?, ?, ?) "
        "ON CONFLICT (partner_id) DO UPDATE SET below=excluded.below, low=excluded.low",
        [(p, None if below is None else str(below), int(low)) for p, (below, low) in sorted(warnings.items())],
    )


# --- notifications ------------------------------------------------------------------------

NotificationRow = tuple[int, str, str, str, str]  # seq, type, partner_id, at, data (JSON)


def insert_notifications(sql: Sql, rows: Sequence[tuple[str, str, str, str, str | None]]) -> None:
    """(type, partner_id, at, data JSON, once_key); one whose once_key exists is skipped."""
    sql.executemany(
        "INSERT INTO {t}partner_notifications (type, partner_id, at, data, once_key) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        rows,
    )


def list_notifications(
    sql: Sql, partner_id: str | None = None, after: int = 0, limit: int | None = None
) -> list[NotificationRow]:
    where, params = "WHERE seq > ?", [after]
    if partner_id is not None:
        where, params = where + " AND partner_id=?", [*params, partner_id]
    tail = "" if limit is None else f" LIMIT {int(limit)}"
    return sql.rows(
        f"SELECT seq, type, partner_id, at, data FROM {{t}}partner_notifications {where} ORDER BY seq{tail}", params
    )


def last_notification(sql: Sql) -> int:
    return sql.rows("SELECT MAX(seq) FROM {t}partner_notifications")[0][0] or 0
