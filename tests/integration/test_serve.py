"""`billing serve` against a real Kafka-protocol broker: exactly-once effect, published views.

Each test runs its own in-memory Tansu (fixed topic names must not be shared), starts
`billing serve` as a subprocess, and waits on progress read from the store.
"""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path

import msgspec
import pytest

from commands.bootstrap import open_engine
from commands.demo_data import generate_month
from commands.queries import period_views
from commands.settings import Settings
from schemas import topics
from testsupport.serve_harness import (
    billing_env,
    consumed_offsets,
    fully_published,
    progressed_within,
    read_topic,
    run_billing,
    start_serve,
    stop,
    wait_until,
)
from testsupport.tansu import running_tansu


def _periods(store: Path) -> list[str]:
    """Every period the store has a charge or an association in."""
    with open_engine(Settings(store_url=f"sqlite:///{store}"), create=False) as engine:
        with engine.ledger.recorder.read_transaction() as cursor:
            cursor.execute("SELECT period FROM view_bill_lines UNION SELECT period FROM view_partner_charges")
            periods = {row[0] for row in cursor.fetchall()}
            cursor.execute("SELECT start_at FROM view_associations UNION SELECT end_at FROM view_associations")
            periods |= {engine.rules.calendar.period_of(row[0]) for row in cursor.fetchall() if row[0]}
    return sorted(periods)


def _write_events(path: Path, customers: int, events: int, extra: list[bytes] = ()) -> int:
    lines = list(generate_month(customers=customers, seed=11, period="2026-10", events=events))
    lines.extend(extra)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return len(lines)


def _views(store: Path) -> dict[str, bytes]:
    periods = _periods(store)
    assert len(periods) >= 3
    with open_engine(Settings(store_url=f"sqlite:///{store}"), create=False) as engine:
        return {period: msgspec.json.encode(period_views(engine, period)) for period in periods}


def _rejection_reasons(store: Path) -> list[tuple[str, str]]:
    with open_engine(Settings(store_url=f"sqlite:///{store}"), create=False) as engine:
        return sorted((row.reason, bytes(row.raw).decode()) for row in engine.ledger.recorder.select_rejections())


def _reference(tmp_path: Path, events_file: Path) -> Path:
    """The same events through `billing ingest`: what serve must end up with."""
    reference = tmp_path / "reference.db"
    env = billing_env(reference, "127.0.0.1:1")
    result = run_billing(env, "ingest", str(events_file))
    assert result.returncode in (0, 1), result.stderr
    return reference


BAD_LINES = [b"not json at all", b'{"specversion":"1.0","id":"x-1","source":"s","type":"nope"}', b"[" * 300]


@pytest.mark.slow
def test_serve_records_once_and_publishes_views_a_consumer_can_rebuild(tmp_path):
    events_file = tmp_path / "events.jsonl"
    count = _write_events(events_file, customers=25, events=1500, extra=BAD_LINES)
    with running_tansu(tmp_path / "broker") as broker:
        env = billing_env(tmp_path / "served.db", broker.bootstrap)
        assert run_billing(env, "topics", "create", "--partitions", "3").returncode == 0
        published = run_billing(env, "publish", str(events_file))
        assert published.returncode == 0, published.stderr
        assert published.stdout.strip() == f"published: {count}"

        log = tmp_path / "serve.log"
        serve = start_serve(env, log)
        try:
            wait_until(lambda: consumed_offsets(tmp_path / "served.db") >= count, 90, "all records consumed", log)
            wait_until(lambda: fully_published(tmp_path / "served.db"), 60, "views published", log)
            lag = json.loads(run_billing(env, "lag", "--json").stdout)
            assert lag["lag"] == 0 and len(lag["partitions"]) == 3
        finally:
            assert stop(serve) == 0, log.read_text()[-2000:]

        # Restarted, it continues where the store says: nothing is counted again.
        restart_log = tmp_path / "restart.log"
        serve = start_serve(env, restart_log)
        try:
            wait_until(lambda: "continuing at" in restart_log.read_text(), 60, "rejoin", restart_log)
        finally:
            assert stop(serve) == 0

        reference = _reference(tmp_path, events_file)
        assert _views(tmp_path / "served.db") == _views(reference)
        assert _rejection_reasons(tmp_path / "served.db") == _rejection_reasons(reference)

        downstream = _last_published(broker.bootstrap)
        _assert_downstream_equals_live(downstream, tmp_path / "served.db")
        rejected = read_topic(broker.bootstrap, topics.EVENTS_REJECTED)
        assert sorted(r.value for r in rejected) == sorted(BAD_LINES + _bad_lines_of_generator(reference))
        assert all({"reason", "message"} <= {k for k, _ in r.headers} for r in rejected)


def _bad_lines_of_generator(reference: Path) -> list[bytes]:
    return [raw.encode() for _reason, raw in _rejection_reasons(reference) if raw.encode() not in BAD_LINES]


def _last_published(bootstrap: str) -> dict[tuple[str, str, str], dict]:
    """The last record of each (topic, key, period), as a downstream consumer keeps them."""
    latest: dict[tuple[str, str, str], dict] = {}
    for topic in (topics.BILLS, topics.CUSTOMER_COUNTS, topics.PERFORMANCE):
        for record in read_topic(bootstrap, topic):
            value = json.loads(record.value)
            latest[(topic, record.key.decode(), value["period"])] = value
    return latest


def _assert_downstream_equals_live(downstream: dict, store: Path) -> None:
    live: dict[tuple[str, str, str], dict] = {}
    periods = _periods(store)
    with open_engine(Settings(store_url=f"sqlite:///{store}"), create=False) as engine:
        for period in periods:
            views = msgspec.to_builtins(period_views(engine, period))
            for bill in views["bills"]:
                live[(topics.BILLS, bill["customer_id"], period)] = bill
            for counts in views["customers"]:
                live[(topics.CUSTOMER_COUNTS, counts["partner_id"], period)] = counts
            for performance in views["performance"]:
                live[(topics.PERFORMANCE, performance["partner_id"], period)] = performance
    for key, value in downstream.items():
        assert live.get(key) == value, f"published {key} is not the live view"
    published_bills = {k for k in downstream if k[0] == topics.BILLS}
    assert published_bills == {k for k in live if k[0] == topics.BILLS}, "every live bill was published"


@pytest.mark.slow
def test_serve_killed_at_random_moments_loses_nothing_and_counts_nothing_twice(tmp_path):
    trials = 20
    chosen = random.Random(20261125)
    events_file = tmp_path / "events.jsonl"
    _write_events(events_file, customers=60, events=8000, extra=BAD_LINES)
    lines = events_file.read_bytes().splitlines()
    lines += lines[1000:1300]  # upstream redelivers too: a slice is published twice
    # A share of the records arrives before every trial, so each restart finds work to
    # do however fast the service has become.
    share = -(-len(lines) // trials)
    arrivals = [lines[start : start + share] for start in range(0, len(lines), share)]
    served = tmp_path / "served.db"
    log = tmp_path / "serve.log"
    with running_tansu(tmp_path / "broker") as broker:
        # Small batches: many store commits per second, so kills land between and inside them.
        env = billing_env(served, broker.bootstrap, BILLING_KAFKA_MAX_RECORDS="20")
        assert run_billing(env, "topics", "create", "--partitions", "4").returncode == 0
        published = 0
        killed_while_consuming = killed_mid_stream = 0
        for trial in range(trials):
            if trial < len(arrivals):  # more events arrive while the service comes and goes
                (tmp_path / "arrival.jsonl").write_bytes(b"\n".join(arrivals[trial]) + b"\n")
                assert run_billing(env, "publish", str(tmp_path / "arrival.jsonl")).returncode == 0
                published += len(arrivals[trial])
            serve = start_serve(env, log)
            before = consumed_offsets(served)
            if chosen.random() < 0.25 or before >= published:
                time.sleep(chosen.uniform(0.2, 2.0))  # a random moment of start-up
            elif progressed_within(lambda before=before: consumed_offsets(served) > before, 20):
                killed_while_consuming += 1
                time.sleep(chosen.uniform(0.0, 0.15))  # a random moment of consuming a share
            stop(serve, signal.SIGKILL)
            killed_mid_stream += consumed_offsets(served) < published
        kills = f"{killed_while_consuming} kills while consuming, {killed_mid_stream} with records left"
        assert killed_while_consuming >= trials // 2, kills
        assert killed_mid_stream >= trials // 4, f"kills must land with records still to consume: {kills}"

        last_start = log.stat().st_size
        serve = start_serve(env, log)
        try:
            wait_until(lambda: consumed_offsets(served) >= len(lines), 120, "every record consumed", log)
            wait_until(lambda: fully_published(served), 60, "views published", log)
            # The last run may have done everything already: stop it once it is up, not
            # in its first instants (a SIGTERM before Python has loaded `billing` kills it).
            wait_until(lambda: b"FastStream app started" in log.read_bytes()[last_start:], 30, "serve started", log)
        finally:
            assert stop(serve) == 0, log.read_text()[-3000:]

        (tmp_path / "all.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        reference = _reference(tmp_path, tmp_path / "all.jsonl")
        assert _views(served) == _views(reference)
        assert _rejection_reasons(served) == _rejection_reasons(reference)
        _assert_downstream_equals_live(_last_published(broker.bootstrap), served)


@pytest.mark.slow
def test_serve_stopped_while_it_starts_exits_cleanly(tmp_path):
    # SIGTERM at moments spread over start-up: loading, opening the store, joining the
    # group, publishing the backlog. Each must end in a clean stop, never a traceback.
    # The pauses are the point of the test (when the signal lands), not a wait.
    with running_tansu(tmp_path / "broker") as broker:
        env = billing_env(tmp_path / "served.db", broker.bootstrap)
        assert run_billing(env, "topics", "create", "--partitions", "2").returncode == 0
        for pause in (0.4, 0.8, 1.2, 1.6, 2.5):
            log = tmp_path / f"serve-{pause}.log"
            serve = start_serve(env, log)
            time.sleep(pause)
            assert stop(serve) == 0, f"stopped after {pause} s:\n{log.read_text()[-2000:]}"
            assert b"Traceback" not in log.read_bytes(), log.read_text()[-2000:]
