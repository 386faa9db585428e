"""The forms the console's pages post (CONTRACT.md §7, §8, §12 over §10): confirm or
dispute a statement, close a period, top up, withdraw, credit an incentive, set the
warning, submit and review payment applications, ask for and answer authorizations.

Every form carries the session's form token (`csrf`). An action runs the CLI's
handler under the API's access rules; done, it goes back to its page (303) with a
notice; refused by the rules (409) or given a malformed field (400), it shows the page
again with the problem; not allowed, it is a 403 page.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from litestar import Request, Response, post
from litestar.params import FromPath
from litestar.response import Redirect

from commands import accounts, statements
from commands.authorizations import answer_authorization, request_authorization
from engine.errors import FieldError, Refused
from web import params
from web.access import require_write
from web.console import csrf_token, signed_in
from web.console_features import show
from web.errors import ApiError, forbidden
from web.route_support import act

Form = dict[str, str | None]


async def read_form(request: Request) -> Form:
    """The form's fields (blank ones as None), once its token is checked (403 otherwise)."""
    form = await request.form()
    if not hmac.compare_digest(str(form.get("csrf") or ""), csrf_token(request.scope["state"]["secret"])):
        raise forbidden("bad form token: reload the page and send the form again")
    return {key: (str(value).strip() or None) for key, value in form.items() if key != "csrf"}


async def perform(
    request: Request, run: Callable[[], Awaitable[object]], back: tuple[str, dict], done: str
) -> Response:
    """Runs an action; back to its page with `done` as the notice, or the page again with the problem."""
    page, query = back
    try:
        await run()
    except Refused as refused:
        return await show(request, page, query, 409, f"{refused.code}: {refused.message}")
    except FieldError as error:
        return await show(request, page, query, 400, str(error))
    except ApiError as error:
        if error.status_code != 400:
            raise
        return await show(request, page, query, 400, error.message)
    return Redirect(_page_url(page, query, done), status_code=303)


def _page_url(page: str, query: dict, done: str) -> str:
    if page == "statement":
        path, query = f"/statements/{query['partner']}/{query['period']}", {}
    else:
        path = f"/{page}"
    return f"{path}?{urlencode({**{k: v for k, v in query.items() if v}, 'done': done})}"


def _principal_and_engine(request: Request):
    return request.scope["state"]["principal"], request.app.state.engine


@post("/statements/{partner:str}/{period:str}/confirm", guards=[signed_in], status_code=303)
async def confirm(request: Request, partner: FromPath[str], period: FromPath[str]) -> Response:
    await read_form(request)
    who, engine = _principal_and_engine(request)

    async def run():
        require_write(who, "statement_response", partner)
        await act(request, statements.confirm_statement, engine, partner, params.period(period))

    return await perform(request, run, ("statement", {"partner": partner, "period": period}), "statement_confirmed")


@post("/statements/{partner:str}/{period:str}/dispute", guards=[signed_in], status_code=303)
async def dispute(request: Request, partner: FromPath[str], period: FromPath[str]) -> Response:
    form = await read_form(request)
    who, engine = _principal_and_engine(request)

    async def run():
        require_write(who, "statement_response", partner)
        await act(request, statements.dispute_statement, engine, partner, params.period(period), form.get("reason"))

    return await perform(request, run, ("statement", {"partner": partner, "period": period}), "statement_disputed")


@post("/periods/close", guards=[signed_in], status_code=303)
async def close_period(request: Request) -> Response:
    form = await read_form(request)
    who, engine = _principal_and_engine(request)
    require_write(who, "close_period")

    async def run():
        await act(request, statements.close_period, engine, params.period(form.get("period") or "", "period"))

    return await perform(request, run, ("statements", {}), "period_closed")


@post("/account/transfers", guards=[signed_in], status_code=303)
async def transfer(request: Request) -> Response:
    form = await read_form(request)
    who, engine = _principal_and_engine(request)
    partner, kind = form.get("partner_id") or who.partner_id, form.get("kind")
    require_write(who, "incentive_credit" if kind == "incentive" else "account_transfer", partner)

    async def run():
        checked = accounts.transfer_request(
            engine.rules, kind, partner, form.get("amount"), form.get("id"), form.get("note")
        )
        await act(request, accounts.transfer, engine, checked)

    return await perform(request, run, ("account", {"partner": partner}), f"{kind}_recorded")


@post("/account/warning", guards=[signed_in], status_code=303)
async def warning(request: Request) -> Response:
    form = await read_form(request)
    who, engine = _principal_and_engine(request)
    partner = form.get("partner_id") or who.partner_id
    require_write(who, "warning", partner)

    async def run():
        below = None if form.get("clear") else accounts.warning_threshold(engine.rules, form.get("below") or "")
        await act(request, accounts.warn, engine, partner, below)

    return await perform(request, run, ("account", {"partner": partner}), "warning_saved")


@post("/payments", guards=[signed_in], status_code=303)
async def submit_payment(request: Request) -> Response:
    form = await read_form(request)
    who, engine = _principal_and_engine(request)
    partner = form.get("partner_id") or who.partner_id
    require_write(who, "payment_submit", partner)

    async def run():
        checked = accounts.payment_request(engine.rules, partner, form.get("amount"), form.get("id"))
        await act(request, accounts.submit_payment, engine, checked)

    return await perform(request, run, ("payments", {"partner": form.get("back_partner")}), "payment_submitted")


@post("/payments/{payment_id:str}/{step:str}", guards=[signed_in], status_code=303)
async def review_payment(request: Request, payment_id: FromPath[str], step: FromPath[str]) -> Response:
    form = await read_form(request)
    who, engine = _principal_and_engine(request)
    require_write(who, "payment_review")
    if step not in ("approve", "reject", "pay"):
        raise ApiError(404, "not_found", "no such step")

    async def run():
        await act(request, accounts.step_payment, engine, payment_id, step, form.get("reason"))

    return await perform(request, run, ("payments", {"partner": form.get("back_partner")}), f"payment_{step}")


@post("/authorizations", guards=[signed_in], status_code=303)
async def request_one(request: Request) -> Response:
    form = await read_form(request)
    who, engine = _principal_and_engine(request)
    partner = form.get("partner_id") or who.partner_id
    if partner is None:
        raise ApiError(400, "invalid_request", "partner_id: is required for this role")
    require_write(who, "authorization_request", partner)

    def record(engine):
        return request_authorization(
            engine,
            authorization_id=form.get("id"),
            partner_id=partner,
            customer_id=form.get("customer_id"),
            reseller=form.get("reseller"),
        )

    async def run():
        await act(request, record, engine)

    return await perform(request, run, ("resources", {"customer": form.get("customer_id")}), "authorization_requested")


@post("/authorizations/{authorization_id:str}/{step:str}", guards=[signed_in], status_code=303)
async def answer(request: Request, authorization_id: FromPath[str], step: FromPath[str]) -> Response:
    form = await read_form(request)
    who, engine = _principal_and_engine(request)
    require_write(who, "authorization_answer")
    if step not in ("approve", "reject", "revoke"):
        raise ApiError(404, "not_found", "no such step")

    async def run():
        await act(request, answer_authorization, engine, authorization_id, step, form.get("reason"))

    return await perform(request, run, ("resources", {"customer": form.get("back_customer")}), f"authorization_{step}")


ROUTES = [confirm, dispute, close_period, transfer, warning, submit_payment, review_payment, request_one, answer]
