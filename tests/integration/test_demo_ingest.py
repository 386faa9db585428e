"""`run_demo` end to end on a real SQLite file: written, ingested, counted, shown."""

from __future__ import annotations

import re
from collections import Counter

from commands.bootstrap import open_engine
from commands.demo import run_demo
from commands.queries import customer_counts, period_bounds
from commands.settings import Settings
from commands.statements import list_periods, list_statements
from engine.mapper import is_engine_topic


def test_the_demo_ingests_its_month_with_only_the_deliberate_duplicates_and_rejections(tmp_path, capsys):
    settings = Settings(store_url=f"sqlite:///{tmp_path / 'demo.db'}", now="2026-11-05T10:00:00+08:00")
    out = tmp_path / "demo.jsonl"

    assert run_demo(settings, str(out), customers=80, seed=7, period="2026-10") == 0

    printed = capsys.readouterr().out
    lines = out.read_bytes().splitlines()
    duplicates = sum(times - 1 for times in Counter(lines).values())
    markers = (b'"unit_price":"1e3"', b'"currency":"USD"', b'"order_id":"ord-0000000"')
    bad = [line for line in lines if any(marker in line for marker in markers)]
    assert len(bad) == 3 and 3 <= duplicates <= 25
    accepted, shown_duplicates, rejected = (
        int(n.replace(",", ""))
        for n in re.search(r"accepted ([\d,]+), duplicates ([\d,]+), rejected ([\d,]+)", printed).groups()
    )
    assert (accepted, shown_duplicates, rejected) == (len(lines) - duplicates - 3, duplicates, 3)
    assert f"Wrote {len(lines):,} events" in printed
    assert "billing --store" in printed and "rejected" in printed.splitlines()[-1]

    with open_engine(settings, create=False) as engine:
        assert engine.ledger.recorder.count_events() == accepted + _engine_events(engine)
        closed = list_periods(engine).periods
        statements = list_statements(engine, period="2026-10").statements
        reasons = sorted(row.reason for row in engine.ledger.recorder.select_rejections())
        assert reasons == ["currency_not_accepted", "invalid_data", "unknown_order"]
        partners = engine.projection.view.partner_ids("2026-10", period_bounds(engine, "2026-10").end)
        counts = [customer_counts(engine, partner, "2026-10") for partner in partners]
    assert len(partners) >= 3
    assert any(
        c.total_customers and c.association_count and c.consuming_customers and c.new_enterprise_customers_quarter
        for c in counts
    )
    for partner in partners:
        assert partner in printed
    # The demo closes its month (and the earlier months its yearly packages were bought in).
    assert {p.period: p.status for p in closed}["2026-10"] == "closed"
    assert {s.partner_id for s in statements} == set(partners)
    assert "Statements (对账单), 2026-10: closed at 2026-11-05T02:00:00." in printed


def _engine_events(engine) -> int:
    with engine.ledger.recorder.read_transaction() as cursor:
        rows = engine.ledger.recorder.select_notifications_in(cursor, 0, 1_000_000)
    return sum(1 for row in rows if is_engine_topic(row[1]))


def test_running_the_demo_again_records_nothing_twice(tmp_path, capsys):
    settings = Settings(store_url=f"sqlite:///{tmp_path / 'demo.db'}")
    out = str(tmp_path / "demo.jsonl")
    run_demo(settings, out, customers=20, seed=3, period="2026-11")
    capsys.readouterr()

    run_demo(settings, out, customers=20, seed=3, period="2026-11")

    lines = len(open(out, "rb").read().splitlines())
    assert f"accepted 0, duplicates {lines - 3:,}, rejected 3" in capsys.readouterr().out
