"""Periods and statements over HTTP (CONTRACT.md §7, §10): the bodies of `billing
periods | close | statements | statement | confirm | dispute --json`.

Who: every signed-in reader lists periods (reference data, no partner's figures);
operators close them. Operators and auditors read every statement, a partner its
own; a partner confirms or disputes its own, an operator any.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Request, get, post
from litestar.params import FromQuery, JSONBody

from commands import statements
from schemas.statements import STATUSES, CloseResult, PeriodList, Statement, StatementList
from web import params
from web.access import own_partner, require_read, require_write
from web.params import OptionalId, OptionalPeriod, OptionalTime, PathId, PathPeriod
from web.route_support import (
    ERROR_RESPONSES,
    REFUSABLE_READ_RESPONSES,
    WRITE_RESPONSES,
    act,
    call,
    engine_of,
    principal_of,
)

StatementStatus = Literal[STATUSES]  # type: ignore[valid-type]


class DisputeBody(msgspec.Struct, forbid_unknown_fields=True):
    """Why the partner disputes the statement."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=512, description="1..512 characters")]


@get(
    "/periods",
    summary="Periods, open or closed",
    responses=ERROR_RESPONSES,
    description="`billing periods --json`: every period with a charge. Any token reads it.",
)
async def periods(request: Request) -> PeriodList:
    require_read(principal_of(request), "periods")
    return await call(request, statements.list_periods, engine_of(request))


@post(
    "/periods/{period:str}/close",
    summary="Close a period and issue its statements",
    status_code=200,
    responses=WRITE_RESPONSES,
    description="`billing close --period P --json` (operators). Refusals (the period has not ended, is closed "
    "already, is not the next to close) are 409 with their code.",
)
async def close(request: Request, period: PathPeriod) -> CloseResult:
    require_write(principal_of(request), "close_period")
    period = params.period(period)
    return await act(request, statements.close_period, engine_of(request), period)


@get(
    "/statements",
    summary="Statement summaries",
    responses=ERROR_RESPONSES,
    description="`billing statements --json`: by period, then partner; `issued_from` inclusive, `issued_to` "
    "exclusive. A partner token lists its own partner's (naming another partner is 403).",
)
async def statement_list(
    request: Request,
    partner: OptionalId = None,
    period: OptionalPeriod = None,
    status: FromQuery[StatementStatus | None] = None,
    issued_from: OptionalTime = None,
    issued_to: OptionalTime = None,
) -> StatementList:
    partner = own_partner(principal_of(request), "statements", params.identifier(partner, "partner"))
    period = None if period is None else params.period(period)
    return await call(
        request, statements.list_statements, engine_of(request), partner, period, status, issued_from, issued_to
    )


@get(
    "/statements/{partner:str}/{period:str}",
    summary="One whole statement",
    responses=REFUSABLE_READ_RESPONSES,
    description="`billing statement --json`; none is 409 `unknown_statement`, as the command's exit 1.",
)
async def statement(request: Request, partner: PathId, period: PathPeriod) -> Statement:
    require_read(principal_of(request), "statements", partner)
    return await call(request, statements.get_statement, engine_of(request), partner, params.period(period))


@post(
    "/statements/{partner:str}/{period:str}/confirm",
    summary="Confirm a statement (final)",
    status_code=200,
    responses=WRITE_RESPONSES,
    description="`billing confirm --json`: the whole statement after the change. Confirming twice, or a "
    "statement that does not exist, is 409 with its code.",
)
async def confirm(request: Request, partner: PathId, period: PathPeriod) -> Statement:
    require_write(principal_of(request), "statement_response", partner)
    return await act(request, statements.confirm_statement, engine_of(request), partner, params.period(period))


@post(
    "/statements/{partner:str}/{period:str}/dispute",
    summary="Dispute a statement, with a reason",
    status_code=200,
    responses=WRITE_RESPONSES,
    description='`billing dispute --reason TEXT --json`; body `{"reason"}` of 1..512 characters.',
)
async def dispute(request: Request, partner: PathId, period: PathPeriod, data: JSONBody[DisputeBody]) -> Statement:
    require_write(principal_of(request), "statement_response", partner)
    return await act(
        request, statements.dispute_statement, engine_of(request), partner, params.period(period), data.reason
    )


ROUTES = [periods, close, statement_list, statement, confirm, dispute]
