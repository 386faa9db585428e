"""Mainland China's statutory working days (CONTRACT.md §9), year by year.

A year's schedule is data: the days off the State Council declares (public holidays
and the weekdays given off around them) and the adjusted working weekends (调休) that
pay them back. Weekdays are working days unless declared off; weekends are not unless
declared working. The `chinesecalendar` package carries the schedules it knew when it
was released; a later year is loaded from its official text (`billing calendar load`).

Every year's schedule names its calendar (`chinesecalendar 1.11.0`, `loaded 2027 v1`),
and a subsidy decision records the names it used, so a newer package or a reloaded
year never changes a decided subsidy. A date in a year no schedule covers is refused,
never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import metadata

import msgspec

from schemas.incentive_events import CalendarFile

PACKAGE = "chinesecalendar"


@dataclass(frozen=True, slots=True)
class YearSchedule:
    """One year's declared days off and adjusted working weekends, and where they come from."""

    year: int
    holidays: frozenset[date]
    working_days: frozenset[date]
    calendar: str  # name and version, recorded with each decision
    source: str  # what the schedule was taken from
    loaded_at: str | None = None  # when it was loaded (None: shipped by the package)

    def is_working_day(self, day: date) -> bool:
        return day in self.working_days or (day.weekday() < 5 and day not in self.holidays)


class YearNotCovered(LookupError):
    """A date in a year that no schedule covers."""

    def __init__(self, year: int, covered: str):
        super().__init__(
            f"year {year} is not covered by the working-day calendar (covered: {covered}); "
            f"load its official schedule with `billing calendar load FILE`"
        )
        self.year = year


class WorkingDayCalendar:
    """Schedules by year: loaded years take precedence over the package's."""

    def __init__(self, package: Mapping[int, YearSchedule], loaded: Mapping[int, YearSchedule] = {}):
        self.years: dict[int, YearSchedule] = {**package, **loaded}

    def schedule(self, year: int) -> YearSchedule:
        schedule = self.years.get(year)
        if schedule is None:
            raise YearNotCovered(year, describe_years(sorted(self.years)))
        return schedule

    def check_covered(self, first: date, last: date) -> None:
        """Raises `YearNotCovered` for the first year from `first` to `last` not covered."""
        for year in range(min(first, last).year, max(first, last).year + 1):
            self.schedule(year)

    def working_days_after(self, planned: date, delivered: date) -> int:
        """Working days after `planned` up to and including `delivered` (0 when
        delivered on or before it); every year spanned must be covered."""
        self.check_covered(planned, delivered)
        count, day = 0, planned + timedelta(days=1)
        while day <= delivered:
            count += self.years[day.year].is_working_day(day)
            day += timedelta(days=1)
        return count

    def names(self, first: date, last: date) -> str:
        """The calendars of the years from `first` to `last`, in year order, each once."""
        self.check_covered(first, last)
        names: list[str] = []
        for year in range(min(first, last).year, max(first, last).year + 1):
            if self.years[year].calendar not in names:
                names.append(self.years[year].calendar)
        return ", ".join(names)


def describe_years(years: list[int]) -> str:
    """`2004-2026, 2028`: runs of consecutive years."""
    if not years:
        return "no year"
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)


@cache
def package_schedules() -> dict[int, YearSchedule]:
    """The years the installed `chinesecalendar` covers (its own range: the first to
    the last year it has holidays for), each with its days off and working weekends."""
    import chinese_calendar

    name = f"{PACKAGE} {_package_version(chinese_calendar)}"
    first = min(chinese_calendar.holidays).year
    last = max(chinese_calendar.holidays).year
    schedules = {}
    for year in range(first, last + 1):
        schedules[year] = YearSchedule(
            year=year,
            holidays=frozenset(day for day in chinese_calendar.holidays if day.year == year),
            working_days=frozenset(day for day in chinese_calendar.workdays if day.year == year),
            calendar=name,
            source=f"the {PACKAGE} package",
        )
    return schedules


def _package_version(module: object) -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # imported from a source tree
        return str(getattr(module, "__version__", "unknown"))


def loaded_calendar_name(year: int, version: int) -> str:
    """The name a loaded year's schedule is recorded under: its year and load number."""
    return f"loaded {year} v{version}"


class CalendarFileError(ValueError):
    """A malformed calendar file (a usage error); the message names the field."""


def read_calendar_file(text: bytes) -> CalendarFile:
    """A year's schedule file, checked: dates are `YYYY-MM-DD` in that year, each
    listed once, working days are Saturdays or Sundays (the adjusted working weekends),
    and no date is both a holiday and a working day."""
    try:
        content = msgspec.json.decode(text, type=CalendarFile)
    except msgspec.ValidationError as error:
        what, _, path = str(error).partition(" - at `$")
        raise CalendarFileError(f"{path.rstrip('`').lstrip('.') or 'calendar'}: {what}") from None
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as error:
        raise CalendarFileError(f"not a JSON calendar ({error})") from None
    holidays = _dates(content.year, "holidays", content.holidays)
    working_days = _dates(content.year, "working_days", content.working_days)
    for index, day in enumerate(working_days):
        if day.weekday() < 5:
            raise CalendarFileError(f"working_days[{index}]: {day} is a weekday, not an adjusted working weekend")
    both = sorted(set(holidays) & set(working_days))
    if both:
        raise CalendarFileError(f"holidays: {both[0]} is also listed as a working day")
    return content


def _dates(year: int, field: str, texts: list[str]) -> list[date]:
    days = []
    for index, text in enumerate(texts):
        try:
            if len(text) != 10:
                raise ValueError
            day = date.fromisoformat(text)
        except ValueError:
            raise CalendarFileError(f"{field}[{index}]: {text!r} is not a date YYYY-MM-DD") from None
        if day.year != year:
            raise CalendarFileError(f"{field}[{index}]: {text} is not in {year}")
        if day in days:
            raise CalendarFileError(f"{field}[{index}]: {text} is listed twice")
        days.append(day)
    return days
