"""What the incentives, subsidies and resources pages show (CONTRACT.md §9, §12),
gathered through the CLI's handlers under the API's access rules."""

from __future__ import annotations

from commands import queries
from commands.authorizations import list_authorizations
from commands.bootstrap import Engine
from commands.catalog import service_type_names, service_types
from commands.incentives import IncentiveScope, dashboard
from commands.resources import customer_resources
from commands.subsidies import subsidies
from engine.authorization.decide import STATUSES as AUTHORIZATION_STATUSES
from engine.errors import Refused
from engine.incentives.roster import roster_events, supervisors_before
from engine.tokens import Principal
from web import params
from web.access import own_partner, require_read
from web.errors import bad_request
from web.pages import chosen_partner, current_period
from web.pages_settlement import may, new_id


def incentives_page(engine: Engine, who: Principal, query: dict[str, str]) -> dict:
    """The incentive dashboard: a partner's (or one account manager's, or one
    supervisor's) incentive for a period, broken down by supervisor or account manager."""
    partner = chosen_partner_for(engine, who, "incentives", query.get("partner"))
    period = params.period(query["period"]) if "period" in query else current_period(engine)
    manager = params.identifier(query.get("account_manager"), "account_manager")
    supervisor = params.identifier(query.get("supervisor"), "supervisor")
    if manager is not None and supervisor is not None:
        raise bad_request("supervisor", "choose an account manager or a supervisor, not both")
    context = {
        "partner": partner,
        "partners": _partners(engine, who),
        "period": period,
        "periods": _periods(engine, period),
        "account_manager": manager,
        "supervisor": supervisor,
        "board": None,
        "refusal": None,
        "managers": [],
        "supervisors": [],
    }
    if partner is None:
        return context
    standing = supervisors_before(roster_events(engine.ledger, partner), queries.period_bounds(engine, period).end)
    managers, _resellers = queries.scope_choices(engine, partner)
    context |= {"managers": sorted(set(managers) | set(standing)), "supervisors": sorted(set(standing.values()))}
    try:
        context["board"] = dashboard(engine, partner, period, IncentiveScope(manager, supervisor))
    except Refused as refused:
        context["refusal"] = refused
    return context


def subsidies_page(engine: Engine, who: Principal, query: dict[str, str]) -> dict:
    partner = own_partner(who, "subsidies", params.identifier(query.get("partner"), "partner"))
    deal = params.identifier(query.get("deal"), "deal")
    return {
        "subsidies": subsidies(engine, partner, deal).subsidies,
        "partner": partner,
        "deal": deal,
        "partners": _partners(engine, who),
    }


def resources_page(engine: Engine, who: Principal, query: dict[str, str]) -> dict:
    """A customer's resources (a partner reads them as §12's rule allows), the
    authorization requests, and the service catalogue."""
    customer = params.identifier(query.get("customer"), "customer")
    period = params.period(query["period"]) if "period" in query else None
    reseller = params.identifier(query.get("reseller"), "reseller")
    partner = own_partner(who, "resources", None)
    status = params.choice(query.get("status"), "status", AUTHORIZATION_STATUSES)
    context = {
        "customer": customer,
        "period": period,
        "reseller": reseller,
        "status": status,
        "statuses": AUTHORIZATION_STATUSES,
        "periods": sorted(queries.bill_periods(engine), reverse=True),
        "resources": None,
        "refusal": None,
        "names": service_type_names(engine),
        "service_types": service_types(engine).service_types,
        "authorizations": list_authorizations(
            engine, partner_id=partner, customer_id=customer, status=status
        ).authorizations[::-1],
        "may_request": may(who, "authorization_request", who.partner_id),
        "may_answer": may(who, "authorization_answer"),
        "partners": _partners(engine, who),
        "new_id": new_id("auth"),
    }
    if customer is None:
        return context
    try:
        if who.reads_everything:
            context["resources"] = customer_resources(engine, customer, period)
        else:
            context["resources"] = customer_resources(engine, customer, period, as_partner=partner, reseller=reseller)
    except Refused as refused:
        context["refusal"] = refused
    return context


def chosen_partner_for(engine: Engine, who: Principal, kind: str, requested: str | None) -> str | None:
    """As `web.pages.chosen_partner`, for a kind of data other than the views."""
    if not who.reads_everything:
        require_read(who, kind, params.identifier(requested, "partner") or who.partner_id)
        return who.partner_id
    return chosen_partner(engine, who, requested)


def _partners(engine: Engine, who: Principal) -> list[str]:
    return queries.partner_ids(engine) if who.reads_everything else [who.partner_id]


def _periods(engine: Engine, shown: str) -> list[str]:
    """The periods to offer: those with bills, this month and the one shown, newest first."""
    return sorted(set(queries.bill_periods(engine)) | {current_period(engine), shown}, reverse=True)
