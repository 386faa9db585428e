"""Read handlers: the three views of CONTRACT.md §4.

A read answers from what is committed when it starts, without taking the write lock
(projections/committed.py): the view rows plus the log's events beyond them, folded in
memory, in one snapshot. `fresh=False` reads the view tables alone, for a caller that
has just written them (the publisher of `serve`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from commands.bootstrap import Engine
from projections.committed import committed_views
from projections.queries import PeriodBounds, Scope, build_bills, count_customers, tally_performance
from projections.replay import PeriodViews, ViewSettings
from schemas.views import Bill, CustomerCounts, Performance


@contextmanager
def _views(engine: Engine, period: str, fresh: bool, about: str | None = None) -> Iterator[Any]:
    """The rows to read: as committed now (fresh), or the view tables as they are;
    `about`: the one customer or partner asked about, if there is one."""
    if not fresh:
        yield engine.projection.view
        return
    with committed_views(engine.ledger, engine.projection.view, period, about) as views:
        yield views


def bills(engine: Engine, period: str, customer_id: str | None = None, *, fresh: bool = True) -> list[Bill]:
    """The period's bills, or the one customer's."""
    return bills_of(engine, period, None if customer_id is None else [customer_id], fresh=fresh)


def bills_of(engine: Engine, period: str, customer_ids: list[str] | None, *, fresh: bool = True,
             views: Any = None) -> list[Bill]:
    """The period's bills of these customers (of all, if None), read at once."""
    about = customer_ids[0] if customer_ids is not None and len(customer_ids) == 1 else None
    with nullcontext(views) if views is not None else _views(engine, period, fresh, about) as views:
        rows, currencies = views.bill_line_rows(period, customer_ids)
    return build_bills(period, rows, currencies, engine.rules.minor_digits)


def period_bounds(engine: Engine, period: str) -> PeriodBounds:
    calendar = engine.rules.calendar
    return PeriodBounds(period, calendar.quarter_start(period), calendar.period_end(period))


def customer_counts(
    engine: Engine, partner_id: str, period: str, scope: Scope = Scope(), *, fresh: bool = True, views: Any = None
) -> CustomerCounts:
    with nullcontext(views) if views is not None else _views(engine, period, fresh, partner_id) as views:
        associations = views.association_rows(partner_id)
        charges = views.partner_charge_rows(partner_id, period)
    return count_customers(partner_id, period_bounds(engine, period), associations, charges, scope)


def performance(engine: Engine, partner_id: str, period: str, *, fresh: bool = True, views: Any = None) -> Performance:
    with nullcontext(views) if views is not None else _views(engine, period, fresh, partner_id) as views:
        rows = views.partner_charge_rows(partner_id, period)
    return tally_performance(partner_id, period, engine.rules.currency, rows, engine.rules.minor_digits)


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
