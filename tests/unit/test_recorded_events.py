"""A committed batch's events read lazily (engine/recorded_events.py): the same events
as decoding every row, and a hook's look for one type decodes no other."""

from __future__ import annotations

import pytest

from commands.bootstrap import open_engine
from commands.settings import Settings
from engine.mapper import decode_event, stored_row
from engine.recorded_events import EventsOfRows, RecordedEvents
from schemas.recorded import ChargeRecorded, CustomerDisassociated
from tests.builders import associated, disassociated, usage
from tests.conftest import record


def recorded_events_of(facts: list[dict]) -> list:
    """The events an in-memory store records of these facts, in log order."""
    with open_engine(Settings(store_url="memory://", now="2026-11-30T00:00:00Z"), create=True) as engine:
        record(engine, facts)
        recorder = engine.ledger.recorder
        with recorder.read_transaction() as c:
            rows = recorder.select_notifications_in(c, 0, 100)
    return [decode_event(row[1], row[2]) for row in rows]


@pytest.fixture
def events():
    return recorded_events_of(
        [
            associated("c-1", "p-1", time="2026-10-01T00:00:00+08:00"),
            usage("c-1"),
            disassociated("c-1", "p-1", time="2026-10-04T00:00:00+08:00"),
            usage("c-1", id="u-2"),
            associated("c-1", "p-1", id="a-2", time="2026-10-05T00:00:00+08:00"),
        ]
    )


def test_reading_every_event_equals_decoding_every_row(events):
    assert [type(event).__name__ for event in events] == [
        "CustomerAssociated",
        "ChargeRecorded",
        "CustomerDisassociated",
        "ChargeRecorded",
        "CustomerAssociated",
    ]
    rows = [stored_row(event) for event in events]
    lazy = EventsOfRows(rows)
    assert list(lazy) == [decode_event(row.topic, row.state) for row in rows] == events
    assert lazy[1:3] == events[1:3] and lazy[-1] == events[-1] and len(lazy) == len(events)


def test_looking_for_one_type_decodes_only_that_type(events):
    rows = [stored_row(event) for event in events]
    lazy = EventsOfRows(rows)
    recorded = RecordedEvents([10, 11, 12, 13, 14], lazy)
    found = recorded.of_type(CustomerDisassociated)
    assert [nid for nid, _ in found] == [12]
    assert type(found[0][1]) is CustomerDisassociated
    assert [event is not None for event in lazy._decoded] == [False, False, True, False, False]


def test_events_in_hand_are_filtered_by_their_type(events):
    recorded = RecordedEvents([1, 2, 3, 4, 5], events)
    assert [nid for nid, _ in recorded.of_type(ChargeRecorded)] == [2, 4]
    assert list(recorded) == list(zip([1, 2, 3, 4, 5], events, strict=True))
    assert recorded[-1] == (5, events[-1])


def test_ids_and_events_must_pair_up(events):
    with pytest.raises(ValueError, match="4 notification ids for 5 events"):
        RecordedEvents([1, 2, 3, 4], events)
