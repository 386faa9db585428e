"""`billing incentives settle --period P` (CONTRACT.md §9): each partner's `final`
incentive total for a closed period, credited once as an `incentive` transfer.

Refusals (exit 1 / HTTP 409, nothing recorded), in this order:
- `no_policy`: no incentive policy covers P;
- `period_not_closed`: P is open (a month before the first close counts as closed by it);
- `statement_not_confirmed`: a statement of P is `pending_confirmation` or `disputed`.

The partners settled are those `replay --period P --as-of ISSUED_AT` lists (a charge of P,
or an association begun before P's end) and those with a statement of P. Each positive
total is credited `cloud:incentives` → `incentive:PARTNER` under the id
`incentive:POLICY:P:PARTNER`, all in one write transaction. A closed period's values
never change (its statements are frozen, replay is as of its close, a policy is loaded
once), so settling again finds every id recorded with the same amount: a repeat that
records nothing and lists the same transfers.
"""

from __future__ import annotations

from commands.bootstrap import Engine
from commands.incentive_values import (
    PeriodClose,
    PeriodRows,
    fold_log,
    partner_rows,
    period_close,
    statement_totals,
    values_of,
)
from commands.incentives import policy_for, reward_units_of
from commands.queries import period_bounds
from commands.subsidies import Outcome
from engine.accounts.recording import record_transfer
from engine.errors import FieldError, Refused
from engine.instants import parse_period
from engine.recording import Decision
from engine.statements import tables as statement_tables
from schemas.incentive_events import IncentivePolicy
from schemas.incentive_views import IncentiveSettlement
from schemas.statements import CONFIRMED

PERIOD_NOT_CLOSED = "period_not_closed"
STATEMENT_NOT_CONFIRMED = "statement_not_confirmed"


def incentive_transfer_id(policy_id: str, period: str, partner_id: str) -> str:
    return f"incentive:{policy_id}:{period}:{partner_id}"


def settle_incentives(engine: Engine, period: str) -> Outcome:
    """Credits every partner's positive `final` total for `period`, once: the
    `IncentiveSettlement`, recorded False when every transfer was there already."""
    try:
        parse_period(period)
    except ValueError as error:
        raise FieldError("period", str(error)) from None
    policy = policy_for(engine, period)
    close = _settleable_close(engine, period)
    totals = final_totals(engine, policy, period, close)
    note = f"incentive policy {policy.policy_id}, period {period}"

    def decide(decision: Decision) -> list:
        return [
            record_transfer(
                decision,
                "incentive",
                partner_id,
                units,
                incentive_transfer_id(policy.policy_id, period, partner_id),
                note,
            )
            for partner_id, units in sorted(totals.items())
            if units > 0
        ]

    outcomes = engine.ledger.record_decision(decide)
    settlement = IncentiveSettlement(period, policy.policy_id, [outcome.value for outcome in outcomes])
    return Outcome(settlement, recorded=any(not outcome.repeated for outcome in outcomes))


def _settleable_close(engine: Engine, period: str) -> PeriodClose:
    """P's close, if P is closed and all its statements are confirmed. Both only ever
    become true (a close is never undone, a confirmed statement is final, no statement of
    P is issued after P's close), so a check before the write transaction holds in it."""
    close = period_close(engine, period)
    if close is None:
        raise Refused(PERIOD_NOT_CLOSED, f"{period} is not closed: close it first (billing close --period {period})")
    recorder = engine.ledger.recorder
    with statement_tables.reading(recorder) as db:
        rows = statement_tables.statement_rows(db, period=period)
    waiting = sorted((row[1], row[2]) for row in rows if row[2] != CONFIRMED)
    if waiting:
        partner_id, status = waiting[0]
        more = f" (and {len(waiting) - 1} more)" if len(waiting) > 1 else ""
        raise Refused(
            STATEMENT_NOT_CONFIRMED,
            f"the statement of {partner_id} for {period} is {status}{more}: every statement of "
            f"{period} must be confirmed first",
        )
    return close


def final_totals(engine: Engine, policy: IncentivePolicy, period: str, close: PeriodClose) -> dict[str, int]:
    """partner -> its `final` incentive total (10⁻⁸ units, whole minor units) for `period`,
    from one replay of the log as of the close and the statements' totals."""
    grouped = partner_rows(fold_log(engine, period, close.closed_at))
    statements = statement_totals(engine, period)
    end = period_bounds(engine, period).end
    partners = set(statements) | {
        partner_id
        for partner_id, (charges, associations) in grouped.items()
        if charges or any(row.start < end for row in associations)
    }
    totals = {}
    for partner_id in sorted(partners):
        charges, associations = grouped.get(partner_id, ([], []))
        rows = PeriodRows(charges, associations, close, statement_units=statements.get(partner_id))
        values = values_of(engine, partner_id, period, rows, None)
        rewards = reward_units_of(policy, values, engine.rules.minor_digits)
        totals[partner_id] = sum(units for _indicator, units in rewards)
    return totals
