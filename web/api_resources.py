"""Customer resources, authorization requests and the service catalogue over HTTP
(CONTRACT.md §12, §10): the bodies of `billing resources | authorization … |
authorizations | service-types --json`.

Who: operators and auditors read every customer's resources; a partner token reads
them as `--as-partner` its partner (409 `not_authorized` unless it holds an approved
authorization of the customer, naming the reseller as its request did). A partner
asks customers for authorization and lists its own requests; operators record the
customer's answers. Every signed-in reader lists the service types.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody

from commands.authorizations import answer_authorization, list_authorizations, request_authorization
from commands.catalog import service_types as service_type_list
from commands.resources import customer_resources
from engine.authorization.decide import STATUSES
from schemas.resources import Authorization, AuthorizationList, ResourceList, ServiceTypeList
from web import params
from web.access import own_partner, require_read, require_write
from web.api_accounts import RejectBody
from web.errors import bad_request
from web.params import OptionalId, OptionalPeriod, PathId, RequiredId
from web.route_support import (
    ERROR_RESPONSES,
    REFUSABLE_READ_RESPONSES,
    WRITE_RESPONSES,
    act,
    call,
    engine_of,
    principal_of,
    recorded,
)

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="1..64 characters")]
AuthorizationStatus = Literal[STATUSES]  # type: ignore[valid-type]


class AuthorizationRequestBody(msgspec.Struct, forbid_unknown_fields=True):
    """A partner's request for a customer's authorization (申请客户授权). `reseller`: the
    `indirect_partner_id` of the customer's association, when it has one. `partner_id`:
    an operator's request names the partner; a partner token's is its own."""

    id: Id
    customer_id: Id
    reseller: Id | None = None
    partner_id: Id | None = None


@get(
    "/resources",
    summary="A customer's on-demand resources (按需资源)",
    responses=REFUSABLE_READ_RESPONSES,
    description="`billing resources --customer C [--period P] --json`. For a partner token the read is "
    "`--as-partner` its partner `[--reseller R]`: 409 `not_authorized` unless it holds an approved "
    "authorization of the customer naming that reseller (none: naming none).",
)
async def resources(
    request: Request, customer: RequiredId, period: OptionalPeriod = None, reseller: OptionalId = None
) -> ResourceList:
    who = principal_of(request)
    customer = params.identifier(customer, "customer")
    period = None if period is None else params.period(period)
    reseller = params.identifier(reseller, "reseller")
    if who.reads_everything:
        if reseller is not None:
            raise bad_request("reseller", "names the reseller of a partner token's authorization; not for this role")
        return await call(request, customer_resources, engine_of(request), customer, period)
    require_read(who, "resources", who.partner_id)
    return await call(request, _as_partner, engine_of(request), customer, period, who.partner_id, reseller)


def _as_partner(engine, customer: str, period: str | None, partner: str, reseller: str | None) -> ResourceList:
    return customer_resources(engine, customer, period, as_partner=partner, reseller=reseller)


@get(
    "/authorizations",
    summary="Authorization requests in request order",
    responses=ERROR_RESPONSES,
    description="`billing authorizations --json`; a partner token lists its own partner's.",
)
async def authorizations(
    request: Request,
    partner: OptionalId = None,
    customer: OptionalId = None,
    status: FromQuery[AuthorizationStatus | None] = None,
) -> AuthorizationList:
    partner = own_partner(principal_of(request), "authorizations", params.identifier(partner, "partner"))
    return await call(request, _listing, engine_of(request), partner, params.identifier(customer, "customer"), status)


def _listing(engine, partner: str | None, customer: str | None, status: str | None) -> AuthorizationList:
    return list_authorizations(engine, partner_id=partner, customer_id=customer, status=status)


@post(
    "/authorizations",
    summary="Ask a customer for authorization",
    status_code=201,
    response_description="Recorded now",
    responses={
        **WRITE_RESPONSES,
        200: ResponseSpec(
            Authorization,
            generate_examples=False,
            description="The same request was recorded before: what the first call answered",
        ),
    },
    description="`billing authorization request --json` (partner tokens for their partner; operators name "
    "`partner_id`). 201 recorded (`pending`), 200 a repeat; `not_associated`, `reseller_required`, "
    "`reseller_mismatch`, `id_conflict` are 409.",
)
async def request_one(request: Request, data: JSONBody[AuthorizationRequestBody]) -> Response[Authorization]:
    who = principal_of(request)
    partner = data.partner_id if data.partner_id is not None else who.partner_id
    if partner is None:
        raise bad_request("partner_id", "is required for this role")
    require_write(who, "authorization_request", partner)
    result = await act(request, _request, engine_of(request), data, partner)
    return recorded(result.authorization, result.repeated)


def _request(engine, data: AuthorizationRequestBody, partner: str):
    return request_authorization(
        engine, authorization_id=data.id, partner_id=partner, customer_id=data.customer_id, reseller=data.reseller
    )


@post(
    "/authorizations/{authorization_id:str}/approve",
    summary="The customer approves (recorded for it)",
    status_code=200,
    responses=WRITE_RESPONSES,
    description="`billing authorization approve --json` (operators).",
)
async def approve(request: Request, authorization_id: PathId) -> Authorization:
    return await _answer(request, authorization_id, "approve", None)


@post(
    "/authorizations/{authorization_id:str}/reject",
    summary="The customer rejects, with a reason",
    status_code=200,
    responses=WRITE_RESPONSES,
    description='`billing authorization reject --reason TEXT --json` (operators); body `{"reason"}`.',
)
async def reject(request: Request, authorization_id: PathId, data: JSONBody[RejectBody]) -> Authorization:
    return await _answer(request, authorization_id, "reject", data.reason)


@post(
    "/authorizations/{authorization_id:str}/revoke",
    summary="The customer revokes an approved authorization",
    status_code=200,
    responses=WRITE_RESPONSES,
    description="`billing authorization revoke --json` (operators).",
)
async def revoke(request: Request, authorization_id: PathId) -> Authorization:
    return await _answer(request, authorization_id, "revoke", None)


async def _answer(request: Request, authorization_id: str, step: str, reason: str | None) -> Authorization:
    require_write(principal_of(request), "authorization_answer")
    result = await act(request, answer_authorization, engine_of(request), authorization_id, step, reason)
    return result.authorization


@get(
    "/service-types",
    summary="Service types and their names (the service catalogue)",
    responses=ERROR_RESPONSES,
    description="`billing service-types --json`. Any token reads it.",
)
async def service_types(request: Request) -> ServiceTypeList:
    require_read(principal_of(request), "service_types")
    return await call(request, service_type_list, engine_of(request))


ROUTES = [resources, authorizations, request_one, approve, reject, revoke, service_types]
