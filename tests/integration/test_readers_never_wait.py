"""A read answers from what is committed, at once, without taking the write lock
(projections/committed.py): the views plus the log beyond them, in one snapshot."""

from __future__ import annotations

import sqlite3
import time

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.bootstrap import open_engine
from commands.queries import bills, customer_counts, performance, period_views
from commands.settings import Settings
from engine.ledger import InboundLine
from tests.builders import associated, disassociated, line, usage
from tests.conftest import record

PERIOD = "2026-10"


def events() -> list[dict]:
    out = []
    for c in range(12):  # c-1, c-10, c-11: ids that begin alike
        customer = f"c-{c}"
        out.append(
            associated(
                customer,
                f"p-{c % 2}",
                id=f"a-{c}",
                time="2026-09-01T00:00:00+08:00",
                data={"account_manager_id": f"am-{c % 3}"},
            )
        )
        out += [
            usage(customer, id=f"u-{c}-{n}", quantity=f"{n + 1}", time=f"2026-10-{n + 2:02d}T10:00:00+08:00")
            for n in range(4)
        ]
        if c % 3 == 0:
            out.append(disassociated(customer, f"p-{c % 2}", id=f"d-{c}", time="2026-10-20T00:00:00+08:00"))
            out.append(associated(customer, "p-9", id=f"b-{c}", time="2026-10-25T00:00:00+08:00"))
            out.append(usage(customer, id=f"v-{c}", time="2026-10-26T10:00:00+08:00"))
    return out


def record_unprojected(engine, lines: list[dict], batch_size: int = 7) -> None:
    """Recorded with no projection (BILLING_PROJECTIONS=separate): the views lag the log."""
    for start in range(0, len(lines), batch_size):
        engine.ledger.record_batch([InboundLine(line(e)) for e in lines[start : start + batch_size]], None)


@pytest.fixture
def reference(open_store) -> bytes:
    engine = open_store("reference.db")
    record(engine, events())
    return msgspec.json.encode(period_views(engine, PERIOD))


@pytest.mark.parametrize("written", [0, 13, 30], ids=lambda n: f"views written after {n} events")
def test_a_read_of_views_behind_the_log_equals_the_views_brought_up_to_date(open_store, reference, written):
    engine = open_store()
    everything = events()
    record(engine, everything[:written])  # these are in the view tables
    record_unprojected(engine, everything[written:])  # these only in the log
    assert msgspec.json.encode(period_views(engine, PERIOD)) == reference
    assert engine.projection.view.position(engine.ledger.name) <= written, "the read wrote nothing"


def test_reads_of_one_customer_or_partner_equal_the_views_brought_up_to_date(open_store):
    engine, up_to_date = open_store(), open_store("reference.db")
    everything = events()
    record(engine, everything[:9])
    record_unprojected(engine, everything[9:])
    record(up_to_date, everything)
    for customer in ("c-1", "c-10", "c-11", "c-99"):
        assert bills(engine, PERIOD, customer) == bills(up_to_date, PERIOD, customer), customer
    for partner in ("p-0", "p-1", "p-9"):
        assert customer_counts(engine, partner, PERIOD) == customer_counts(up_to_date, partner, PERIOD), partner
        assert performance(engine, partner, PERIOD) == performance(up_to_date, partner, PERIOD), partner


def test_a_read_answers_at_once_while_a_writer_holds_the_write_lock(tmp_path, open_store, reference):
    engine = open_store()
    everything = events()
    record(engine, everything[:10])
    record_unprojected(engine, everything[10:])
    writer = sqlite3.connect(tmp_path / "billing.db", timeout=1, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a long ingest's batch, mid-transaction
    try:
        started = time.monotonic()
        views = period_views(engine, PERIOD)
        [one] = bills(engine, PERIOD, "c-3")
        counts = customer_counts(engine, "p-9", PERIOD)
        tally = performance(engine, "p-1", PERIOD)
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert elapsed < 1.0, f"reads took {elapsed:.2f} s beside a writer"
    assert msgspec.json.encode(views) == reference
    assert one.customer_id == "c-3" and counts.total_customers == 4 and tally.customers > 0


@pytest.mark.postgres
def test_a_read_on_postgres_sees_one_snapshot_of_views_and_log(postgres_fresh_dsn, open_url, open_store, reference):
    engine = open_url(postgres_fresh_dsn)
    everything = events()
    record(engine, everything[:13])
    record_unprojected(engine, everything[13:])
    assert msgspec.json.encode(period_views(engine, PERIOD)) == reference


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(split=st.integers(min_value=0, max_value=len(events())), batch=st.integers(min_value=1, max_value=9))
def test_whatever_part_of_the_log_the_views_hold_a_read_adds_up_to_the_same_views(tmp_path_factory, split, batch):
    folder = tmp_path_factory.mktemp("split")
    reference = open_engine(Settings(store_url=f"sqlite:///{folder / 'reference.db'}"), create=True)
    engine = open_engine(Settings(store_url=f"sqlite:///{folder / 'billing.db'}"), create=True)
    try:
        everything = events()
        record(reference, everything)
        record(engine, everything[:split], batch_size=batch)
        record_unprojected(engine, everything[split:], batch_size=batch)
        assert period_views(engine, PERIOD) == period_views(reference, PERIOD)
    finally:
        engine.close()
        reference.close()
