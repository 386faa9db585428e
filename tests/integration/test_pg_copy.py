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
