"""Smoke tests: the test PostgreSQL server, and eventsourcing 9.5.6's PostgreSQL persistence on it.

Every test that writes gets a database of its own (`postgres_fresh_dsn`), so none sees
another's tables. Everything that waits is bounded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
    event,
)
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresTrackingRecorder,
)

from tests.postgres_server import eventsourcing_env, fresh_database, running_server

pytestmark = pytest.mark.timeout(60)

WAIT = 10.0  # seconds any single wait below may take


class Account(BaseAggregate[str]):
    """An aggregate with text ids, as the billing engine's originator ids are."""

    class Event(CanMutateAggregate[str], metaclass=MetaDomainEvent):
        originator_id: str
        originator_version: int
        timestamp: datetime

    class Opened(Event, CanInitAggregate[str]):
        originator_topic: str
        customer: str

    @staticmethod
    def create_id(customer: str) -> str:
        return f"account-{customer}"

    def __init__(self, customer: str) -> None:
        self.customer = customer
        self.charges: list[int] = []

    @event("Charged")
    def charge(self, amount: int) -> None:
        self.charges.append(amount)


class Accounts(Application[str]):
    name = "Accounts"


def _env(dsn: str, **extra: str) -> dict[str, str]:
    return eventsourcing_env(
        dsn,
        ORIGINATOR_ID_TYPE="text",
        POSTGRES_POOL_SIZE="2",
        POSTGRES_MAX_OVERFLOW="2",
        POSTGRES_CONNECT_TIMEOUT="10",
        **extra,
    )


@pytest.fixture
def open_app() -> Iterator:
    """Opens Accounts applications and closes their connection pools after the test."""
    opened: list[Application] = []

    def _open(dsn: str, **extra: str) -> Accounts:
        app = Accounts(env=_env(dsn, **extra))
        opened.append(app)
        return app

    yield _open
    for app in opened:
        app.close()


def test_server_answers_on_loopback_only(postgres_dsn: str) -> None:
    parts = urlsplit(postgres_dsn)
    with psycopg.connect(postgres_dsn, connect_timeout=10) as conn:
        user, database, version = conn.execute(
            "SELECT current_user, current_database(), current_setting('server_version_num')::int"
        ).fetchone()
    assert user == parts.username
    assert database == parts.path.lstrip("/")
    assert version >= 140000
    server = running_server()
    if server is None:
        pytest.skip("BILLING_TEST_POSTGRES names an external server: nothing more to check")
    assert parts.hostname == "127.0.0.1"
    with psycopg.connect(postgres_dsn, connect_timeout=10) as conn:
        listen, server_address = conn.execute(
            "SELECT current_setting('listen_addresses'), host(inet_server_addr())"
        ).fetchone()
    assert (listen, server_address) == ("127.0.0.1", "127.0.0.1")
    # Never root: PostgreSQL refuses it, and the fixture runs it as an unprivileged user.
    uid = int(
        next(
            line
            for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines()
            if line.startswith("Uid:")
        ).split()[1]
    )
    assert uid != 0
    assert server.startup_seconds < 30


def test_fresh_database_returns_a_new_database(postgres_dsn: str) -> None:
    first, second = fresh_database(postgres_dsn), fresh_database(postgres_dsn)
    names = {urlsplit(dsn).path.lstrip("/") for dsn in (first, second)}
    assert len(names) == 2 and urlsplit(postgres_dsn).path.lstrip("/") not in names
    for dsn in (first, second):
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0] == urlsplit(dsn).path.lstrip("/")
            # Empty, and the DSN's user may create tables in it (it owns the database).
            assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
            conn.execute("CREATE TABLE t (x int)")


def test_application_saves_an_aggregate_and_reads_the_notification_log(postgres_fresh_dsn, open_app) -> None:
    app = open_app(postgres_fresh_dsn)
    assert isinstance(app.factory, PostgresFactory)
    assert isinstance(app.recorder, PostgresApplicationRecorder)
    assert app.recorder.events_table_name == "accounts_events"

    account = Account("c-1")
    account.charge(250)
    account.charge(100)
    recordings = app.save(account)
    assert [r.notification.id for r in recordings] == [1, 2, 3]

    again = app.repository.get("account-c-1")
    assert (again.customer, again.charges, again.version) == ("c-1", [250, 100], 3)

    notifications = app.notification_log.select(start=1, limit=10)
    assert [(n.id, n.originator_id, n.originator_version) for n in notifications] == [
        (1, "account-c-1", 1),
        (2, "account-c-1", 2),
        (3, "account-c-1", 3),
    ]
    assert notifications[0].topic.endswith("Account.Opened")
    assert app.recorder.max_notification_id() == 3

    # A second write to the same version is refused by the primary key.
    stale = app.repository.get("account-c-1", version=2)
    stale.charge(1)
    with pytest.raises(IntegrityError):
        app.save(stale)
    assert app.recorder.max_notification_id() == 3

    # The table eventsourcing made: text ids (ORIGINATOR_ID_TYPE=text), a bigserial notification id.
    with psycopg.connect(postgres_fresh_dsn, connect_timeout=10) as conn:
        columns = conn.execute(
            "SELECT column_name, data_type, column_default FROM information_schema.columns "
            "WHERE table_name = 'accounts_events' ORDER BY ordinal_position"
        ).fetchall()
    assert [(name, kind) for name, kind, _ in columns] == [
        ("originator_id", "text"),
        ("originator_version", "bigint"),
        ("topic", "text"),
        ("state", "bytea"),
        ("notification_id", "bigint"),
    ]
    assert columns[-1][2].startswith("nextval(")


def test_tracking_recorder_inserts_and_reads_a_position(postgres_fresh_dsn, open_app) -> None:
    app = open_app(postgres_fresh_dsn)
    tracking = app.factory.tracking_recorder()
    assert type(tracking) is PostgresTrackingRecorder
    assert tracking.tracking_table_name == "accounts_tracking"
    assert tracking.max_tracking_id("upstream") is None

    tracking.insert_tracking(Tracking(application_name="upstream", notification_id=5))
    assert tracking.max_tracking_id("upstream") == 5
    assert tracking.has_tracking_id("upstream", 5)
    assert not tracking.has_tracking_id("upstream", 6)

    tracking.insert_tracking(Tracking(application_name="upstream", notification_id=9))
    assert tracking.max_tracking_id("upstream") == 9
    # Single-row tracking (the default) refuses to go back or to repeat a position.
    with pytest.raises(IntegrityError):
        tracking.insert_tracking(Tracking(application_name="upstream", notification_id=9))
    assert tracking.max_tracking_id("upstream") == 9
    assert tracking.max_tracking_id("other") is None


def _wait_for_listener(dsn: str, channel: str) -> None:
    """Until a session of this database has run LISTEN on `channel` (bounded)."""
    deadline = time.monotonic() + WAIT
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        while time.monotonic() < deadline:
            found = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE %s",
                (f'LISTEN "{channel}"%',),
            ).fetchone()[0]
            if found:
                return
            time.sleep(0.02)
    pytest.fail(f"no LISTEN {channel} within {WAIT}s")


def test_subscription_receives_a_newly_recorded_event(postgres_fresh_dsn, open_app) -> None:
    app = open_app(postgres_fresh_dsn)
    app.save(Account("c-1"))
    start = app.recorder.max_notification_id()
    assert start == 1

    with app.recorder.subscribe(gt=start) as subscription:
        # The subscription pulls once, then LISTENs on a second connection in another
        # thread; a NOTIFY sent before that LISTEN would wake nobody until the next one.
        _wait_for_listener(postgres_fresh_dsn, app.recorder.channel_name)
        timer = threading.Timer(WAIT, subscription.stop)  # bounds next(): stop ends the iteration
        timer.start()
        try:
            account = Account("c-2")
            account.charge(7)
            app.save(account)
            received = [next(subscription), next(subscription)]
        except StopIteration:
            pytest.fail(f"the subscription received nothing within {WAIT}s")
        finally:
            timer.cancel()
    assert [(n.id, n.originator_id, n.originator_version) for n in received] == [
        (2, "account-c-2", 1),
        (3, "account-c-2", 2),
    ]


def test_separate_databases_do_not_see_each_other(postgres_dsn, open_app) -> None:
    first = open_app(fresh_database(postgres_dsn))
    second = open_app(fresh_database(postgres_dsn))
    first.save(Account("c-1"))
    first.factory.tracking_recorder().insert_tracking(Tracking("upstream", 4))

    assert first.recorder.max_notification_id() == 1
    assert second.recorder.max_notification_id() is None
    assert second.recorder.select_notifications(start=None, limit=10) == []
    assert second.factory.tracking_recorder().max_tracking_id("upstream") is None


def test_separate_schemas_do_not_see_each_other(postgres_fresh_dsn, open_app) -> None:
    # eventsourcing does not create the schema named by POSTGRES_SCHEMA: it must exist.
    with psycopg.connect(postgres_fresh_dsn, autocommit=True, connect_timeout=10) as conn:
        conn.execute("CREATE SCHEMA tenant_a")
        conn.execute("CREATE SCHEMA tenant_b")
    first = open_app(postgres_fresh_dsn, POSTGRES_SCHEMA="tenant_a")
    second = open_app(postgres_fresh_dsn, POSTGRES_SCHEMA="tenant_b")
    first.save(Account("c-1"))
    second.save(Account("c-1"))  # same id, other schema: no conflict
    second.save(Account("c-2"))

    assert [n.originator_id for n in first.recorder.select_notifications(start=None, limit=10)] == ["account-c-1"]
    assert [n.originator_id for n in second.recorder.select_notifications(start=None, limit=10)] == [
        "account-c-1",
        "account-c-2",
    ]
    with psycopg.connect(postgres_fresh_dsn, connect_timeout=10) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE tablename = 'accounts_events' ORDER BY 1"
        ).fetchall()
    assert tables == [("tenant_a", "accounts_events"), ("tenant_b", "accounts_events")]
