"""The console's pages of statements, the account, payment applications, incentives,
subsidies and resources (CONTRACT.md §7–9, §12 over §10). Each page is a template and
a gather function (`web.pages_settlement`, `web.pages_programs`), listed in `PAGES`;
the forms they post are handled in `web.console_actions`, which shows the same page
again, with the problem, when the rules refuse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from litestar import Request, Response, get
from litestar.params import FromPath

from commands.bootstrap import Engine
from engine.tokens import Principal
from web.console import render, signed_in
from web.pages_programs import incentives_page, resources_page, subsidies_page
from web.pages_settlement import account_page, payments_page, statement_page, statements_page
from web.route_support import call


@dataclass(frozen=True, slots=True)
class Page:
    template: str
    nav: str  # the nav entry it belongs to (web.nav)
    gather: Callable[[Engine, Principal, dict[str, str]], dict]


PAGES = {
    "statements": Page("statements.html", "statements", statements_page),
    "statement": Page(
        "statement.html",
        "statements",
        lambda engine, who, query: statement_page(engine, who, query["partner"], query["period"]),
    ),
    "account": Page("account.html", "account", account_page),
    "payments": Page("payments.html", "payments", payments_page),
    "incentives": Page("incentives.html", "incentives", incentives_page),
    "subsidies": Page("subsidies.html", "subsidies", subsidies_page),
    "resources": Page("resources.html", "resources", resources_page),
}


async def show(
    request: Request, key: str, query: dict[str, str], status_code: int = 200, problem: str | None = None
) -> Response:
    """Renders page `key` for the request's principal with `query` (empty values dropped)."""
    page = PAGES[key]
    query = {name: value for name, value in query.items() if value not in ("", None)}
    context = await call(request, page.gather, request.app.state.engine, request.scope["state"]["principal"], query)
    if problem is None and context.get("refusal") is not None:
        status_code, problem = 409, f"{context['refusal'].code}: {context['refusal'].message}"
    return render(request, page.template, status_code=status_code, current=page.nav, problem=problem, **context)


def _query(request: Request) -> dict[str, str]:
    return dict(request.query_params.items())


@get("/statements", guards=[signed_in])
async def statements(request: Request) -> Response:
    return await show(request, "statements", _query(request))


@get("/statements/{partner:str}/{period:str}", guards=[signed_in])
async def statement(request: Request, partner: FromPath[str], period: FromPath[str]) -> Response:
    return await show(request, "statement", {"partner": partner, "period": period})


@get("/account", guards=[signed_in])
async def account(request: Request) -> Response:
    return await show(request, "account", _query(request))


@get("/payments", guards=[signed_in])
async def payments(request: Request) -> Response:
    return await show(request, "payments", _query(request))


@get("/incentives", guards=[signed_in])
async def incentives(request: Request) -> Response:
    return await show(request, "incentives", _query(request))


@get("/subsidies", guards=[signed_in])
async def subsidies(request: Request) -> Response:
    return await show(request, "subsidies", _query(request))


@get("/resources", guards=[signed_in])
async def resources(request: Request) -> Response:
    return await show(request, "resources", _query(request))


ROUTES = [statements, statement, account, payments, incentives, subsidies, resources]
