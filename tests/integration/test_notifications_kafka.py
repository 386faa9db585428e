"""`billing serve` publishes partner notifications (CONTRACT.md §8) on
`billing.notifications`, keyed by partner, each once — also those that other
commands record while it runs, and none again after a restart."""

from __future__ import annotations

import json

import pytest

from schemas import topics
from testsupport.serve_harness import billing_env, query_store, read_topic, run_billing, start_serve, stop, wait_until
from testsupport.tansu import running_tansu


def _published(store) -> int:
    rows = query_store(
        store,
        "SELECT notification_id FROM tracking WHERE application_name='published:notifications'"
        " ORDER BY notification_id DESC LIMIT 1",
    )
    return rows[0][0] if rows else 0


@pytest.mark.slow
@pytest.mark.kafka
def test_serve_publishes_each_notification_once_keyed_by_partner(tmp_path):
    store = tmp_path / "served.db"
    with running_tansu(tmp_path / "broker") as broker:
        env = billing_env(store, broker.bootstrap)
        assert run_billing(env, "topics", "create", "--partitions", "1").returncode == 0
        for args in (
            ["transfer", "topup", "--partner", "p-1", "--amount", "100", "--id", "t-1"],
            ["warn", "--partner", "p-1", "--below", "150"],
        ):  # balance.low before serve starts
            assert run_billing(env, *args).returncode == 0
        log = tmp_path / "serve.log"
        serve = start_serve(env, log)
        try:
            wait_until(lambda: _published(store) >= 1, 60, "the backlog's notification published", log)
            for args in (
                ["transfer", "incentive", "--partner", "p-2", "--amount", "50", "--id", "i-1"],
                ["payment", "submit", "--partner", "p-2", "--amount", "50", "--id", "pay-1"],
                ["payment", "approve", "--id", "pay-1"],
                ["payment", "pay", "--id", "pay-1"],
            ):
                assert run_billing(env, *args).returncode == 0
            wait_until(lambda: _published(store) >= 3, 60, "notifications recorded by other commands", log)
        finally:
            assert stop(serve) == 0, log.read_text()[-2000:]
        restart_log = tmp_path / "restart.log"
        serve = start_serve(env, restart_log)
        try:
            wait_until(
                lambda: "continuing at" in restart_log.read_text() or "assigned" in restart_log.read_text(),
                60,
                "the restarted service",
                restart_log,
            )
            assert (
                run_billing(
                    env, "transfer", "withdrawal", "--partner", "p-1", "--amount", "1", "--id", "w-1"
                ).returncode
                == 0
            )  # still below: no second balance.low
            assert run_billing(env, "warn", "--partner", "p-3", "--below", "0.01").returncode == 0
            wait_until(lambda: _published(store) >= 4, 60, "the restarted service's notification", restart_log)
        finally:
            assert stop(serve) == 0, restart_log.read_text()[-2000:]
        records = read_topic(broker.bootstrap, topics.NOTIFICATIONS)
    seen = [(r.key.decode(), json.loads(r.value)["type"]) for r in records]
    assert seen == [
        ("p-1", "balance.low"),
        ("p-2", "payment.approved"),
        ("p-2", "payment.paid"),
        ("p-3", "balance.low"),
    ]
    assert [dict(r.headers)["notification"] for r in records] == [b"1", b"2", b"3", b"4"]
