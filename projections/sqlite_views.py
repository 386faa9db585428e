"""The live views' SQLite tables: an eventsourcing tracking recorder with view rows.

Rows and the tracking position are written with one cursor, in one transaction, so a
restart resumes exactly where the views stopped. Sums are stored as decimal text of
10⁻⁸ integers and added in Python: SQLite's INTEGER would silently turn into a float
past 2⁶³, and these are money.
"""

from __future__ import annotations

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteTrackingRecorder

from projections.fold import AssociationRow, ViewDelta

_CHUNK = 300


class SQLiteBillingViews(SQLiteTrackingRecorder):
    """Bill lines, partner charge tallies and association intervals, with tracking."""

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS view_bill_lines ("
            "customer_id TEXT NOT NULL, period TEXT NOT NULL, service_type TEXT NOT NULL, "
            "item_id TEXT NOT NULL, currency TEXT NOT NULL, sums TEXT NOT NULL, "
            "PRIMARY KEY (period, customer_id, service_type, item_id)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS view_partner_charges ("
            "partner_id TEXT NOT NULL, period TEXT NOT NULL, customer_id TEXT NOT NULL, "
            "account_manager_id TEXT NOT NULL, indirect_partner_id TEXT NOT NULL, sums TEXT NOT NULL, "
            "PRIMARY KEY (partner_id, period, customer_id, account_manager_id, indirect_partner_id)"
            ") WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS view_associations ("
            "customer_id TEXT NOT NULL, version INTEGER NOT NULL, partner_id TEXT NOT NULL, "
            "start_at TEXT NOT NULL, end_at TEXT, customer_type TEXT NOT NULL, "
            "account_manager_id TEXT, indirect_partner_id TEXT, "
            "PRIMARY KEY (customer_id, version)) WITHOUT ROWID",
            "CREATE INDEX IF NOT EXISTS view_associations_by_partner ON view_associations (partner_id)",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Sums as this process last wrote them, by table and key. Valid only while the
        # tracking position is the one this process wrote last: any other writer moves
        # it, and then the cache is dropped. `_complete`: every row is cached (the views
        # were empty when caching began), so a key not cached has no row.
        self._sums_cache: dict[str, dict[tuple, list[int]]] = {}
        self._cached_position: int | None = None
        self._complete = False

    def apply_in(self, c: SQLiteCursor, delta: ViewDelta, tracking: Tracking) -> None:
        """Adds a batch's changes to the view rows and moves the tracking position."""
        position = self.position_in(c, tracking.application_name)
        if position != self._cached_position:
            self._sums_cache = {}
            self._complete = position == 0
        self._cached_position = None  # until this transaction's tracking is written
        self._add_sums(
            c,
            "view_bill_lines",
            ("period", "customer_id", "service_type", "item_id"),
            {(k[1], k[0], k[2], k[3]): v for k, v in delta.bill_lines.items()},
            extra=lambda key: (delta.bill_currencies[(key[1], key[0])],),
            extra_columns=("currency",),
        )
        self._add_sums(
            c,
            "view_partner_charges",
            ("partner_id", "period", "customer_id", "account_manager_id", "indirect_partner_id"),
            delta.partner_charges,
        )
        for customer_id, end in delta.ended_associations.items():
            c.execute(
                "UPDATE view_associations SET end_at=? WHERE customer_id=? AND end_at IS NULL",
                (end, customer_id),
            )
        c.executemany(
            "INSERT INTO view_associations VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    row.customer_id,
                    row.version,
                    row.partner_id,
                    row.start,
                    row.end,
                    row.customer_type,
                    row.account_manager_id,
                    row.indirect_partner_id,
                )
                for row in delta.new_associations
            ],
        )
        self._insert_tracking(c, tracking)
        self._cached_position = tracking.notification_id

    def _add_sums(self, c, table, key_columns, additions, extra=None, extra_columns=()) -> None:
        """Adds each row's sums to the stored ones (read, add in Python, upsert)."""
        if not additions:
            return
        existing = self._sums_cache.setdefault(table, {})
        # Keys not cached are read grouped by all but their last column, then
        # `last IN (…)`: each query walks the primary key (a row-value IN list would not).
        groups: dict[tuple, list[str]] = {}
        if not self._complete:
            for key in additions:
                if key not in existing:
                    groups.setdefault(key[:-1], []).append(key[-1])
        prefix = " AND ".join(f"{column}=?" for column in key_columns[:-1])
        for head, lasts in groups.items():
            for start in range(0, len(lasts), _CHUNK):
                chunk = lasts[start : start + _CHUNK]
                c.execute(
                    f"SELECT {key_columns[-1]}, sums FROM {table} "
                    f"WHERE {prefix} AND {key_columns[-1]} IN ({','.join('?' * len(chunk))})",
                    [*head, *chunk],
                )
                existing.update({(*head, row[0]): _sums(row[1]) for row in c.fetchall()})
        rows = []
        for key, sums in additions.items():
            old = existing.get(key)
            total = [a + b for a, b in zip(old, sums, strict=True)] if old else list(sums)
            existing[key] = total
            rows.append((*key, *(extra(key) if extra else ()), ",".join(map(str, total))))
        columns = (*key_columns, *extra_columns, "sums")
        c.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({','.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET sums=excluded.sums",
            rows,
        )

    def position(self, application_name: str) -> int:
        """The last notification id folded into the views (0: none yet)."""
        return self.max_tracking_id(application_name) or 0

    def position_in(self, c: SQLiteCursor, application_name: str) -> int:
        return self._max_tracking_id(application_name, c) or 0

    # Queries: plain rows for projections.queries.

    def bill_line_rows(self, period: str, customer_id: str | None = None) -> tuple[list, dict[str, str]]:
        statement = "SELECT customer_id, service_type, item_id, currency, sums FROM view_bill_lines WHERE period=?"
        params: list[str] = [period]
        if customer_id is not None:
            statement += " AND customer_id=?"
            params.append(customer_id)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            rows = c.fetchall()
        currencies = {row[0]: row[3] for row in rows}
        return [(row[0], row[1], row[2], _sums(row[4])) for row in rows], currencies

    def partner_charge_rows(self, partner_id: str, period: str) -> list[tuple[str, str, str, list[int]]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT customer_id, account_manager_id, indirect_partner_id, sums "
                "FROM view_partner_charges WHERE partner_id=? AND period=?",
                (partner_id, period),
            )
            return [(row[0], row[1], row[2], _sums(row[3])) for row in c.fetchall()]

    def association_rows(self, partner_id: str) -> list[AssociationRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT customer_id, version, partner_id, start_at, end_at, customer_type, "
                "account_manager_id, indirect_partner_id FROM view_associations WHERE partner_id=?",
                (partner_id,),
            )
            return [AssociationRow(*row) for row in c.fetchall()]

    def partner_periods(self, partner_id: str, period_of) -> set[str]:
        """The periods a partner has records in: charges, associations, disassociations."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT DISTINCT period FROM view_partner_charges WHERE partner_id=?", (partner_id,))
            periods = {row[0] for row in c.fetchall()}
            c.execute("SELECT start_at, end_at FROM view_associations WHERE partner_id=?", (partner_id,))
            for start, end in c.fetchall():
                periods.add(period_of(start))
                if end is not None:
                    periods.add(period_of(end))
        return periods

    def partner_ids(self, period: str, period_end: str) -> list[str]:
        """Partners with a charge in the period or an association before its end."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT partner_id FROM view_partner_charges WHERE period=? "
                "UNION SELECT partner_id FROM view_associations WHERE start_at<? ORDER BY 1",
                (period, period_end),
            )
            return [row[0] for row in c.fetchall()]


def _sums(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]

