"""Read handlers: the three views of CONTRACT.md §4 (also as a partner or one of its
scopes sees them, §10), and the kept rejections (§3).

A read answers from what is committed when it starts, without taking the write lock
(projections/committed.py): the view rows plus the log's events beyond them, folded in
memory, in one snapshot. `fresh=False` reads the view tables alone, for a caller that
has just written them (the publisher of `serve`). A scope is applied in the query: no
other partner's (or scope's) row is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from commands.bootstrap import Engine
from engine.money import format_units
from engine.store.rows import RejectionRow
from projections.committed import committed_views
from projections.queries import PeriodBounds, Scope, build_bills, count_customers, tally_performance
from projections.replay import PeriodViews, ViewSettings
from schemas.views import Bill, CustomerCounts, Performance, RejectionEntry, RejectionList


@contextmanager
def _views(engine: Engine, period: str, fresh: bool, about: str | None = None) -> Iterator[Any]:
    """The rows to read: as committed now (fresh), or the view tables as they are;
    `about`: the one customer or partner asked about, if there is one."""
    if not fresh:
        yield engine.projection.view
        return
    with committed_views(engine.ledger, engine.projection.view, period, about) as views:
        yield views


def fresh_position(engine: Engine) -> int:
    """Brings the views up to date with the log and returns the log position they then
    reflect: every view read after it is a function of the log up to at least there
    (the HTTP API keys its cached answers by it)."""
    recorder, view = engine.ledger.recorder, engine.projection.view
    with recorder.read_transaction() as c:
        position, latest = view.position_in(c, engine.ledger.name), recorder.max_notification_id_in(c)
    if position >= latest:
        return latest
    engine.projection.bring_up_to_date(engine.ledger)
    with recorder.read_transaction() as c:
        return view.position_in(c, engine.ledger.name)


def bills(engine: Engine, period: str, customer_id: str | None = None, *, fresh: bool = True) -> list[Bill]:
    """The period's bills, or the one customer's."""
    return bills_of(engine, period, None if customer_id is None else [customer_id], fresh=fresh)


def bills_of(
    engine: Engine, period: str, customer_ids: list[str] | None, *, fresh: bool = True, views: Any = None
) -> list[Bill]:
    """The period's bills of these customers (of all, if None), read at once."""
    about = customer_ids[0] if customer_ids is not None and len(customer_ids) == 1 else None
    with nullcontext(views) if views is not None else _views(engine, period, fresh, about) as views:
        rows, currencies = views.bill_line_rows(period, customer_ids)
    return build_bills(period, rows, currencies, engine.rules.minor_digits)


def partner_bills(
    engine: Engine,
    period: str,
    partner_id: str,
    scope: Scope = Scope(),
    customer_id: str | None = None,
    *,
    fresh: bool = True,
) -> list[Bill]:
    """The period's bills as a partner (or one of its scopes) sees them: each the bill of
    the customer's charges attributed to the partner (and carrying the scope's id)
    alone, for the customers that have such charges. The scope is applied in the query:
    no other partner's (or scope's) line is read."""
    with _views(engine, period, fresh, partner_id) as views:
        rows = views.partner_bill_line_rows(
            partner_id, period, scope.account_manager_id, scope.indirect_partner_id, customer_id
        )
    lines: dict[tuple[str, str, str], list[int]] = {}
    for customer, service_type, item_id, sums in rows:  # one row per scope a line has charges under
        total = lines.setdefault((customer, service_type, item_id), [0] * len(sums))
        for index, value in enumerate(sums):
            total[index] += value
    currencies = {customer: engine.rules.currency for customer, _s, _i in lines}
    merged = [(customer, service, item, sums) for (customer, service, item), sums in lines.items()]
    return build_bills(period, merged, currencies, engine.rules.minor_digits)


def _fresh(engine: Engine) -> None:
    # Reads across every period (the console's chart and selectors) bring the view
    # tables up to date first; the reads of one period above never wait for a writer.
    engine.projection.bring_up_to_date(engine.ledger)


def period_bounds(engine: Engine, period: str) -> PeriodBounds:
    calendar = engine.rules.calendar
    return PeriodBounds(period, calendar.quarter_start(period), calendar.period_end(period))


def customer_counts(
    engine: Engine, partner_id: str, period: str, scope: Scope = Scope(), *, fresh: bool = True, views: Any = None
) -> CustomerCounts:
    with nullcontext(views) if views is not None else _views(engine, period, fresh, partner_id) as views:
        associations = views.association_rows(partner_id)  # all of them: the first association decides (§4)
        charges = views.partner_charge_rows(partner_id, period, scope.account_manager_id, scope.indirect_partner_id)
    return count_customers(partner_id, period_bounds(engine, period), associations, charges, scope)


def performance(
    engine: Engine, partner_id: str, period: str, scope: Scope = Scope(), *, fresh: bool = True, views: Any = None
) -> Performance:
    """A partner's performance; under a scope, of the charges carrying its id only."""
    with nullcontext(views) if views is not None else _views(engine, period, fresh, partner_id) as views:
        rows = views.partner_charge_rows(partner_id, period, scope.account_manager_id, scope.indirect_partner_id)
    return tally_performance(partner_id, period, engine.rules.currency, rows, engine.rules.minor_digits)


def settled_by_period(engine: Engine, partner_id: str, scope: Scope = Scope()) -> list[tuple[str, str]]:
    """(period, settled amount) of every period the partner (scope) has charges in, in order."""
    _fresh(engine)
    totals = engine.projection.view.settled_by_period(partner_id, scope.account_manager_id, scope.indirect_partner_id)
    return [(period, format_units(totals[period], engine.rules.minor_digits)) for period in sorted(totals)]


def partner_ids(engine: Engine) -> list[str]:
    """Every partner with an association or a charge."""
    _fresh(engine)
    return engine.projection.view.all_partner_ids()


def bill_periods(engine: Engine) -> list[str]:
    """Every period with a bill, in order."""
    _fresh(engine)
    return engine.projection.view.bill_periods()


def scope_choices(engine: Engine, partner_id: str, scope: Scope = Scope()) -> tuple[list[str], list[str]]:
    """The account managers and resellers of the partner's associations that the scope
    keeps (what a dashboard's scope selectors offer), each sorted."""
    _fresh(engine)
    managers, resellers = set(), set()
    for row in engine.projection.view.association_rows(partner_id):
        if scope.keeps(row.account_manager_id, row.indirect_partner_id):
            managers.add(row.account_manager_id)
            resellers.add(row.indirect_partner_id)
    return sorted(managers - {None}), sorted(resellers - {None})


def events_recorded(engine: Engine) -> int:
    """How many events the log holds (inbound facts and the engine's own): the length
    of a read that goes through all of them (replay, verify), for its progress."""
    return engine.ledger.recorder.count_events()


def rejected_listing(engine: Engine, reason: str | None = None) -> RejectionList:
    """Kept rejections in arrival order (only those of one reason code, if given)."""
    rows = engine.ledger.recorder.select_rejections(reason=reason)
    return RejectionList(rejected=[rejection_entry(row) for row in rows])


def rejection_entry(row: RejectionRow) -> RejectionEntry:
    return RejectionEntry(
        source=row.source,
        id=row.id,
        type=row.type,
        reason=row.reason,
        message=row.message,
        arrived=row.arrived,
        accepted=row.accepted,
        raw=bytes(row.raw).decode("utf-8", errors="replace"),
    )


def view_settings(engine: Engine, period: str) -> ViewSettings:
    return ViewSettings(period_bounds(engine, period), engine.rules.currency, engine.rules.minor_digits)


def period_views(engine: Engine, period: str) -> PeriodViews:
    """Every live view of a period, partners chosen as replay chooses them, all read
    from one snapshot."""
    bounds = period_bounds(engine, period)
    with _views(engine, period, fresh=True) as views:
        partners = views.partner_ids(period, bounds.end)
        return PeriodViews(
            period=period,
            bills=bills_of(engine, period, None, views=views),
            customers=[customer_counts(engine, partner, period, views=views) for partner in partners],
            performance=[performance(engine, partner, period, views=views) for partner in partners],
        )
