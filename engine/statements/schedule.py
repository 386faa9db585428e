"""When `billing serve` closes a period by itself (BILLING_CLOSE_AFTER), pure.

The next period to close is the month after the last closed one (or, before the first
close, the earliest month with a charge); it is due once its end plus the grace has
passed. Months are closed in order, empty ones included, up to the latest month with a
charge: a month after every charge stays open until a charge needs it closed.
"""

from __future__ import annotations

import re
from datetime import timedelta

from engine.errors import SettingsError
from engine.statements.rules import following_period

# ISO 8601 durations of fixed length: weeks, or days and a time part (no years or
# months: their length depends on the calendar).
_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W|(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?)",
    re.ASCII,
)


def parse_duration(text: str, name: str = "BILLING_CLOSE_AFTER") -> timedelta:
    """An ISO 8601 duration such as `P3D`, `PT12H`, `P1DT6H`, `P2W`."""
    match = _DURATION.fullmatch(text.strip().upper())
    if match is None or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise SettingsError(
            f"{name}: {text!r} is not an ISO 8601 duration of weeks, days, hours, minutes or seconds (e.g. P3D, PT12H)"
        )
    parts = {key: float(value.replace(",", ".")) for key, value in match.groupdict().items() if value is not None}
    return timedelta(**parts)


def next_to_close(last_closed: str | None, earliest_charge: str | None, latest_charge: str | None) -> str | None:
    """The period serve would close next, or None when no month with a charge is open."""
    if earliest_charge is None or latest_charge is None:
        return None
    candidate = following_period(last_closed) if last_closed is not None else earliest_charge
    return candidate if candidate <= latest_charge else None
