"""Read handlers: the three views of CONTRACT.md §4 from the live view tables (also as
a partner or one of its scopes sees them, §10), and the kept rejections (§3)."""

from __future__ import annotations

from commands.bootstrap import Engine
from engine.money import format_units
from engine.store.rows import RejectionRow
from projections.queries import PeriodBounds, Scope, build_bills, count_customers, tally_performance
from projections.replay import PeriodViews, ViewSettings
from schemas.views import Bill, CustomerCounts, Performance, RejectionEntry, RejectionList


def _fresh(engine: Engine) -> None:
    # The views may be behind the log: a fold this process holds in memory, or events
    # recorded with BILLING_PROJECTIONS=separate or by an interrupted ingest.
    engine.projection.bring_up_to_date(engine.ledger)


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


def bills_of(engine: Engine, period: str, customer_ids: list[str] | None, *, fresh: bool = True) -> list[Bill]:
    """The period's bills of these customers (of all, if None), read at once."""
    if fresh:
        _fresh(engine)
    rows, currencies = engine.projection.view.bill_line_rows(period, customer_ids)
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
    if fresh:
        _fresh(engine)
    rows = engine.projection.view.partner_bill_line_rows(
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
        view.association_rows(partner_id),  # all of them: the first association decides (§4)
        view.partner_charge_rows(partner_id, period, scope.account_manager_id, scope.indirect_partner_id),
        scope,
    )


def performance(
    engine: Engine, partner_id: str, period: str, scope: Scope = Scope(), *, fresh: bool = True
) -> Performance:
    """A partner's performance; under a scope, of the charges carrying its id only."""
    if fresh:
        _fresh(engine)
    rows = engine.projection.view.partner_charge_rows(
        partner_id, period, scope.account_manager_id, scope.indirect_partner_id
    )
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
