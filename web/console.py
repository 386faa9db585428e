"""The partner web console at / (CONTRACT.md §10): server-rendered pages (Jinja2, no
script), signed in with a token kept in an HttpOnly, SameSite=Strict cookie.

Every page reads through the same handlers and access rules as the API (`web.access`),
so a page never shows what the token could not read over the API. The pages' figures
are gathered in `web.pages`.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.enums import MediaType
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from commands.tokens import authenticate
from engine.tokens import Principal
from web import pages
from web.errors import error_of
from web.i18n import LANGUAGES, choose_language, labels
from web.nav import visible_entries
from web.route_support import call

SESSION_COOKIE = "billing_session"
LANG_COOKIE = "billing_lang"
# The pages of later features, by nav key (web.nav), as they are added
# (their routes: web.console_features and web.console_actions).
FEATURE_PAGES: frozenset[str] = frozenset({"statements", "account", "payments", "incentives", "subsidies", "resources"})

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def csrf_token(secret: str) -> str:
    """A form's anti-forgery value, bound to the session's token (not guessable without it)."""
    return hashlib.sha256(b"billing-console-csrf:" + secret.encode()).hexdigest()[:32]


async def signed_in(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """The console's guard: a live token in the session cookie, else to the sign-in page."""
    secret = connection.cookies.get(SESSION_COOKIE)
    principal = await call(connection, authenticate, connection.app.state.engine, secret) if secret else None
    if principal is None:
        raise NotAuthorizedException("sign in first")
    connection.scope["state"]["principal"] = principal
    connection.scope["state"]["secret"] = secret


def render(request: Request, template: str, status_code: int = 200, **context: object) -> Response:
    language = choose_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    state = request.scope["state"]
    who: Principal | None = state.get("principal")
    texts = labels(language)
    done = request.query_params.get("done")
    page = {
        "t": texts,
        "notice": texts.get(f"done_{done}") if done else None,
        "problem": None,
        "lang": language,
        "who": who,
        "nav": visible_entries(who, FEATURE_PAGES) if who else [],
        "csrf": csrf_token(state["secret"]) if "secret" in state else "",
        "path": request.url.path,
        "query": request.url.query,
        **context,
    }
    return Response(_templates.get_template(template).render(page), media_type=MediaType.HTML, status_code=status_code)


@get("/signin")
async def signin_page(request: Request, next: FromQuery[str | None] = None) -> Response:
    return render(request, "signin.html", next=_local(next), failed=False)


@post("/signin", status_code=303)
async def signin(request: Request) -> Response:
    form = await request.form()
    secret = str(form.get("token") or "").strip()
    target = _local(str(form.get("next") or "/"))
    principal = await call(request, authenticate, request.app.state.engine, secret) if secret else None
    if principal is None:
        return render(request, "signin.html", status_code=401, next=target, failed=True)
    response = Redirect(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="strict", path="/")
    return response


@post("/signout", status_code=303, guards=[signed_in])
async def signout(request: Request) -> Response:
    form = await request.form()
    if not hmac.compare_digest(str(form.get("csrf") or ""), csrf_token(request.scope["state"]["secret"])):
        return render(request, "error.html", status_code=403, title_key="forbidden", message="bad form token")
    response = Redirect("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@get("/lang/{language:str}")
async def switch_language(request: Request, language: FromPath[str]) -> Response:
    target = _local(urlsplit(request.headers.get("referer") or "/").path or "/")
    response = Redirect(target, status_code=303)
    if language in LANGUAGES:
        response.set_cookie(LANG_COOKIE, language, samesite="lax", path="/", max_age=365 * 86400)
    return response


@get("/", guards=[signed_in])
async def dashboard(request: Request) -> Response:
    return render(request, "dashboard.html", current="dashboard", **await _gather(request, pages.dashboard))


@get("/bills", guards=[signed_in])
async def bills(request: Request) -> Response:
    return render(request, "bills.html", current="bills", **await _gather(request, pages.bills))


@get("/performance", guards=[signed_in])
async def performance(request: Request) -> Response:
    return render(request, "performance.html", current="performance", **await _gather(request, pages.performance))


async def _gather(request: Request, gather) -> dict:
    query = {key: value for key, value in request.query_params.items() if value != ""}
    who = request.scope["state"]["principal"]
    return await call(request, gather, request.app.state.engine, who, query)


def _local(target: str | None) -> str:
    """Only a path on this site (never another site's address) is a place to go back to."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def error_page(request: Request, exc: Exception) -> Response:
    """A console error as a page; a missing session goes to the sign-in page."""
    error = error_of(exc)
    if error.status_code == 401:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/signin?next={quote(path, safe='')}", status_code=303)
    title = {403: "forbidden", 404: "not_found"}.get(error.status_code, "error")
    return render(request, "error.html", status_code=error.status_code, title_key=title, message=error.message)


def router(feature_routes: list | tuple = ()) -> Router:
    """The console's routes, with the features' pages and forms."""
    handlers = [signin_page, signin, signout, switch_language, dashboard, bills, performance, *feature_routes]
    return Router(path="/", route_handlers=handlers, include_in_schema=False)
