"""Three `billing serve` workers in one consumer group, one PostgreSQL store, same results.

A topic of 6 partitions; the workers share it; one is killed mid-stream and the others
take over its partitions. The final views must equal one `billing ingest` of the same
events into a SQLite store.
"""

from __future__ import annotations

import signal

import msgspec
import psycopg
import pytest

from commands.bootstrap import open_engine
from commands.demo_data import generate_month
from commands.queries import period_views
from commands.settings import Settings
from testsupport.serve_harness import (
    assert_downstream_equals_live,
    billing_env,
    run_billing,
    start_serve,
    stop,
    wait_until,
)
from testsupport.tansu import running_tansu

WORKERS = 3


def _scalar(dsn: str, statement: str) -> int:
    try:
        with psycopg.connect(dsn, connect_timeout=5) as connection:
            return connection.execute(statement).fetchone()[0] or 0
    except psycopg.errors.UndefinedTable:
        return 0


def _consumed(dsn: str) -> int:
    return _scalar(dsn, "SELECT SUM(next_offset) FROM consumer_positions")


def _fully_published(dsn: str) -> bool:
    last = _scalar(dsn, "SELECT MAX(notification_id) FROM billingledger_events")
    published = _scalar(
        dsn, "SELECT MAX(notification_id) FROM billingledger_tracking WHERE application_name='published:views'"
    )
    return last > 0 and published >= last


def _views(store_url: str, periods: list[str]) -> dict[str, bytes]:
    with open_engine(Settings(store_url=store_url), create=False) as engine:
        return {period: msgspec.json.encode(period_views(engine, period)) for period in periods}


def _month(tmp_path, *, customers: int, seed: int, count: int):
    """A month of demo events in a JSON Lines file: the file and its lines."""
    events = tmp_path / "events.jsonl"
    lines = list(generate_month(customers=customers, seed=seed, period="2026-10", events=count))
    events.write_bytes(b"\n".join(lines) + b"\n")
    return events, lines


def _published(tmp_path, broker, dsn: str, events, **settings: str) -> dict[str, str]:
    """The workers' environment, once `billing.events` (6 partitions) holds the events."""
    env = billing_env(tmp_path / "unused.db", broker.bootstrap, **settings)
    env["BILLING_STORE"] = dsn
    assert run_billing(env, "topics", "create", "--partitions", "6").returncode == 0
    assert run_billing(env, "publish", str(events)).returncode == 0
    return env


@pytest.mark.slow
def test_three_workers_on_one_postgres_store_equal_one_ingest_even_when_one_is_killed(tmp_path, postgres_fresh_dsn):
    events, lines = _month(tmp_path, customers=60, seed=21, count=6000)
    dsn = postgres_fresh_dsn
    with running_tansu(tmp_path / "broker") as broker:
        env = _published(tmp_path, broker, dsn, events, BILLING_KAFKA_MAX_RECORDS="50")
        logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)]
        workers = [start_serve(env, log) for log in logs]
        try:
            wait_until(lambda: _consumed(dsn) >= len(lines) // 3, 120, "a third consumed", logs[0])
            stop(workers[1], signal.SIGKILL)  # mid-stream: the others take over its partitions
            wait_until(lambda: _consumed(dsn) >= len(lines), 180, "every record consumed", logs[0])
            wait_until(lambda: _fully_published(dsn), 120, "views published", logs[0])
        finally:
            for worker in workers:
                stop(worker)
        assert sum("batch of" in log.read_text() for log in logs) >= 2, "the work was shared"
        # Publishers take turns (the store's publisher lock): the last record per key on
        # every view topic is the live view.
        assert assert_downstream_equals_live(broker.bootstrap, dsn) > 0

    reference = tmp_path / "reference.db"
    result = run_billing(billing_env(reference, "127.0.0.1:1"), "ingest", str(events))
    assert result.returncode in (0, 1), result.stderr
    periods = ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert _views(dsn, periods) == _views(f"sqlite:///{reference}", periods)


@pytest.mark.slow
def test_workers_joining_and_leaving_mid_stream_race_on_the_same_customers_and_record_each_event_once(
    tmp_path, postgres_fresh_dsn
):
    """Each join and each leave moves partitions between workers while batches of them
    are being decided outside the store's lock: a worker that finds its partition moved
    on, or a customer's stream changed, decides again from fresh state."""
    events, lines = _month(tmp_path, customers=24, seed=5, count=12000)
    dsn = postgres_fresh_dsn
    with running_tansu(tmp_path / "broker") as broker:
        env = _published(tmp_path, broker, dsn, events, BILLING_KAFKA_MAX_RECORDS="15", BILLING_PROJECTIONS="separate")
        logs = [tmp_path / f"worker-{n}.log" for n in range(3)]
        workers = [start_serve(env, logs[0])]
        try:
            wait_until(lambda: _consumed(dsn) >= 300, 120, "the first batches recorded", logs[0])
            workers.append(start_serve(env, logs[1]))  # joins: partitions move away from the first
            wait_until(lambda: _consumed(dsn) >= len(lines) // 6, 120, "a sixth consumed", logs[0])
            workers.append(start_serve(env, logs[2]))
            wait_until(lambda: _consumed(dsn) >= len(lines) // 3, 120, "a third consumed", logs[0])
            stop(workers[1])  # leaves: its partitions move to the others
            wait_until(lambda: _consumed(dsn) >= len(lines), 180, "every record consumed", logs[0])
        finally:
            for worker in workers:
                stop(worker)
        reports = [log.read_text() for log in logs]
        recorded = [report for report in reports if "the store's write lock held" in report]
        assert len(recorded) >= 2, "the work was shared, and each worker that recorded said its lock share"

    reference = tmp_path / "reference.db"
    result = run_billing(billing_env(reference, "127.0.0.1:1"), "ingest", str(events))
    assert result.returncode in (0, 1), result.stderr
    assert _scalar(dsn, "SELECT count(*) FROM billingledger_events") == _sqlite_events(reference)
    periods = ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert _views(dsn, periods) == _views(f"sqlite:///{reference}", periods)


def _sqlite_events(path) -> int:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM stored_events").fetchone()[0]
