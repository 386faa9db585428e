"""The ASGI app: the JSON API under /api/v1/, its OpenAPI document at
/api/v1/openapi.json, and the console at / (CONTRACT.md §10).

Built on Litestar: the engine's types are msgspec Structs, which Litestar encodes and
describes in OpenAPI natively (FastAPI would need pydantic copies of every view).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from litestar import Litestar, Request, Response, Router, get
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from commands.bootstrap import Engine
from commands.store_url import parse_store_url
from commands.tokens import authenticate
from web import (
    api,
    api_accounts,
    api_incentives,
    api_resources,
    api_statements,
    console,
    console_actions,
    console_features,
)
from web.errors import api_error_response, bad_request, unauthorized
from web.route_support import call
from web.transfer_queue import TransferQueue
from web.view_cache import MAX_BYTES, ViewCache

API_PREFIX = "/api/v1"
# Each feature's API routes (a list named ROUTES in its module): one line each.
API_ROUTES = (api.ROUTES, api_statements.ROUTES, api_accounts.ROUTES, api_incentives.ROUTES, api_resources.ROUTES)
# The console's pages and forms of the features (its own sign-in and view pages are in web.console).
CONSOLE_ROUTES = console_features.ROUTES + console_actions.ROUTES
STATIC = Path(__file__).resolve().parent / "static"


async def api_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The API's one guard (Litestar copies the handler for each guard it runs): the
    bearer token first (401), then the query's parameters (400)."""
    await bearer_token(connection)
    known_query(connection, handler)


async def bearer_token(connection: ASGIConnection) -> None:
    """`Authorization: Bearer TOKEN` of a live token, else 401."""
    header = connection.headers.get("authorization")
    if header is None:
        raise unauthorized("this request needs an Authorization: Bearer token")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise unauthorized("the Authorization header must be: Bearer TOKEN")
    principal = await call(connection, authenticate, connection.app.state.engine, secret.strip())
    if principal is None:
        raise unauthorized("unknown or revoked token")
    connection.scope["state"]["principal"] = principal


def known_query(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """A query names only the endpoint's parameters, each once: a misspelt one
    (`custmer=`) or a repeated one is a 400, never silently ignored or chosen from."""
    known = _query_names(handler)
    params = connection.query_params
    for key in params:
        if key not in known:
            raise bad_request(
                key or "query", "no such parameter" + (f" (one of: {', '.join(sorted(known))})" if known else "")
            )
        if len(params.getall(key)) > 1:
            raise bad_request(key, "given more than once")


def _query_names(handler: BaseRouteHandler) -> frozenset[str]:
    names = handler.opt.get("query_names")
    if names is None:
        path_names = {
            part.strip("{}").split(":")[0] for path in handler.paths for part in path.split("/") if "{" in part
        }
        names = frozenset(handler.parsed_fn_signature.parameters) - {"request", "data"} - path_names
        handler.opt["query_names"] = names
    return names


def _error_response(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith(API_PREFIX + "/") or request.url.path == API_PREFIX:
        return api_error_response(request, exc)
    return console.error_page(request, exc)


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Partner billing API",
        version="1",
        description="The views and commands of the `billing` CLI over HTTP (CONTRACT.md §10). Every body "
        "is the matching command's `--json` output. Send `Authorization: Bearer TOKEN` "
        "(`billing token create`).",
        # Litestar's own schema router answers every unknown path under its prefix with
        # an HTML 404; it is kept out of the API's way, and /api/v1/openapi.json is ours.
        path="/_openapi",
        render_plugins=[JsonRenderPlugin()],
        components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        security=[{"bearer": []}],
    )


@get(API_PREFIX + "/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi_document(request: Request) -> Response:
    """The API's OpenAPI document (no token needed to read it)."""
    state = request.app.state
    if "openapi_json" not in state:
        state.openapi_json = document_json(request.app)
    return Response(state.openapi_json, media_type="application/json")


def document_json(app: Litestar) -> bytes:
    """The OpenAPI document as checked in (`schemas/openapi.json`): sorted keys, 2-space
    indent, a trailing newline, so a stale copy shows up as a diff."""
    return (json.dumps(app.openapi_schema.to_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def create_app(engine: Engine | None, *, cache_views: bool = True) -> Litestar:
    """The app over an open engine (the caller closes it); None builds the app only for
    its OpenAPI document."""
    routes = [handler for feature in API_ROUTES for handler in feature]
    api_router = Router(path=API_PREFIX, route_handlers=routes, guards=[api_guard])
    static = create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False)
    app = Litestar(
        route_handlers=[api_router, openapi_document, console.router(CONSOLE_ROUTES), static],
        openapi_config=openapi_config(),
        exception_handlers={Exception: _error_response},
        debug=False,
    )
    app.state.engine = engine
    app.state.view_cache = ViewCache(max_bytes=MAX_BYTES if cache_views else 0)
    app.state.write_lock = threading.Lock()
    app.state.transfer_queue = TransferQueue(engine, app.state.write_lock)
    app.state.inline_reads = engine is None or parse_store_url(engine.settings.store_url).postgres is None
    return app
