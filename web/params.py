"""Query and path parameters checked as the CLI checks its options: a malformed one is
a 400 naming it, never a 500 (CONTRACT.md §10)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter, QueryParameter

from engine.instants import InvalidTime, parse_instant, parse_period, recorded_time
from web.errors import PATTERN_MEANINGS, bad_request

# A year from 0002 to 9998 (as engine.instants.parse_period), a month 01..12.
PERIOD_PATTERN = (
    r"^(000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
    r"-(0[1-9]|1[0-2])$"
)
RFC3339_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
AMOUNT_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
PATTERN_MEANINGS.update(
    {
        PERIOD_PATTERN: "must be a period YYYY-MM from 0002-01 to 9998-12",
        RFC3339_PATTERN: "must be an RFC 3339 time with its offset, e.g. 2026-11-01T00:00:00+08:00",
        AMOUNT_PATTERN: 'must be a plain decimal such as "100.00"',
    }
)

# Parameter types, so the OpenAPI document says what is accepted.
Period = Annotated[str, QueryParameter(description="billing period, YYYY-MM", pattern=PERIOD_PATTERN)]
OptionalId = Annotated[str | None, QueryParameter(description="an id, 1..64 characters", min_length=1, max_length=64)]
RequiredId = Annotated[str, QueryParameter(description="an id, 1..64 characters", min_length=1, max_length=64)]
OptionalPeriod = Annotated[str | None, QueryParameter(description="billing period, YYYY-MM", pattern=PERIOD_PATTERN)]
OptionalTime = Annotated[
    str | None,
    QueryParameter(description="RFC 3339 time with offset", pattern=RFC3339_PATTERN, max_length=64),
]
PathPeriod = Annotated[str, Parameter(description="billing period, YYYY-MM", pattern=PERIOD_PATTERN)]
PathId = Annotated[str, Parameter(description="an id, 1..64 characters", min_length=1, max_length=64)]
AsOf = Annotated[
    str | None,
    QueryParameter(
        description="RFC 3339 time with offset: only events recorded at or before it (default: now)",
        pattern=RFC3339_PATTERN,
        max_length=64,
    ),
]


def period(value: str, field: str = "period") -> str:
    try:
        parse_period(value)
    except ValueError as error:
        raise bad_request(field, str(error).removeprefix("period ")) from None
    return value


def identifier(value: str | None, field: str) -> str | None:
    if value is not None and not 1 <= len(value) <= 64:
        raise bad_request(field, "must be 1..64 characters")
    return value


def moment(value: str | None, field: str) -> str | None:
    """An RFC 3339 time with its offset, as a recorded-time string (UTC)."""
    if value is None:
        return None
    try:
        return recorded_time(parse_instant(value))
    except (InvalidTime, ValueError, OverflowError) as error:
        raise bad_request(field, str(error)) from None


def choice(value: str | None, field: str, allowed: tuple[str, ...]) -> str | None:
    """An optional value that must be one of `allowed` (a status, a kind)."""
    if value is not None and value not in allowed:
        raise bad_request(field, f"must be one of {', '.join(allowed)}, not {value!r}")
    return value
