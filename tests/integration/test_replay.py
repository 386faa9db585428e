"""Replay rebuilds a period from the log alone, as known at any moment."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.bootstrap import open_engine
from commands.queries import period_views, view_settings
from commands.settings import Settings
from projections.replay import digest, first_difference, replay_period
from tests.builders import (
    associated,
    disassociated,
    discount_granted,
    month_of_events,
    order_paid,
    order_refunded,
    usage,
)
from tests.conftest import record


class SteppingClock:
    """A clock the test moves by hand, so recorded times are known exactly."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float = 60) -> None:
        self.moment += timedelta(seconds=seconds)


def _replay(engine, period: str, as_of: str, chunk: int = 10_000):
    views, _read = replay_period(engine.ledger, view_settings(engine, period), as_of, chunk=chunk)
    return views


def test_replay_equals_the_live_views_of_every_period(store):
    record(store, month_of_events(customers=12, usage_per_customer=6))
    for period in ("2026-09", "2026-10", "2026-11"):
        replayed = _replay(store, period, store.ledger.now())
        live = period_views(store, period)
        assert first_difference(replayed, live) is None
        assert msgspec.json.encode(replayed) == msgspec.json.encode(live)
    assert _replay(store, "2026-10", store.ledger.now()).bills, "the month has bills"


def _two_ingests_with_a_moment_between(tmp_path):
    """An engine with two halves of a month recorded a known moment apart: the engine,
    that moment, and the period's views after each half."""
    clock = SteppingClock()
    engine = open_engine(Settings(store_url=f"sqlite:///{tmp_path / 'b.db'}"), create=True, clock=clock)
    events = month_of_events(customers=6, usage_per_customer=4)
    first, second = events[: len(events) // 2], events[len(events) // 2 :]
    record(engine, first)
    after_first = period_views(engine, "2026-10")
    clock.advance()
    between = engine.ledger.now()
    clock.advance()
    record(engine, second)
    return engine, between, after_first, period_views(engine, "2026-10")


def test_as_of_between_two_ingests_reproduces_the_first_state_exactly(tmp_path):
    engine, between, after_first, after_second = _two_ingests_with_a_moment_between(tmp_path)
    assert after_first != after_second, "the second file must change the period"

    replayed = _replay(engine, "2026-10", between)
    assert replayed == after_first
    assert digest(replayed) == digest(after_first)
    assert _replay(engine, "2026-10", engine.ledger.now()) == after_second
    engine.close()


def test_replay_as_of_a_past_moment_stops_reading_at_the_first_later_event(tmp_path):
    """Recorded times never decrease along the log (CONTRACT.md §11), so nothing after
    the first event recorded past `as_of` can count: the reading stops there."""
    engine, between, after_first, _after_second = _two_ingests_with_a_moment_between(tmp_path)
    recorded = engine.ledger.recorder.max_notification_id()

    views, read = replay_period(engine.ledger, view_settings(engine, "2026-10"), between, chunk=5)
    assert views == after_first
    assert read < recorded, f"read {read} of {recorded} events: it went on past the moment"
    _views, read_all = replay_period(engine.ledger, view_settings(engine, "2026-10"), engine.ledger.now(), chunk=5)
    assert read_all == recorded
    engine.close()


def test_digest_is_the_same_on_a_sqlite_file_and_in_memory(open_store):
    events = month_of_events(customers=8, usage_per_customer=5)
    on_file, in_memory = open_store("a.db"), open_store(memory=True)
    record(on_file, events)
    record(in_memory, events, batch_size=7)
    assert digest(_replay(on_file, "2026-10", on_file.ledger.now())) == digest(
        _replay(in_memory, "2026-10", in_memory.ledger.now())
    )


def test_digest_changes_when_one_amount_changes(open_store):
    events = month_of_events(customers=3, usage_per_customer=2)
    one, other = open_store("one.db"), open_store("other.db")
    record(one, events)
    record(other, [*events, usage("c-0000", quantity="1", unit_price="0.00000001", id="extra")])
    assert digest(_replay(one, "2026-10", one.ledger.now())) != digest(_replay(other, "2026-10", other.ledger.now()))


def test_replay_never_touches_the_live_views(store):
    record(store, month_of_events(customers=4, usage_per_customer=3))
    before = period_views(store, "2026-10")
    _replay(store, "2026-10", "2000-01-01T00:00:00.000000Z")
    assert period_views(store, "2026-10") == before


def test_check_names_the_first_record_that_differs(store):
    record(store, month_of_events(customers=4, usage_per_customer=3))
    with store.ledger.recorder.write_transaction() as cursor:
        cursor.execute(
            "UPDATE view_bill_lines SET sums='100000000,0,100000000,100000000,0,1' "
            "WHERE customer_id='c-0002' AND period='2026-10'"
        )
    difference = first_difference(_replay(store, "2026-10", store.ledger.now()), period_views(store, "2026-10"))
    assert difference is not None and difference.startswith("bill of c-0002 (2026-10) differs")


def _peak_replay_memory(engine) -> int:
    tracemalloc.start()
    try:
        _replay(engine, "2026-10", engine.ledger.now(), chunk=500)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_replay_memory_grows_with_customers_not_with_events(open_store):
    small, large = open_store("small.db"), open_store("large.db")
    record(small, month_of_events(customers=40, usage_per_customer=20))
    record(large, month_of_events(customers=40, usage_per_customer=200))
    events_small = small.ledger.recorder.max_notification_id()
    events_large = large.ledger.recorder.max_notification_id()
    assert events_large > 6 * events_small
    # Ten times the usage, the same customers: replay holds per-customer sums and one
    # chunk of the log (500 events here) at a time, so its peak must not follow the event count.
    assert _peak_replay_memory(large) < 2 * _peak_replay_memory(small)


_customers = st.sampled_from(["c-1", "c-2", "c-3"])
_times = st.sampled_from(
    [
        "2026-09-30T15:59:59Z",
        "2026-09-30T16:00:00Z",
        "2026-10-15T12:00:00+08:00",
        "2026-10-31T15:59:59.999Z",
        "2026-10-31T16:00:00Z",
        "2026-11-02T00:00:00-05:00",
    ]
)
_prices = st.decimals(min_value=0, max_value=50, places=8).map(lambda d: f"{d:.8f}")
_step = st.one_of(
    st.builds(lambda c, p, t: associated(c, p, time=t), _customers, st.sampled_from(["p-1", "p-2"]), _times),
    st.builds(lambda c, p, t: disassociated(c, p, time=t), _customers, st.sampled_from(["p-1", "p-2"]), _times),
    st.builds(
        lambda c, q, price, t: usage(c, quantity=q, unit_price=price, time=t),
        _customers,
        st.sampled_from(["1", "2.5", "0.00000001", "37"]),
        _prices,
        _times,
    ),
    st.builds(
        lambda c, o, a, t: order_paid(c, order_id=o, amount=a, time=t),
        _customers,
        st.sampled_from(["o-1", "o-2"]),
        _prices,
        _times,
    ),
    st.builds(
        lambda c, o, a, t: order_refunded(c, order_id=o, amount=a, time=t),
        _customers,
        st.sampled_from(["o-1", "o-2"]),
        st.sampled_from(["0.01", "1", "10.5"]),
        _times,
    ),
    st.builds(
        lambda c, r, t: discount_granted(c, discount_id=f"d-{r}", rate=r, valid_from=t),
        _customers,
        st.sampled_from(["0.5", "0.85", "1"]),
        _times,
    ),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_step, max_size=30), batch_size=st.integers(1, 10))
def test_replay_of_every_period_equals_the_live_views_after_any_ingest(open_store, steps, batch_size):
    engine = open_store(memory=True)
    record(engine, steps, batch_size=batch_size)
    for period in ("2026-09", "2026-10", "2026-11"):
        assert _replay(engine, period, engine.ledger.now()) == period_views(engine, period)
