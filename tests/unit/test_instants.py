"""Business time (CONTRACT.md §1 `time`, §2 periods, §4 period bounds), no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import SettingsError
from engine.instants import (
    BillingCalendar,
    InvalidTime,
    format_instant,
    instant_from_datetime,
    parse_instant,
    parse_period,
)

SHANGHAI = BillingCalendar("Asia/Shanghai")


# Parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-03T08:00:00+08:00",
        "2026-10-03T00:00:00Z",
        "2026-10-03t00:00:00z",
        "2026-10-03T00:00:00z",
        "2026-10-03t00:00:00Z",
        "2026-10-02T19:00:00-05:00",
        "2026-10-03T00:00:00+00:00",
        "2026-10-03T00:00:00-00:00",
        "2026-10-03T00:00:00.000Z",
        "2026-10-03T00:00:00.0000000000000Z",
        "2026-10-03T05:45:00+05:45",
        "2026-10-02T00:01:00-23:59",
    ],
)
def test_every_rfc_3339_spelling_of_one_instant_is_the_same_instant(text):
    assert parse_instant(text) == parse_instant("2026-10-03T00:00:00Z")


@pytest.mark.parametrize(
    "fraction",
    ["1", "12", "123", "123456", "1234567", "123456789", "123456789012345678901234567891"],
)
def test_a_fraction_of_any_length_is_kept_in_full(fraction):
    text = f"2026-10-03T00:00:00.{fraction}Z"
    assert format_instant(parse_instant(text)) == text


def test_fractions_beyond_microseconds_still_order_the_instants():
    earlier = parse_instant("2026-10-03T00:00:00.1234567891Z")
    later = parse_instant("2026-10-03T08:00:00.1234567892+08:00")
    assert earlier < later
    assert parse_instant("2026-10-03T00:00:00.9999999999Z") < parse_instant("2026-10-03T00:00:01Z")
    assert parse_instant("2026-10-03T00:00:00Z") < parse_instant("2026-10-03T00:00:00.0000000001Z")


def test_trailing_zeros_of_a_fraction_do_not_change_the_instant():
    assert parse_instant("2026-10-03T00:00:00.50Z") == parse_instant("2026-10-03T08:00:00.5+08:00")
    assert parse_instant("2026-10-03T00:00:00.50Z") != parse_instant("2026-10-03T00:00:00.05Z")


def test_an_instant_is_written_back_in_utc():
    assert format_instant(parse_instant("2026-10-03T08:00:00.5+08:00")) == "2026-10-03T00:00:00.5Z"
    assert format_instant(parse_instant("2026-12-31T23:30:00-01:00")) == "2027-01-01T00:30:00Z"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("2016-12-31T23:59:60Z", "leap"),
        ("2026-06-30T23:59:60+00:00", "leap"),
        ("2026-10-03T08:00:00", "offset"),
        ("2026-10-03", "offset"),
        ("2026-10-03 08:00:00Z", "RFC 3339"),
        ("2026-10-03T08:00:00+08", "RFC 3339"),
        ("2026-10-03T08:00:00+0800", "RFC 3339"),
        ("2026-10-03T08:00:00.+08:00", "RFC 3339"),
        ("2026-10-03T08:00+08:00", "RFC 3339"),
        ("2026-10-3T08:00:00Z", "RFC 3339"),
        ("20261003T080000Z", "RFC 3339"),
        ("2026-10-03T08:00:00UTC", "RFC 3339"),
        ("２０２６-10-03T08:00:00Z", "RFC 3339"),  # full-width digits are not digits here
        ("2026-10-03T08:00:00+24:00", "offset"),
        ("2026-10-03T08:00:00+08:60", "offset"),
        ("", "RFC 3339"),
    ],
)
def test_a_time_that_is_not_rfc_3339_with_an_offset_is_rejected(text, hint):
    with pytest.raises(InvalidTime, match=hint):
        parse_instant(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-29T00:00:00Z",  # 2026 is not a leap year
        "2100-02-29T00:00:00Z",  # nor is 2100
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-10-00T00:00:00Z",
        "2026-10-03T24:00:00Z",
        "2026-10-03T23:60:00Z",
        "2026-10-03T23:59:61Z",
    ],
)
def test_a_date_or_time_that_does_not_exist_is_rejected(text):
    with pytest.raises(InvalidTime):
        parse_instant(text)


def test_the_29th_of_february_of_a_leap_year_exists():
    assert parse_instant("2024-02-29T23:59:59Z") < parse_instant("2024-03-01T00:00:00Z")


# Ordering ----------------------------------------------------------------------------

OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
MOMENTS = st.builds(
    lambda naive, zone: naive.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 12, 31)),
    OFFSETS,
)


def rfc3339(moment: datetime, separator: str, zero_padding: int) -> str:
    """RFC 3339 text of a datetime, fraction padded with extra zeros, `Z` for UTC."""
    text = moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}" + "0" * zero_padding
    offset = moment.utcoffset()
    if offset == timedelta(0) and zero_padding % 2:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return text + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


SPELLINGS = st.tuples(st.sampled_from("Tt"), st.integers(min_value=0, max_value=5))


@given(MOMENTS, MOMENTS, SPELLINGS, SPELLINGS)
def test_instant_keys_sort_as_their_instants_do(first, second, first_spelling, second_spelling):
    first_key = parse_instant(rfc3339(first, *first_spelling))
    second_key = parse_instant(rfc3339(second, *second_spelling))
    assert (first_key < second_key) == (first < second)
    assert (first_key == second_key) == (first == second)


@given(MOMENTS, SPELLINGS)
def test_the_instant_of_a_datetime_is_the_instant_of_its_rfc_3339_text(moment, spelling):
    assert instant_from_datetime(moment) == parse_instant(rfc3339(moment, *spelling))


@given(MOMENTS)
def test_an_instant_written_back_is_the_same_instant(moment):
    key = parse_instant(moment.isoformat())
    assert parse_instant(format_instant(key)) == key
    assert datetime.fromisoformat(format_instant(key)) == moment


def test_a_naive_datetime_has_no_instant():
    with pytest.raises(ValueError):
        instant_from_datetime(datetime(2026, 10, 3))


# Periods -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("2026-10-31T16:00:00Z", "2026-11"),
        ("2026-10-31T15:59:59.999Z", "2026-10"),
        ("2026-10-31T15:59:59Z", "2026-10"),
        ("2026-11-01T00:00:00+08:00", "2026-11"),
        ("2026-10-31T23:59:59.999999+08:00", "2026-10"),
        ("2026-10-31T11:00:00-05:00", "2026-11"),
        ("2026-10-31T10:59:59-05:00", "2026-10"),
        ("2026-12-31T16:00:00Z", "2027-01"),
        ("2026-12-31T15:59:59Z", "2026-12"),
        ("2026-10-01T00:00:00+08:00", "2026-10"),
        ("2026-09-30T15:59:59.5Z", "2026-09"),
    ],
)
def test_the_period_is_the_calendar_month_in_shanghai(text, period):
    assert SHANGHAI.period_of(parse_instant(text)) == period


def test_the_period_follows_the_configured_time_zone():
    utc = BillingCalendar("UTC")
    assert utc.period_of(parse_instant("2026-10-31T16:00:00Z")) == "2026-10"
    new_york = BillingCalendar("America/New_York")
    assert new_york.period_of(parse_instant("2026-11-01T03:59:59Z")) == "2026-10"  # EDT, -04:00
    assert new_york.period_of(parse_instant("2026-11-01T04:00:00Z")) == "2026-11"


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("2026-10", "2026-10-01T00:00:00+08:00", "2026-11-01T00:00:00+08:00"),
        ("2026-12", "2026-12-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"),
        ("2026-01", "2026-01-01T00:00:00+08:00", "2026-02-01T00:00:00+08:00"),
        ("2024-02", "2024-02-01T00:00:00+08:00", "2024-03-01T00:00:00+08:00"),
    ],
)
def test_a_period_runs_from_its_first_instant_to_the_first_of_the_next_month(period, start, end):
    assert SHANGHAI.period_start(period) == parse_instant(start)
    assert SHANGHAI.period_end(period) == parse_instant(end)


def test_the_period_end_is_the_exclusive_bound_of_the_period():
    end = SHANGHAI.period_end("2026-10")
    assert SHANGHAI.period_of(end) == "2026-11"
    assert SHANGHAI.period_of(parse_instant("2026-10-31T15:59:59.999999Z")) == "2026-10"
    assert end == parse_instant("2026-10-31T16:00:00Z")


def test_period_bounds_follow_daylight_saving_time():
    new_york = BillingCalendar("America/New_York")
    assert new_york.period_end("2026-03") == parse_instant("2026-04-01T00:00:00-04:00")
    assert new_york.period_end("2026-11") == parse_instant("2026-12-01T00:00:00-05:00")


@pytest.mark.parametrize(
    ("period", "quarter_start"),
    [
        ("2026-10", "2026-10-01T00:00:00+08:00"),
        ("2026-11", "2026-10-01T00:00:00+08:00"),
        ("2026-12", "2026-10-01T00:00:00+08:00"),
        ("2026-01", "2026-01-01T00:00:00+08:00"),
        ("2026-03", "2026-01-01T00:00:00+08:00"),
        ("2026-04", "2026-04-01T00:00:00+08:00"),
        ("2026-09", "2026-07-01T00:00:00+08:00"),
    ],
)
def test_a_quarter_starts_at_the_first_instant_of_its_first_month(period, quarter_start):
    assert SHANGHAI.quarter_start(period) == parse_instant(quarter_start)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-10", "2026/10", "2026-10-01", ""])
def test_a_period_that_is_not_yyyy_mm_is_refused(text):
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_period(text)


@pytest.mark.parametrize("text", ["0001-01", "0001-12", "9999-01", "9999-12"])
def test_a_period_whose_bounds_a_datetime_cannot_hold_is_refused_not_failed_on(text):
    with pytest.raises(ValueError, match="from 0002-01 to 9998-12"):
        parse_period(text)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
@pytest.mark.parametrize("period", ["0002-01", "9998-12"])
def test_the_first_and_last_periods_have_bounds_in_any_time_zone(zone, period):
    calendar = BillingCalendar(zone)
    assert calendar.quarter_start(period) < calendar.period_end(period)


def test_an_unknown_billing_time_zone_is_a_settings_error():
    with pytest.raises(SettingsError, match="BILLING_TIMEZONE"):
        BillingCalendar("Mars/Olympus_Mons")


def test_a_datetime_in_utc_and_its_shanghai_spelling_share_one_instant():
    moment = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert instant_from_datetime(moment) == parse_instant("2026-11-01T00:00:00+08:00")
