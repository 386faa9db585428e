"""Handlers of the working-day calendar and subsidy milestones (CONTRACT.md §9): plain
functions over an `Engine`, returning what `--json` prints (the CLI and the HTTP API
both call them). Arguments arrive parsed (dates as `date`); money is checked here
because its minor digits are the deployment's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from commands.bootstrap import Engine
from engine.incentives import tables
from engine.incentives.subsidies import Milestone, decide_delivery, format_rate, plan_is_new
from engine.incentives.working_days import (
    WorkingDayCalendar,
    package_schedules,
    read_calendar_file,
)
from engine.money import SCALE, format_units, parse_amount
from engine.recording import Decision
from schemas.incentive_events import CalendarYearLoaded, SubsidyDelivered, SubsidyPlanned
from schemas.incentive_views import CalendarYear, CalendarYears, Subsidy, SubsidyList

MAX_AMOUNT_UNITS = 999_999_999_999 * SCALE


class InvalidArgument(ValueError):
    """A request argument that can't be used (a usage error); names the argument."""


@contextmanager
def reading(engine: Engine) -> Iterator[tables.Rows]:
    """The feature's tables read in one read transaction."""
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as cursor:
        yield lambda text, params=(): recorder.rows(cursor, text, params)


def money_units(text: str, minor_digits: int, name: str = "amount") -> int:
    """A money argument: a plain decimal with at most the minor digits, above zero and
    at most 999999999999 (as transfer amounts, CONTRACT.md §8)."""
    fraction = rf"(\.[0-9]{{1,{minor_digits}}})?" if minor_digits else ""
    if not re.fullmatch(rf"[0-9]{{1,12}}{fraction}", text):
        raise InvalidArgument(f"{name}: {text!r} must be a plain decimal with at most {minor_digits} decimals")
    units = parse_amount(name, text)
    if not 0 < units <= MAX_AMOUNT_UNITS:
        raise InvalidArgument(f"{name}: must be above zero and at most 999999999999")
    return units


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a write printed, and whether it recorded anything (False: the same again)."""

    value: object
    recorded: bool


def plan_milestone(engine: Engine, partner_id: str, deal_id: str, name: str, planned: date, amount: str) -> Outcome:
    """Registers a milestone; the same again changes nothing; otherwise `id_conflict`."""
    minor = engine.rules.minor_digits
    request = Milestone(partner_id, deal_id, name, planned, money_units(amount, minor))

    def decide(decision: Decision) -> bool:
        existing = tables.milestone(decision.rows, deal_id, name)
        if not plan_is_new(request, existing, tables.deal_partner(decision.rows, deal_id)):
            return False
        decision.append(
            SubsidyPlanned,
            stream=f"subsidy:{deal_id}",
            id=f"subsidy:{deal_id}:{name}:planned",
            partner_id=partner_id,
            deal_id=deal_id,
            milestone=name,
            planned=planned.isoformat(),
            amount=format_units(request.amount_units, minor),
        )
        return True

    recorded = engine.ledger.record_decision(decide)
    return Outcome(subsidy(engine, deal_id, name), recorded)


def deliver_milestone(engine: Engine, deal_id: str, name: str, delivered: date) -> Subsidy:
    """Records a delivery and decides its subsidy on the calendar known now; once only."""
    minor = engine.rules.minor_digits

    def decide(decision: Decision) -> None:
        found = tables.milestone(decision.rows, deal_id, name)
        calendar = WorkingDayCalendar(package_schedules(), tables.loaded_years(decision.rows))
        outcome = decide_delivery(found, deal_id, name, delivered, calendar, minor)
        decision.append(
            SubsidyDelivered,
            stream=f"subsidy:{deal_id}",
            id=f"subsidy:{deal_id}:{name}:delivered",
            partner_id=found.partner_id,
            deal_id=deal_id,
            milestone=name,
            delivered=delivered.isoformat(),
            working_days_late=outcome.working_days_late,
            deduction_rate=format_rate(outcome.deduction_percent),
            payable_amount=format_units(outcome.payable_units, minor),
            status=outcome.status,
            calendar=outcome.calendar,
        )

    engine.ledger.record_decision(decide)
    return subsidy(engine, deal_id, name)


def subsidies(engine: Engine, partner_id: str | None = None, deal_id: str | None = None) -> SubsidyList:
    """Milestones (of a partner, of a deal) with their subsidies, by deal then milestone."""
    with reading(engine) as rows:
        return SubsidyList([Subsidy(*row) for row in tables.milestone_rows(rows, partner_id, deal_id)])


def subsidy(engine: Engine, deal_id: str, name: str) -> Subsidy:
    with reading(engine) as rows:
        return next(Subsidy(*row) for row in tables.milestone_rows(rows, deal_id=deal_id) if row[2] == name)


def load_calendar(engine: Engine, text: bytes) -> Outcome:
    """Records a year's official schedule (`CalendarFileError` if malformed); the same
    schedule and source again changes nothing, another replaces it as a new version."""
    content = read_calendar_file(text)
    holidays, working_days = sorted(content.holidays), sorted(content.working_days)

    def decide(decision: Decision) -> bool:
        known = tables.loaded_year_content(decision.rows, content.year)
        if known is not None and known[1:] == (holidays, working_days, content.source):
            return False
        version = 1 if known is None else known[0] + 1
        decision.append(
            CalendarYearLoaded,
            stream="calendar",
            id=f"calendar:{content.year}:v{version}",
            year=content.year,
            version=version,
            holidays=holidays,
            working_days=working_days,
            source=content.source,
        )
        return True

    recorded = engine.ledger.record_decision(decide)
    year = next(y for y in calendar_years(engine).years if y.year == content.year)
    return Outcome(year, recorded)


def calendar_years(engine: Engine) -> CalendarYears:
    """Every year covered, by the package or by a load (a load takes precedence)."""
    with reading(engine) as rows:
        loaded = tables.loaded_years(rows)
    covered = WorkingDayCalendar(package_schedules(), loaded).years
    return CalendarYears(
        [
            CalendarYear(year, schedule.calendar, schedule.source, schedule.loaded_at)
            for year, schedule in sorted(covered.items())
        ]
    )
