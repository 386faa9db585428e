"""Errors as the API answers them: `{"error": {"code", "message"}}` with a status that
says whose fault it is (CONTRACT.md §10). Bad input is a 400, never a 500.

The console (HTML) shows the same errors as pages; `web.console` handles them there.
"""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from engine.errors import FieldError, Refused, StoreError

log = logging.getLogger("billing.web")
# What a parameter's pattern means, said instead of the pattern itself (`web.params` fills it).
PATTERN_MEANINGS: dict[str, str] = {}


class ApiError(HTTPException):
    """A request the API will not answer: an HTTP status, a stable code, a message."""

    def __init__(self, status_code: int, code: str, message: str):
        super().__init__(status_code=status_code, detail=message)
        self.code = code
        self.message = message


def bad_request(field: str, problem: str) -> ApiError:
    """A malformed request, naming the field at fault."""
    return ApiError(400, "invalid_request", f"{field}: {problem}")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def error_of(exc: Exception) -> ApiError:
    """Any exception as the API error it is answered with."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Refused):
        return ApiError(409, exc.code, exc.message)
    if isinstance(exc, FieldError):  # a handler's usage error: the CLI's exit 2
        return bad_request(exc.field, exc.problem)
    if isinstance(exc, ValidationException):
        return ApiError(400, "invalid_request", _validation_message(exc))
    if isinstance(exc, NotAuthorizedException):
        return unauthorized(exc.detail)
    if isinstance(exc, PermissionDeniedException):
        return forbidden(exc.detail)
    if isinstance(exc, NotFoundException):
        return ApiError(404, "not_found", "no such resource")
    if isinstance(exc, MethodNotAllowedException):
        return ApiError(405, "method_not_allowed", exc.detail)
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        # Litestar's own 400s are a body it could not decode (truncated, not JSON).
        detail = f"body: {exc.detail}" if exc.status_code == 400 else exc.detail
        return ApiError(exc.status_code, "invalid_request", detail)
    if isinstance(exc, StoreError):
        return ApiError(503, "store_unavailable", str(exc))
    return ApiError(HTTP_500_INTERNAL_SERVER_ERROR, "internal_error", "the server failed; see its log")


def _validation_message(exc: ValidationException) -> str:
    """Litestar's validation detail as one line naming the parameter."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    parts = []
    for item in extra:
        if isinstance(item, dict):
            key = item.get("key") or item.get("source") or "request"
            message = _plain(str(item.get("message", "invalid")))
            if key == "data":  # the request body as a whole
                key = "body"
                message = "a JSON object is required" if message == "'data'" else message
            parts.append(f"{key}: {message}")
    return "; ".join(parts) or exc.detail


def api_error_response(request: Request, exc: Exception) -> Response:
    error = error_of(exc)
    if error.status_code >= 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    headers = {"WWW-Authenticate": 'Bearer realm="billing"'} if error.status_code == 401 else None
    allowed = getattr(exc, "headers", None) or {}
    if error.status_code == 405 and "allow" in {k.lower() for k in allowed}:
        headers = dict(allowed)
    return Response(
        {"error": {"code": error.code, "message": error.message}},
        status_code=error.status_code,
        headers=headers,
        media_type="application/json",
    )


def _plain(message: str) -> str:
    """A validation message in words: a pattern is named by its meaning."""
    for pattern, meaning in PATTERN_MEANINGS.items():
        if pattern in message:
            return meaning
    return message
