"""The subsidy rule of CONTRACT.md §9 (DOMAIN.md): every band, the payable amount
truncated to the minor unit, and the delivery decision's refusals."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import Refused
from engine.incentives.subsidies import (
    Milestone,
    decide_delivery,
    deduction_percent,
    format_rate,
    payable_units,
    plan_is_new,
    subsidy_status,
)
from engine.incentives.working_days import WorkingDayCalendar, package_schedules
from engine.money import SCALE, parse_amount

CNY = 2


@pytest.mark.parametrize(
    ("days_late", "rate", "status", "payable_of_1000"),
    [
        (0, "0.00", "on_time", "1000.00"),
        (1, "0.00", "on_time", "1000.00"),
        (5, "0.00", "on_time", "1000.00"),
        (6, "0.00", "late", "1000.00"),
        (10, "0.00", "late", "1000.00"),
        (14, "0.00", "late", "1000.00"),
        (15, "0.05", "reduced", "950.00"),
        (19, "0.05", "reduced", "950.00"),
        (20, "0.10", "reduced", "900.00"),
        (24, "0.10", "reduced", "900.00"),
        (25, "0.15", "reduced", "850.00"),
        (39, "0.25", "reduced", "750.00"),
        (40, "0.30", "reduced", "700.00"),
        (41, "1.00", "cancelled", "0.00"),
        (250, "1.00", "cancelled", "0.00"),
    ],
)
def test_every_band_of_the_rule(days_late, rate, status, payable_of_1000):
    percent = deduction_percent(days_late)
    assert format_rate(percent) == rate
    assert subsidy_status(days_late) == status
    assert payable_units(parse_amount("a", "1000.00"), percent, CNY) == parse_amount("p", payable_of_1000)


@pytest.mark.parametrize(
    ("amount", "days_late", "payable"),
    [
        ("333.33", 15, "316.66"),  # 316.6635 truncated
        ("0.01", 15, "0.00"),  # 0.0095 truncated
        ("99.99", 40, "69.99"),  # 69.993 truncated
    ],
)
def test_the_payable_amount_is_truncated_to_the_minor_unit(amount, days_late, payable):
    assert payable_units(parse_amount("a", amount), deduction_percent(days_late), CNY) == parse_amount("p", payable)


def test_a_currency_without_minor_digits_truncates_to_whole_units():
    assert payable_units(parse_amount("a", "333"), 5, 0) == parse_amount("p", "316")


@given(st.integers(0, 10**12).map(lambda whole: whole * 10**6), st.integers(0, 60), st.integers(0, 60))
def test_payable_never_grows_with_delay_and_never_exceeds_the_amount(amount_units, d1, d2):
    early, late = sorted((d1, d2))
    early_payable = payable_units(amount_units, deduction_percent(early), CNY)
    late_payable = payable_units(amount_units, deduction_percent(late), CNY)
    assert 0 <= late_payable <= early_payable <= amount_units
    assert early_payable % 10**6 == 0  # whole fen


CALENDAR = WorkingDayCalendar(package_schedules())
PLANNED = Milestone("p-1", "d-1", "m-1", date(2026, 11, 2), 1000 * SCALE)


@pytest.mark.parametrize(
    ("delivered", "days_late", "status", "payable"),
    [
        ("2026-10-20", 0, "on_time", "1000.00"),
        ("2026-11-09", 5, "on_time", "1000.00"),
        ("2026-11-10", 6, "late", "1000.00"),
        ("2026-11-23", 15, "reduced", "950.00"),
        ("2026-11-30", 20, "reduced", "900.00"),
        ("2026-12-28", 40, "reduced", "700.00"),
        ("2026-12-29", 41, "cancelled", "0.00"),
    ],
)
def test_a_delivery_is_decided_on_the_calendar(delivered, days_late, status, payable):
    decided = decide_delivery(PLANNED, "d-1", "m-1", date.fromisoformat(delivered), CALENDAR, CNY)
    assert (decided.working_days_late, decided.status) == (days_late, status)
    assert decided.payable_units == parse_amount("p", payable)
    assert decided.calendar == "chinesecalendar 1.11.0"


def test_delivering_an_unknown_milestone_twice_or_outside_the_calendar_is_refused():
    with pytest.raises(Refused) as unknown:
        decide_delivery(None, "d-1", "m-9", date(2026, 11, 3), CALENDAR, CNY)
    delivered = Milestone("p-1", "d-1", "m-1", date(2026, 11, 2), SCALE, delivered=date(2026, 11, 3))
    with pytest.raises(Refused) as twice:
        decide_delivery(delivered, "d-1", "m-1", date(2026, 11, 3), CALENDAR, CNY)
    with pytest.raises(Refused) as uncovered:
        decide_delivery(PLANNED, "d-1", "m-1", date(2027, 1, 4), CALENDAR, CNY)
    assert (unknown.value.code, twice.value.code, uncovered.value.code) == (
        "unknown_milestone",
        "invalid_state",
        "calendar_not_covered",
    )
    assert "2027" in uncovered.value.message


def test_planning_again_the_same_is_no_change_and_otherwise_a_conflict():
    assert plan_is_new(PLANNED, None, None) is True
    assert plan_is_new(PLANNED, PLANNED, "p-1") is False
    other_date = Milestone("p-1", "d-1", "m-1", date(2026, 11, 3), PLANNED.amount_units)
    other_partner = Milestone("p-2", "d-1", "m-2", PLANNED.planned, PLANNED.amount_units)
    for request, existing in ((other_date, PLANNED), (other_partner, None)):
        with pytest.raises(Refused) as refused:
            plan_is_new(request, existing, "p-1")
        assert refused.value.code == "id_conflict"
