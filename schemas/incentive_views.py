"""What `billing subsidies`, `billing calendar`, `billing incentives` and `billing incentives
settle` print with
`--json` (CONTRACT.md §9). Field order is the order the JSON output shows."""

from __future__ import annotations

from msgspec import Struct

from schemas.accounts import Transfer


class Subsidy(Struct):
    """A milestone's subsidy; the decision's fields are null while it is pending."""

    partner_id: str
    deal_id: str
    milestone: str
    planned: str
    delivered: str | None
    amount: str
    working_days_late: int | None
    deduction_rate: str | None
    payable_amount: str | None
    status: str
    calendar: str | None


class SubsidyList(Struct):
    """`billing subsidies --json`: by deal, then milestone."""

    subsidies: list[Subsidy]


class CalendarYear(Struct):
    """A year the working-day calendar covers: the calendar subsidy decisions record
    for it, the source of its schedule, and when it was loaded (null: the package's)."""

    year: int
    calendar: str
    source: str
    loaded_at: str | None


class CalendarYears(Struct):
    """`billing calendar --json`: every covered year, in order."""

    years: list[CalendarYear]


class PolicyLoadedView(Struct):
    """`billing incentives load --json`."""

    policy_id: str
    periods: list[str]


class IndicatorValue(Struct):
    """An indicator's value: amounts as strings (as in performance), counts as integers."""

    name: str
    statistic: str
    value: str | int


class RewardAmount(Struct):
    """A reward's amount, truncated to the minor unit."""

    indicator: str
    amount: str


class IncentiveReport(Struct):
    """`billing incentives --json`: a partner's (or a scope's) incentive for a period,
    `estimated` while the period is open, `final` once closed."""

    partner_id: str
    period: str
    policy_id: str
    status: str
    indicators: list[IndicatorValue]
    rewards: list[RewardAmount]
    total: str


class IncentiveSettlement(Struct):
    """`billing incentives settle --json`: a closed period's positive `final` totals
    credited as `incentive` transfers (id `incentive:POLICY:PERIOD:PARTNER`), by partner;
    settling again lists the transfers the first settlement recorded."""

    period: str
    policy_id: str
    transfers: list[Transfer]
