"""Business time: RFC 3339 parsing, instants that sort as text, billing periods.

An instant is kept as a string key `SSSSSSSSSSSS[.fraction]`: seconds since
0001-01-01T00:00:00Z, zero-padded to 12 digits, then the fraction of a second with its
trailing zeros removed. Plain string comparison of two keys orders them in time, at any
precision the sender used (RFC 3339 sets no limit on the fraction), which a float or a
microsecond datetime could not promise.
"""

from __future__ import annotations

import bisect
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.errors import SettingsError

_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
_EPOCH_0001 = datetime(1, 1, 1, tzinfo=UTC)
_KEY_DIGITS = 12
_KEY_LIMIT = 10**_KEY_DIGITS
_BEFORE_YEAR_1 = -(10**9)  # days: far enough back that no time or offset brings it into range

Instant = str
"""A sortable instant key (see the module docstring)."""


class InvalidTime(ValueError):
    """Not an RFC 3339 date-time with an offset; the message says what is wrong."""


_SIXTY = {f"{n:02d}": n for n in range(60)}  # "00".."59": a valid minute or second
_HOUR_STARTS: dict[str, int] = {}  # "YYYY-MM-DDTHH" + offset -> seconds at HH:00:00
_HOUR_STARTS_LIMIT = 1 << 16


def parse_instant(text: str) -> Instant:
    """Reads an RFC 3339 date-time with its offset into an instant key."""
    # Runs once per inbound event. Times in whole seconds of an hour already read
    # (most of them: a month has 744 hours) are its start plus minutes and seconds.
    if len(text) == 25 or len(text) == 20:
        hour_start = _HOUR_STARTS.get(text[:13] + text[19:])
        if hour_start is not None and text[13] == ":" and text[16] == ":":
            minute, second = _SIXTY.get(text[14:16]), _SIXTY.get(text[17:19])
            if minute is not None and second is not None:
                return f"{hour_start + minute * 60 + second:012d}"
    return _parse_instant_fully(text)


def _parse_instant_fully(text: str) -> Instant:
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidTime("must be an RFC 3339 date-time with an offset, e.g. 2026-10-03T08:00:00+08:00")
    date, hour, minute, second, fraction, offset = match.groups()
    if second == "60":
        raise InvalidTime("leap seconds are not accepted")
    days = _days_of_date(date)
    if days is None or hour > "23" or minute > "59" or second > "59":
        raise InvalidTime(f"not a valid date-time ({text!r})")
    offset_seconds = _offset_seconds(offset)
    if offset_seconds is None:
        raise InvalidTime("offset out of range")
    hour_start = days * 86400 + int(hour) * 3600 - offset_seconds
    seconds = hour_start + int(minute) * 60 + int(second)
    if not 0 <= seconds < _KEY_LIMIT:
        raise InvalidTime("out of range")
    if fraction is None and 0 <= hour_start and hour_start + 3600 <= _KEY_LIMIT:  # every second of it in range
        if len(_HOUR_STARTS) >= _HOUR_STARTS_LIMIT:
            _HOUR_STARTS.clear()
        _HOUR_STARTS[text[:13] + offset] = hour_start
    if fraction:
        fraction = fraction.rstrip("0")
        if fraction:
            return f"{seconds:012d}.{fraction}"
    return f"{seconds:012d}"


@lru_cache(maxsize=8192)
def _days_of_date(date: str) -> int | None:
    """Days from 0001-01-01 to a `YYYY-MM-DD` date, None if there is no such date."""
    year, month, day = int(date[:4]), int(date[5:7]), int(date[8:10])
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        return None
    # Year 0 is a date, but before the instant keys' range: "out of range" comes later.
    return _days_before(year, month, day) if year >= 1 else _BEFORE_YEAR_1


@lru_cache(maxsize=256)
def _offset_seconds(offset: str) -> int | None:
    """Seconds east of UTC of `Z`/`z`/`±HH:MM`, None if out of range."""
    if offset in ("Z", "z"):
        return 0
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    if hours > 23 or minutes > 59:
        return None
    seconds = (hours * 60 + minutes) * 60
    return -seconds if offset[0] == "-" else seconds


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


def recorded_time_after(recorded: str) -> str:
    """The recorded time one microsecond after another (both in the fixed-width form)."""
    moment = datetime.strptime(recorded, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return recorded_time(instant_from_datetime(moment + timedelta(microseconds=1)))


class BillingCalendar:
    """Periods (calendar months) and their bounds in the billing time zone."""

    def __init__(self, timezone_name: str):
        try:
            self.zone = ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"BILLING_TIMEZONE: unknown time zone {timezone_name!r}") from None
        self.timezone_name = timezone_name
        # Months met so far, as (start, end, period) sorted by start (months never
        # overlap), and the last one used: consecutive instants mostly share a month,
        # and a text comparison or a bisection beats a time-zone conversion.
        self._months: list[tuple[Instant, Instant, str]] = []
        self._last_month: tuple[Instant, Instant, str] = ("", "", "")

    def period_of(self, instant: Instant) -> str:
        """The period (`YYYY-MM`) an instant falls in, in the billing time zone."""
        start, end, period = self._last_month
        if start <= instant < end:
            return period
        index = bisect.bisect_right(self._months, (instant, "\uffff")) - 1
        if index >= 0 and instant < self._months[index][1]:
            self._last_month = self._months[index]
            return self._last_month[2]
        period = self._period_of(instant)
        self._last_month = (self.period_start(period), self.period_end(period), period)
        bisect.insort(self._months, self._last_month)
        return period

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


FIRST_PERIOD_YEAR, LAST_PERIOD_YEAR = 2, 9998


def parse_period(period: str) -> tuple[int, int]:
    """Reads a `YYYY-MM` period, raising ValueError with a message if it is not one.

    Years 0002..9998 only: a period's bounds (its quarter's start, the next month's
    start) in the billing time zone must be instants a datetime can hold in UTC, which
    0001-01 (east of UTC) and 9999-12 are not."""
    match = _PERIOD.fullmatch(period)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise ValueError(f"period must be YYYY-MM, not {period!r}")
    if not FIRST_PERIOD_YEAR <= int(match.group(1)) <= LAST_PERIOD_YEAR:
        raise ValueError(f"period must be from {FIRST_PERIOD_YEAR:04d}-01 to {LAST_PERIOD_YEAR}-12, not {period!r}")
    return int(match.group(1)), int(match.group(2))
