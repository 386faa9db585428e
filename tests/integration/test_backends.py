"""One contract, two backends: the engine behaves the same on SQLite and on PostgreSQL.

`BackendContract` holds the tests; `TestOnSQLite` and `TestOnPostgres` run them on a
SQLite file and on a fresh PostgreSQL database each (as eventsourcing's own persistence
tests do). Where a result is compared, the reference is the same events ingested into a
private in-memory SQLite store.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from commands.bootstrap import Engine, open_engine
from commands.ingest import retry_rejections
from commands.queries import bills, customer_counts, performance, period_views, view_settings
from commands.settings import Settings
from engine.errors import StoreError
from engine.ledger import InboundLine
from projections.replay import digest, first_difference, replay_period
from tests.builders import (
    amended,
    associated,
    discount_granted,
    discount_revoked,
    line,
    month_of_events,
    order_paid,
    order_refunded,
    usage,
    voided,
)
from tests.conftest import record
from tests.postgres_server import fresh_database
from testsupport.cli_runner import BILLING, billing, clean_env

pytestmark = pytest.mark.timeout(120)

PERIODS = ("2026-09", "2026-10", "2026-11")


def as_json(value: object) -> bytes:
    return msgspec.json.encode(value)


def all_views(engine: Engine) -> bytes:
    """Every view of every period, as msgspec JSON."""
    return as_json([period_views(engine, period) for period in PERIODS])


def replayed(engine: Engine, period: str = "2026-10"):
    views, _read = replay_period(engine.ledger, view_settings(engine, period), engine.ledger.now())
    return views


@pytest.fixture
def reference(open_url) -> Callable[[list], Engine]:
    """The same events ingested into a private in-memory SQLite store."""

    def _reference(events: list, batch_size: int = 5000) -> Engine:
        engine = open_url("memory://")
        record(engine, events, batch_size=batch_size)
        return engine

    return _reference


class BackendContract:
    """Backend-neutral tests. A subclass gives `store_url` (one empty store per test)."""

    __test__ = False

    @pytest.fixture
    def store_url(self) -> str:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @pytest.fixture
    def make_engine(self, store_url: str, open_url) -> Callable[..., Engine]:
        """Opens an engine on this test's store (again and again: each call is a new process's view)."""
        return lambda *, create=True, **settings: open_url(store_url, create=create, **settings)

    # --- views ---------------------------------------------------------------------------

    def test_a_month_gives_the_same_views_as_the_reference(self, make_engine, reference):
        events = month_of_events(customers=9, usage_per_customer=5)
        engine = make_engine()
        counts = record(engine, events, batch_size=17)
        expected = reference(events)
        assert (counts.accepted, counts.duplicates, counts.rejected) == (len(events), 0, 0)
        assert as_json(bills(engine, "2026-10")) == as_json(bills(expected, "2026-10"))
        assert bills(engine, "2026-10"), "the month has bills"
        for partner in ("p-0", "p-1", "p-2"):
            assert as_json(customer_counts(engine, partner, "2026-10")) == as_json(
                customer_counts(expected, partner, "2026-10")
            )
            assert as_json(performance(engine, partner, "2026-10")) == as_json(
                performance(expected, partner, "2026-10")
            )
        assert all_views(engine) == all_views(expected)

    # --- duplicates ----------------------------------------------------------------------

    def test_duplicates_are_caught_across_batches_and_across_reopening(self, make_engine, reference):
        events = month_of_events(customers=4, usage_per_customer=3)
        first = make_engine()
        assert record(first, events, batch_size=5).accepted == len(events)
        again = record(first, events, batch_size=7)
        assert (again.accepted, again.duplicates, again.rejected) == (0, len(events), 0)
        first.close()

        reopened = make_engine()
        later = record(reopened, [*events[:3], usage("c-000", id="new-1")])
        assert (later.accepted, later.duplicates, later.rejected) == (1, 3, 0)
        conflicting = record(reopened, [{**events[-1], "time": "2026-10-09T00:00:00+08:00"}])
        assert (conflicting.accepted, conflicting.rejected) == (0, 1)
        assert reopened.ledger.recorder.count_events() == len(events) + 1
        assert all_views(reopened) == all_views(reference([*events, usage("c-000", id="new-1")]))

    # --- corrections (CONTRACT.md §11) ----------------------------------------------------

    def test_corrections_find_their_targets_in_the_store_after_reopening(self, make_engine, reference):
        events = month_of_events(customers=4, usage_per_customer=3)
        first = make_engine()
        record(first, events, batch_size=6)
        first.close()
        charged = [e for e in events if e["type"] in ("usage.recorded", "order.paid", "order.refunded")]
        refunds = [e for e in charged if e["type"] == "order.refunded"]
        paid = [e for e in charged if e["type"] == "order.paid"]
        corrections = [
            *(voided(refund, id=f"v-{n}") for n, refund in enumerate(refunds)),
            *(voided(order, id=f"vo-{n}") for n, order in enumerate(paid)),
            *(amended(e, id=f"a-{n}", quantity="3") for n, e in enumerate(charged) if e["type"] == "usage.recorded"),
        ]
        reopened = make_engine()
        counts = record(reopened, corrections, batch_size=5)
        assert (counts.accepted, counts.rejected) == (len(corrections), 0)
        assert refunds and paid and all_views(reopened) == all_views(reference([*events, *corrections]))
        assert replayed(reopened) == period_views(reopened, "2026-10")

    # --- rejections ----------------------------------------------------------------------

    def test_every_rejection_is_kept_listable_and_a_retry_accepts_after_the_order_arrived(self, make_engine):
        engine = make_engine()
        raws = [
            b'{"specversion": "1.0", "id": ',
            line(usage(currency="USD")),
            line(order_refunded(id="r-1", order_id="o-1", amount="10", time="2026-11-03T08:00:00+08:00")),
            line(usage(unit_price="0.123456789")),
        ]
        counts = record(engine, raws)
        assert (counts.accepted, counts.rejected) == (0, 4)
        kept = engine.ledger.recorder.select_rejections()
        assert [row.raw for row in kept] == raws
        reasons = [row.reason for row in kept]
        assert reasons == ["malformed_json", "currency_not_accepted", "unknown_order", "invalid_data"]
        assert [row.seq for row in kept] == sorted(row.seq for row in kept)
        assert [row.raw for row in engine.ledger.recorder.select_rejections(reason="unknown_order")] == [raws[2]]

        record(engine, [order_paid(order_id="o-1", amount="100", time="2026-10-05T08:00:00+08:00")])
        retried = retry_rejections(engine)
        assert (retried.accepted, retried.duplicates, retried.rejected) == (1, 0, 3)
        refund = engine.ledger.recorder.select_rejections(reason="unknown_order")[0]
        assert refund.accepted is not None and refund.accepted >= refund.arrived
        assert len(engine.ledger.recorder.select_rejections(pending_only=True)) == 3
        [november] = bills(engine, "2026-11")
        assert november.list_amount == "-10.00000000"

    # --- Kafka positions -----------------------------------------------------------------

    def test_kafka_positions_skip_redelivered_lines(self, make_engine):
        engine = make_engine()

        def lines(start: int, raws: list[bytes], partition: int = 0) -> list[InboundLine]:
            return [InboundLine(raw, position=("billing.events", partition, start + i)) for i, raw in enumerate(raws)]

        raws = [line(usage("c-1", id="u-1")), b"not json", line(usage("c-1", id="u-2"))]
        first = engine.ledger.record_batch(lines(0, raws), engine.projection)
        again = engine.ledger.record_batch(lines(0, raws), engine.projection)
        assert (first.counts.accepted, first.counts.rejected, first.redelivered) == (2, 1, 0)
        assert (again.counts.accepted, again.counts.rejected, again.redelivered) == (0, 0, 3)
        overlap = engine.ledger.record_batch(lines(2, [raws[2], line(usage("c-1", id="u-3"))]), engine.projection)
        assert (overlap.redelivered, overlap.counts.accepted, overlap.counts.duplicates) == (1, 1, 0)
        engine.ledger.record_batch(lines(7, [line(usage("c-2"))], partition=1), engine.projection)
        assert len(engine.ledger.recorder.select_rejections()) == 1
        assert [r.raw for r in engine.ledger.recorder.select_kafka_rejections_after(0, 10)] == [b"not json"]
        partitions = {("billing.events", 0), ("billing.events", 1), ("billing.events", 2)}
        expected = {("billing.events", 0): 4, ("billing.events", 1): 8}
        assert engine.ledger.stored_positions(partitions) == expected
        assert make_engine().ledger.stored_positions(partitions) == expected

    # --- replay --------------------------------------------------------------------------

    def test_replay_equals_the_live_views_and_its_digest_equals_the_references(self, make_engine, reference):
        events = month_of_events(customers=9, usage_per_customer=5)
        engine = make_engine()
        record(engine, events, batch_size=11)
        expected = reference(events)
        for period in PERIODS:
            views = replayed(engine, period)
            assert first_difference(views, period_views(engine, period)) is None
            assert as_json(views) == as_json(period_views(engine, period))
            assert digest(views) == digest(replayed(expected, period))

    # --- reopening -----------------------------------------------------------------------

    def test_reopening_resumes_without_counting_twice(self, make_engine, reference):
        events = month_of_events(customers=6, usage_per_customer=4)
        half = len(events) // 2
        first = make_engine()
        record(first, events[:half], batch_size=9)
        position = first.projection.view.position(first.ledger.name)
        assert position == first.ledger.recorder.max_notification_id()
        first.close()

        reader = make_engine(create=False)
        assert reader.projection.view.position(reader.ledger.name) == position
        assert all_views(reader) == all_views(reference(events[:half]))

        second = make_engine()
        assert not second.projection.is_behind(second.ledger)
        record(second, events[half:], batch_size=9)
        assert all_views(second) == all_views(reference(events))
        assert second.projection.view.position(second.ledger.name) == second.ledger.recorder.max_notification_id()
        assert second.projection.catch_up(second.ledger) == 0

    # --- optimistic concurrency ----------------------------------------------------------

    def test_a_second_writer_never_decides_from_a_stale_cached_state(self, make_engine, reference):
        one, two = make_engine(), make_engine()
        steps = [
            (one, [associated("c-1", "p-1", time="2026-09-15T00:00:00+08:00"), usage("c-1", id="u-1")]),
            (two, [discount_granted("c-1", discount_id="d-1", rate="0.5", valid_from="2026-10-01T00:00:00+08:00")]),
            # `one` still holds c-1's state from before the discount: it must not decide from it.
            (one, [usage("c-1", id="u-2", quantity="1000")]),
            (two, [usage("c-1", id="u-3")]),
        ]
        for engine, events in steps:
            assert record(engine, events).accepted == len(events)
        conflicts = (one.ledger.batch_timing.conflicts, two.ledger.batch_timing.conflicts)
        assert conflicts == (1, 1), "each stale decision was found under the lock and decided again"

        sequential = reference([event for _, events in steps for event in events])
        for engine in (one, two, make_engine(create=False)):
            assert all_views(engine) == all_views(sequential)
            assert engine.ledger.recorder.count_events() == 5
        [bill] = bills(one, "2026-10")
        assert bill.discount_amount != "0.00000000", "u-2 was decided with the discount `two` granted"

    def test_a_rejection_decided_from_a_stale_cached_state_is_decided_again(self, make_engine):
        one, two = make_engine(), make_engine()
        # `one` caches c-1's state: associated, no discount.
        assert record(one, [associated("c-1", "p-1", time="2026-09-15T00:00:00+08:00")]).accepted == 1
        assert record(two, [discount_granted("c-1", discount_id="d-1")]).accepted == 1
        # Decided from the cached state the revocation names an unknown discount (a
        # rejection, which appends nothing a stream version could catch).
        revoked = record(one, [discount_revoked("c-1", discount_id="d-1")])
        assert (revoked.accepted, revoked.rejected) == (1, 0)
        assert one.ledger.batch_timing.conflicts == 1

    def test_a_batch_for_other_customers_does_not_vouch_for_the_rest_of_the_cache(self, make_engine):
        one, two = make_engine(), make_engine()
        assert record(one, [associated("c-1", "p-1", time="2026-09-15T00:00:00+08:00")]).accepted == 1
        assert record(two, [discount_granted("c-1", discount_id="d-1")]).accepted == 1
        # `one` commits a batch of another customer after `two` wrote: its check passes
        # (c-2 is as read), but that says nothing of the c-1 state `one` still caches.
        assert record(one, [associated("c-2", "p-1", time="2026-09-15T00:00:00+08:00")]).accepted == 1
        revoked = record(one, [discount_revoked("c-1", discount_id="d-1")])
        assert (revoked.accepted, revoked.rejected) == (1, 0), "decided from c-1's state with the discount"

    def test_two_workers_deciding_the_same_partition_at_once_record_each_line_once(self, make_engine, reference):
        """A rebalance hands a partition to a second worker while the first still decides
        a batch of it: the first finds, under the lock, that the partition moved on."""
        one, two = make_engine(), make_engine()
        events = [associated("c-1", "p-1", time="2026-09-15T00:00:00+08:00"), usage("c-1", id="u-1")]
        raws = [line(event) for event in events] + [b"not json"]
        lines = [InboundLine(raw, position=("billing.events", 3, 10 + i)) for i, raw in enumerate(raws)]
        decide_batch = one.ledger._decide_batch
        raced: list[int] = []

        def decide_then_lose_the_race(batch_lines, verdicts):
            decided = decide_batch(batch_lines, verdicts)
            if not raced:  # the new owner records the same records before `one` can write
                raced.append(two.ledger.record_batch(lines, two.projection).counts.accepted)
            return decided

        one.ledger._decide_batch = decide_then_lose_the_race
        outcome = one.ledger.record_batch(lines, one.projection)
        assert raced == [2]
        assert (outcome.redelivered, outcome.counts.accepted, outcome.counts.rejected) == (3, 0, 0)
        assert one.ledger.batch_timing.conflicts == 1
        assert one.ledger.recorder.count_events() == 2
        assert len(one.ledger.recorder.select_rejections()) == 1, "the bad line is kept once"
        assert one.ledger.stored_positions({("billing.events", 3)}) == {("billing.events", 3): 13}
        assert all_views(one) == all_views(reference(events))

    def test_recorded_times_never_decrease_when_a_later_writer_commits_first(self, make_engine):
        one, two = make_engine(), make_engine()
        one.ledger.clock = lambda: datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
        two.ledger.clock = lambda: datetime(2026, 11, 1, 12, 0, 5, tzinfo=UTC)
        assert record(two, [associated("c-2", "p-1", time="2026-09-15T00:00:00+08:00")]).accepted == 1
        outcome = one.ledger.record_batch([InboundLine(line(associated("c-1", "p-1")))], one.projection)
        [(_, event)] = outcome.recorded
        assert event.recorded_at == "2026-11-01T12:00:05.000000Z", "moved up to the later time committed first"
        with one.ledger.recorder.read_transaction() as c:
            assert one.ledger.recorder.last_recorded_at_in(c) == event.recorded_at


class TestOnSQLite(BackendContract):
    __test__ = True

    @pytest.fixture
    def store_url(self, tmp_path) -> str:
        return f"sqlite:///{tmp_path / 'billing.db'}"


class TestOnPostgres(BackendContract):
    __test__ = True

    @pytest.fixture
    def store_url(self, postgres_fresh_dsn) -> str:
        return postgres_fresh_dsn

    def test_a_failed_insert_leaves_a_gap_in_the_ids_and_the_views_follow_over_it(
        self, make_engine, reference, monkeypatch
    ):
        one = make_engine()
        record(one, [associated("c-1", time="2026-09-15T00:00:00+08:00"), usage("c-1", id="u-1")])
        recorder = one.ledger.recorder
        upsert_positions = recorder.upsert_positions
        failures: list[int] = []

        def fail_once_after_the_events(c, positions):  # the events' ids are drawn by then
            if not failures:
                failures.append(1)
                raise IntegrityError("another writer moved the partition")
            upsert_positions(c, positions)

        monkeypatch.setattr(recorder, "upsert_positions", fail_once_after_the_events)
        record(one, [usage("c-1", id="u-2")])
        assert failures == [1] and one.ledger.batch_timing.conflicts == 1
        assert recorder.max_notification_id() > recorder.count_events() == 3
        with recorder.read_transaction() as c:
            ids = [row[0] for row in recorder.select_notifications_in(c, 0, 10)]
        assert ids == sorted(ids) and ids[-1] - ids[0] > 2, ids
        events = [associated("c-1", time="2026-09-15T00:00:00+08:00"), usage("c-1", id="u-1"), usage("c-1", id="u-2")]
        assert all_views(one) == all_views(reference(events))
        assert one.projection.view.position(one.ledger.name) == ids[-1]

    def test_a_deadlock_between_two_writers_taking_the_same_customers_is_a_conflict_decided_again(
        self, make_engine, monkeypatch
    ):
        engine = make_engine()
        record(engine, [associated("c-1", time="2026-09-15T00:00:00+08:00")])
        recorder = engine.ledger.recorder
        rows = recorder.rows
        deadlocks: list[str] = []

        def deadlocked_once(c, text, params=()):
            if "FOR UPDATE" in text and not deadlocks:  # PostgreSQL aborted this one of the two
                deadlocks.append(text)
                raise psycopg.errors.DeadlockDetected("deadlock detected")
            return rows(c, text, params)

        monkeypatch.setattr(recorder, "rows", deadlocked_once)
        assert record(engine, [usage("c-1", id="u-1")]).accepted == 1
        assert len(deadlocks) == 1 and engine.ledger.batch_timing.conflicts == 1

    def test_tables_live_in_the_schema_named_by_the_url(self, postgres_fresh_dsn, reference):
        url = f"{postgres_fresh_dsn}?schema=billing_x"
        with psycopg.connect(postgres_fresh_dsn, autocommit=True) as connection:
            connection.execute("CREATE SCHEMA billing_x")
        events = month_of_events(customers=3, usage_per_customer=2)
        with open_engine(Settings(store_url=url), create=True) as engine:
            record(engine, events)
            assert all_views(engine) == all_views(reference(events))
        with psycopg.connect(postgres_fresh_dsn) as connection:
            schemas = {
                row[0]
                for row in connection.execute(
                    "SELECT DISTINCT table_schema FROM information_schema.tables WHERE table_name='event_ids'"
                )
            }
        assert schemas == {"billing_x"}
        with pytest.raises(StoreError, match="not a billing store"):
            open_engine(Settings(store_url=postgres_fresh_dsn), create=False)


# --- the command line on PostgreSQL ---------------------------------------------------------


def table_names(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as connection:
        return {
            row[0]
            for row in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema='public'"
            )
        }


def test_ingest_then_bills_on_postgres_as_a_user_runs_them(tmp_path, postgres_fresh_dsn, reference):
    events = month_of_events(customers=3, usage_per_customer=2)
    (tmp_path / "in.jsonl").write_bytes(b"".join(line(event) + b"\n" for event in events))
    ingested = billing(tmp_path, "--store", postgres_fresh_dsn, "ingest", "in.jsonl", "--json")
    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout) == {"accepted": len(events), "duplicates": 0, "rejected": 0}
    shown = billing(tmp_path, "--store", postgres_fresh_dsn, "bills", "--period", "2026-10", "--json")
    assert shown.returncode == 0, shown.stderr
    expected = json.loads(as_json({"period": "2026-10", "bills": bills(reference(events), "2026-10")}))
    assert json.loads(shown.stdout) == expected
    assert list(tmp_path.iterdir()) == [tmp_path / "in.jsonl"]


def assert_one_line_exit_2(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    message = result.stderr.decode()
    assert message.startswith("billing: ") and message.count("\n") == 1, message
    assert "Traceback" not in message
    return message


def test_a_read_of_a_database_without_billing_tables_exits_2_and_creates_nothing(tmp_path, postgres_fresh_dsn):
    message = assert_one_line_exit_2(billing(tmp_path, "--store", postgres_fresh_dsn, "bills", "--period", "2026-10"))
    assert "not a billing store" in message
    assert_one_line_exit_2(billing(tmp_path, "--store", postgres_fresh_dsn, "rejected", "--json"))
    assert table_names(postgres_fresh_dsn) == set()


def test_a_bad_password_or_an_unreachable_server_is_one_line(tmp_path, postgres_dsn):
    from urllib.parse import urlsplit

    parts = urlsplit(fresh_database(postgres_dsn))
    wrong = parts._replace(netloc=f"{parts.username}:wrong-password@{parts.hostname}:{parts.port}").geturl()
    message = assert_one_line_exit_2(billing(tmp_path, "--store", wrong, "ingest", "-"))
    assert "password" in message and "wrong-password" not in message
    nowhere = parts._replace(netloc=f"{parts.username}:x@127.0.0.1:1").geturl()
    unreachable = billing(tmp_path, "--store", nowhere, "bills", "--period", "2026-10")
    assert "cannot reach" in assert_one_line_exit_2(unreachable)


def test_two_processes_ingesting_into_a_new_database_at_once_record_everything_once(
    tmp_path, postgres_fresh_dsn, reference
):
    events = month_of_events(customers=6, usage_per_customer=8)
    (tmp_path / "in.jsonl").write_bytes(b"".join(line(event) + b"\n" for event in events))
    env = clean_env()
    command = [str(BILLING), "--store", postgres_fresh_dsn, "ingest", "in.jsonl", "--json"]
    processes = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = [(process.communicate(timeout=60), process.returncode) for process in processes]
    assert [code for _, code in results] == [0, 0], [err for (_, err), _ in results]
    counts = sorted((json.loads(out)["accepted"], json.loads(out)["duplicates"]) for (out, _), _ in results)
    assert counts == [(0, len(events)), (len(events), 0)]
    with open_engine(Settings(store_url=postgres_fresh_dsn), create=False) as engine:
        assert all_views(engine) == all_views(reference(events))


@pytest.mark.slow
def test_serve_on_postgres_records_once_across_a_kill_and_publishes_the_live_bills(tmp_path, postgres_fresh_dsn):
    from commands.demo_data import generate_month
    from schemas import topics
    from testsupport.serve_harness import billing_env, read_topic, run_billing, start_serve, stop, wait_until
    from testsupport.tansu import running_tansu

    raws = [*generate_month(customers=40, seed=5, period="2026-10", events=2500), b"not json at all"]
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(raws) + b"\n")
    reference_db = tmp_path / "reference.db"
    assert run_billing(billing_env(reference_db, "127.0.0.1:1"), "ingest", str(tmp_path / "in.jsonl")).returncode == 1

    def scalar(statement: str) -> int:
        try:
            with psycopg.connect(postgres_fresh_dsn) as connection:
                row = connection.execute(statement).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return (row[0] if row else 0) or 0

    def consumed() -> int:
        return scalar("SELECT SUM(next_offset) FROM consumer_positions")

    def published() -> bool:
        last = scalar("SELECT MAX(notification_id) FROM billingledger_events")
        position = scalar("SELECT notification_id FROM billingledger_tracking WHERE application_name='published:views'")
        return last > 0 and position >= last

    log = tmp_path / "serve.log"
    with running_tansu(tmp_path / "tansu") as broker:
        env = {**billing_env(reference_db, broker.bootstrap), "BILLING_STORE": postgres_fresh_dsn}
        assert run_billing(env, "publish", str(tmp_path / "in.jsonl")).returncode == 0
        serve = start_serve(env, log)
        wait_until(lambda: consumed() > 0, 60, "a first batch recorded", log)
        stop(serve, signal.SIGKILL)
        serve = start_serve(env, log)
        try:
            wait_until(lambda: consumed() == len(raws) and published(), 90, "everything recorded and published", log)
            wait_until(lambda: log.read_text().count("started successfully") == 2, 30, "serve restarted", log)
        finally:
            code = stop(serve)
        assert code == 0, log.read_text()[-2000:]
        bill_records = read_topic(broker.bootstrap, topics.BILLS)

    with (
        open_engine(Settings(store_url=postgres_fresh_dsn), create=False) as engine,
        open_engine(Settings(store_url=f"sqlite:///{reference_db}"), create=False) as expected,
    ):
        assert all_views(engine) == all_views(expected)
        assert engine.ledger.recorder.count_events() == expected.ledger.recorder.count_events()
        # The same rejections, kept once each (partitions interleave: arrival order differs).
        assert sorted(r.raw for r in engine.ledger.recorder.select_rejections()) == sorted(
            r.raw for r in expected.ledger.recorder.select_rejections()
        )
        last: dict[str, dict] = {}
        for record_ in bill_records:
            value = json.loads(record_.value)
            if value["period"] == "2026-10":
                last[value["customer_id"]] = value
        assert [last[key] for key in sorted(last)] == json.loads(as_json(bills(engine, "2026-10")))


def test_a_url_with_its_login_and_server_in_the_query_and_libpq_options_reaches_the_store(
    tmp_path, postgres_fresh_dsn, reference
):
    from urllib.parse import quote, urlsplit

    parts = urlsplit(postgres_fresh_dsn)
    # As libpq reads it: nothing in the authority, everything in the query, an option
    # eventsourcing does not know (application_name) passed through to the connection.
    url = (
        f"postgresql:///{parts.path.lstrip('/')}?host={parts.hostname}&port={parts.port}"
        f"&user={parts.username}&password={quote(parts.password or '')}&application_name=billing-test&sslmode=disable"
    )
    events = month_of_events(customers=2, usage_per_customer=1)
    (tmp_path / "in.jsonl").write_bytes(b"".join(line(event) + b"\n" for event in events))
    ingested = billing(tmp_path, "--store", url, "ingest", "in.jsonl", "--json")
    assert ingested.returncode == 0, ingested.stderr
    shown = billing(tmp_path, "--store", url, "bills", "--period", "2026-10", "--json")
    expected = json.loads(as_json({"period": "2026-10", "bills": bills(reference(events), "2026-10")}))
    assert json.loads(shown.stdout) == expected
    unknown = billing(tmp_path, "--store", url + "&no_such_option=1", "bills", "--period", "2026-10")
    message = assert_one_line_exit_2(unknown)
    assert "no_such_option" in message and (parts.password or "") not in message
