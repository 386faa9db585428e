"""`billing serve` with BILLING_CLOSE_AFTER closes a period by itself once its end plus
the grace has passed (by the store's clock, BILLING_NOW here), and publishes the whole
statement to `billing.statements` when issued and at every change of its status, even
one made by another process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas import topics
from tests import builders as b
from testsupport.serve_harness import (
    billing_env,
    consumed_offsets,
    fully_published,
    query_store,
    read_topic,
    run_billing,
    start_serve,
    stop,
    wait_until,
)
from testsupport.tansu import running_tansu

pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.timeout(300)]

EVENTS = [
    b.associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00", id="a-1"),
    b.associated("c-2", "p-2", time="2026-09-01T00:00:00+08:00", id="a-2"),
    b.usage("c-1", id="u-1", time="2026-10-03T08:00:00+08:00", quantity="2", unit_price="1.23456789"),
    b.usage("c-2", id="u-2", time="2026-10-09T08:00:00+08:00", quantity="1", unit_price="3"),
]
NOW = "2026-11-05T00:00:00+08:00"  # October ended 4 days ago


def _statements(store: Path) -> list[tuple]:
    return query_store(store, "SELECT period, partner_id, status FROM statements ORDER BY period, partner_id")


def _published_statements(bootstrap: str) -> list[tuple[str, dict]]:
    return [(r.key.decode(), json.loads(r.value)) for r in read_topic(bootstrap, topics.STATEMENTS)]


def test_serve_closes_a_period_once_its_grace_has_passed_and_publishes_each_status(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(b.line(e) for e in EVENTS) + b"\n")
    store = tmp_path / "served.db"
    with running_tansu(tmp_path / "broker") as broker:
        env = billing_env(store, broker.bootstrap, BILLING_NOW=NOW)
        assert run_billing(env, "topics", "create", "--partitions", "2").returncode == 0
        assert run_billing(env, "publish", str(events)).returncode == 0

        # A grace of 10 days has not passed: everything is recorded and published, nothing closed.
        log = tmp_path / "serve-p10d.log"
        serve = start_serve(env | {"BILLING_CLOSE_AFTER": "P10D"}, log)
        try:
            wait_until(lambda: consumed_offsets(store) >= len(EVENTS), 90, "all records consumed", log)
            wait_until(lambda: fully_published(store), 60, "views published", log)
        finally:
            assert stop(serve) == 0, log.read_text()[-2000:]
        assert _statements(store) == []

        # With 3 days it has: serve closes October by itself and publishes both statements.
        log = tmp_path / "serve-p3d.log"
        serve = start_serve(env | {"BILLING_CLOSE_AFTER": "P3D"}, log)
        try:
            wait_until(lambda: len(_statements(store)) == 2, 60, "October closed by serve", log)
            wait_until(lambda: len(_published_statements(broker.bootstrap)) == 2, 60, "statements published", log)
            # A status changed by another process is published too.
            confirmed = run_billing(env, "confirm", "--partner", "p-1", "--period", "2026-10", "--json")
            assert confirmed.returncode == 0, confirmed.stderr
            wait_until(lambda: len(_published_statements(broker.bootstrap)) == 3, 60, "confirmation published", log)
        finally:
            assert stop(serve) == 0, log.read_text()[-2000:]
        assert "closed 2026-10" in log.read_text()
        published = _published_statements(broker.bootstrap)

    assert sorted((key, value["status"]) for key, value in published) == [
        ("p-1", "confirmed"),
        ("p-1", "pending_confirmation"),
        ("p-2", "pending_confirmation"),
    ]
    assert all(value["partner_id"] == key and value["period"] == "2026-10" for key, value in published)
    last_of_p1 = [value for key, value in published if key == "p-1"][-1]
    assert last_of_p1 == json.loads(confirmed.stdout)
    assert last_of_p1["total_settled_amount"] == "2.46"


def test_serve_refuses_a_close_after_that_is_not_a_duration(tmp_path):
    env = billing_env(tmp_path / "served.db", "127.0.0.1:1", BILLING_CLOSE_AFTER="P1.5M")
    result = run_billing(env, "serve", timeout=60)
    assert result.returncode == 2
    assert "BILLING_CLOSE_AFTER" in result.stderr and "Traceback" not in result.stderr
