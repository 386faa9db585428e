"""Incentives and subsidies over HTTP (CONTRACT.md §9, §10): the bodies of `billing
incentives --json` and `billing subsidies --json`.

Who: operators and auditors read every partner's, a partner its own. A period no
policy covers is 409 `no_policy`, as the command's exit 1.
"""

from __future__ import annotations

from litestar import Request, get

from commands.incentives import IncentiveScope, incentive_report
from commands.subsidies import subsidies as subsidy_list
from schemas.incentive_views import IncentiveReport, SubsidyList
from web import params
from web.access import own_partner, require_read
from web.errors import bad_request
from web.params import OptionalId, Period, RequiredId
from web.route_support import ERROR_RESPONSES, REFUSABLE_READ_RESPONSES, call, engine_of, principal_of


@get(
    "/incentives",
    summary="A partner's incentive for a period (激励)",
    responses=REFUSABLE_READ_RESPONSES,
    description="`billing incentives --partner P --period P [--account-manager ID | --supervisor ID] --json`: "
    "`estimated` for an open period, `final` for a closed one. With a scope, only what carries that account "
    "manager (or the supervisor's account managers); give at most one of the two.",
)
async def incentives(
    request: Request,
    partner: RequiredId,
    period: Period,
    account_manager: OptionalId = None,
    supervisor: OptionalId = None,
) -> IncentiveReport:
    require_read(principal_of(request), "incentives", params.identifier(partner, "partner"))
    period = params.period(period)
    if account_manager is not None and supervisor is not None:
        raise bad_request("supervisor", "give account_manager or supervisor, not both")
    scope = IncentiveScope(
        account_manager_id=params.identifier(account_manager, "account_manager"),
        supervisor_id=params.identifier(supervisor, "supervisor"),
    )
    return await call(request, incentive_report, engine_of(request), partner, period, scope)


@get(
    "/subsidies",
    summary="Subsidy milestones and their subsidies (补贴)",
    responses=ERROR_RESPONSES,
    description="`billing subsidies --json`, by deal then milestone; a partner token lists its own partner's.",
)
async def subsidies(request: Request, partner: OptionalId = None, deal: OptionalId = None) -> SubsidyList:
    partner = own_partner(principal_of(request), "subsidies", params.identifier(partner, "partner"))
    return await call(request, subsidy_list, engine_of(request), partner, params.identifier(deal, "deal"))


ROUTES = [incentives, subsidies]
