"""Handlers of incentive policies and indicators (CONTRACT.md §9): plain functions over
an `Engine`, returning what `--json` prints.

Indicator values come from the views of §4 through the same pure functions the views
use (`tally_performance`, `count_customers`) over the same rows, so an indicator
always equals the view it names. `indicator_values` is the one place that decides
between an open period (live views, `estimated`) and a closed one (`final`, as
known at its close, from the partner's statement and `replay --as-of`).
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from commands.bootstrap import Engine
from commands.queries import period_bounds
from commands.subsidies import Outcome, reading
from engine.errors import Refused
from engine.incentives import tables
from engine.incentives.policies import read_policy, reward_units, tiers_of, value_units_of_count
from engine.incentives.roster import managers_of, roster_events, supervisors_before
from engine.money import format_units, parse_amount
from engine.recording import Decision
from projections.queries import count_customers, tally_performance
from schemas.incentive_events import IncentivePolicy, IncentivePolicyLoaded
from schemas.incentive_views import IncentiveReport, IndicatorValue, PolicyLoadedView, RewardAmount

ESTIMATED, FINAL = "estimated", "final"


@dataclass(frozen=True, slots=True)
class IncentiveScope:
    """Whose incentive: the partner's (neither), one account manager's, or a supervisor's."""

    account_manager_id: str | None = None
    supervisor_id: str | None = None


@dataclass(frozen=True, slots=True)
class ManagersScope:
    """Keeps what carries one of these account managers (a `projections.queries.Scope`
    in duck type); None keeps everything."""

    managers: frozenset[str] | None = None

    def keeps(self, account_manager_id: str | None, _indirect_partner_id: str | None = None) -> bool:
        return self.managers is None or account_manager_id in self.managers


@dataclass(frozen=True, slots=True)
class IndicatorValues:
    """A partner's (or a scope's) statistics for a period, as their views print them."""

    status: str
    settled_amount: str
    payable_amount: str
    consuming_customers: int
    new_enterprise_customers: int

    def value(self, statistic: str) -> str | int:
        return getattr(self, statistic)


def indicator_values(engine: Engine, partner_id: str, period: str, scope: IncentiveScope) -> IndicatorValues:
    """The statistics of a partner's period: `final` once it is closed, else `estimated`."""
    closed_at = period_closed_at(engine, period)
    if closed_at is None:
        return live_period_values(engine, partner_id, period, scope)
    return closed_period_values(engine, partner_id, period, scope, closed_at)


def period_closed_at(engine: Engine, period: str) -> str | None:
    """When the period was closed (CONTRACT.md §7), or None while it is open.

    Seam: period closes and statements are built beside this feature. Until this reads
    them, every period is open (its values `estimated`)."""
    return None


def closed_period_values(
    engine: Engine, partner_id: str, period: str, scope: IncentiveScope, closed_at: str
) -> IndicatorValues:
    """`final` values of a closed period: amounts of the charges the partner's statement
    for it carries (adjustments included), counts of `replay --as-of` the close, the
    supervisor's account managers as recorded by the close (`account_managers(...,
    recorded_by=closed_at)`)."""
    raise NotImplementedError("needs statements")


def account_managers(
    engine: Engine, partner_id: str, period: str, scope: IncentiveScope, recorded_by: str | None = None
) -> frozenset[str] | None:
    """The account managers a scope keeps (None: all of the partner's)."""
    if scope.account_manager_id is not None:
        return frozenset({scope.account_manager_id})
    if scope.supervisor_id is None:
        return None
    end = period_bounds(engine, period).end
    supervisors = supervisors_before(roster_events(engine.ledger, partner_id), end, recorded_by)
    return managers_of(supervisors, scope.supervisor_id)


@dataclass(frozen=True, slots=True)
class LiveRows:
    """A partner's live view rows of a period, read once for any number of scopes."""

    charges: list
    associations: list


def live_rows(engine: Engine, partner_id: str, period: str) -> LiveRows:
    engine.projection.bring_up_to_date(engine.ledger)
    view = engine.projection.view
    return LiveRows(view.partner_charge_rows(partner_id, period), view.association_rows(partner_id))


def live_period_values(engine: Engine, partner_id: str, period: str, scope: IncentiveScope) -> IndicatorValues:
    managers = account_managers(engine, partner_id, period, scope)
    return values_of_rows(engine, partner_id, period, live_rows(engine, partner_id, period), managers)


def values_of_rows(
    engine: Engine, partner_id: str, period: str, rows: LiveRows, managers: frozenset[str] | None
) -> IndicatorValues:
    """The statistics of the rows a scope keeps, by the views' own functions."""
    keep = ManagersScope(managers)
    kept = [row for row in rows.charges if keep.keeps(row[1] or None)]
    rules = engine.rules
    performance = tally_performance(partner_id, period, rules.currency, kept, rules.minor_digits)
    counts = count_customers(partner_id, period_bounds(engine, period), rows.associations, rows.charges, keep)
    return IndicatorValues(
        status=ESTIMATED,
        settled_amount=performance.settled_amount,
        payable_amount=performance.payable_amount,
        consuming_customers=counts.consuming_customers,
        new_enterprise_customers=counts.new_enterprise_customers_quarter,
    )


def policy_for(engine: Engine, period: str) -> IncentivePolicy:
    """The policy whose periods include `period`, or refused (`no_policy`)."""
    with reading(engine) as rows:
        policy = tables.policy_for_period(rows, period)
    if policy is None:
        raise Refused("no_policy", f"no incentive policy covers period {period}")
    return policy


def report_of(
    policy: IncentivePolicy, partner_id: str, period: str, values: IndicatorValues, minor_digits: int
) -> IncentiveReport:
    """The policy applied to a scope's values: each reward truncated, `total` their sum."""
    statistics = {indicator.name: indicator.statistic for indicator in policy.indicators}
    rewards, total = [], 0
    for reward in policy.rewards:
        value = values.value(statistics[reward.indicator])
        units = value_units_of_count(value) if isinstance(value, int) else parse_amount("value", value)
        amount = reward_units(units, tiers_of(reward.tiers), reward.mode, minor_digits)
        rewards.append(RewardAmount(reward.indicator, format_units(amount, minor_digits)))
        total += amount
    return IncentiveReport(
        partner_id=partner_id,
        period=period,
        policy_id=policy.policy_id,
        status=values.status,
        indicators=[IndicatorValue(i.name, i.statistic, values.value(i.statistic)) for i in policy.indicators],
        rewards=rewards,
        total=format_units(total, minor_digits),
    )


def incentive_report(engine: Engine, partner_id: str, period: str, scope: IncentiveScope = IncentiveScope()) -> IncentiveReport:
    """`billing incentives --json`."""
    policy = policy_for(engine, period)
    values = indicator_values(engine, partner_id, period, scope)
    return report_of(policy, partner_id, period, values, engine.rules.minor_digits)


def load_policy(engine: Engine, text: bytes) -> Outcome:
    """Records a policy (`PolicyFileError` if malformed); the same again changes nothing;
    refused: `duplicate_tier`, `id_conflict` (judged first), `policy_overlap`."""
    policy = read_policy(text)

    def decide(decision: Decision) -> bool:
        known = tables.policy(decision.rows, policy.policy_id)
        if known is not None:
            if msgspec.to_builtins(known) == msgspec.to_builtins(policy):
                return False
            raise Refused("id_conflict", f"policy {policy.policy_id} was loaded with other content")
        claimed = tables.claimed_periods(decision.rows, policy.periods)
        if claimed:
            period, other = claimed[0]
            raise Refused("policy_overlap", f"period {period} already belongs to policy {other}")
        decision.append(
            IncentivePolicyLoaded, stream="incentive_policies", id=f"incentive_policy:{policy.policy_id}",
            policy_id=policy.policy_id, periods=policy.periods, indicators=policy.indicators, rewards=policy.rewards,
        )
        return True

    recorded = engine.ledger.record_decision(decide)
    return Outcome(PolicyLoadedView(policy.policy_id, policy.periods), recorded)


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The incentive dashboard: a scope's report, the account managers it covers, and
    one report per supervisor (of the partner) or per account manager (of a supervisor),
    each with the tiers applied to its own values."""

    report: IncentiveReport
    scope: IncentiveScope
    managers: frozenset[str] | None
    breakdown_by: str | None  # "supervisor", "account manager" or None
    breakdown: list[tuple[str, IncentiveReport]]


def dashboard(engine: Engine, partner_id: str, period: str, scope: IncentiveScope) -> Dashboard:
    policy = policy_for(engine, period)
    minor = engine.rules.minor_digits

    def report(of: IncentiveScope) -> IncentiveReport:
        return report_of(policy, partner_id, period, indicator_values(engine, partner_id, period, of), minor)

    managers = account_managers(engine, partner_id, period, scope)
    if scope.account_manager_id is not None:
        by, parts = None, []
    elif scope.supervisor_id is not None:
        by, parts = "account manager", [(m, report(IncentiveScope(account_manager_id=m))) for m in sorted(managers)]
    else:
        supervisors = supervisors_before(roster_events(engine.ledger, partner_id), period_bounds(engine, period).end)
        by = "supervisor"
        parts = [(s, report(IncentiveScope(supervisor_id=s))) for s in sorted(set(supervisors.values()))]
    return Dashboard(report(scope), scope, managers, by, parts)
