"""The HTTP API's own bodies (CONTRACT.md §10); every other body is a view's or a
command's `--json` shape."""

from __future__ import annotations

from msgspec import Struct


class ErrorDetail(Struct):
    """What went wrong: a stable snake_case code and a message naming the field at fault."""

    code: str
    message: str


class ErrorBody(Struct):
    """Every 4xx/5xx answer of the API."""

    error: ErrorDetail
