"""The JSON API under /api/v1/ (CONTRACT.md §10): each route checks who may read what,
then calls the CLI's own handler; the body is the command's `--json` output.

A feature adds its routes in a module of its own (as `web.api_views` does here) and
lists it in `web.app.API_ROUTES`: see `route_support` for the helpers a route uses.
"""

from __future__ import annotations

from litestar import Request, Response, get

from commands import queries
from engine.errors import REASON_CODES
from projections.replay import ReplayReport, replay_period, report
from schemas.views import BillsListing, CustomerCounts, Performance, RejectionList
from web import params
from web.access import require_read, view_scope
from web.errors import bad_request
from web.params import AsOf, OptionalId, Period, RequiredId
from web.route_support import ERROR_RESPONSES, call, engine_of, principal_of, view_answer


@get(
    "/bills",
    summary="Bills of a period",
    responses=ERROR_RESPONSES,
    description="`billing bills --json`. A partner token sees the bills of the charges attributed to its "
    "partner; a reseller or account-manager token those of the charges carrying its id.",
)
async def bills(request: Request, period: Period, customer: OptionalId = None) -> Response[BillsListing]:
    who = principal_of(request)
    period = params.period(period)
    customer = params.identifier(customer, "customer")
    if who.reads_everything:

        def produce(engine):
            return BillsListing(period=period, bills=queries.bills(engine, period, customer, fresh=False))
    else:
        require_read(who, "views", who.partner_id)
        scope = view_scope(who, None, None)

        def produce(engine):
            found = queries.partner_bills(engine, period, who.partner_id, scope, customer, fresh=False)
            return BillsListing(period=period, bills=found)

    return await view_answer(request, produce)


@get(
    "/customers",
    summary="Customer counts (the customer dashboard)",
    responses=ERROR_RESPONSES,
    description="`billing customers --json`. A scoped token's scope is always applied; asking for another "
    "scope is 403.",
)
async def customers(
    request: Request,
    partner: RequiredId,
    period: Period,
    account_manager: OptionalId = None,
    reseller: OptionalId = None,
) -> Response[CustomerCounts]:
    who = principal_of(request)
    period = params.period(period)
    require_read(who, "views", partner)
    scope = view_scope(
        who, params.identifier(account_manager, "account_manager"), params.identifier(reseller, "reseller")
    )
    return await view_answer(
        request, lambda engine: queries.customer_counts(engine, partner, period, scope, fresh=False)
    )


@get(
    "/performance",
    summary="A partner's performance (业绩)",
    responses=ERROR_RESPONSES,
    description="`billing performance --json`; for a scoped token, of the charges carrying its id.",
)
async def performance(request: Request, partner: RequiredId, period: Period) -> Response[Performance]:
    who = principal_of(request)
    period = params.period(period)
    require_read(who, "views", partner)
    scope = view_scope(who, None, None)
    return await view_answer(request, lambda engine: queries.performance(engine, partner, period, scope, fresh=False))


@get(
    "/replay",
    summary="A period's views rebuilt from the log",
    responses=ERROR_RESPONSES,
    description="`billing replay --json` (operators and auditors).",
)
async def replay(request: Request, period: Period, as_of: AsOf = None) -> ReplayReport:
    who, engine = principal_of(request), engine_of(request)
    period = params.period(period)
    as_of = params.moment(as_of, "as_of")
    require_read(who, "replay")
    return await call(request, _replay, engine, period, as_of, offload=True)


def _replay(engine, period: str, as_of: str | None) -> ReplayReport:
    as_of = as_of or engine.ledger.now()
    views, _read = replay_period(engine.ledger, queries.view_settings(engine, period), as_of)
    return report(views, as_of)


@get(
    "/rejected",
    summary="Kept rejections",
    responses=ERROR_RESPONSES,
    description="`billing rejected --json` (operators and auditors: raw inputs of every partner).",
)
async def rejected(request: Request, reason: OptionalId = None) -> RejectionList:
    who, engine = principal_of(request), engine_of(request)
    if reason is not None and reason not in REASON_CODES:
        raise bad_request("reason", f"must be one of {', '.join(REASON_CODES)}")
    require_read(who, "rejected")
    return await call(request, queries.rejected_listing, engine, reason)


ROUTES = [bills, customers, performance, replay, rejected]
