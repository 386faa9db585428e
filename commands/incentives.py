"""Handlers of incentive policies and indicators (CONTRACT.md §9): plain functions over
an `Engine`, returning what `--json` prints.

Indicator values come from the views of §4 through the same pure functions the views
use (`tally_performance`, `count_customers`), so an indicator always equals the view it
names: the live views while the period is open (`estimated`), `replay --as-of` its close
and the partner's statement for it once it is closed (`final`; see
`commands.incentive_values`). Settling a closed period is `commands.incentive_settle`.
"""

from __future__ import annotations

from dataclasses import dataclass

from commands.bootstrap import Engine
from commands.incentive_values import IndicatorValues, PeriodRows, period_close, read_period, values_of
from commands.queries import period_bounds
from commands.subsidies import Outcome, reading
from engine.errors import Refused
from engine.incentives import tables
from engine.incentives.policies import (
    policy_content,
    read_policy,
    reward_units,
    same_content,
    tiers_of,
    value_units_of_count,
)
from engine.incentives.roster import managers_of, roster_events, supervisors_before
from engine.money import format_units, parse_amount
from engine.recording import Decision
from schemas.incentive_events import IncentivePolicy, IncentivePolicyLoaded
from schemas.incentive_views import IncentiveReport, IndicatorValue, PolicyLoadedView, RewardAmount


@dataclass(frozen=True, slots=True)
class IncentiveScope:
    """Whose incentive: the partner's (neither), one account manager's, or a supervisor's."""

    account_manager_id: str | None = None
    supervisor_id: str | None = None


def indicator_values(engine: Engine, partner_id: str, period: str, scope: IncentiveScope) -> IndicatorValues:
    """The statistics of a partner's period: `final` once it is closed, else `estimated`."""
    rows = read_period(engine, partner_id, period)
    return values_of(engine, partner_id, period, rows, account_managers(engine, partner_id, period, scope, rows))


def period_closed_at(engine: Engine, period: str) -> str | None:
    """When the period was closed (CONTRACT.md §7), or None while it is open."""
    close = period_close(engine, period)
    return None if close is None else close.closed_at


def account_managers(
    engine: Engine, partner_id: str, period: str, scope: IncentiveScope, rows: PeriodRows | None = None
) -> frozenset[str] | None:
    """The account managers a scope keeps (None: all of the partner's); a supervisor's
    as its assignments stand before the period's end (recorded by its close, if closed)."""
    if scope.account_manager_id is not None:
        return frozenset({scope.account_manager_id})
    if scope.supervisor_id is None:
        return None
    return managers_of(supervisors(engine, partner_id, period, rows), scope.supervisor_id)


def supervisors(engine: Engine, partner_id: str, period: str, rows: PeriodRows | None = None) -> dict[str, str]:
    """account manager -> supervisor, standing at the period's end (as recorded by its
    close for a closed period: `rows` read it, else it is read here)."""
    close = rows.close if rows is not None else period_close(engine, period)
    recorded_by = None if close is None else close.closed_at
    end = period_bounds(engine, period).end
    return supervisors_before(roster_events(engine.ledger, partner_id), end, recorded_by)


def policy_for(engine: Engine, period: str) -> IncentivePolicy:
    """The policy whose periods include `period`, or refused (`no_policy`)."""
    with reading(engine) as rows:
        policy = tables.policy_for_period(rows, period)
    if policy is None:
        raise Refused("no_policy", f"no incentive policy covers period {period}")
    return policy


def reward_units_of(policy: IncentivePolicy, values: IndicatorValues, minor_digits: int) -> list[tuple[str, int]]:
    """(indicator, reward) of each of the policy's rewards, each truncated on its own."""
    statistics = {indicator.name: indicator.statistic for indicator in policy.indicators}
    rewards = []
    for reward in policy.rewards:
        value = values.value(statistics[reward.indicator])
        units = value_units_of_count(value) if isinstance(value, int) else parse_amount("value", value)
        rewards.append((reward.indicator, reward_units(units, tiers_of(reward.tiers), reward.mode, minor_digits)))
    return rewards


def report_of(
    policy: IncentivePolicy, partner_id: str, period: str, values: IndicatorValues, minor_digits: int
) -> IncentiveReport:
    """The policy applied to a scope's values: each reward truncated, `total` their sum."""
    rewards = reward_units_of(policy, values, minor_digits)
    return IncentiveReport(
        partner_id=partner_id,
        period=period,
        policy_id=policy.policy_id,
        status=values.status,
        indicators=[IndicatorValue(i.name, i.statistic, values.value(i.statistic)) for i in policy.indicators],
        rewards=[RewardAmount(indicator, format_units(units, minor_digits)) for indicator, units in rewards],
        total=format_units(sum(units for _indicator, units in rewards), minor_digits),
    )


def incentive_report(
    engine: Engine, partner_id: str, period: str, scope: IncentiveScope = IncentiveScope()
) -> IncentiveReport:
    """`billing incentives --json`."""
    policy = policy_for(engine, period)
    values = indicator_values(engine, partner_id, period, scope)
    return report_of(policy, partner_id, period, values, engine.rules.minor_digits)


def load_policy(engine: Engine, text: bytes) -> Outcome:
    """Records a policy (`PolicyFileError` if malformed); the same again changes nothing;
    refused: `duplicate_tier`, `id_conflict` (judged first), `policy_overlap`."""
    policy = read_policy(text)

    def decide(decision: Decision) -> bool:
        known = tables.policy_content(decision.rows, policy.policy_id)
        if known is not None:
            if same_content(known, text):  # as JSON values, keys the engine ignores included
                return False
            raise Refused("id_conflict", f"policy {policy.policy_id} was loaded with other content")
        claimed = tables.claimed_periods(decision.rows, policy.periods)
        if claimed:
            period, other = claimed[0]
            raise Refused("policy_overlap", f"period {period} already belongs to policy {other}")
        decision.append(
            IncentivePolicyLoaded,
            stream="incentive_policies",
            id=f"incentive_policy:{policy.policy_id}",
            policy_id=policy.policy_id,
            periods=policy.periods,
            indicators=policy.indicators,
            rewards=policy.rewards,
            content=policy_content(text),
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
    """The scope's report and its breakdown, from the period's rows read once."""
    policy = policy_for(engine, period)
    minor = engine.rules.minor_digits
    rows = read_period(engine, partner_id, period)
    standing = supervisors(engine, partner_id, period, rows)

    def report(managers: frozenset[str] | None) -> IncentiveReport:
        return report_of(policy, partner_id, period, values_of(engine, partner_id, period, rows, managers), minor)

    if scope.account_manager_id is not None:
        managers, by, parts = frozenset({scope.account_manager_id}), None, []
    elif scope.supervisor_id is not None:
        managers, by = managers_of(standing, scope.supervisor_id), "account manager"
        parts = [(m, report(frozenset({m}))) for m in sorted(managers)]
    else:
        managers, by = None, "supervisor"
        parts = [(s, report(managers_of(standing, s))) for s in sorted(set(standing.values()))]
    return Dashboard(report(managers), scope, managers, by, parts)
