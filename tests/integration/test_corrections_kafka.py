"""Corrections over Kafka (CONTRACT.md §6, §11): `billing serve` records them, publishes
the corrected bill, counts and performance, and sends the refused ones to the
rejected topic with their reason."""

from __future__ import annotations

import json

import pytest

from schemas import topics
from tests.builders import line
from tests.e2e.test_corrections_cli import CORRECTIONS, HISTORY
from testsupport.serve_harness import (
    assert_downstream_equals_live,
    billing_env,
    consumed_offsets,
    fully_published,
    read_topic,
    run_billing,
    start_serve,
    stop,
    wait_until,
)
from testsupport.tansu import running_tansu


@pytest.mark.slow
@pytest.mark.kafka
def test_serve_records_corrections_and_publishes_the_corrected_views(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(line(event) for event in HISTORY + CORRECTIONS) + b"\n")
    store = tmp_path / "served.db"
    with running_tansu(tmp_path / "broker") as broker:
        env = billing_env(store, broker.bootstrap)
        assert run_billing(env, "topics", "create", "--partitions", "2").returncode == 0
        assert run_billing(env, "publish", str(events)).returncode == 0
        log = tmp_path / "serve.log"
        serve = start_serve(env, log)
        try:
            count = len(HISTORY) + len(CORRECTIONS)
            wait_until(lambda: consumed_offsets(store) >= count, 90, "all records consumed", log)
            wait_until(lambda: fully_published(store), 60, "views published", log)
        finally:
            assert stop(serve) == 0, log.read_text()[-2000:]

        assert assert_downstream_equals_live(broker.bootstrap, f"sqlite:///{store}") >= 3
        bills = [json.loads(r.value) for r in read_topic(broker.bootstrap, topics.BILLS)]
        latest = [bill for bill in bills if (bill["customer_id"], bill["period"]) == ("c-1", "2026-10")][-1]
        assert (latest["payable_amount"], latest["settled_amount"], latest["charges"]) == ("0.31481479", "0.31", 9)
        rejected = read_topic(broker.bootstrap, topics.EVENTS_REJECTED)
        reasons = sorted(dict(r.headers)["reason"].decode() for r in rejected)
        assert reasons == ["already_voided", "unknown_event", "unknown_event"]
