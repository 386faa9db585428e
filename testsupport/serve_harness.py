"""Running `billing serve` as a subprocess against a real broker, and reading what it did."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from testsupport.cli_runner import BILLING, billing, clean_env


def billing_env(store: Path, bootstrap: str, **extra: str) -> dict[str, str]:
    """A clean environment for `billing` on a SQLite store and a broker."""
    env = clean_env()
    env.update(
        BILLING_STORE=f"sqlite:///{store}",
        BILLING_KAFKA=bootstrap,
        # The test broker allows short sessions; a restart then rejoins in about a second.
        BILLING_KAFKA_SESSION_TIMEOUT_MS="2000",
        BILLING_KAFKA_HEARTBEAT_MS="500",
        **extra,
    )
    return env


def run_billing(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`billing ARGS` in `env` (a `billing_env`), its output as text."""
    return billing(None, *args, env=env, text=True, timeout=timeout)


def start_serve(env: dict[str, str], log: Path) -> subprocess.Popen:
    """`billing serve` in the background, its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen([str(BILLING), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout=timeout)


def progressed_within(condition: Callable[[], bool], timeout: float) -> bool:
    """Polls a condition for at most `timeout` seconds; True if it came to hold."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def wait_until(condition: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    """Polls a condition (progress, never a fixed sleep) until it holds or time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tail}")


def query_store(store: Path, statement: str) -> list[tuple]:
    """Rows of a read-only query on a SQLite store ([] while it or its tables don't exist)."""
    if not store.exists():
        return []
    try:
        with closing(sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True, timeout=10)) as connection:
            return connection.execute(statement).fetchall()
    except sqlite3.OperationalError:
        return []  # not created yet


def consumed_offsets(store: Path) -> int:
    """How many Kafka records the store has recorded (the sum of next offsets)."""
    rows = query_store(store, "SELECT COALESCE(SUM(next_offset), 0) FROM consumer_positions")
    return rows[0][0] if rows else 0


def fully_published(store: Path) -> bool:
    """True once the publisher's positions reached the end of the log and rejections."""
    events = query_store(store, "SELECT COALESCE(MAX(rowid), 0) FROM stored_events")
    rejected = query_store(store, "SELECT COALESCE(MAX(seq), 0) FROM rejections WHERE origin IS NOT NULL")
    tracked = dict(query_store(store, "SELECT application_name, notification_id FROM tracking"))
    if not events:
        return False
    views_published = tracked.get("published:views", 0) >= events[0][0]
    return views_published and tracked.get("published:rejections", 0) >= rejected[0][0]


def read_topic(bootstrap: str, topic: str, timeout: float = 20) -> list:
    """Every record of a topic, from the beginning, in partition order."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1500)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=1000)
            caught_up = all(
                consumer.highwater(tp) is not None and consumer.position(tp) >= consumer.highwater(tp)
                for tp in partitions
            )
            if not batch and caught_up:
                break
            for tp_records in batch.values():
                records.extend(tp_records)
        return records
    finally:
        consumer.close()


def assert_downstream_equals_live(bootstrap: str, store_url: str) -> int:
    """The last record per (topic, key, period) on the view topics is the live view, and
    every live bill of the periods seen was published; returns how many were checked."""
    import json

    from commands import queries
    from commands.bootstrap import open_engine
    from commands.settings import Settings
    from schemas import topics

    latest: dict[tuple[str, str, str], dict] = {}
    for topic in (topics.BILLS, topics.CUSTOMER_COUNTS, topics.PERFORMANCE):
        for record in read_topic(bootstrap, topic):
            value = json.loads(record.value)
            latest[(topic, record.key.decode(), value["period"])] = value
    encode = lambda value: json.loads(msgspec_json(value))
    with open_engine(Settings(store_url=store_url), create=False) as engine:
        for (topic, key, period), value in latest.items():
            if topic == topics.BILLS:
                live = [encode(bill) for bill in queries.bills(engine, period, key)]
                assert live == [value], f"published bill {key} {period} is not the live one"
            elif topic == topics.CUSTOMER_COUNTS:
                assert encode(queries.customer_counts(engine, key, period)) == value, f"counts {key} {period}"
            else:
                assert encode(queries.performance(engine, key, period)) == value, f"performance {key} {period}"
        for period in {period for (_topic, _key, period) in latest}:
            live_customers = {bill.customer_id for bill in queries.bills(engine, period)}
            published = {key for (topic, key, p) in latest if topic == topics.BILLS and p == period}
            assert published == live_customers, f"bills of {period} published: every live one"
    return len(latest)


def msgspec_json(value) -> bytes:
    import msgspec

    return msgspec.json.encode(value)
