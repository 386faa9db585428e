"""The PostgreSQL recorder appends by binary COPY with fields encoded ahead of the lock:
what goes in comes back byte for byte, whatever the text holds."""

from __future__ import annotations

from commands.bootstrap import open_engine
from commands.settings import Settings
from engine.ledger import InboundLine
from engine.mapper import stored_row
from tests.builders import associated, line

AWKWARD = ["c-\t1", "c-\n2", "c-\\3", "客户-4", "c-\x01 5", "c-6 " * 16]


def test_rows_and_pairs_copied_in_come_back_byte_for_byte(postgres_fresh_dsn):
    engine = open_engine(Settings(store_url=postgres_fresh_dsn, projections="separate"), create=True)
    try:
        events = [
            associated(customer, "p-1", time="2026-09-15T00:00:00+08:00", source=f"src\\{i}\t", id=f"id\n{i}{customer}")
            for i, customer in enumerate(AWKWARD)
        ]
        outcome = engine.ledger.record_batch([InboundLine(line(event)) for event in events])
        assert outcome.counts.accepted == len(events)
        recorder = engine.ledger.recorder
        with recorder.read_transaction() as c:
            stored = recorder.rows(
                c,
                f"SELECT notification_id, originator_id, originator_version, topic, state FROM {recorder.events_table} "
                "ORDER BY notification_id",
            )
            expected = [(nid, *stored_row(event)) for nid, event in outcome.recorded]
            assert [(r[0], r[1], r[2], r[3], bytes(r[4])) for r in stored] == expected
            pairs = [(event["source"], event["id"]) for event in events]
            assert recorder.select_taken_ids(c, pairs) == {
                pair: nid for pair, (nid, _) in zip(pairs, outcome.recorded, strict=True)
            }
        again = engine.ledger.record_batch([InboundLine(line(event)) for event in events])
        assert (again.counts.accepted, again.counts.duplicates) == (0, len(events))
    finally:
        engine.close()


def test_a_store_whose_pairs_name_notification_ids_is_migrated_and_both_kinds_are_found(postgres_fresh_dsn):
    """A store written before pairs named their events by stream and version: opening it
    for writing adds the columns; its old pairs and the new ones both deduplicate."""
    from commands.verify import verify

    first = [associated(f"c-{n}", "p-1", time="2026-09-15T00:00:00+08:00", id=f"old-{n}") for n in range(3)]
    later = [associated(f"c-{n}", "p-1", time="2026-09-16T00:00:00+08:00", id=f"new-{n}") for n in range(3, 5)]
    settings = Settings(store_url=postgres_fresh_dsn, projections="separate")
    engine = open_engine(settings, create=True)
    try:
        assert engine.ledger.record_batch([InboundLine(line(event)) for event in first]).counts.accepted == 3
        recorder = engine.ledger.recorder
        with recorder.write_transaction() as c:  # back to the layout before this change
            recorder.execute(
                c,
                f"UPDATE {{t}}event_ids p SET notification_id = e.notification_id FROM {recorder.events_table} e "
                "WHERE e.originator_id = p.originator_id AND e.originator_version = p.originator_version",
            )
            recorder.execute(c, "ALTER TABLE {t}event_ids DROP COLUMN originator_id, DROP COLUMN originator_version")
            recorder.execute(c, "ALTER TABLE {t}event_ids ALTER COLUMN notification_id SET NOT NULL")
    finally:
        engine.close()
    engine = open_engine(settings, create=True)
    try:
        again = engine.ledger.record_batch([InboundLine(line(event)) for event in first + later])
        assert (again.counts.accepted, again.counts.duplicates) == (2, 3)
        repeat = engine.ledger.record_batch([InboundLine(line(event)) for event in first + later])
        assert (repeat.counts.accepted, repeat.counts.duplicates) == (0, 5)
        verify(engine)
    finally:
        engine.close()
