"""Engine decisions (`Ledger.record_decision`): events the engine records itself share
the log with the inbound facts, a refusal records nothing, and the views of §4 never
see them."""

from __future__ import annotations

import pytest

from commands.queries import period_views, view_settings
from engine.errors import Refused
from engine.mapper import decode_event, is_engine_topic
from projections.replay import replay_period
from schemas.engine_events import EngineEvent
from tests.builders import associated, usage
from tests.conftest import record


class ProbeRecorded(EngineEvent, kw_only=True):
    """A test's engine event."""

    LOG_TYPE = "probe.recorded"
    note: str


def _log(engine):
    with engine.ledger.recorder.read_transaction() as c:
        return engine.ledger.recorder.select_notifications_in(c, 0, 1000)


def test_engine_events_are_appended_to_their_stream_in_the_log(store):
    record(store, [associated("c-1", "p-1"), usage("c-1")])
    first = store.ledger.record_decision(lambda d: d.append(ProbeRecorded, stream="probes", id="a", note="one"))
    second = store.ledger.record_decision(lambda d: d.append(ProbeRecorded, stream="probes", id="b", note="two"))
    assert (first.originator_version, second.originator_version) == (1, 2)
    rows = _log(store)
    assert len(rows) == 4
    engine_rows = [row for row in rows if is_engine_topic(row[1])]
    assert [decode_event(row[1], row[2]).note for row in engine_rows] == ["one", "two"]
    assert decode_event(engine_rows[0][1], engine_rows[0][2]).recorded_at == first.recorded_at


def test_a_refused_decision_records_nothing(store):
    def refuse(decision):
        decision.append(ProbeRecorded, stream="probes", id="a", note="never")
        raise Refused("invalid_state", "no")

    with pytest.raises(Refused):
        store.ledger.record_decision(refuse)
    assert _log(store) == []


def test_views_and_replay_ignore_engine_events(store):
    record(store, [associated("c-1", "p-1"), usage("c-1")])
    before = period_views(store, "2026-10")
    store.ledger.record_decision(lambda d: d.append(ProbeRecorded, stream="probes", id="a", note="x"))
    record(store, [usage("c-1", id="u-2")])
    live = period_views(store, "2026-10")
    replayed, _ = replay_period(store.ledger, view_settings(store, "2026-10"), store.ledger.now())
    assert live == replayed
    assert live.bills[0].charges == before.bills[0].charges + 1


def test_batch_hooks_append_engine_events_in_the_batch_transaction(store):
    seen = []

    def hook(decision, recorded):
        seen.append(len(recorded))
        decision.append(ProbeRecorded, stream="probes", id=f"after-{len(seen)}", note="hooked")

    store.ledger.batch_hooks.append(hook)
    record(store, [associated("c-1", "p-1"), usage("c-1")])
    rows = _log(store)
    assert seen == [2]
    assert [is_engine_topic(row[1]) for row in rows] == [False, False, True]


def test_an_engine_stream_never_shares_a_name_with_a_customer_stream(store):
    # A customer whose id is the engine stream's plain name still ingests.
    event = store.ledger.record_decision(lambda d: d.append(ProbeRecorded, stream="probes", id="a", note="x"))
    assert len(event.originator_id) > 64 and event.originator_id.endswith("probes")
    counts = record(store, [associated("probes", "p-1"), usage("probes")])
    assert (counts.accepted, counts.rejected) == (2, 0)
