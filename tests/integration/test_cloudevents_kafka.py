"""`billing serve` reads both content modes of the CloudEvents Kafka binding as one
event (CONTRACT.md §6): messages produced by the official CloudEvents Python SDK,
through a real broker."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from kafka import KafkaProducer

from schemas import topics
from testsupport.serve_harness import (
    billing_env,
    consumed_offsets,
    query_store,
    run_billing,
    start_serve,
    stop,
    wait_until,
)
from testsupport.tansu import running_tansu

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(240)]


def _event(type_: str, id_: str, data: dict) -> CloudEvent:
    return CloudEvent(
        attributes={
            "type": type_,
            "source": "crm/sdk",
            "id": id_,
            "datacontenttype": "application/json",
            "time": datetime.fromisoformat("2026-10-03T08:00:00+08:00"),
        },
        data=data,
    )


def _usage(id_: str, quantity: str = "2", currency: str = "CNY") -> CloudEvent:
    return _event(
        "usage.recorded",
        id_,
        {
            "customer_id": "c-1",
            "service_type": "ECS",
            "resource_id": "实例-1",
            "quantity": quantity,
            "unit": "hour",
            "unit_price": "0.5",
            "currency": currency,
        },
    )


ASSOCIATION = _event(
    "customer.associated",
    "a-1",
    {
        "partner_id": "p-1",
        "customer_id": "c-1",
        "customer_type": "enterprise",
        "channel": "registration",
    },
)
# (content mode, event): in one partition (one key), so they are judged in this order.
MESSAGES = [
    ("structured", ASSOCIATION),
    ("binary", _usage("u-1")),
    ("binary", _usage("u-1")),  # the same event again: a duplicate
    ("structured", _usage("u-1")),  # and again, in the other mode: a duplicate too
    ("binary", _usage("u-1", quantity="3")),  # the same pair with other data
    ("binary", _usage("u-2", currency="USD")),
]


def _produce(bootstrap: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    try:
        for mode, event in MESSAGES:
            convert = ce_kafka.to_binary if mode == "binary" else ce_kafka.to_structured
            message = convert(event, JSONFormat(), key_mapper=lambda e: e.get_data()["customer_id"])
            producer.send(
                topics.EVENTS, value=message.value, key=message.key.encode(), headers=list(message.headers.items())
            )
        producer.flush(30)
    finally:
        producer.close(5)


def _serve_until_consumed(env, store, log, count: int) -> None:
    serve = start_serve(env, log)
    try:
        wait_until(lambda: consumed_offsets(store) >= count, 90, f"{count} records consumed", log)
    finally:
        assert stop(serve) == 0, log.read_text()[-2000:]


def test_both_content_modes_are_one_event_judged_deduplicated_and_kept_once(tmp_path):
    store = tmp_path / "served.db"
    with running_tansu(tmp_path / "broker") as broker:
        env = billing_env(store, broker.bootstrap)
        assert run_billing(env, "topics", "create", "--partitions", "2").returncode == 0
        _produce(broker.bootstrap)
        _serve_until_consumed(env, store, tmp_path / "serve.log", len(MESSAGES))

        bills = json.loads(run_billing(env, "bills", "--period", "2026-10", "--json").stdout)["bills"]
        assert [(b["customer_id"], b["list_amount"], b["charges"]) for b in bills] == [("c-1", "1.00000000", 1)]
        rejected = json.loads(run_billing(env, "rejected", "--json").stdout)["rejected"]
        assert [(r["id"], r["reason"]) for r in rejected] == [
            ("u-1", "conflicting_duplicate"),
            ("u-2", "currency_not_accepted"),
        ]
        raw = json.loads(rejected[0]["raw"])  # the structured JSON rebuilt from headers and value
        assert (raw["specversion"], raw["source"], raw["type"]) == ("1.0", "crm/sdk", "usage.recorded")
        assert raw["data"]["quantity"] == "3" and raw["data"]["resource_id"] == "实例-1"

        # Delivered again from the start (the store's positions lost, another group):
        # nothing is counted twice, and no rejection is kept twice.
        with sqlite3.connect(store) as connection:
            connection.execute("DELETE FROM consumer_positions")
        again = billing_env(store, broker.bootstrap, BILLING_GROUP="again")
        _serve_until_consumed(again, store, tmp_path / "again.log", len(MESSAGES))

    assert query_store(store, "SELECT COUNT(*) FROM rejections") == [(2,)]
    assert query_store(store, "SELECT COUNT(*) FROM stored_events") == [(2,)]
