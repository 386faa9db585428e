"""Business time: RFC 3339 parsing, instants that sort as text, billing periods.

An instant is kept as a string key `SSSSSSSSSSSS[.fraction]`: seconds since
0001-01-01T00:00:00Z, zero-padded to 12 digits, then the fraction of a second with its
trailing zeros removed. Plain string comparison of two keys orders them in time, at any
precision the sender used (RFC 3339 sets no limit on the fraction), which a float or a
microsecond datetime could not promise.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import SettingsError

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
_EPOCH_0001 = datetime(1, 1, 1, tzinfo=UTC)
_KEY_DIGITS = 12

Instant = str
"""A sortable instant key (see the module docstring)."""


class InvalidTime(ValueError):
    """Not an RFC 3339 date-time with an offset; the message says what is wrong."""


@lru_cache(maxsize=65536)
def parse_instant(text: str) -> Instant:
    """Reads an RFC 3339 date-time with its offset into an instant key."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidTime(
            "must be an RFC 3339 date-time with an offset, e.g. 2026-10-03T08:00:00+08:00"
        )
    year, month, day, hour, minute, second, fraction, _z, sign, offset_hours, offset_mins = match.groups()
    year, month, day = int(year), int(month), int(day)
    hour, minute, second = int(hour), int(minute), int(second)
    if second == 60:
        raise InvalidTime("leap seconds are not accepted")
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month) and hour <= 23 and minute <= 59 and second <= 59):
        raise InvalidTime(f"not a valid date-time ({text!r})")
    offset_seconds = 0
    if sign:
        if int(offset_hours) > 23 or int(offset_mins) > 59:
            raise InvalidTime("offset out of range")
        offset_seconds = (int(offset_hours) * 60 + int(offset_mins)) * 60
        if sign == "-":
            offset_seconds = -offset_seconds
    # Plain arithmetic, not datetime objects: this runs once per inbound event.
    seconds = _days_before(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_seconds
    if seconds < 0 or seconds >= 10**_KEY_DIGITS or year < 1:
        raise InvalidTime("out of range")
    return _key(seconds, (fraction or "").rstrip("0"))


_CUMULATIVE_DAYS = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_before(year: int, month: int, day: int) -> int:
    """Days from 0001-01-01 to the date (proleptic Gregorian, as datetime counts)."""
    previous = year - 1
    days = previous * 365 + previous // 4 - previous // 100 + previous // 400
    return days + _CUMULATIVE_DAYS[month - 1] + (month > 2 and _is_leap(year)) + day - 1


def _key(seconds: int, fraction: str = "") -> Instant:
    head = f"{seconds:0{_KEY_DIGITS}d}"
    return f"{head}.{fraction}" if fraction else head


def instant_seconds(instant: Instant) -> int:
    """Whole seconds since 0001-01-01T00:00:00Z (the fraction dropped)."""
    return int(instant[:_KEY_DIGITS])


def instant_from_datetime(moment: datetime) -> Instant:
    """The instant of an aware datetime (microsecond precision)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime has no instant")
    delta = moment.astimezone(UTC) - _EPOCH_0001
    seconds = delta.days * 86400 + delta.seconds
    return _key(seconds, f"{delta.microseconds:06d}".rstrip("0") if delta.microseconds else "")


def format_instant(instant: Instant) -> str:
    """Writes an instant as RFC 3339 in UTC, keeping its full fraction."""
    moment = _EPOCH_0001 + timedelta(seconds=instant_seconds(instant))
    fraction = instant[_KEY_DIGITS + 1 :]
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


def recorded_time(instant: Instant) -> str:
    """The instant in the fixed-width form of recorded times (RFC 3339 UTC, exactly six
    decimals), which sort as text; digits beyond microseconds are dropped."""
    moment = _EPOCH_0001 + timedelta(seconds=instant_seconds(instant))
    micros = (instant[_KEY_DIGITS + 1 :] + "000000")[:6]
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{micros}Z"


class BillingCalendar:
    """Periods (calendar months) and their bounds in the billing time zone."""

    def __init__(self, timezone_name: str):
        try:
            self.zone = ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"BILLING_TIMEZONE: unknown time zone {timezone_name!r}"
            ) from None
        self.timezone_name = timezone_name
        self.period_of = lru_cache(maxsize=65536)(self._period_of)

    def _period_of(self, instant: Instant) -> str:
        moment = _EPOCH_0001 + timedelta(seconds=instant_seconds(instant))
        local = moment.astimezone(self.zone)
        return f"{local.year:04d}-{local.month:02d}"

    def period_start(self, period: str) -> Instant:
        """The first instant of the period (inclusive)."""
        year, month = parse_period(period)
        return instant_from_datetime(datetime(year, month, 1, tzinfo=self.zone))

    def period_end(self, period: str) -> Instant:
        """The first instant of the next month (the period's exclusive end)."""
        year, month = parse_period(period)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return instant_from_datetime(datetime(year, month, 1, tzinfo=self.zone))

    def quarter_start(self, period: str) -> Instant:
        """The first instant of the calendar quarter the period belongs to."""
        year, month = parse_period(period)
        return self.period_start(f"{year:04d}-{(month - 1) // 3 * 3 + 1:02d}")


_PERIOD = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


def parse_period(period: str) -> tuple[int, int]:
    """Reads a `YYYY-MM` period, raising ValueError with a message if it is not one."""
    match = _PERIOD.fullmatch(period)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise ValueError(f"period must be YYYY-MM, not {period!r}")
    return int(match.group(1)), int(match.group(2))
