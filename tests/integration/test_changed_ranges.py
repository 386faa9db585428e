"""The publisher told which records each batch changed (commands/changed_ranges.py)
publishes exactly what it publishes reading the log back: the same messages and the
same positions, whatever the batches, whoever else appends between them, and wherever
a round stops."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.changed_ranges import ChangedRanges
from commands.publisher import ViewPublisher
from commands.statements import close_period
from engine.batch_types import InboundLine
from engine.mapper import decode_event
from projections.changes import ChangedViews, ViewKey, add_changed_by_events, add_changed_views
from tests.builders import disassociated, line
from tests.integration.test_ingest_ahead import _op_event, operations


def _raws(ops: list[tuple]) -> list[bytes]:
    raws = [line(_op_event(op)) for op in ops]
    # A disassociation now and then: it changes the partner's counts from its period on.
    raws += [
        line(disassociated(customer, f"p-{number % 2}", time="2026-10-20T00:00:00+08:00", id=f"dis-{customer}"))
        for kind, customer, number, _ in ops
        if kind == "associate"
    ][:2]
    return raws


def _changed_of_events(engine, events) -> ChangedViews:
    changed = ChangedViews(set(), {})
    add_changed_by_events(changed, events, engine.rules.calendar.period_of)
    return changed


def _all_rows(engine) -> list[tuple[int, str, bytes]]:
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as cursor:
        return recorder.select_notifications_in(cursor, 0, 1_000_000)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_the_records_changed_by_the_events_are_those_read_back_from_their_rows(open_store, ops):
    engine = open_store(memory=True)
    engine.ledger.record_batch([InboundLine(raw) for raw in _raws(ops)], engine.projection)
    rows = _all_rows(engine)
    read_back = ChangedViews(set(), {})
    add_changed_views(read_back, rows, engine.rules.calendar.period_of)
    events = [decode_event(topic, state) for _id, topic, state in rows]
    assert _changed_of_events(engine, events) == read_back


def _pending_both_ways(engine, ranges: ChangedRanges):
    told = ViewPublisher(engine)
    told.changed_ranges = ranges
    reference = ViewPublisher(engine)  # reads every event back
    with_ranges, read_back = told.pending(), reference.pending()
    assert [(m.topic, m.key, m.value) for m in with_ranges.messages] == [
        (m.topic, m.key, m.value) for m in read_back.messages
    ]
    assert with_ranges.positions == read_back.positions
    return told, with_ranges


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=operations,
    cuts=st.lists(st.integers(1, 80), max_size=6),
    steps=st.lists(
        st.sampled_from(["tell", "tell, views end", "silent", "publish", "other writer"]), min_size=1, max_size=10
    ),
    merge_up_to=st.integers(0, 40),
)
def test_a_round_told_the_changed_records_publishes_what_reading_the_log_back_publishes(
    open_store, ops, cuts, steps, merge_up_to
):
    engine = open_store(memory=True)
    raws = _raws(ops)
    bounds = sorted({0, len(raws), *(cut for cut in cuts if cut < len(raws))})
    batches = [raws[start:end] for start, end in itertools.pairwise(bounds)]
    ranges = ChangedRanges(merge_up_to_keys=merge_up_to)  # consecutive batches merged, up to so many keys
    closable = iter(["2026-08", "2026-09", "2026-10"])
    for at, batch in enumerate(batches):
        step = steps[at % len(steps)]
        outcome = engine.ledger.record_batch([InboundLine(raw) for raw in batch], engine.projection)
        if step != "silent":  # a batch nobody told about is read back
            events = [event for _id, event in outcome.recorded]
            changed = _changed_of_events(engine, events)
            views_end = step == "tell, views end"
            told = ranges.tell(outcome.recorded, engine.ledger.cached_states_head, changed, views_end_here=views_end)
            assert told == bool(events), "a batch alone in its transaction is told"
        if step == "other writer":  # another command appends between two batches: statements
            period = next(closable, None)
            if period is not None:
                close_period(engine, period)
        if step == "publish":
            told, work = _pending_both_ways(engine, ranges)
            told.mark_published(work.positions)
    _pending_both_ways(engine, ranges)


def test_a_range_is_told_only_when_the_batch_alone_fills_it():
    ranges = ChangedRanges()
    changed = ChangedViews({ViewKey("bill", "c-1", "2026-10")}, {})
    assert not ranges.tell([], 10, changed), "no event"
    assert not ranges.tell([(8, None), (9, None)], 10, changed), "something after the batch in its transaction"
    assert not ranges.tell([(7, None), (9, None), (10, None)], 10, changed), "a gap: something between"
    assert ranges.tell([(9, None), (10, None)], 10, changed)
    assert ranges.starting_at(8).last == 10 and ranges.starting_at(9) is None
    assert ranges.next_start_after(3) == 8 and ranges.next_start_after(8) is None
    ranges.forget_through(9)
    assert ranges.starting_at(8) is not None, "not published as a whole yet"
    ranges.forget_through(10)
    assert ranges.starting_at(8) is None


def test_ranges_kept_are_bounded_the_oldest_dropped_first():
    ranges = ChangedRanges(max_ranges=3, merge_up_to_keys=0)  # none merged
    for last in range(1, 6):
        ranges.tell([(last, None)], last, ChangedViews(set(), {}))
    assert [ranges.starting_at(after) is not None for after in range(5)] == [False, False, True, True, True]


def _keys(*customers: str) -> ChangedViews:
    return ChangedViews({ViewKey("bill", customer, "2026-10") for customer in customers}, {})


def test_consecutive_batches_join_one_range_until_the_publisher_takes_it():
    ranges = ChangedRanges()
    ranges.tell([(1, None), (2, None)], 2, _keys("c-1", "c-2"))
    ranges.tell([(3, None)], 3, ChangedViews({ViewKey("bill", "c-2", "2026-10")}, {"p-1": "2026-10"}))
    ranges.tell([(4, None)], 4, ChangedViews(set(), {"p-1": "2026-09"}))
    joined = ranges.starting_at(0)
    assert (joined.after, joined.last) == (0, 4)
    assert joined.changed == ChangedViews(
        {ViewKey("bill", "c-1", "2026-10"), ViewKey("bill", "c-2", "2026-10")}, {"p-1": "2026-09"}
    )
    assert ranges.starting_at(2) is None and ranges.next_start_after(0) is None
    # Taken by a round: the next batch starts a range of its own, and the one taken stays as it was.
    ranges.tell([(5, None)], 5, _keys("c-3"))
    assert (ranges.starting_at(0).last, ranges.starting_at(4).last) == (4, 5)
    assert joined.changed.keys == {ViewKey("bill", "c-1", "2026-10"), ViewKey("bill", "c-2", "2026-10")}


def test_a_range_stops_where_the_views_were_folded_or_when_it_holds_enough_keys():
    ranges = ChangedRanges(merge_up_to_keys=3)
    ranges.tell([(1, None)], 1, _keys("c-1"), views_end_here=True)
    ranges.tell([(2, None)], 2, _keys("c-2"))
    ranges.tell([(3, None)], 3, _keys("c-3", "c-4"))  # three keys: full
    ranges.tell([(4, None)], 4, _keys("c-5"))
    ranges.tell([(5, None)], 5, _keys("c-1"), views_end_here=False)
    assert [(r.after, r.last) for r in (ranges.starting_at(0), ranges.starting_at(1), ranges.starting_at(3))] == [
        (0, 1),
        (1, 3),
        (3, 5),
    ]
    assert ranges.starting_at(3).changed.keys == _keys("c-5", "c-1").keys


def test_a_batch_after_a_gap_does_not_join_the_range_before_it():
    ranges = ChangedRanges()
    ranges.tell([(1, None)], 1, _keys("c-1"))
    ranges.tell([(3, None)], 3, _keys("c-2"))  # id 2: another writer's, read back
    assert (ranges.starting_at(0).last, ranges.starting_at(2).last) == (1, 3)
