"""What every API route uses: the request's principal and engine, calling a handler,
and the error responses the OpenAPI document lists.

A route of a later feature is a few lines:

    @get("/statements/{partner:str}/{period:str}", responses=ERROR_RESPONSES)
    async def statement(request: Request, partner: str, period: str) -> Statement:
        who = principal_of(request)
        require_read(who, "statements", partner)
        return await call(request, statements.statement, engine_of(request), partner, params.period(period))

and `engine.errors.Refused` raised by the handler becomes a 409 with its code, a
`FieldError` a 400 naming the field. A write goes through `act` instead of `call`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
import msgspec
from litestar import Request, Response
from litestar.openapi import ResponseSpec

from commands.bootstrap import Engine
from commands.queries import fresh_position
from engine.tokens import Principal
from schemas.api import ErrorBody
from web.view_cache import ViewCache

T = TypeVar("T")

ERROR_RESPONSES = {
    400: ResponseSpec(
        ErrorBody,
        generate_examples=False,
        description="A malformed request (code `invalid_request`; the message names the field)",
    ),
    401: ResponseSpec(
        ErrorBody, generate_examples=False, description="No token, or a revoked one (code `unauthorized`)"
    ),
    403: ResponseSpec(
        ErrorBody, generate_examples=False, description="The token's role or scope does not allow it (code `forbidden`)"
    ),
}
WRITE_RESPONSES = {
    **ERROR_RESPONSES,
    409: ResponseSpec(
        ErrorBody, generate_examples=False, description="Refused by the rules: the code is the contract's refusal code"
    ),
}
# A read that the rules may refuse (an unknown statement, no incentive policy, a
# resource read without the customer's authorization): 409 with the refusal's code.
REFUSABLE_READ_RESPONSES = WRITE_RESPONSES
# Set on the answer to a request whose id was recorded before with the same content.
REPLAYED_HEADER = "Idempotent-Replayed"


def principal_of(request: Request) -> Principal:
    """Who the request speaks for (set by the authentication guard)."""
    return request.scope["state"]["principal"]


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


async def view_answer(request: Request, produce: Callable[[Engine], object]) -> Response:
    """The answer of a view endpoint (access already checked): `produce(engine)` reads
    the views, which are up to date; kept by log position (`web.view_cache`)."""
    engine, who = engine_of(request), principal_of(request)
    position = await call(request, fresh_position, engine)
    scope = "all" if who.reads_everything else (who.partner_id, who.indirect_partner_id, who.account_manager_id)
    key = (position, request.url.path, request.url.query, scope)
    cache: ViewCache = request.app.state.view_cache
    body = cache.get(key)
    if body is None:
        body = msgspec.json.encode(await call(request, produce, engine))
        cache.put(key, body)
    return Response(body, media_type="application/json")


async def call(request: Request, handler: Callable[..., T], *args: Any, offload: bool = False) -> T:
    """Runs a (synchronous) handler. On SQLite a view read takes well under a
    millisecond and the store has one writer at a time, so reads run on the event loop
    (no thread hop); PostgreSQL reads wait on the network and long work (replay) would
    hold the loop, so those run in a worker thread."""
    if request.app.state.inline_reads and not offload:
        return handler(*args)
    return await anyio.to_thread.run_sync(functools.partial(handler, *args))


async def act(request: Request, handler: Callable[..., T], *args: Any) -> T:
    """Runs a (synchronous) write in a worker thread, one at a time in this process.

    A write holds the store's write lock (SQLite's BEGIN IMMEDIATE, PostgreSQL's table
    lock), which another process may hold for a while: waiting for it off the event
    loop keeps reads answering. The writes of one process queue on a lock of their own
    rather than on SQLite's busy handler, which retries by sleeping."""
    lock: threading.Lock = request.app.state.write_lock

    def run() -> T:
        with lock:
            return handler(*args)

    return await anyio.to_thread.run_sync(run)


def recorded(value: object, repeated: bool) -> Response:
    """The answer to a request that records something under the caller's id: 201 when
    recorded now, 200 with what the first call answered when the same request was
    recorded before (nothing changed; said in the `Idempotent-Replayed` header too)."""
    headers = {REPLAYED_HEADER: "true"} if repeated else None
    return Response(
        msgspec.json.encode(value), status_code=200 if repeated else 201, headers=headers, media_type="application/json"
    )
