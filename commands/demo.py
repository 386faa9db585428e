"""`billing demo`: writes a month of sample events (`commands.demo_data`), ingests
them, prints the period's dashboards and closes the month."""

from __future__ import annotations

import os
import shlex
import shutil
import sys

from commands.bootstrap import Engine, open_engine
from commands.demo_data import generate_month
from commands.demo_data.world import PARTNERS
from commands.ingest import BATCH_SIZE, ingest_streams
from commands.json_lines import open_inputs
from commands.progress import byte_progress
from commands.queries import bills, customer_counts, performance, period_bounds
from commands.render import table
from commands.settings import DEFAULT_STORE, Settings
from commands.statements import close_through
from engine.errors import Refused, SettingsError
from engine.instants import parse_period
from engine.money import format_units, parse_amount, units_from_fixed8


def run_demo(settings: Settings, out: str, customers: int, seed: int, period: str) -> int:
    """Writes a month of sample events to `out`, ingests them into the store, prints the
    period's dashboards and returns 0. Fails with SettingsError, StoreError or OSError."""
    if settings.currency != "CNY":  # the sample is priced in CNY: elsewhere nearly all of it would be rejected
        raise SettingsError(f"demo: the sample events are in CNY, but BILLING_CURRENCY is {settings.currency}")
    try:
        lines = generate_month(customers, seed, period)
    except ValueError as error:
        raise SettingsError(f"demo: {error}") from None
    with open_engine(settings, create=True) as engine:  # an unusable store fails before any writing
        written = 0
        with open(out, "wb") as file:
            for line in lines:
                file.write(line + b"\n")
                written += 1
        print(f"Wrote {written:,} events ({period}, {customers} customers, seed {seed}) to {out}")
        with byte_progress([out], force=settings.progress) as progress:
            counts = ingest_streams(engine, open_inputs([out]), BATCH_SIZE, progress)
        print(
            f"Ingested into {settings.store_url}: accepted {counts.accepted:,}, "
            f"duplicates {counts.duplicates:,}, rejected {counts.rejected:,} (3 bad lines are there on purpose)\n"
        )
        print(_dashboards(engine, period))
        print("\n" + _close_month(engine, period))
    if settings.store_url == "memory://":
        print("\nmemory:// keeps nothing after this command; try `billing --store sqlite:///demo.db demo`.")
        return 0
    billing = _invocation() + ("" if settings.store_url == DEFAULT_STORE else f" --store {settings.store_url}")
    year, month = parse_period(period)
    partner, resellers = PARTNERS[0][:2]
    print(
        f"\nTry next:\n  {billing} bills --period {period} --customer c-00001"
        f"\n  {billing} bills --period {year + month // 12:04d}-{month % 12 + 1:02d}"
        "   # CDN metered in UTC: its last hours fall in the next period"
        f"\n  {billing} customers --partner {partner} --period {period} --reseller {resellers[0]}"
        f"\n  {billing} performance --partner {partner} --period {period}"
        f"\n  {billing} bills --period {period} --summary\n  {billing} status"
        f"\n  {billing} statement --partner {partner} --period {period}\n  {billing} rejected"
    )
    return 0


def _invocation() -> str:
    """How to run `billing` again, as it was run: by name when that finds this very
    program (a venv activated, or installed), else by the path used (.venv/bin/billing)."""
    used = sys.argv[0]
    found = shutil.which("billing")
    if found and os.path.realpath(found) == os.path.realpath(used):
        return "billing"
    return shlex.quote(used) if os.path.basename(used) == "billing" else "billing"


def _close_month(engine: Engine, period: str) -> str:
    """Closes the demo's month, and the months before it that have charges (yearly
    packages bought earlier), in order; summarises the month's statements."""
    try:
        engine.projection.bring_up_to_date(engine.ledger)
        results = close_through(engine, period)
    except Refused as refused:
        return f"Statements (对账单), {period}: not closed ({refused.code}: {refused.message})"
    if not results:
        return f"Statements (对账单), {period}: closed already (`billing statements --period {period}`)"
    earlier = f"; {len(results) - 1} earlier month(s) closed first" if len(results) > 1 else ""
    result = results[-1]
    return f"Statements (对账单), {period}: closed at {result.issued_at}{earlier}\n" + table(
        ["partner", "total payable", "total settled"],
        [(s.partner_id, s.total_payable_amount, s.total_settled_amount) for s in result.statements],
    )


def _dashboards(engine: Engine, period: str) -> str:
    """The period's customer counts and performance by partner, and a bills summary."""
    bill_list = bills(engine, period)
    partners = engine.projection.view.partner_ids(period, period_bounds(engine, period).end)
    counts = [customer_counts(engine, partner, period) for partner in partners]
    tallies = [performance(engine, partner, period) for partner in partners]
    payable, settled, rounding_off = (
        sum(parse_amount(name, getattr(b, name)) for b in bill_list)
        for name in ("payable_amount", "settled_amount", "rounding_off_amount")
    )
    top = sorted(bill_list, key=lambda b: (-units_from_fixed8(b.payable_amount), b.customer_id))[:5]
    currency, digits = engine.rules.currency, engine.rules.minor_digits
    return "\n\n".join(
        [
            f"Customer dashboard, {period}\n"
            + table(
                ["partner", "customers", "associations", "consuming", "new enterprise this quarter"],
                [
                    (
                        c.partner_id,
                        c.total_customers,
                        c.association_count,
                        c.consuming_customers,
                        c.new_enterprise_customers_quarter,
                    )
                    for c in counts
                ],
            ),
            f"Performance (业绩), {period}, {currency}\n"
            + table(
                ["partner", "payable", "settled", "customers"],
                [(p.partner_id, p.payable_amount, p.settled_amount, p.customers) for p in tallies],
            ),
            f"Bills, {period}: {len(bill_list):,} bills, payable {format_units(payable)}, settled "
            f"{format_units(settled, digits)}, rounding-off {format_units(rounding_off)} {currency}\n"
            "Top 5 customers by payable\n"
            + table(
                ["customer", "payable", "settled", "rounding-off", "charges"],
                [(b.customer_id, b.payable_amount, b.settled_amount, b.rounding_off_amount, b.charges) for b in top],
            ),
        ]
    )
