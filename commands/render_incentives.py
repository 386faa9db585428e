"""Readable output of CONTRACT.md §9's commands: the subsidy list, the calendar's
years and the incentive dashboard. `--json` prints the handlers' Structs instead."""

from __future__ import annotations

from collections.abc import Sequence

from commands.incentives import Dashboard
from commands.render import table
from commands.subsidies import Outcome
from engine.incentives.working_days import describe_years
from schemas.incentive_views import CalendarYears, IncentiveReport, IncentiveSettlement, Subsidy


def subsidies(rows: Sequence[Subsidy]) -> str:
    if not rows:
        return "no subsidy milestones"
    return table(
        [
            "deal",
            "milestone",
            "partner",
            "status",
            "planned",
            "delivered",
            "calendar",
            "amount",
            "days late",
            "deduction",
            "payable",
        ],
        [
            (
                s.deal_id,
                s.milestone,
                s.partner_id,
                s.status,
                s.planned,
                s.delivered or "-",
                s.calendar or "-",
                s.amount,
                "-" if s.working_days_late is None else s.working_days_late,
                s.deduction_rate or "-",
                s.payable_amount or "-",
            )
            for s in rows
        ],
        numeric_from=7,
    )


def calendar(years: CalendarYears) -> str:
    """Runs of consecutive years with one calendar, one line each."""
    runs: list[list] = []
    for year in years.years:
        last = runs[-1] if runs else None
        if last and last[1] == year.calendar and last[0][-1] + 1 == year.year:
            last[0].append(year.year)
        else:
            runs.append([[year.year], year.calendar, year.source, year.loaded_at])
    if not runs:
        return "no year is covered"
    return table(
        ["years", "calendar", "source", "loaded"],
        [(describe_years(run[0]), run[1], run[2], run[3] or "-") for run in runs],
        numeric_from=99,
    )


def calendar_loaded(outcome: Outcome) -> str:
    year = outcome.value
    done = (
        f"loaded {year.year} as {year.calendar}"
        if outcome.recorded
        else f"{year.year} already loaded so: nothing changed"
    )
    return f"{done} (source: {year.source})"


def policy_loaded(outcome: Outcome) -> str:
    policy = outcome.value
    done = "loaded" if outcome.recorded else "already loaded so: nothing changed"
    return f"policy {policy.policy_id} {done}; periods {', '.join(policy.periods)}"


def dashboard(board: Dashboard) -> str:
    report, scope = board.report, board.scope
    lines = [f"Incentives of partner {report.partner_id}, {report.period}: policy {report.policy_id}, {report.status}"]
    if scope.account_manager_id is not None:
        lines.append(f"account manager {scope.account_manager_id}")
    elif scope.supervisor_id is not None:
        managers = ", ".join(sorted(board.managers or ())) or "none"
        lines.append(f"supervisor {scope.supervisor_id} (account managers: {managers})")
    lines += ["", _indicators_and_rewards(report)]
    if board.breakdown:
        lines += ["", f"by {board.breakdown_by} (tiers applied to each one's own values):", _breakdown(board)]
    return "\n".join(lines)


def _indicators_and_rewards(report: IncentiveReport) -> str:
    rewards = {reward.indicator: reward.amount for reward in report.rewards}
    rows = [(i.name, i.statistic, i.value, rewards.get(i.name, "-")) for i in report.indicators]
    rows.append(("total", "", "", report.total))
    return table(["indicator", "statistic", "value", "reward"], rows, numeric_from=2)


def _breakdown(board: Dashboard) -> str:
    names = [indicator.name for indicator in board.report.indicators]
    rows = [(label, *(i.value for i in part.indicators), part.total) for label, part in board.breakdown]
    return table([board.breakdown_by or "", *names, "total"], rows)


def settlement(settled: IncentiveSettlement) -> str:
    head = f"Incentives of {settled.period} (policy {settled.policy_id})"
    if not settled.transfers:
        return f"{head}: no partner has a positive total; nothing to credit"
    rows = [(t.id, t.credit, t.status, t.at, t.amount) for t in settled.transfers]
    return f"{head}, credited from cloud:incentives:\n" + table(
        ["id", "account", "status", "at", "amount"], rows, numeric_from=4
    )
