"""The views' fold held in memory across batches (projections/projector.py): written
every `WRITE_EVERY_EVENTS` events or when a command asks, dropped whenever it might be
wrong, and never the reason a view differs from the log."""

from __future__ import annotations

import msgspec
import pytest

from commands.queries import bills, period_views
from engine.ledger import InboundLine
from projections import projector
from tests.builders import associated, line, usage
from tests.conftest import record

PERIOD = "2026-10"


def month(customers: int = 6, per_customer: int = 5) -> list[dict]:
    events: list[dict] = []
    for c in range(customers):
        customer = f"c-{c}"
        events.append(associated(customer, f"p-{c % 2}", id=f"a-{c}", time="2026-09-01T00:00:00+08:00"))
        events.extend(
            usage(customer, id=f"u-{c}-{n}", quantity=f"{n + 1}.5", time=f"2026-10-{n + 2:02d}T10:00:00+08:00")
            for n in range(per_customer)
        )
    return events


def record_held(engine, events: list[dict], batch_size: int = 5) -> None:
    """Records batches as `billing ingest` does, without its final write of the views."""
    for start in range(0, len(events), batch_size):
        batch = [InboundLine(line(e)) for e in events[start : start + batch_size]]
        engine.ledger.record_batch(batch, engine.projection)


def views_of(engine) -> bytes:
    return msgspec.json.encode(period_views(engine, PERIOD))


def position(engine) -> int:
    return engine.projection.view.position(engine.ledger.name)


@pytest.fixture
def reference(open_store) -> bytes:
    engine = open_store("reference.db")
    record(engine, month(), batch_size=10_000)
    engine.projection.bring_up_to_date(engine.ledger)
    return views_of(engine)


def test_views_are_written_once_the_held_fold_is_large_enough(open_store, reference, monkeypatch):
    monkeypatch.setattr(projector, "WRITE_EVERY_EVENTS", 12)
    engine = open_store()
    events = month()
    record_held(engine, events[:5])
    assert position(engine) == 0  # 5 events held, none written
    record_held(engine, events[5:])
    assert 0 < position(engine) <= len(events)
    assert views_of(engine) == reference  # the read folds what is still held, from the log


def test_a_batch_that_rolls_back_leaves_nothing_in_the_views(open_store, reference, monkeypatch):
    engine = open_store()
    events = month()
    record_held(engine, events[:10])
    fold_then_fail = engine.projection.project_in

    def failing(cursor, ledger, recorded):
        fold_then_fail(cursor, ledger, recorded)  # folds into the held fold, then the batch fails
        raise RuntimeError("the store went away")

    monkeypatch.setattr(engine.projection, "project_in", failing)
    with pytest.raises(RuntimeError):
        record_held(engine, events[10:15])
    monkeypatch.undo()
    record_held(engine, events[10:])  # the same events again, now committed
    assert views_of(engine) == reference


def test_another_writer_moving_the_views_drops_the_held_fold(open_store, reference, monkeypatch):
    monkeypatch.setattr(projector, "WRITE_EVERY_EVENTS", 20)  # `one` writes while it records
    one = open_store()
    other = open_store()  # the same file, another process's view of it
    events = month()
    associations = [e for e in events if e["type"] == "customer.associated"]
    charges = [e for e in events if e["type"] != "customer.associated"]
    record(one, associations)
    one.projection.bring_up_to_date(one.ledger)
    record_held(one, charges[:12], batch_size=4)  # held by `one`
    assert bills(other, PERIOD)  # a read in `other`, which writes nothing
    other.projection.bring_up_to_date(other.ledger)  # a writer in `other` folds the log into the views
    record_held(one, charges[12:], batch_size=4)  # must not write the 12 again
    one.projection.bring_up_to_date(one.ledger)
    assert views_of(one) == views_of(other) == reference


def test_a_catch_up_whose_views_another_writer_moved_meanwhile_folds_nothing_twice(open_store, monkeypatch):
    """`catch_up` folds outside the write lock; a writer that moved the views between
    its read and its write must not have its events counted again."""
    first, second = open_store(), open_store()
    events = month()
    for start in range(0, len(events), 7):  # recorded with no projection, as with BILLING_PROJECTIONS=separate
        first.ledger.record_batch([InboundLine(line(e)) for e in events[start : start + 7]], None)
    fold_rows = projector.add_stored_rows
    interleaved = []

    def the_other_writer_first(delta, rows):
        if not interleaved:  # the first fold of `first`: `second` catches up before it writes
            interleaved.append("second's turn")
            interleaved.append(second.projection.catch_up(second.ledger))
        fold_rows(delta, rows)

    monkeypatch.setattr(projector, "add_stored_rows", the_other_writer_first)
    assert first.projection.catch_up(first.ledger) == 0, "everything was folded by the other writer"
    assert interleaved == ["second's turn", len(events)]

    reference = open_store("reference.db")
    record(reference, events)
    assert views_of(first) == views_of(reference)
