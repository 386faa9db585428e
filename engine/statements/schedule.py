"""When `billing serve` closes a period by itself (BILLING_CLOSE_AFTER), pure.

The next period to close is the month after the last closed one (or, before the first
close, the earliest month with a charge); it is due once its end plus the grace has
passed. Months are closed in order, empty ones included, up to the latest month with a
charge: a month after every charge stays open until a charge needs it closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from engine.errors import SettingsError
from engine.instants import parse_period
from engine.statements.rules import following_period

# ISO 8601 durations: years and months count as calendar months (a period's end plus
# one month is the end of the month after it, in the billing time zone), weeks, days
# and the time part as fixed lengths.
_DURATION = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Grace:
    """How long after a period's end `serve` waits to close it: whole calendar months,
    then a fixed length."""

    months: int = 0
    fixed: timedelta = timedelta(0)


def parse_duration(text: str, name: str = "BILLING_CLOSE_AFTER") -> Grace:
    """An ISO 8601 duration such as `P3D`, `PT12H`, `P1DT6H`, `P2W`, `P1M`, `P1Y`."""
    spelled = text.strip().upper()
    match = _DURATION.fullmatch(spelled)
    if match is None or spelled in ("P", "PT") or spelled.endswith("T"):
        raise SettingsError(f"{name}: {text!r} is not an ISO 8601 duration (e.g. P3D, PT12H, P1M)")
    parts = {key: value for key, value in match.groupdict().items() if value is not None}
    months = 12 * int(parts.pop("years", 0)) + int(parts.pop("months", 0))
    fixed = timedelta(**{key: float(value.replace(",", ".")) for key, value in parts.items()})
    return Grace(months, fixed)


def shifted_period(period: str, months: int) -> str:
    """The period `months` calendar months after `period`."""
    year, month = parse_period(period)
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def next_to_close(last_closed: str | None, earliest_charge: str | None, latest_charge: str | None) -> str | None:
    """The period serve would close next, or None when no month with a charge is open."""
    if earliest_charge is None or latest_charge is None:
        return None
    candidate = following_period(last_closed) if last_closed is not None else earliest_charge
    return candidate if candidate <= latest_charge else None
