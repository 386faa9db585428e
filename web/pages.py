"""What each console page shows, gathered through the CLI's handlers under the same
access rules as the API. Each function takes the engine, the principal and the page's
query (empty values dropped) and returns the template's context."""

from __future__ import annotations

from commands import queries
from commands.bootstrap import Engine
from commands.catalog import service_type_names
from engine.instants import instant_from_datetime
from engine.money import format_units
from engine.tokens import Principal
from projections.queries import Scope
from web import params
from web.access import require_read, view_scope
from web.charts import bar_chart
from web.errors import bad_request

BILLS_PER_PAGE = 50
CHART_PERIODS = 12


def dashboard(engine: Engine, who: Principal, query: dict[str, str]) -> dict:
    partner = chosen_partner(engine, who, query.get("partner"))
    scope = view_scope(
        who,
        params.identifier(query.get("account_manager"), "account_manager"),
        params.identifier(query.get("reseller"), "reseller"),
    )
    context = {"partner": partner, "scope": scope, "partners": _partner_choices(engine, who)}
    if partner is None:
        return {**context, "period": None, "periods": [], "counts": None, "managers": [], "resellers": []}
    require_read(who, "views", partner)
    period, periods = _choose_period(engine, query, _periods(engine, partner, view_scope(who, None, None)))
    managers, resellers = queries.scope_choices(engine, partner, view_scope(who, None, None))
    counts = queries.customer_counts(engine, partner, period, scope)
    return {
        **context,
        "period": period,
        "periods": periods,
        "counts": counts,
        "managers": managers,
        "resellers": resellers,
    }


def bills(engine: Engine, who: Principal, query: dict[str, str]) -> dict:
    customer = params.identifier(query.get("customer"), "customer")
    page = _page_number(query.get("page"))
    if who.reads_everything:
        period, periods = _choose_period(engine, query, set(queries.bill_periods(engine)))
        found = queries.bills(engine, period, customer)
    else:
        require_read(who, "views", who.partner_id)
        scope = view_scope(who, None, None)
        period, periods = _choose_period(engine, query, _periods(engine, who.partner_id, scope))
        found = queries.partner_bills(engine, period, who.partner_id, scope, customer)
    pages = max(1, -(-len(found) // BILLS_PER_PAGE))
    page = min(page, pages)
    shown = found[(page - 1) * BILLS_PER_PAGE : page * BILLS_PER_PAGE]
    return {
        "period": period,
        "periods": periods,
        "customer": customer,
        "bills": shown,
        "total_bills": len(found),
        "page": page,
        "pages": pages,
        "scoped": not who.reads_everything,
        "names": service_type_names(engine),
    }


def performance(engine: Engine, who: Principal, query: dict[str, str]) -> dict:
    partner = chosen_partner(engine, who, query.get("partner"))
    context = {"partner": partner, "partners": _partner_choices(engine, who)}
    if partner is None:
        return {**context, "period": None, "periods": [], "result": None, "chart": ""}
    require_read(who, "views", partner)
    scope = view_scope(who, None, None)
    settled = queries.settled_by_period(engine, partner, scope)
    period, periods = _choose_period(engine, query, {period for period, _ in settled})
    result = queries.performance(engine, partner, period, scope)
    amounts = dict(settled)
    zero = format_units(0, engine.rules.minor_digits)
    shown = [(month, amounts.get(month, zero)) for month in months_up_to(period, CHART_PERIODS)]
    return {
        **context,
        "period": period,
        "periods": periods,
        "result": result,
        "chart": bar_chart(shown, f"{partner} settled amount per period", highlight=period),
    }


def chosen_partner(engine: Engine, who: Principal, requested: str | None) -> str | None:
    """The partner a page shows: the token's own, or (operators, auditors) the one
    asked for, else the first there is."""
    requested = params.identifier(requested, "partner")
    if not who.reads_everything:
        require_read(who, "views", requested or who.partner_id)
        return who.partner_id
    if requested is not None:
        return requested
    partners = queries.partner_ids(engine)
    return partners[0] if partners else None


def months_up_to(period: str, count: int) -> list[str]:
    """The `count` periods ending with `period`, oldest first (a chart shows gaps as zeros)."""
    year, month = (int(part) for part in period.split("-"))
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        if year < 1:
            break
    return months[::-1]


def current_period(engine: Engine) -> str:
    return engine.rules.calendar.period_of(instant_from_datetime(engine.ledger.clock()))


def _partner_choices(engine: Engine, who: Principal) -> list[str]:
    return queries.partner_ids(engine) if who.reads_everything else [who.partner_id]


def _periods(engine: Engine, partner: str, scope: Scope) -> set[str]:
    """The periods with the scope's charges."""
    return {period for period, _ in queries.settled_by_period(engine, partner, scope)}


def _choose_period(engine: Engine, query: dict[str, str], charged: set[str]) -> tuple[str, list[str]]:
    """The period asked for (else the newest with charges, else this month) and the
    periods to offer, newest first: those with charges, this month, the one shown."""
    if "period" in query:
        period = params.period(query["period"])
    else:
        period = max(charged) if charged else current_period(engine)
    return period, sorted(charged | {current_period(engine), period}, reverse=True)


def _page_number(text: str | None) -> int:
    if text is None:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise bad_request("page", "must be a whole number from 1")
    return int(text)
