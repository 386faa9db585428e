"""The views as committed, read without waiting for a writer.

The view tables lag the log: a writer holds its fold in memory and writes it every
100,000 events (projector.py), and with BILLING_PROJECTIONS=separate another process
writes them. A reader used to bring them up to date first, under the write lock, and
so waited for a long ingest's batches (23-29 s, measured on 2026-11-30, and the ingest
took twice as long). Now a read takes one snapshot (a read transaction: SQLite WAL, PostgreSQL
REPEATABLE READ), reads the view rows it needs and the log beyond the views' position
in that snapshot, folds the latter in memory (the same fold as the writers') and adds
it to the former. It writes nothing and takes no lock a writer waits for; it answers
from exactly what was committed when it began.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import msgspec

from projections.charge_rows import add_stored_rows
from projections.fold import NO_ID, AssociationRow, ViewDelta

TAIL_CHUNK = 50_000


class CommittedViews:
    """The rows of the live views, plus the log's events beyond their position, as of
    one snapshot; rows of one period (charges of other periods are not folded)."""

    def __init__(self, view: Any, cursor: Any, delta: ViewDelta):
        self.view = view
        self.cursor = cursor
        self.delta = delta

    def bill_line_rows(self, period: str, customer_ids: Sequence[str] | None = None) -> tuple[list, dict[str, str]]:
        rows, currencies = self.view.bill_line_rows(period, customer_ids, c=self.cursor)
        wanted = None if customer_ids is None else set(customer_ids)
        merged = {(row[0], row[1], row[2]): row[3] for row in rows}
        for (customer_id, line_period, service_type, item_id), sums in self.delta.bill_lines.items():
            if line_period != period or (wanted is not None and customer_id not in wanted):
                continue
            _add_into(merged, (customer_id, service_type, item_id), sums)
            currencies.setdefault(customer_id, self.delta.bill_currencies[(customer_id, line_period)])
        return [(*key, sums) for key, sums in merged.items()], currencies

    def partner_charge_rows(
        self,
        partner_id: str,
        period: str,
        account_manager_id: str | None = None,
        indirect_partner_id: str | None = None,
    ) -> list[tuple[str, str, str, list[int]]]:
        """As the view's, scoped the same way (to charges carrying the ids given)."""
        stored = self.view.partner_charge_rows(
            partner_id, period, account_manager_id, indirect_partner_id, c=self.cursor
        )
        merged = {row[:3]: row[3] for row in stored}
        for (partner, charge_period, customer_id, manager, reseller), sums in self.delta.partner_charges.items():
            if (
                partner == partner_id
                and charge_period == period
                and _in_scope(manager, reseller, account_manager_id, indirect_partner_id)
            ):
                _add_into(merged, (customer_id, manager or NO_ID, reseller or NO_ID), sums)
        return [(*key, sums) for key, sums in merged.items()]

    def partner_bill_line_rows(
        self,
        partner_id: str,
        period: str,
        account_manager_id: str | None = None,
        indirect_partner_id: str | None = None,
        customer_id: str | None = None,
    ) -> list[tuple[str, str, str, list[int]]]:
        """As the view's: rows of (customer, service type, item, sums), one per scope."""
        rows = self.view.partner_bill_line_rows(
            partner_id, period, account_manager_id, indirect_partner_id, customer_id, c=self.cursor
        )
        for key, sums in self.delta.partner_bill_lines.items():
            partner, line_period, customer, manager, reseller, service_type, item_id = key
            if (
                partner == partner_id
                and line_period == period
                and customer_id in (None, customer)
                and _in_scope(manager, reseller, account_manager_id, indirect_partner_id)
            ):
                rows.append((customer, service_type, item_id, list(sums)))
        return rows

    def association_rows(self, partner_id: str) -> list[AssociationRow]:
        rows = []
        for row in self.view.association_rows(partner_id, c=self.cursor):
            end = self.delta.ended_associations.get(row.customer_id)
            rows.append(replace(row, end=end) if row.end is None and end is not None else row)
        rows += [replace(row) for row in self.delta.new_associations if row.partner_id == partner_id]
        return rows

    def every_association_row(self) -> list[AssociationRow]:
        rows = []
        for row in self.view.every_association_row(c=self.cursor):
            end = self.delta.ended_associations.get(row.customer_id)
            rows.append(replace(row, end=end) if row.end is None and end is not None else row)
        return rows + [replace(row) for row in self.delta.new_associations]

    def bill_charge_counts(self) -> dict[tuple[str, str], int]:
        counts = self.view.bill_charge_counts(c=self.cursor)
        for (customer_id, period, _service, _item), sums in self.delta.bill_lines.items():
            counts[(period, customer_id)] = counts.get((period, customer_id), 0) + sums[-1]
        return counts

    def partner_period_pairs(self) -> set[tuple[str, str]]:
        return self.view.partner_period_pairs(c=self.cursor) | {key[:2] for key in self.delta.partner_charges}

    def partner_ids(self, period: str, period_end: str) -> list[str]:
        partners = set(self.view.partner_ids(period, period_end, c=self.cursor))
        partners |= {key[0] for key in self.delta.partner_charges if key[1] == period}
        partners |= {row.partner_id for row in self.delta.new_associations if row.start < period_end}
        return sorted(partners)


@contextmanager
def committed_views(ledger: Any, view: Any, period: str | None, about: str | None = None) -> Iterator[CommittedViews]:
    """The views of `period` (None: of every period) as committed now, for the reads
    inside the `with`. With
    `about` (the one customer or partner the reads ask for), events that can't concern
    it are not decoded: its id, JSON-encoded as the stored event encodes it, is not in
    their bytes (a read of one customer beside a 100,000-event tail: 0.3 s, not 1.1)."""
    recorder = ledger.recorder
    needle = None if about is None else msgspec.json.encode(about)
    with recorder.snapshot_transaction() as cursor:
        after = view.position_in(cursor, ledger.name)
        delta = ViewDelta(period=period)
        while True:
            rows = recorder.select_notifications_in(cursor, after, TAIL_CHUNK)
            add_stored_rows(delta, rows if needle is None else [row for row in rows if needle in row[2]])
            if len(rows) < TAIL_CHUNK:
                break
            after = rows[-1][0]
        yield CommittedViews(view, cursor, delta)


def _in_scope(
    manager: str | None, reseller: str | None, account_manager_id: str | None, indirect_partner_id: str | None
) -> bool:
    return account_manager_id in (None, manager) and indirect_partner_id in (None, reseller)


def _add_into(merged: dict[tuple, list[int]], key: tuple, sums: list[int]) -> None:
    old = merged.get(key)
    merged[key] = list(sums) if old is None else [a + b for a, b in zip(old, sums, strict=True)]
