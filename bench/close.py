"""The close step of `python -m bench`: `billing close --period P` of the benchmark's
month on the ingested store, timed and with its peak memory, the store's clock set
(BILLING_NOW) a day after the month's end.

The demo generator's yearly packages were bought in earlier months, and periods close
in order (CONTRACT.md §7): those months are closed first, untimed (each holds a few
orders). The figure is the month's own close: reading the views of every customer,
building and recording the statements, with the statements' tables written by their
inline projection, in one transaction.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.child import ChildRun, billing, run_measured
from bench.progress import ticking
from engine.statements.rules import following_period

CLOSE_TARGET_SECONDS = 5


def clock_after(period: str) -> str:
    """A moment one day after the period's end, in the billing time zone."""
    return f"{following_period(period)}-02T00:00:00+08:00"


def measure_close(store: Path, period: str) -> tuple[ChildRun, dict]:
    """Closes the months before `period` (untimed), then times the close of `period`."""
    env = {"BILLING_NOW": clock_after(period)}
    url = f"sqlite:///{store}"
    periods = json.loads(
        run_measured(billing("--store", url, "periods", "--json"), "billing periods", env).check().stdout
    )["periods"]
    earlier = [p["period"] for p in periods if p["period"] < period]
    month = earlier[0] if earlier else period
    closed_first = 0
    with ticking(f"closing the {len(earlier)} earlier month(s) with charges, and the gaps between, untimed"):
        while month < period:
            run_measured(
                billing("--store", url, "close", "--period", month), f"billing close --period {month}", env
            ).check()
            closed_first += 1
            month = following_period(month)
    run = run_measured(
        billing("--store", url, "close", "--period", period, "--json"), f"billing close --period {period}", env
    ).check()
    result = json.loads(run.stdout)
    summary = {
        "period": result["period"],
        "statements": len(result["statements"]),
        "earlier_months_closed_first": closed_first,
        "total_payable_amount": _sum(s["total_payable_amount"] for s in result["statements"]),
    }
    return run, summary


def _sum(amounts) -> str:
    from engine.money import format_units, parse_amount

    return format_units(sum(parse_amount("amount", amount) for amount in amounts))
