"""The publisher's rounds (commands/publisher.py), with the broker replaced by a list:
which records a round sends, and that a downstream consumer keeping the last record of
each key ends with the live views. (The Kafka path itself is tested against a real
broker in test_serve.py and test_scale_out.py.)"""

from __future__ import annotations

import asyncio
import json

import msgspec

from commands.publisher import ViewPublisher
from commands.queries import period_views
from engine.store.ledger_tables import CHUNK
from projections.changes import BILL, CUSTOMER_COUNTS, PERFORMANCE
from schemas import topics
from tests.builders import associated, discount_granted, usage
from tests.conftest import record

_KINDS = {topics.BILLS: BILL, topics.CUSTOMER_COUNTS: CUSTOMER_COUNTS, topics.PERFORMANCE: PERFORMANCE}


def publish(engine, downstream: dict) -> list[tuple[str, str, str]]:
    """Runs the publisher until nothing is pending; keeps the last record of each key
    in `downstream` and returns the (kind, key, period) of every record sent."""
    sent = []

    async def send(messages):
        sent.extend(messages)

    asyncio.run(ViewPublisher(engine).publish_pending(send))
    keys = []
    for message in sent:
        value = json.loads(message.value)
        key = (_KINDS[message.topic], message.key.decode(), value["period"])
        downstream[key] = value
        keys.append(key)
    return keys


def assert_downstream_is_live(engine, downstream: dict, periods: list[str]) -> None:
    """Every record downstream holds is the live one, and every live bill is there. (A
    partner's empty performance of a period with no charge never changed, so it is
    never sent.)"""
    records = live(engine, periods)
    for key, value in downstream.items():
        assert records[key] == value, f"published {key} is not the live record"
    assert {k for k in downstream if k[0] == BILL} == {k for k in records if k[0] == BILL}


def live(engine, periods: list[str]) -> dict:
    records = {}
    for period in periods:
        views = msgspec.to_builtins(period_views(engine, period))
        records |= {(BILL, b["customer_id"], period): b for b in views["bills"]}
        records |= {(CUSTOMER_COUNTS, c["partner_id"], period): c for c in views["customers"]}
        records |= {(PERFORMANCE, p["partner_id"], period): p for p in views["performance"]}
    return records


def test_each_changed_record_goes_out_once_a_round_and_downstream_ends_with_the_live_views(store):
    record(
        store,
        [
            associated("c-1", "p-1", id="a-1", time="2026-09-01T00:00:00+08:00"),
            *(usage("c-1", id=f"u-{n}", time=f"2026-10-{n + 2:02d}T10:00:00+08:00") for n in range(5)),
            discount_granted("c-1", id="d-1", time="2026-10-01T00:00:00+08:00"),
            usage("c-2", id="u-c2", time="2026-10-09T10:00:00+08:00"),
        ],
    )
    downstream: dict = {}
    sent = publish(store, downstream)
    assert sorted(sent) == sorted(set(sent)), "a record changed by five charges is sent once"
    assert {(BILL, "c-1", "2026-10"), (BILL, "c-2", "2026-10"), (PERFORMANCE, "p-1", "2026-10")} <= set(sent)
    assert_downstream_is_live(store, downstream, ["2026-09", "2026-10"])
    assert publish(store, downstream) == [], "nothing changed: nothing is sent"


def test_an_association_republishes_the_partners_counts_of_every_later_period(store):
    record(
        store,
        [
            associated("c-1", "p-1", id="a-1", time="2026-09-01T00:00:00+08:00"),
            usage("c-1", id="u-oct", time="2026-10-05T10:00:00+08:00"),
            usage("c-1", id="u-nov", time="2026-11-05T10:00:00+08:00"),
            usage("c-1", id="u-dec", time="2026-12-05T10:00:00+08:00"),
        ],
    )
    downstream: dict = {}
    publish(store, downstream)
    before = downstream[(CUSTOMER_COUNTS, "p-1", "2026-12")]

    # A customer associated in October counts in November's and December's totals too.
    record(store, [associated("c-2", "p-1", id="a-2", time="2026-10-10T00:00:00+08:00")])
    sent = publish(store, downstream)
    assert {(CUSTOMER_COUNTS, "p-1", period) for period in ("2026-10", "2026-11", "2026-12")} <= set(sent)
    assert (CUSTOMER_COUNTS, "p-1", "2026-09") not in sent, "an earlier period's counts did not change"
    assert downstream[(CUSTOMER_COUNTS, "p-1", "2026-12")] != before
    assert_downstream_is_live(store, downstream, ["2026-09", "2026-10", "2026-11", "2026-12"])


def test_a_round_with_more_changed_bills_than_one_read_takes_sends_each_once(store):
    customers = [f"c-{n:04d}" for n in range(CHUNK + 7)]  # bills are read CHUNK customers at a time
    record(store, [usage(customer, id=f"u-{customer}", time="2026-10-05T10:00:00+08:00") for customer in customers])
    downstream: dict = {}
    sent = publish(store, downstream)
    assert sorted(key for key in sent if key[0] == BILL) == [(BILL, c, "2026-10") for c in customers]
    assert_downstream_is_live(store, downstream, ["2026-10"])
