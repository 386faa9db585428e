"""The decider's events in flight: found until their batch commits, gone after."""

from engine.events_in_flight import EventsInFlight


def test_an_event_is_found_until_its_batch_commits_and_only_its_batch_goes():
    in_flight = EventsInFlight()
    assert not in_flight
    in_flight.add(0, [("crm", "a"), ("crm", "b")], ["event a", "event b"])
    in_flight.add(1, [("crm", "c")], ["event c"])
    assert in_flight.get(("crm", "b")) == "event b"
    assert in_flight.get(("crm", "c")) == "event c"
    assert in_flight.get(("crm", "z")) is None

    in_flight.drop_through(0)
    assert in_flight.get(("crm", "a")) is None
    assert in_flight.get(("crm", "c")) == "event c"
    assert in_flight

    in_flight.drop_through(5)  # a word for a later batch drops everything before it
    assert not in_flight
    assert in_flight.get(("crm", "c")) is None


def test_cleared_when_the_batches_are_decided_again():
    in_flight = EventsInFlight()
    in_flight.add(3, [("crm", "a")], ["event a"])
    in_flight.clear()
    assert in_flight.get(("crm", "a")) is None
    in_flight.add(3, [("crm", "a")], ["event a again"])
    assert in_flight.get(("crm", "a")) == "event a again"
