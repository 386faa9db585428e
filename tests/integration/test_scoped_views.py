"""Views as a partner or one of its scopes sees them (CONTRACT.md §10): a scoped bill is
the bill of the charges attributed to the scope alone, read from the scoped bill-line
view, and it equals what the recorded charges say, however the log was batched."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands import queries
from commands.bootstrap import open_engine
from commands.settings import Settings
from engine.mapper import decode_event
from engine.money import format_units
from projections.queries import Scope
from schemas.recorded import ChargeRecorded
from tests import builders as b
from tests.conftest import record


def switching_customer_events() -> list[dict]:
    """c-1 moves from p-1 (a-1, r-1) to p-2 (a-2) within October, on the same line;
    c-2 stays with p-1 (a-2, r-2); c-3 has no partner."""
    return [
        b.associated(
            "c-1",
            "p-1",
            time="2026-10-01T00:00:00+08:00",
            data={"account_manager_id": "a-1", "indirect_partner_id": "r-1"},
        ),
        b.usage("c-1", quantity="10", unit_price="1.5", resource_id="i-9", time="2026-10-03T00:00:00+08:00"),
        b.disassociated("c-1", "p-1", time="2026-10-10T00:00:00+08:00"),
        b.associated("c-1", "p-2", time="2026-10-11T00:00:00+08:00", data={"account_manager_id": "a-2"}),
        b.usage("c-1", quantity="4", unit_price="1.5", resource_id="i-9", time="2026-10-12T00:00:00+08:00"),
        b.order_paid("c-1", order_id="o-1", amount="20.00", time="2026-10-13T00:00:00+08:00"),
        b.associated(
            "c-2",
            "p-1",
            time="2026-10-01T00:00:00+08:00",
            data={"account_manager_id": "a-2", "indirect_partner_id": "r-2"},
        ),
        b.usage("c-2", quantity="1", unit_price="3", resource_id="i-2", time="2026-10-05T00:00:00+08:00"),
        b.usage("c-3", quantity="1", unit_price="7", resource_id="i-3", time="2026-10-05T00:00:00+08:00"),
    ]


def test_a_partner_sees_a_switching_customers_bill_only_as_the_charges_attributed_to_it(store):
    record(store, switching_customer_events())
    p1 = {bill.customer_id: bill for bill in queries.partner_bills(store, "2026-10", "p-1")}
    p2 = {bill.customer_id: bill for bill in queries.partner_bills(store, "2026-10", "p-2")}
    assert sorted(p1) == ["c-1", "c-2"] and sorted(p2) == ["c-1"]
    assert (p1["c-1"].list_amount, p1["c-1"].charges) == ("15.00000000", 1)
    assert [(line.item_id, line.list_amount) for line in p2["c-1"].lines] == [
        ("i-9", "6.00000000"),
        ("pkg-1", "20.00000000"),
    ]
    full = queries.bills(store, "2026-10", "c-1")[0]
    assert full.list_amount == "41.00000000" and full.charges == 3


def test_a_reseller_or_account_manager_scope_keeps_only_the_charges_carrying_its_id(store):
    record(store, switching_customer_events())
    reseller = queries.partner_bills(store, "2026-10", "p-1", Scope(indirect_partner_id="r-1"))
    manager = queries.partner_bills(store, "2026-10", "p-1", Scope(account_manager_id="a-2"))
    other_partners_manager = queries.partner_bills(store, "2026-10", "p-2", Scope(account_manager_id="a-2"))
    assert [(bill.customer_id, bill.settled_amount) for bill in reseller] == [("c-1", "15.00")]
    assert [(bill.customer_id, bill.settled_amount) for bill in manager] == [("c-2", "3.00")]
    assert [(bill.customer_id, bill.settled_amount) for bill in other_partners_manager] == [("c-1", "26.00")]
    assert queries.partner_bills(store, "2026-10", "p-1", Scope(indirect_partner_id="r-9")) == []
    assert queries.partner_bills(store, "2026-10", "p-1", customer_id="c-3") == []


def test_scoped_performance_is_the_performance_of_the_scopes_charges(store):
    record(store, switching_customer_events())
    scoped = queries.performance(store, "p-1", "2026-10", Scope(indirect_partner_id="r-2"))
    assert (scoped.settled_amount, scoped.customers) == ("3.00", 1)
    assert [tally.indirect_partner_id for tally in scoped.by_reseller] == ["r-2"]
    assert queries.performance(store, "p-1", "2026-10").settled_amount == "18.00"


def test_a_store_whose_views_predate_the_scoped_lines_is_folded_again_from_the_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with open_engine(Settings(store_url=url), create=True) as engine:
        record(engine, switching_customer_events())
        before = queries.bills(engine, "2026-10")
    with sqlite3.connect(tmp_path / "old.db") as connection:  # as a store of the previous version
        connection.execute("DROP TABLE view_partner_bill_lines")
    with open_engine(Settings(store_url=url), create=True) as engine:
        assert engine.projection.is_behind(engine.ledger)
        assert queries.bills(engine, "2026-10") == before  # folded once, not added twice
        assert [bill.customer_id for bill in queries.partner_bills(engine, "2026-10", "p-1")] == ["c-1", "c-2"]


# --- property: the scoped lines are the recorded charges grouped by scope -------------

_STEP = st.tuples(
    st.sampled_from(["associate", "disassociate", "use", "use", "use"]),
    st.sampled_from(["c-0", "c-1", "c-2"]),
    st.sampled_from(["p-0", "p-1"]),
    st.sampled_from([None, "a-0", "a-1"]),
    st.sampled_from([None, "r-0"]),
    st.sampled_from(["i-0", "i-1"]),
    st.integers(min_value=0, max_value=999),
)


def _events(steps) -> list[dict]:
    events = []
    for day, (kind, customer, partner, manager, reseller, item, quantity) in enumerate(steps, start=1):
        time = f"2026-10-{1 + day % 28:02d}T{day % 24:02d}:00:00+08:00"
        if kind == "associate":
            data = {k: v for k, v in (("account_manager_id", manager), ("indirect_partner_id", reseller)) if v}
            events.append(b.associated(customer, partner, time=time, data=data))
        elif kind == "disassociate":
            events.append(b.disassociated(customer, partner, time=time))
        else:
            events.append(
                b.usage(customer, quantity=str(quantity), unit_price="0.33333333", resource_id=item, time=time)
            )
    return events


def _expected(engine, keep) -> dict[tuple[str, str, str], list[int]]:
    """(customer, service_type, item) -> [payable, settled, charges] of the recorded
    charges `keep` accepts, read from the log itself."""
    expected: dict[tuple[str, str, str], list[int]] = {}
    with engine.ledger.recorder.read_transaction() as c:
        rows = engine.ledger.recorder.select_notifications_in(c, 0, 100_000)
    for _id, topic, state in rows:
        event = decode_event(topic, state)
        if isinstance(event, ChargeRecorded) and keep(event):
            sums = expected.setdefault((event.customer_id, event.service_type, event.item_id), [0, 0, 0])
            sums[0] += event.payable_units
            sums[1] += event.settled_units
            sums[2] += 1
    return expected


def _shown(bills) -> dict[tuple[str, str, str], list]:
    return {
        (bill.customer_id, line.service_type, line.item_id): [line.payable_amount, line.settled_amount, line.charges]
        for bill in bills
        for line in bill.lines
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_STEP, min_size=1, max_size=25), batch=st.integers(min_value=1, max_value=7))
def test_every_scoped_bill_equals_the_recorded_charges_of_its_scope_however_batched(tmp_path_factory, steps, batch):
    url = f"sqlite:///{tmp_path_factory.mktemp('scoped') / 'billing.db'}"
    with open_engine(Settings(store_url=url), create=True) as engine:
        record(engine, _events(steps), batch_size=batch)
        for partner in ("p-0", "p-1"):
            for scope in (Scope(), Scope(account_manager_id="a-0"), Scope(indirect_partner_id="r-0")):

                def keep(charge, partner=partner, scope=scope):
                    return charge.partner_id == partner and scope.keeps(
                        charge.account_manager_id, charge.indirect_partner_id
                    )

                expected = {
                    key: [format_units(p), format_units(s, 2), n] for key, (p, s, n) in _expected(engine, keep).items()
                }
                assert _shown(queries.partner_bills(engine, "2026-10", partner, scope)) == expected


@pytest.mark.postgres
def test_scoped_bills_and_the_refold_of_an_older_store_work_on_postgresql(postgres_fresh_dsn, store):
    import psycopg

    record(store, switching_customer_events())
    expected = queries.partner_bills(store, "2026-10", "p-1", Scope(indirect_partner_id="r-1"))
    with open_engine(Settings(store_url=postgres_fresh_dsn), create=True) as engine:
        record(engine, switching_customer_events())
        assert queries.partner_bills(engine, "2026-10", "p-1", Scope(indirect_partner_id="r-1")) == expected
        before = queries.bills(engine, "2026-10")
    with psycopg.connect(postgres_fresh_dsn, autocommit=True) as connection:
        connection.execute("DROP TABLE view_partner_bill_lines")
    with open_engine(Settings(store_url=postgres_fresh_dsn), create=True) as engine:
        assert engine.projection.is_behind(engine.ledger)
        assert queries.bills(engine, "2026-10") == before
        assert queries.partner_bills(engine, "2026-10", "p-1", Scope(indirect_partner_id="r-1")) == expected
