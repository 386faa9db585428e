"""Kafka positions are committed with the batch: a redelivered record is never counted twice."""

from __future__ import annotations

from engine.ledger import InboundLine
from tests.builders import line, usage


def _lines(start: int, raws: list[bytes], partition: int = 0) -> list[InboundLine]:
    return [InboundLine(raw, position=("billing.events", partition, start + i)) for i, raw in enumerate(raws)]


def test_a_redelivered_batch_is_skipped_and_keeps_no_second_rejection(store):
    raws = [line(usage("c-1", id="u-1")), b"not json", line(usage("c-1", id="u-2"))]
    first = store.ledger.record_batch(_lines(0, raws), store.projection)
    again = store.ledger.record_batch(_lines(0, raws), store.projection)
    assert (first.counts.accepted, first.counts.rejected, first.redelivered) == (2, 1, 0)
    assert (again.counts.accepted, again.counts.duplicates, again.counts.rejected, again.redelivered) == (0, 0, 0, 3)
    assert len(store.ledger.recorder.select_rejections()) == 1
    assert store.ledger.stored_positions({("billing.events", 0)}) == {("billing.events", 0): 3}


def test_a_batch_overlapping_what_was_recorded_records_only_the_new_records(store):
    raws = [line(usage("c-1", id=f"u-{i}")) for i in range(5)]
    store.ledger.record_batch(_lines(0, raws[:3]), store.projection)
    outcome = store.ledger.record_batch(_lines(2, raws[2:]), store.projection)
    assert (outcome.redelivered, outcome.counts.accepted, outcome.counts.duplicates) == (1, 2, 0)


def test_positions_are_kept_per_partition(store):
    store.ledger.record_batch(_lines(0, [line(usage("c-1"))], partition=0), store.projection)
    store.ledger.record_batch(_lines(7, [line(usage("c-2"))], partition=1), store.projection)
    positions = store.ledger.stored_positions({("billing.events", 0), ("billing.events", 1), ("billing.events", 2)})
    assert positions == {("billing.events", 0): 1, ("billing.events", 1): 8}
