"""The statistics incentives are computed from (CONTRACT.md §9), for any scope of a
partner's period, from rows read once.

An open period's values come from the live views (`estimated`). A closed period's are
as known at its close (`final`): the amounts are those of the charges the partner's
statement for the period carries (adjustments included; no statement: zero), the
counts those of `replay --period P --as-of ISSUED_AT`. A statement keeps no account
manager, so a scoped amount comes from the charges themselves: one pass over the log
feeds replay's scratch views and the sums of the carried charges per account manager
(`engine.incentives.carried`), whose whole must equal the statement's totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from commands.bootstrap import Engine
from commands.queries import period_bounds
from commands.statements import closed_at as close_time_of
from engine.incentives.carried import CarriedSums, CarryWindow
from engine.instants import parse_period
from engine.money import format_units, parse_amount
from engine.statements import tables as statement_tables
from projections.charge_rows import add_stored_rows
from projections.fold import ViewDelta
from projections.queries import count_customers, tally_performance

ESTIMATED, FINAL = "estimated", "final"
READ_CHUNK = 10_000


class CarriedMismatch(RuntimeError):
    """The charges a statement carries, told from the log, do not add up to it (a bug)."""


@dataclass(frozen=True, slots=True)
class ManagersScope:
    """Keeps what carries one of these account managers (a `projections.queries.Scope`
    in duck type); None keeps everything."""

    managers: frozenset[str] | None = None

    def keeps(self, account_manager_id: str | None, _indirect_partner_id: str | None = None) -> bool:
        return self.managers is None or account_manager_id in self.managers


@dataclass(frozen=True, slots=True)
class IndicatorValues:
    """A partner's (or a scope's) statistics for a period, as their views print them."""

    status: str
    settled_amount: str
    payable_amount: str
    consuming_customers: int
    new_enterprise_customers: int

    def value(self, statistic: str) -> str | int:
        return getattr(self, statistic)


@dataclass(frozen=True, slots=True)
class PeriodClose:
    """When a period counts as closed, and the window of the statements issued for it."""

    closed_at: str
    previous_closed_at: str | None  # the close of the month before, if any
    issued: bool  # False for a month before the first close: closed by it, with no statement of its own

    def window(self, partner_id: str, period: str) -> CarryWindow:
        return CarryWindow(partner_id, period, self.closed_at if self.issued else None, self.previous_closed_at)


@dataclass(slots=True)
class PeriodRows:
    """One partner's rows of a period, for the values of any of its scopes: (customer,
    manager, reseller, sums) charge rows of the period and every association; for a
    closed period, as known at its close, with the carried sums and the statement's
    (payable, settled) totals (None: no statement)."""

    charges: list
    associations: list
    close: PeriodClose | None = None
    carried: CarriedSums | None = None
    statement_units: tuple[int, int] | None = None


def previous_period(period: str) -> str:
    year, month = parse_period(period)
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def period_close(engine: Engine, period: str) -> PeriodClose | None:
    """How `period` is closed (CONTRACT.md §7), or None while it is open."""
    recorder = engine.ledger.recorder
    with statement_tables.reading(recorder) as db:
        closes = statement_tables.closes(db) if statement_tables.tables_present(db, recorder) else {}
    at = close_time_of(closes, period)
    if at is None:
        return None
    return PeriodClose(at, closes.get(previous_period(period)), period in closes)


def statement_totals(engine: Engine, period: str, partner_id: str | None = None) -> dict[str, tuple[int, int]]:
    """partner -> (total payable, total settled) units of its statement for `period`."""
    recorder = engine.ledger.recorder
    with statement_tables.reading(recorder) as db:
        rows = statement_tables.statement_rows(db, partner_id, period)
    return {
        row[1]: (parse_amount("total_payable_amount", row[4]), parse_amount("total_settled_amount", row[5]))
        for row in rows
    }


def read_period(engine: Engine, partner_id: str, period: str) -> PeriodRows:
    """The partner's rows of `period`: live while it is open, as of its close once closed."""
    close = period_close(engine, period)
    if close is None:
        engine.projection.bring_up_to_date(engine.ledger)
        view = engine.projection.view
        return PeriodRows(view.partner_charge_rows(partner_id, period), view.association_rows(partner_id))
    # As known at the close: the same for as long as this process lives.
    key = (partner_id, period, close)
    kept = engine.closed_period_rows.get(key)
    if kept is not None:
        return kept
    carried = CarriedSums(close.window(partner_id, period))
    scratch = fold_log(engine, period, close.closed_at, carried, about=partner_id)
    charges, associations = partner_rows(scratch).get(partner_id, ([], []))
    totals = statement_totals(engine, period, partner_id).get(partner_id)
    if carried.total() != (totals or (0, 0)):
        raise CarriedMismatch(
            f"statement of {partner_id} for {period}: totals {totals}, carried charges in the log {carried.total()}"
        )
    rows = PeriodRows(charges, associations, close, carried, totals)
    engine.closed_period_rows.put(key, rows, len(charges) + len(associations))
    return rows


class _Both:
    """Hands each charge `add_stored_rows` decodes to replay's scratch views and to the
    carried sums, so the log is read and decoded once."""

    def __init__(self, scratch: ViewDelta, carried: CarriedSums):
        self.add = scratch.add
        self._to_scratch, self._to_carried = scratch.add_charge, carried.add_charge

    def add_charge(self, charge) -> None:
        self._to_scratch(charge)
        self._to_carried(charge)


def fold_log(
    engine: Engine, period: str, as_of: str, carried: CarriedSums | None = None, about: str | None = None
) -> ViewDelta:
    """Replay's scratch views of `period` from the events recorded at or before `as_of`
    (as `replay --period --as-of` folds them), feeding `carried` on the way. With
    `about` (a partner id), events whose bytes lack it are skipped undecoded: every
    event of a partner's views (association, disassociation, attributed charge) names it."""
    scratch = ViewDelta(period=period, keep_partner_lines=False)
    target = scratch if carried is None else _Both(scratch, carried)
    needle = None if about is None else msgspec.json.encode(about)  # as stored events encode it
    recorder, after = engine.ledger.recorder, 0
    while True:
        with recorder.read_transaction() as cursor:
            rows = recorder.select_notifications_in(cursor, after, READ_CHUNK)
        if not rows:
            return scratch
        after = rows[-1][0]
        if add_stored_rows(target, rows if needle is None else [row for row in rows if needle in row[2]], as_of):
            return scratch  # the rest of the log was recorded after `as_of`


def partner_rows(scratch: ViewDelta) -> dict[str, tuple[list, list]]:
    """partner -> (its charge rows of the period, its associations), as replay groups them."""
    grouped: dict[str, tuple[list, list]] = {}
    for (partner_id, _period, customer_id, manager, reseller), sums in scratch.partner_charges.items():
        grouped.setdefault(partner_id, ([], []))[0].append((customer_id, manager, reseller, sums))
    for row in scratch.new_associations:
        grouped.setdefault(row.partner_id, ([], []))[1].append(row)
    return grouped


def values_of(
    engine: Engine, partner_id: str, period: str, rows: PeriodRows, managers: frozenset[str] | None
) -> IndicatorValues:
    """The statistics of what a scope keeps (`managers`; None: the whole partner)."""
    keep = ManagersScope(managers)
    minor = engine.rules.minor_digits
    counts = count_customers(partner_id, period_bounds(engine, period), rows.associations, rows.charges, keep)
    if rows.close is None:
        kept = [row for row in rows.charges if keep.keeps(row[1] or None)]
        performance = tally_performance(partner_id, period, engine.rules.currency, kept, minor)
        status, settled, payable = ESTIMATED, performance.settled_amount, performance.payable_amount
    else:
        if managers is None:
            payable_units, settled_units = rows.statement_units or (0, 0)
        else:
            payable_units, settled_units = rows.carried.total(managers)
        status, settled, payable = FINAL, format_units(settled_units, minor), format_units(payable_units)
    return IndicatorValues(
        status=status,
        settled_amount=settled,
        payable_amount=payable,
        consuming_customers=counts.consuming_customers,
        new_enterprise_customers=counts.new_enterprise_customers_quarter,
    )
