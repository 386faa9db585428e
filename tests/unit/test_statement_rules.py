"""The pure rules of §7: when a period may close, how a statement's status may change,
a dispute's reason, and when `serve` closes a period by itself."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import FieldError, Refused, SettingsError
from engine.instants import BillingCalendar, parse_instant
from engine.statements.rules import CloseState, check_close, check_reason, following_period, next_status
from engine.statements.schedule import Grace, next_to_close, parse_duration, shifted_period

CALENDAR = BillingCalendar("Asia/Shanghai")
AFTER_OCTOBER = parse_instant("2026-11-01T00:00:00+08:00")


def state(
    now: str = "2026-11-05T00:00:00+08:00",
    period: str = "2026-10",
    last_closed: str | None = None,
    earliest_charge: str | None = "2026-10",
) -> CloseState:
    return CloseState(parse_instant(now), CALENDAR.period_end(period), last_closed, earliest_charge)


def refusal(period: str, close_state: CloseState) -> str:
    with pytest.raises(Refused) as refused:
        check_close(period, close_state)
    assert "\n" not in refused.value.message
    return refused.value.code


def test_the_first_close_of_the_earliest_charged_month_after_its_end_is_allowed():
    check_close("2026-10", state())


def test_a_month_ends_at_the_first_instant_of_the_next_in_the_billing_time_zone():
    check_close("2026-10", state(now="2026-11-01T00:00:00+08:00"))
    assert refusal("2026-10", state(now="2026-10-31T23:59:59.999999+08:00")) == "period_not_ended"
    # 2026-10-31T16:00Z is already November in Asia/Shanghai.
    check_close("2026-10", state(now="2026-10-31T16:00:00Z"))


def test_a_period_not_ended_is_refused_before_anything_else():
    assert refusal("2026-12", state(period="2026-12", last_closed="2026-12")) == "period_not_ended"


def test_a_closed_period_or_one_before_the_last_close_is_already_closed():
    assert refusal("2026-10", state(last_closed="2026-10")) == "period_already_closed"
    assert refusal("2026-08", state(period="2026-08", last_closed="2026-10")) == "period_already_closed"


def test_periods_close_in_order_after_the_first_close():
    check_close("2026-11", state(now="2026-12-02T00:00:00+08:00", period="2026-11", last_closed="2026-10"))
    assert (
        refusal("2026-12", state(now="2027-01-02T00:00:00+08:00", period="2026-12", last_closed="2026-10"))
        == "period_out_of_order"
    )


def test_the_first_close_needs_no_charge_of_an_earlier_month():
    assert refusal("2026-10", state(earliest_charge="2026-09")) == "earlier_charges_open"
    check_close("2026-10", state(earliest_charge="2026-11"))  # later charges don't matter
    check_close("2026-10", state(earliest_charge=None))  # nor does having none


def test_late_charges_before_the_first_close_do_not_block_the_next_close():
    check_close(
        "2026-11",
        state(now="2026-12-02T00:00:00+08:00", period="2026-11", last_closed="2026-10", earliest_charge="2026-01"),
    )


def test_following_period_crosses_the_year():
    assert following_period("2026-12") == "2027-01"
    assert following_period("2026-09") == "2026-10"


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        ("pending_confirmation", "confirmed"),
        ("pending_confirmation", "disputed"),
        ("disputed", "confirmed"),
    ],
)
def test_allowed_status_steps(current, wanted):
    assert next_status("p-1", "2026-10", current, wanted) == wanted


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        ("confirmed", "confirmed"),
        ("confirmed", "disputed"),
        ("disputed", "disputed"),
    ],
)
def test_every_other_status_step_is_invalid_state(current, wanted):
    with pytest.raises(Refused) as refused:
        next_status("p-1", "2026-10", current, wanted)
    assert refused.value.code == "invalid_state"
    assert "p-1" in refused.value.message and current in refused.value.message


@pytest.mark.parametrize("reason", ["x", "争议" * 256, " "])
def test_a_dispute_reason_of_1_to_512_characters_is_taken(reason):
    assert check_reason(reason) == reason


@pytest.mark.parametrize("reason", [None, "", "x" * 513])
def test_a_dispute_reason_outside_1_to_512_characters_names_the_field(reason):
    with pytest.raises(FieldError) as error:
        check_reason(reason)
    assert error.value.field == "reason"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P3D", Grace(0, timedelta(days=3))),
        ("PT12H", Grace(0, timedelta(hours=12))),
        ("P1DT6H30M", Grace(0, timedelta(days=1, hours=6, minutes=30))),
        ("P2W", Grace(0, timedelta(weeks=2))),
        ("PT1.5S", Grace(0, timedelta(seconds=1.5))),
        ("P0D", Grace(0, timedelta(0))),
        ("p3d", Grace(0, timedelta(days=3))),
        ("P1M", Grace(1, timedelta(0))),
        ("P1Y2M3D", Grace(14, timedelta(days=3))),
    ],
)
def test_close_after_takes_iso_8601_durations_months_as_calendar_months(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("period", "months", "shifted"),
    [
        ("2026-10", 0, "2026-10"),
        ("2026-10", 1, "2026-11"),
        ("2026-11", 2, "2027-01"),
        ("2026-12", 13, "2028-01"),
    ],
)
def test_a_grace_of_whole_months_moves_the_end_to_a_later_periods_end(period, months, shifted):
    assert shifted_period(period, months) == shifted


@pytest.mark.parametrize("text", ["3D", "P", "PT", "P1DT", "-P1D", "P1.5D", "P1.5M", "three days", ""])
def test_close_after_refuses_anything_else_naming_the_setting(text):
    with pytest.raises(SettingsError, match="BILLING_CLOSE_AFTER"):
        parse_duration(text)


def test_serve_closes_from_the_earliest_charged_month_then_in_order_up_to_the_latest_charged():
    assert next_to_close(None, "2026-09", "2026-11") == "2026-09"
    assert next_to_close("2026-09", "2026-09", "2026-11") == "2026-10"
    assert next_to_close("2026-10", "2026-08", "2026-12") == "2026-11"  # gaps are closed on the way
    assert next_to_close("2026-11", "2026-09", "2026-11") is None  # nothing after the latest charge
    assert next_to_close(None, None, None) is None
