"""Reading the live views: plain rows for `projections.queries`, each read in the
caller's read transaction (`c`, so several reads see one snapshot) or in one of its own.

A mixin of `BillingViewTables` (projections/view_tables.py), which writes the rows;
the backend's SQL dialect gives `rows` and `read_transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from engine.store.ledger_tables import chunks, marks
from projections.fold import P_CHARGES, P_PAYABLE, P_SETTLED, AssociationRow


class ViewQueries:
    """The view tables' reads: bill lines, partner tallies, associations, periods."""

    @contextmanager
    def _reading(self, c: Any | None) -> Iterator[Any]:
        if c is not None:
            yield c
        else:
            with self.read_transaction() as own:
                yield own

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
        return [(row[0], row[1], row[2], parse_sums(row[4])) for row in rows], currencies

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
        return [(row[0], row[1], row[2], parse_sums(row[3])) for row in rows]

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
            totals[period] = totals.get(period, 0) + parse_sums(sums)[P_SETTLED]
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
        return [(row[0], row[1], row[2], parse_sums(row[3])) for row in rows]

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
            counts[(period, customer_id)] = counts.get((period, customer_id), 0) + parse_sums(sums)[-1]
        return counts

    def partner_period_pairs(self, c: Any | None = None) -> set[tuple[str, str]]:
        """Every (partner_id, period) with a charge attributed to the partner."""
        with self._reading(c) as c:
            rows = self.rows(c, "SELECT DISTINCT partner_id, period FROM {t}view_partner_charges")
        return {tuple(row) for row in rows}

    def partner_periods(self, partner_id: str, period_of) -> set[str]:
        """The periods a partner has records in: charges, associations, disassociations."""
        with self.read_transaction() as c:
            charged = self.rows(
                c, "SELECT DISTINCT period FROM {t}view_partner_charges WHERE partner_id=?", (partner_id,)
            )
            intervals = self.rows(
                c, "SELECT start_at, end_at FROM {t}view_associations WHERE partner_id=?", (partner_id,)
            )
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
            sums = parse_sums(text)
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


def parse_sums(text: str) -> list[int]:
    """A row's sums as stored: decimal text of 10⁻⁸ integers, comma-separated."""
    return [int(part) for part in text.split(",")]
