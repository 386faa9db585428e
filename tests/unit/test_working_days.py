"""Working days on mainland China's statutory calendar (CONTRACT.md §9), counted by hand
from the State Council's 2025 and 2026 schedules: weekends and public holidays are off,
adjusted working weekends (调休) are working days."""

from __future__ import annotations

from datetime import date

import pytest

from engine.incentives.working_days import (
    CalendarFileError,
    WorkingDayCalendar,
    YearNotCovered,
    YearSchedule,
    describe_years,
    package_schedules,
    read_calendar_file,
)

CALENDAR = WorkingDayCalendar(package_schedules())
D = date.fromisoformat


@pytest.mark.parametrize(
    ("planned", "delivered", "working_days"),
    [
        # Spring Festival 2025: Jan 28 - Feb 4 off; Sun Jan 26 and Sat Feb 8 worked.
        ("2025-01-24", "2025-02-07", 5),  # Sun 26 (worked), Mon 27, Wed 5, Thu 6, Fri 7
        ("2025-02-07", "2025-02-10", 2),  # Sat 8 (worked), Mon 10
        ("2025-01-27", "2025-02-04", 0),  # the whole holiday
        # Labour Day 2025: May 1-5 off; Sun Apr 27 worked.
        ("2025-04-25", "2025-05-06", 5),  # Sun 27, Mon 28, Tue 29, Wed 30, Tue May 6
        # National Day and Mid-autumn 2025: Oct 1-8 off; Sun Sep 28 and Sat Oct 11 worked.
        ("2025-09-26", "2025-10-13", 7),  # Sep 28, 29, 30, Oct 9, 10, 11, 13
        ("2025-09-30", "2025-10-08", 0),
        # New Year 2026: Jan 1-3 off; Sun Jan 4 worked; across the turn of the year.
        ("2025-12-31", "2026-01-05", 2),  # Sun Jan 4 (worked), Mon Jan 5
        # Spring Festival 2026: Feb 15-23 off; Sat Feb 14 and Sat Feb 28 worked.
        ("2026-02-13", "2026-02-27", 5),  # Sat 14, Tue 24, Wed 25, Thu 26, Fri 27
        ("2026-02-27", "2026-03-02", 2),  # Sat 28 (worked), Mon Mar 2
        # Labour Day 2026: May 1-5 off; Sat May 9 worked.
        ("2026-04-30", "2026-05-11", 5),  # Wed 6, Thu 7, Fri 8, Sat 9, Mon 11
        # Mid-autumn (Fri Sep 25) and National Day 2026 (Oct 1-7); Sun Sep 20 and Sat Oct 10 worked.
        ("2026-09-18", "2026-10-12", 12),  # Sep 20, 21-24, 28-30, Oct 8, 9, 10, 12
        ("2026-09-30", "2026-10-30", 18),  # Oct 8, 9, 10, then three whole weeks
        # An ordinary stretch, on the day, and early.
        ("2026-11-02", "2026-11-09", 5),
        ("2026-11-02", "2026-11-02", 0),
        ("2026-11-09", "2026-11-02", 0),
    ],
)
def test_working_days_late_follow_the_statutory_schedule(planned, delivered, working_days):
    assert CALENDAR.working_days_after(D(planned), D(delivered)) == working_days


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2025-01-26", True),
        ("2025-02-08", True),
        ("2025-04-27", True),
        ("2025-09-28", True),
        ("2025-10-11", True),
        ("2026-01-04", True),
        ("2026-02-14", True),
        ("2026-02-28", True),
        ("2026-05-09", True),
        ("2026-09-20", True),
        ("2026-10-10", True),
        ("2025-01-28", False),
        ("2025-05-05", False),
        ("2025-10-08", False),
        ("2026-02-23", False),
        ("2026-05-05", False),
        ("2026-10-07", False),
        ("2026-10-17", False),
        ("2026-10-16", True),
    ],
)
def test_adjusted_working_weekends_work_and_holidays_rest(day, working):
    assert CALENDAR.schedule(D(day).year).is_working_day(D(day)) is working


def test_the_package_covers_2004_to_2026_under_its_name_and_version():
    assert describe_years(sorted(package_schedules())) == "2004-2026"
    assert {s.calendar for s in package_schedules().values()} == {"chinesecalendar 1.11.0"}


@pytest.mark.parametrize(
    ("planned", "delivered", "year"),
    [
        ("2026-12-20", "2027-01-05", 2027),
        ("2003-12-30", "2004-01-05", 2003),
        ("2027-02-01", "2026-12-01", 2027),
    ],
)
def test_a_year_not_covered_is_refused_naming_it_never_guessed(planned, delivered, year):
    with pytest.raises(YearNotCovered, match=f"year {year} is not covered") as raised:
        CALENDAR.working_days_after(D(planned), D(delivered))
    assert raised.value.year == year


def test_a_loaded_year_extends_the_calendar_and_names_itself():
    loaded = YearSchedule(2027, frozenset({D("2027-01-01")}), frozenset({D("2027-01-09")}), "loaded 2027 v1", "test")
    calendar = WorkingDayCalendar(package_schedules(), {2027: loaded})
    # Dec 31 (Thu), Jan 4-8, Sat Jan 9 (worked), Mon Jan 11; Jan 1 is off.
    assert calendar.working_days_after(D("2026-12-30"), D("2027-01-11")) == 8
    assert calendar.names(D("2026-12-30"), D("2027-01-11")) == "chinesecalendar 1.11.0, loaded 2027 v1"
    assert calendar.names(D("2026-01-30"), D("2026-12-11")) == "chinesecalendar 1.11.0"


def test_a_loaded_year_takes_precedence_over_the_package():
    everything_off = YearSchedule(2026, frozenset(), frozenset(), "loaded 2026 v1", "test")
    calendar = WorkingDayCalendar(package_schedules(), {2026: everything_off})
    assert calendar.working_days_after(D("2026-09-30"), D("2026-10-09")) == 7  # holidays not declared


def _file(**fields) -> bytes:
    import json

    body = {"year": 2027, "holidays": ["2027-01-01"], "working_days": ["2027-02-20"], "source": "国办发明电"}
    body.update(fields)
    return json.dumps(body).encode()


def test_a_calendar_file_is_read_with_its_dates():
    content = read_calendar_file(_file())
    assert (content.year, content.holidays, content.working_days) == (2027, ["2027-01-01"], ["2027-02-20"])


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"year": "2027"}, "year"),
        ({"holidays": ["2027-1-1"]}, "holidays[0]"),
        ({"holidays": ["2026-12-31"]}, "holidays[0]"),
        ({"holidays": ["2027-01-01", "2027-01-01"]}, "holidays[1]"),
        ({"working_days": ["2027-02-22"]}, "working_days[0]"),  # a Monday
        ({"holidays": ["2027-02-20"]}, "holidays"),  # also a working day
        ({"source": ""}, "source"),
    ],
)
def test_a_malformed_calendar_file_names_its_field(fields, named):
    with pytest.raises(CalendarFileError, match=f"^{named.replace('[', '.').replace(']', '.')}"):
        read_calendar_file(_file(**fields))


def test_a_calendar_file_that_is_not_json_is_malformed():
    with pytest.raises(CalendarFileError):
        read_calendar_file(b"year: 2027")
