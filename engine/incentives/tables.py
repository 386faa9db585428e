"""The tables of CONTRACT.md §9, folded inline from the engine's events in the
transaction that records them: loaded calendar years, subsidy milestones, incentive
policies and the periods they claim. They are caches of the log (every row follows
from the events), read by the decisions and the queries of this feature.

SQL is written with `?` placeholders and `{t}` before table names (the backends
translate); `rows` is a decision's `rows` or a read transaction's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import msgspec

from engine.incentives.subsidies import Milestone
from engine.incentives.working_days import YearSchedule, loaded_calendar_name
from engine.money import parse_amount
from schemas.incentive_events import (
    CalendarYearLoaded,
    IncentivePolicy,
    IncentivePolicyLoaded,
    SubsidyDelivered,
    SubsidyPlanned,
)

Rows = Callable[[str, Sequence], list[tuple]]

DDL = (
    "CREATE TABLE IF NOT EXISTS {t}calendar_years (year {int} PRIMARY KEY, version {int} NOT NULL, "
    "holidays {text} NOT NULL, working_days {text} NOT NULL, source {text} NOT NULL, loaded_at {text} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {t}subsidy_milestones (deal_id {key} NOT NULL, milestone {key} NOT NULL, "
    "partner_id {key} NOT NULL, planned {text} NOT NULL, amount {text} NOT NULL, delivered {text}, "
    "working_days_late {int}, deduction_rate {text}, payable_amount {text}, status {text} NOT NULL, "
    "calendar {text}, PRIMARY KEY (deal_id, milestone))",
    "CREATE TABLE IF NOT EXISTS {t}incentive_policies (policy_id {key} PRIMARY KEY, content {text} NOT NULL, "
    "loaded_at {text} NOT NULL)",
    # One policy a period: the key says "policies' periods never overlap" to the store too.
    "CREATE TABLE IF NOT EXISTS {t}incentive_policy_periods (period {key} PRIMARY KEY, policy_id {key} NOT NULL)",
)

_JSON = msgspec.json.Encoder()
_POLICY = msgspec.json.Decoder(IncentivePolicy)


def project(decision, stored: list[tuple[int, object]]) -> None:
    """Folds this feature's events just stored into its tables (an `EngineProjection`)."""
    for _notification_id, event in stored:
        if isinstance(event, SubsidyPlanned):
            decision.execute(
                "INSERT INTO {t}subsidy_milestones (deal_id, milestone, partner_id, planned, amount, status) "
                "VALUES (?,?,?,?,?,?)",
                (event.deal_id, event.milestone, event.partner_id, event.planned, event.amount, "pending"),
            )
        elif isinstance(event, SubsidyDelivered):
            decision.execute(
                "UPDATE {t}subsidy_milestones SET delivered=?, working_days_late=?, deduction_rate=?, "
                "payable_amount=?, status=?, calendar=? WHERE deal_id=? AND milestone=?",
                (
                    event.delivered,
                    event.working_days_late,
                    event.deduction_rate,
                    event.payable_amount,
                    event.status,
                    event.calendar,
                    event.deal_id,
                    event.milestone,
                ),
            )
        elif isinstance(event, CalendarYearLoaded):
            decision.execute("DELETE FROM {t}calendar_years WHERE year=?", (event.year,))
            decision.execute(
                "INSERT INTO {t}calendar_years VALUES (?,?,?,?,?,?)",
                (
                    event.year,
                    event.version,
                    _JSON.encode(event.holidays).decode(),
                    _JSON.encode(event.working_days).decode(),
                    event.source,
                    event.recorded_at,
                ),
            )
        elif isinstance(event, IncentivePolicyLoaded):
            content = event.content or _JSON.encode(policy_of(event)).decode()
            decision.execute(
                "INSERT INTO {t}incentive_policies VALUES (?,?,?)", (event.policy_id, content, event.recorded_at)
            )
            decision.executemany(
                "INSERT INTO {t}incentive_policy_periods VALUES (?,?)", [(p, event.policy_id) for p in event.periods]
            )


def wire(ledger) -> None:
    """Registers this feature's inline projection with the ledger."""
    ledger.engine_projections.append(project)


def policy_of(event: IncentivePolicyLoaded) -> IncentivePolicy:
    return IncentivePolicy(event.policy_id, event.periods, event.indicators, event.rewards)


# --- reads -------------------------------------------------------------------------------

_MILESTONE_COLUMNS = (
    "partner_id, deal_id, milestone, planned, delivered, amount, working_days_late, "
    "deduction_rate, payable_amount, status, calendar"
)


def milestone_rows(rows: Rows, partner_id: str | None = None, deal_id: str | None = None) -> list[tuple]:
    """Milestone rows (columns as `Subsidy`'s fields), by deal then milestone (code points)."""
    conditions, params = [], []
    for column, value in (("partner_id", partner_id), ("deal_id", deal_id)):
        if value is not None:
            conditions.append(f"{column}=?")
            params.append(value)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    found = rows(f"SELECT {_MILESTONE_COLUMNS} FROM {{t}}subsidy_milestones{where}", params)
    return sorted(found, key=lambda row: (row[1], row[2]))


def milestone(rows: Rows, deal_id: str, name: str) -> Milestone | None:
    found = rows(
        "SELECT partner_id, planned, amount, delivered FROM {t}subsidy_milestones WHERE deal_id=? AND milestone=?",
        (deal_id, name),
    )
    if not found:
        return None
    partner_id, planned, amount, delivered = found[0]
    return Milestone(
        partner_id,
        deal_id,
        name,
        date.fromisoformat(planned),
        parse_amount("amount", amount),
        None if delivered is None else date.fromisoformat(delivered),
    )


def deal_partner(rows: Rows, deal_id: str) -> str | None:
    found = rows("SELECT partner_id FROM {t}subsidy_milestones WHERE deal_id=? LIMIT 1", (deal_id,))
    return found[0][0] if found else None


def loaded_years(rows: Rows) -> dict[int, YearSchedule]:
    """Every loaded year's latest schedule."""
    schedules = {}
    for year, version, holidays, working_days, source, loaded_at in rows(
        "SELECT year, version, holidays, working_days, source, loaded_at FROM {t}calendar_years", ()
    ):
        schedules[year] = YearSchedule(
            year=year,
            holidays=frozenset(map(date.fromisoformat, msgspec.json.decode(holidays))),
            working_days=frozenset(map(date.fromisoformat, msgspec.json.decode(working_days))),
            calendar=loaded_calendar_name(year, version),
            source=source,
            loaded_at=loaded_at,
        )
    return schedules


def loaded_year_content(rows: Rows, year: int) -> tuple[int, list[str], list[str], str] | None:
    """(version, holidays, working days, source) of a loaded year, as recorded."""
    found = rows("SELECT version, holidays, working_days, source FROM {t}calendar_years WHERE year=?", (year,))
    if not found:
        return None
    version, holidays, working_days, source = found[0]
    return version, msgspec.json.decode(holidays), msgspec.json.decode(working_days), source


def policy_content(rows: Rows, policy_id: str) -> str | None:
    """The recorded policy's JSON value (the whole file's; of one recorded before files
    were kept whole, its known fields), or None."""
    found = rows("SELECT content FROM {t}incentive_policies WHERE policy_id=?", (policy_id,))
    return found[0][0] if found else None


def policy_for_period(rows: Rows, period: str) -> IncentivePolicy | None:
    found = rows(
        "SELECT p.content FROM {t}incentive_policy_periods pp JOIN {t}incentive_policies p "
        "ON p.policy_id = pp.policy_id WHERE pp.period=?",
        (period,),
    )
    return _POLICY.decode(found[0][0]) if found else None


def claimed_periods(rows: Rows, periods: Sequence[str]) -> list[tuple[str, str]]:
    """(period, policy_id) of these periods already claimed by a policy."""
    claimed = []
    for period in periods:
        claimed += rows("SELECT period, policy_id FROM {t}incentive_policy_periods WHERE period=?", (period,))
    return claimed
