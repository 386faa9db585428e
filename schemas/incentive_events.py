"""The engine's events of CONTRACT.md §9: a working-day calendar year loaded, a subsidy
milestone planned and delivered, an incentive policy loaded. Amounts are strings as
printed (the minor digits of the currency); dates are `YYYY-MM-DD`. New fields go at
the end, with defaults.

Streams: `calendar` (every loaded year), `subsidy:DEAL` (a deal's milestones), and
`incentive_policies`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

from schemas.engine_events import EngineEvent
from schemas.inbound import AMOUNT_PATTERN, Identifier

Statistic = Literal["settled_amount", "payable_amount", "consuming_customers", "new_enterprise_customers"]
Decimal = Annotated[str, Meta(pattern=AMOUNT_PATTERN, description="a plain decimal string, at most 8 decimals")]
Period = Annotated[str, Meta(pattern=r"^[0-9]{4}-[0-9]{2}$", description="a billing period, YYYY-MM")]


class PolicyIndicator(Struct):
    """An indicator: a name and the statistic of the partner's period it takes."""

    name: Identifier
    statistic: Statistic


class PolicyTier(Struct):
    """A tier: from this value of the indicator (inclusive), this rate."""

    from_: Decimal = msgspec.field(name="from")
    rate: Decimal


class PolicyReward(Struct):
    """A reward on an indicator: `whole` takes the highest tier reached's rate for all
    of the value, `stepped` each tier's rate for its own part of the value."""

    indicator: Identifier
    mode: Literal["whole", "stepped"]
    tiers: list[PolicyTier]


class IncentivePolicy(Struct):
    """An incentive policy file (CONTRACT.md §9)."""

    policy_id: Identifier
    periods: list[Period]
    indicators: list[PolicyIndicator]
    rewards: list[PolicyReward]


class IncentivePolicyLoaded(EngineEvent, kw_only=True):
    """An incentive policy was loaded: the fields the engine reads, and the whole file."""

    LOG_TYPE = "incentive.policy_loaded"
    policy_id: str
    periods: list[str]
    indicators: list[PolicyIndicator]
    rewards: list[PolicyReward]
    # The file's JSON value, keys sorted, no spaces: what a repeat is compared with (§9).
    # Empty in a policy recorded before the whole file was kept: its known fields stand for it.
    content: str = ""


class CalendarYearLoaded(EngineEvent, kw_only=True):
    """A year's official working-day schedule was loaded (`version` counts the loads
    of that year, from 1); it replaces the package's and earlier loads' for new decisions."""

    LOG_TYPE = "calendar.loaded"
    year: int
    version: int
    holidays: list[str]
    working_days: list[str]
    source: str


class SubsidyPlanned(EngineEvent, kw_only=True):
    """A milestone of a partner's deal was registered with its planned date and subsidy."""

    LOG_TYPE = "subsidy.planned"
    partner_id: str
    deal_id: str
    milestone: str
    planned: str
    amount: str


class SubsidyDelivered(EngineEvent, kw_only=True):
    """A milestone was delivered and its subsidy decided, on the named calendar(s)."""

    LOG_TYPE = "subsidy.delivered"
    partner_id: str
    deal_id: str
    milestone: str
    delivered: str
    working_days_late: int
    deduction_rate: str
    payable_amount: str
    status: str
    calendar: str


INCENTIVE_EVENT_TYPES = (CalendarYearLoaded, SubsidyPlanned, SubsidyDelivered, IncentivePolicyLoaded)


class CalendarFile(Struct):
    """A year's official working-day schedule (`billing calendar load FILE`)."""

    year: Annotated[int, Meta(ge=1, le=9999)]
    holidays: list[str]
    working_days: list[str]
    source: Annotated[str, Meta(min_length=1, max_length=256)]
