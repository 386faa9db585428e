"""Partner accounts, transfers, the ledger, balance warnings, payment applications and
notifications over HTTP (CONTRACT.md §8, §10): the bodies of `billing account |
transfer | transfers | ledger | warn | payment … | payments | notifications --json`.

Who: operators do everything; auditors read everything and write nothing; a partner
reads its own account, transfers, payments and notifications, tops up, withdraws, sets
its warning and submits payment applications (crediting an incentive, and reviewing
applications, are the operators'). The ledger (every partner's accounts) is read by
operators and auditors only.

A transfer or an application sent again with the same id and content is answered 200
with what the first call answered (201 when it is recorded), as the CLI prints it again.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Request, Response, get, post, put
from litestar.openapi import ResponseSpec
from litestar.params import FromQuery, JSONBody

from commands import accounts
from engine.accounts.rules import CALLER_KINDS, PAYMENT_STATUSES
from schemas.accounts import Account, LedgerListing, NotificationList, Payment, PaymentList, Transfer, TransferList
from web.access import own_partner, require_read, require_write
from web.params import AMOUNT_PATTERN, OptionalId, PathId
from web.route_support import ERROR_RESPONSES, WRITE_RESPONSES, act, call, engine_of, principal_of, recorded

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="1..64 characters")]
Amount = Annotated[
    str,
    msgspec.Meta(
        pattern=AMOUNT_PATTERN,
        max_length=40,
        description="a plain decimal with at most the currency's minor digits, above zero, at most 999999999999",
    ),
]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=512, description="1..512 characters")]
PaymentStatus = Literal[PAYMENT_STATUSES]  # type: ignore[valid-type]


class TransferBody(msgspec.Struct, forbid_unknown_fields=True):
    """A transfer to record: `topup` and `withdrawal` (a partner's own), `incentive` (operators)."""

    kind: Literal[CALLER_KINDS]  # type: ignore[valid-type]
    partner_id: Id
    amount: Amount
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="the transfer's idempotency key")]
    note: Annotated[str, msgspec.Meta(max_length=512, description="0..512 characters")] | None = None


class WarningBody(msgspec.Struct, forbid_unknown_fields=True):
    """The balance warning: warn below this prepaid available (`"0"` warns of arrears), or null to clear it."""

    below: Annotated[str, msgspec.Meta(pattern=AMOUNT_PATTERN, max_length=40)] | None


class PaymentBody(msgspec.Struct, forbid_unknown_fields=True):
    """A payment application (付款申请) from the partner's incentive account."""

    partner_id: Id
    amount: Amount
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="the application's idempotency key")]


class RejectBody(msgspec.Struct, forbid_unknown_fields=True):
    """Why an application (or an authorization) is rejected."""

    reason: Reason


@get(
    "/accounts/{partner:str}",
    summary="A partner's accounts and balance warning",
    responses=ERROR_RESPONSES,
    description="`billing account --partner P --json` (zeros for a partner without accounts).",
)
async def account(request: Request, partner: PathId) -> Account:
    require_read(principal_of(request), "account", partner)
    return await call(request, accounts.account, engine_of(request), partner)


@post(
    "/transfers",
    summary="Record a top-up, withdrawal or incentive credit",
    status_code=201,
    response_description="Recorded now",
    responses={
        **WRITE_RESPONSES,
        200: ResponseSpec(
            Transfer,
            generate_examples=False,
            description="The same transfer was recorded before: what the first call answered",
        ),
    },
    description="`billing transfer KIND --json`. 201: recorded; 200: the same id, kind, partner and amount "
    "were recorded before (nothing changed, header `Idempotent-Replayed: true`). Refusals "
    "(`insufficient_funds`, `id_conflict`) are 409. A partner token tops up and withdraws for its own partner; "
    "`incentive` is the operators'.",
)
async def record_transfer(request: Request, data: JSONBody[TransferBody]) -> Response[Transfer]:
    who, engine = principal_of(request), engine_of(request)
    require_write(who, "incentive_credit" if data.kind == "incentive" else "account_transfer", data.partner_id)
    checked = accounts.transfer_request(engine.rules, data.kind, data.partner_id, data.amount, data.id, data.note)
    outcome = await request.app.state.transfer_queue.record(checked)  # with the others arriving meanwhile
    return recorded(outcome.value, outcome.repeated)


@get(
    "/transfers",
    summary="Transfers in recorded order",
    responses=ERROR_RESPONSES,
    description="`billing transfers --json`; a partner token lists its own partner's.",
)
async def transfers(request: Request, partner: OptionalId = None) -> TransferList:
    partner = own_partner(principal_of(request), "transfers", partner)
    return await call(request, accounts.transfers, engine_of(request), partner)


@get(
    "/ledger",
    summary="Every account's balance (they sum to zero)",
    responses=ERROR_RESPONSES,
    description="`billing ledger --json` (operators and auditors).",
)
async def ledger(request: Request) -> LedgerListing:
    require_read(principal_of(request), "ledger")
    return await call(request, accounts.ledger, engine_of(request))


@put(
    "/accounts/{partner:str}/warning",
    summary="Set or clear the balance warning (余额预警)",
    status_code=200,
    responses=WRITE_RESPONSES,
    description='`billing warn --below A | --off --json`: body `{"below": "100.00"}` or `{"below": null}`; '
    "answers the account.",
)
async def warning(request: Request, partner: PathId, data: JSONBody[WarningBody]) -> Account:
    who, engine = principal_of(request), engine_of(request)
    require_write(who, "warning", partner)
    below = accounts.warning_threshold(engine.rules, data.below)
    return await act(request, accounts.warn, engine, partner, below)


@get(
    "/payments",
    summary="Payment applications in submission order",
    responses=ERROR_RESPONSES,
    description="`billing payments --json`; a partner token lists its own partner's.",
)
async def payments(
    request: Request, partner: OptionalId = None, status: FromQuery[PaymentStatus | None] = None
) -> PaymentList:
    partner = own_partner(principal_of(request), "payments", partner)
    return await call(request, accounts.payments, engine_of(request), partner, status)


@post(
    "/payments",
    summary="Submit a payment application",
    status_code=201,
    response_description="Recorded now",
    responses={
        **WRITE_RESPONSES,
        200: ResponseSpec(
            Payment,
            generate_examples=False,
            description="The same application was recorded before: what the first call answered",
        ),
    },
    description="`billing payment submit --json`: `under_review`, reserving the amount on the incentive account. "
    "201 recorded, 200 a repeat of the same id and content; `insufficient_funds`, `id_conflict` are 409.",
)
async def submit_payment(request: Request, data: JSONBody[PaymentBody]) -> Response[Payment]:
    who, engine = principal_of(request), engine_of(request)
    require_write(who, "payment_submit", data.partner_id)
    checked = accounts.payment_request(engine.rules, data.partner_id, data.amount, data.id)
    outcome = await act(request, accounts.submit_payment, engine, checked)
    return recorded(outcome.value, outcome.repeated)


@post(
    "/payments/{payment_id:str}/approve",
    summary="Approve a payment application",
    status_code=200,
    responses=WRITE_RESPONSES,
    description="`billing payment approve --json` (operators); any other step than "
    "under_review → approved is 409 `invalid_state`.",
)
async def approve_payment(request: Request, payment_id: PathId) -> Payment:
    return await _step(request, payment_id, "approve", None)


@post(
    "/payments/{payment_id:str}/reject",
    summary="Reject a payment application, with a reason",
    status_code=200,
    responses=WRITE_RESPONSES,
    description="`billing payment reject --reason TEXT --json` (operators); body "
    '`{"reason"}`. The reservation is voided.',
)
async def reject_payment(request: Request, payment_id: PathId, data: JSONBody[RejectBody]) -> Payment:
    return await _step(request, payment_id, "reject", data.reason)


@post(
    "/payments/{payment_id:str}/pay",
    summary="Pay an approved payment application",
    status_code=200,
    responses=WRITE_RESPONSES,
    description="`billing payment pay --json` (operators).",
)
async def pay_payment(request: Request, payment_id: PathId) -> Payment:
    return await _step(request, payment_id, "pay", None)


async def _step(request: Request, payment_id: str, step: str, reason: str | None) -> Payment:
    require_write(principal_of(request), "payment_review")
    outcome = await act(request, accounts.step_payment, engine_of(request), payment_id, step, reason)
    return outcome.value


@get(
    "/notifications",
    summary="Notifications to partners in recorded order",
    responses=ERROR_RESPONSES,
    description="`billing notifications --json`; a partner token lists its own partner's.",
)
async def notifications(request: Request, partner: OptionalId = None) -> NotificationList:
    partner = own_partner(principal_of(request), "notifications", partner)
    return await call(request, accounts.notifications, engine_of(request), partner)


ROUTES = [
    account,
    record_transfer,
    transfers,
    ledger,
    warning,
    payments,
    submit_payment,
    approve_payment,
    reject_payment,
    pay_payment,
    notifications,
]
