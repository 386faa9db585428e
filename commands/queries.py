"""Read handlers: the three views of CONTRACT.md §4 from the live view tables."""

from __future__ import annotations

from commands.bootstrap import Engine
from projections.queries import PeriodBounds, Scope, build_bills, count_customers, tally_performance
from projections.replay import PeriodViews, ViewSettings
from schemas.views import Bill, CustomerCounts, Performance


def _fresh(engine: Engine) -> None:
    # The views may be behind the log: a fold this process holds in memory, or events
    # recorded with BILLING_PROJECTIONS=separate or by an interrupted ingest.
    engine.projection.bring_up_to_date(engine.ledger)


def bills(engine: Engine, period: str, customer_id: str | None = None, *, fresh: bool = True) -> list[Bill]:
    """The period's bills, or the one customer's."""
    return bills_of(engine, period, None if customer_id is None else [customer_id], fresh=fresh)


def bills_of(engine: Engine, period: str, customer_ids: list[str] | None, *, fresh: bool = True) -> list[Bill]:
    """The period's bills of these customers (of all, if None), read at once."""
    if fresh:
        _fresh(engine)
    rows, currencies = engine.projection.view.bill_line_rows(period, customer_ids)
    return build_bills(period, rows, currencies, engine.rules.minor_digits)


def period_bounds(engine: Engine, period: str) -> PeriodBounds:
    calendar = engine.rules.calendar
    return PeriodBounds(period, calendar.quarter_start(period), calendar.period_end(period))


def customer_counts(
    engine: Engine, partner_id: str, period: str, scope: Scope = Scope(), *, fresh: bool = True
) -> CustomerCounts:
    if fresh:
        _fresh(engine)
    view = engine.projection.view
    return count_customers(
        partner_id,
        period_bounds(engine, period),
        view.association_rows(partner_id),
        view.partner_charge_rows(partner_id, period),
        scope,
    )


def performance(engine: Engine, partner_id: str, period: str, *, fresh: bool = True) -> Performance:
    if fresh:
        _fresh(engine)
    rows = engine.projection.view.partner_charge_rows(partner_id, period)
    return tally_performance(partner_id, period, engine.rules.currency, rows, engine.rules.minor_digits)


def view_settings(engine: Engine, period: str) -> ViewSettings:
    return ViewSettings(period_bounds(engine, period), engine.rules.currency, engine.rules.minor_digits)


def period_views(engine: Engine, period: str) -> PeriodViews:
    """Every live view of a period, partners chosen as replay chooses them."""
    _fresh(engine)
    bounds = period_bounds(engine, period)
    partners = engine.projection.view.partner_ids(period, bounds.end)
    return PeriodViews(
        period=period,
        bills=bills(engine, period, fresh=False),
        customers=[customer_counts(engine, partner, period, fresh=False) for partner in partners],
        performance=[performance(engine, partner, period, fresh=False) for partner in partners],
    )
