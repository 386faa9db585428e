"""The subsidy rule of a milestone (CONTRACT.md §9, DOMAIN.md), as pure functions.

For d working days late: up to 5 is on time; up to 40 the deduction is
5% × ⌊(d − 10) / 5⌋ where d ≥ 10, else nothing (so nothing is deducted before 15);
beyond 40 the subsidy is cancelled. The payable amount is the amount less the
deduction, truncated toward zero to the currency's minor unit.

Rates are kept as whole percents (0..100): every rate the rule gives is a multiple of
5%, so the arithmetic stays in integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from engine.errors import Refused
from engine.incentives.working_days import WorkingDayCalendar, YearNotCovered
from engine.money import truncate_to_minor

ON_TIME_DAYS = 5  # a date may deviate by up to 5 working days
DEDUCTION_FROM_DAYS = 10  # the deduction counts from the 10th working day late
DEDUCTION_STEP_DAYS = 5
DEDUCTION_STEP_PERCENT = 5
CANCELLED_AFTER_DAYS = 40


def deduction_percent(days_late: int) -> int:
    """The deduction rate in whole percents for `days_late` working days late."""
    if days_late > CANCELLED_AFTER_DAYS:
        return 100
    if days_late < DEDUCTION_FROM_DAYS:
        return 0
    return DEDUCTION_STEP_PERCENT * ((days_late - DEDUCTION_FROM_DAYS) // DEDUCTION_STEP_DAYS)


def subsidy_status(days_late: int) -> str:
    """`on_time`, `late` (nothing deducted), `reduced` or `cancelled`."""
    if days_late > CANCELLED_AFTER_DAYS:
        return "cancelled"
    if deduction_percent(days_late) > 0:
        return "reduced"
    return "late" if days_late > ON_TIME_DAYS else "on_time"


def format_rate(percent: int) -> str:
    """A whole percent as a decimal string with 2 decimals: 15 -> "0.15", 100 -> "1.00"."""
    return f"{percent // 100}.{percent % 100:02d}"


def payable_units(amount_units: int, percent: int, minor_digits: int) -> int:
    """amount × (1 − rate), truncated toward zero to the minor unit (10⁻⁸ units)."""
    assert amount_units >= 0 and 0 <= percent <= 100, (amount_units, percent)
    return truncate_to_minor(amount_units * (100 - percent) // 100, minor_digits)


@dataclass(frozen=True, slots=True)
class Milestone:
    """A planned milestone of a partner's deal, as registered."""

    partner_id: str
    deal_id: str
    milestone: str
    planned: date
    amount_units: int
    delivered: date | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the rule decided for a delivered milestone."""

    delivered: date
    working_days_late: int
    deduction_percent: int
    payable_units: int
    status: str
    calendar: str


def plan_is_new(request: Milestone, existing: Milestone | None, deal_partner: str | None) -> bool:
    """True to record the plan; False when the same plan is already recorded; refused
    (`id_conflict`) when the deal belongs to another partner or the milestone was
    planned otherwise."""
    if deal_partner is not None and deal_partner != request.partner_id:
        raise Refused(
            "id_conflict", f"deal {request.deal_id} belongs to partner {deal_partner}, not {request.partner_id}"
        )
    if existing is None:
        return True
    same = (existing.planned, existing.amount_units) == (request.planned, request.amount_units)
    if not same:
        raise Refused(
            "id_conflict",
            f"milestone {request.milestone} of deal {request.deal_id} is already planned "
            f"for {existing.planned.isoformat()} with another date or amount",
        )
    return False


def decide_delivery(
    milestone: Milestone | None,
    deal_id: str,
    name: str,
    delivered: date,
    calendar: WorkingDayCalendar,
    minor_digits: int,
) -> Delivery:
    """The delivery's decision, or refused: `unknown_milestone`, `invalid_state` (once
    only), or `calendar_not_covered` (a year of either date not covered)."""
    if milestone is None:
        raise Refused("unknown_milestone", f"deal {deal_id} has no planned milestone {name}")
    if milestone.delivered is not None:
        raise Refused(
            "invalid_state",
            f"milestone {name} of deal {deal_id} was already delivered on {milestone.delivered.isoformat()}",
        )
    try:
        days_late = calendar.working_days_after(milestone.planned, delivered)
        names = calendar.names(milestone.planned, delivered)
    except YearNotCovered as error:
        raise Refused("calendar_not_covered", str(error)) from None
    percent = deduction_percent(days_late)
    return Delivery(
        delivered=delivered,
        working_days_late=days_late,
        deduction_percent=percent,
        payable_units=payable_units(milestone.amount_units, percent, minor_digits),
        status=subsidy_status(days_late),
        calendar=names,
    )
