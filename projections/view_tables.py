"""The live views' rows and their tracking position, written once for every backend.

Rows and the tracking position are written with one cursor, in one transaction, so a
restart resumes exactly where the views stopped. Sums are stored as decimal text of
10⁻⁸ integers and added in Python: SQLite's INTEGER would silently turn into a float
past 2⁶³, and these are money. The backends (`sqlite_views.py`, `postgres_views.py`)
give the DDL and the SQL primitives (`engine.store.ledger_tables.SQLDialect`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import Tracking

from engine.ledger import Ledger
from engine.store.ledger_tables import chunks, marks
from projections.fold import P_CHARGES, P_PAYABLE, P_SETTLED, AssociationRow, ViewDelta

PARTNER_LINE_COLUMNS = (
    "partner_id", "period", "customer_id", "account_manager_id", "indirect_partner_id", "service_type", "item_id",
)
# The view tables, for a store whose views predate one of them (see `_create_table`).
VIEW_TABLES = ("view_bill_lines", "view_partner_charges", "view_partner_bill_lines", "view_associations")


class BillingViewTables:
    """Bill lines, partner charge tallies and association intervals, with tracking.

    Mixed into an eventsourcing tracking recorder and a backend's SQL dialect."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Sums as this process last wrote them, by table and key. Valid only while the
        # tracking position is the one this process wrote last: any other writer moves
        # it, and then the cache is dropped. `_complete`: every row is cached (the views
        # were empty when caching began), so a key not cached has no row.
        self._sums_cache: dict[str, dict[tuple, list[int]]] = {}
        self._cached_position: int | None = None
        self._complete = False

    def apply_in(self, c: Any, delta: ViewDelta, tracking: Tracking) -> None:
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
        self._add_sums(
            c,
            "view_partner_bill_lines",
            PARTNER_LINE_COLUMNS,
            delta.partner_bill_lines,
        )
        for customer_id, end in delta.ended_associations.items():
            self.execute(
                c,
                "UPDATE {t}view_associations SET end_at=? WHERE customer_id=? AND end_at IS NULL",
                (end, customer_id),
            )
        self.executemany(
            c,
            "INSERT INTO {t}view_associations VALUES (?,?,?,?,?,?,?,?)",
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
            for chunk in chunks(lasts):
                rows = self.rows(
                    c,
                    f"SELECT {key_columns[-1]}, sums FROM {{t}}{table} "
                    f"WHERE {prefix} AND {key_columns[-1]} IN ({marks(len(chunk))})",
                    [*head, *chunk],
                )
                existing.update({(*head, row[0]): _sums(row[1]) for row in rows})
        rows = []
        for key, sums in additions.items():
            old = existing.get(key)
            total = [a + b for a, b in zip(old, sums, strict=True)] if old else list(sums)
            existing[key] = total
            rows.append((*key, *(extra(key) if extra else ()), ",".join(map(str, total))))
        columns = (*key_columns, *extra_columns, "sums")
        self.executemany(
            c,
            f"INSERT INTO {{t}}{table} ({', '.join(columns)}) VALUES ({marks(len(columns))}) "
            f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET sums=excluded.sums",
            rows,
        )

    def position(self, application_name: str) -> int:
        """The last notification id folded into the views (0: none yet)."""
        return self.max_tracking_id(application_name) or 0

    def position_in(self, c: Any, application_name: str) -> int:
        return self._max_tracking_id(application_name, c) or 0

    # Queries: plain rows for projections.queries, in the caller's read transaction
    # (`c`, so several reads see one snapshot) or in one of their own.

    @contextmanager
    def _reading(self, c: Any | None) -> Iterator[Any]:
        if c is not None:
            yield c
        else:
            with self.read_transaction() as own:
                yield own

    tracking_table = "tracking"  # eventsourcing's SQLite name; qualified on PostgreSQL

    def _create_table(self, c: Any) -> None:
        """Creates the view tables; a store whose views were written before
        `view_partner_bill_lines` existed has its views emptied and its position reset,
        so the next reader folds them again from the log (the views are a pure
        function of the log; a new table left empty at an old position would be wrong)."""
        upgrading = self.has_table(c, "view_partner_charges") and not self.has_table(c, "view_partner_bill_lines")
        super()._create_table(c)  # type: ignore[misc]
        if upgrading:
            for table in VIEW_TABLES:
                self.execute(c, f"DELETE FROM {{t}}{table}")
            self.execute(c, f"DELETE FROM {self.tracking_table} WHERE application_name=?", (Ledger.name,))

    def bill_line_rows(
        self, period: str, customer_ids: Sequence[str] | None = None, c: Any | None = None
    ) -> tuple[list, dict[str, str]]:
        """The period's bill lines (of these customers only, if given) and each
        customer's currency."""
        statement = "SELECT customer_id, service_type, item_id, currency, sums FROM {t}view_bill_lines WHERE period=?"
        with self._reading(c) as c:
            if customer_ids is None:
                rows = self.rows(c, statement, (period,))
            else:
                rows = []
                for part in chunks(list(customer_ids)):
                    rows += self.rows(c, statement + f" AND customer_id IN ({marks(len(part))})", (period, *part))
        currencies = {row[0]: row[3] for row in rows}
        return [(row[0], row[1], row[2], _sums(row[4])) for row in rows], currencies

    def partner_charge_rows(
        self,
        partner_id: str,
        period: str,
        account_manager_id: str | None = None,
        indirect_partner_id: str | None = None,
        c: Any | None = None,
    ) -> list[tuple[str, str, str, list[int]]]:
        """A partner's charge tallies of the period (only those carrying the account
        manager / reseller, if given)."""
        statement, params = _scoped(
            "SELECT customer_id, account_manager_id, indirect_partner_id, sums "
            "FROM {t}view_partner_charges WHERE partner_id=? AND period=?",
            [partner_id, period],
            account_manager_id=account_manager_id,
            indirect_partner_id=indirect_partner_id,
        )
        with self._reading(c) as c:
            rows = self.rows(c, statement, params)
        return [(row[0], row[1], row[2], _sums(row[3])) for row in rows]

    def settled_by_period(
        self, partner_id: str, account_manager_id: str | None = None, indirect_partner_id: str | None = None
    ) -> dict[str, int]:
        """A partner's settled amount (10⁻⁸ units) in every period it has charges in."""
        statement, params = _scoped(
            "SELECT period, sums FROM {t}view_partner_charges WHERE partner_id=?",
            [partner_id],
            account_manager_id=account_manager_id,
            indirect_partner_id=indirect_partner_id,
        )
        with self.read_transaction() as c:
            rows = self.rows(c, statement, params)
        totals: dict[str, int] = {}
        for period, sums in rows:
            totals[period] = totals.get(period, 0) + _sums(sums)[P_SETTLED]
        return totals

    def bill_periods(self) -> list[str]:
        """Every period with a bill, in order."""
        with self.read_transaction() as c:
            rows = self.rows(c, "SELECT DISTINCT period FROM {t}view_bill_lines")
        return sorted(row[0] for row in rows)

    def all_partner_ids(self) -> list[str]:
        """Every partner with an association or a charge, by code point."""
        with self.read_transaction() as c:
            rows = self.rows(
                c, "SELECT partner_id FROM {t}view_associations UNION SELECT partner_id FROM {t}view_partner_charges"
            )
        return sorted(row[0] for row in rows)

    def partner_bill_line_rows(
        self,
        partner_id: str,
        period: str,
        account_manager_id: str | None = None,
        indirect_partner_id: str | None = None,
        customer_id: str | None = None,
        c: Any | None = None,
    ) -> list[tuple[str, str, str, list[int]]]:
        """A partner's bill lines of the period, as (customer_id, service_type, item_id,
        sums), only those carrying the account manager / reseller / customer given; a
        line with charges under several scopes comes once per scope."""
        statement, params = _scoped(
            "SELECT customer_id, service_type, item_id, sums FROM {t}view_partner_bill_lines "
            "WHERE partner_id=? AND period=?",
            [partner_id, period],
            account_manager_id=account_manager_id,
            indirect_partner_id=indirect_partner_id,
            customer_id=customer_id,
        )
        with self._reading(c) as c:
            rows = self.rows(c, statement, params)
        return [(row[0], row[1], row[2], _sums(row[3])) for row in rows]

    def association_rows(self, partner_id: str, c: Any | None = None) -> list[AssociationRow]:
        with self._reading(c) as c:
            rows = self.rows(
                c,
                "SELECT customer_id, version, partner_id, start_at, end_at, customer_type, "
                "account_manager_id, indirect_partner_id FROM {t}view_associations WHERE partner_id=?",
                (partner_id,),
            )
        return [AssociationRow(*row) for row in rows]

    def every_association_row(self, c: Any | None = None) -> list[AssociationRow]:
        with self._reading(c) as c:
            rows = self.rows(
                c,
                "SELECT customer_id, version, partner_id, start_at, end_at, customer_type, "
                "account_manager_id, indirect_partner_id FROM {t}view_associations",
            )
        return [AssociationRow(*row) for row in rows]

    def bill_charge_counts(self, c: Any | None = None) -> dict[tuple[str, str], int]:
        """Charges of every bill, by (period, customer_id)."""
        with self._reading(c) as c:
            rows = self.rows(c, "SELECT period, customer_id, sums FROM {t}view_bill_lines")
        counts: dict[tuple[str, str], int] = {}
        for period, customer_id, sums in rows:
            counts[(period, customer_id)] = counts.get((period, customer_id), 0) + _sums(sums)[-1]
        return counts

    def partner_period_pairs(self, c: Any | None = None) -> set[tuple[str, str]]:
        """Every (partner_id, period) with a charge attributed to the partner."""
        with self._reading(c) as c:
            return {tuple(row) for row in self.rows(c, "SELECT DISTINCT partner_id, period FROM {t}view_partner_charges")}

    def partner_periods(self, partner_id: str, period_of) -> set[str]:
        """The periods a partner has records in: charges, associations, disassociations."""
        with self.read_transaction() as c:
            charged = self.rows(c, "SELECT DISTINCT period FROM {t}view_partner_charges WHERE partner_id=?", (partner_id,))
            intervals = self.rows(c, "SELECT start_at, end_at FROM {t}view_associations WHERE partner_id=?", (partner_id,))
        periods = {row[0] for row in charged}
        for start, end in intervals:
            periods.add(period_of(start))
            if end is not None:
                periods.add(period_of(end))
        return periods

    def partner_tally_in(self, c: Any, up_to: str) -> dict[tuple[str, str, str], list[int]]:
        """(partner, period, customer) -> [payable, settled, charges] of every attributed
        charge of the periods up to `up_to` (account managers and resellers added up)."""
        tally: dict[tuple[str, str, str], list[int]] = {}
        for partner_id, period, customer_id, text in self.rows(
            c, "SELECT partner_id, period, customer_id, sums FROM {t}view_partner_charges WHERE period<=?", (up_to,)
        ):
            sums = _sums(text)
            total = tally.get((partner_id, period, customer_id))
            if total is None:
                tally[(partner_id, period, customer_id)] = [sums[P_PAYABLE], sums[P_SETTLED], sums[P_CHARGES]]
            else:
                total[0] += sums[P_PAYABLE]
                total[1] += sums[P_SETTLED]
                total[2] += sums[P_CHARGES]
        return tally

    def charged_periods_in(self, c: Any) -> list[str]:
        """Every period with a charge (attributed or not), in order."""
        return sorted(row[0] for row in self.rows(c, "SELECT DISTINCT period FROM {t}view_bill_lines"))

    def charge_period_range_in(self, c: Any) -> tuple[str | None, str | None]:
        """The earliest and the latest period with a charge (None, None: no charge)."""
        row = self.rows(c, "SELECT MIN(period), MAX(period) FROM {t}view_bill_lines")[0]
        return row[0], row[1]

    def partner_ids(self, period: str, period_end: str, c: Any | None = None) -> list[str]:
        """Partners with a charge in the period or an association before its end."""
        with self._reading(c) as c:
            rows = self.rows(
                c,
                "SELECT partner_id FROM {t}view_partner_charges WHERE period=? "
                "UNION SELECT partner_id FROM {t}view_associations WHERE start_at<?",
                (period, period_end),
            )
        # Sorted here, by code point, whatever the database's collation.
        return sorted(row[0] for row in rows)


def _scoped(statement: str, params: list, **equal_to: str | None) -> tuple[str, list]:
    """Adds `AND column=?` for each column given a value: a scope is applied in the query."""
    for column, value in equal_to.items():
        if value is not None:
            statement += f" AND {column}=?"
            params.append(value)
    return statement, params


def _sums(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]
