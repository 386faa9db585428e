"""The hash chain on a real SQLite store (CONTRACT.md §11): positions, links, what
`verify` finds when a stored row is edited, dropped or moved, and the store checks."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from commands.log_chain import ChainBroken, log_entries, log_head
from commands.verify import StoreDamaged, verify
from engine.errors import Refused
from engine.log_entries import ZERO_HASH
from engine.store import log_chain
from schemas.engine_events import EngineEvent
from tests.builders import associated, month_of_events, order_paid, order_refunded, usage
from tests.conftest import record
from tests.unit.test_log_entries import reference_hash


class ProbeNoted(EngineEvent, kw_only=True):
    """A test's engine event."""

    LOG_TYPE = "probe.noted"
    note: str


def _note(engine, id_: str) -> None:
    engine.ledger.record_decision(lambda d: d.append(ProbeNoted, stream="probes", id=id_, note=id_))


def _db(tmp_path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "billing.db", isolation_level=None)


@pytest.fixture
def filled(store):
    """A store with a few batches of facts and two engine events between them."""
    record(store, [associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00"), usage("c-1", id="u-1")])
    _note(store, "n-1")
    record(store, [order_paid("c-1"), order_refunded("c-1"), usage("c-2", id="u-2", quantity="0.5")], batch_size=2)
    _note(store, "n-2")
    return store


def test_every_recorded_event_has_a_gapless_position_and_the_hash_of_its_entry_linked_to_the_one_before(filled):
    entries = [msgspec.to_builtins(entry) for entry in log_entries(filled)]
    assert [entry["position"] for entry in entries] == list(range(1, 8))
    assert [entry["type"] for entry in entries] == [
        "customer.associated",
        "usage.recorded",
        "probe.noted",
        "order.paid",
        "order.refunded",
        "usage.recorded",
        "probe.noted",
    ]
    prev = ZERO_HASH
    for entry in entries:
        assert entry["prev_hash"] == prev
        assert entry["hash"] == reference_hash(entry)
        prev = entry["hash"]
    assert msgspec.to_builtins(log_head(filled)) == {"position": 7, "hash": prev}
    refund = entries[4]["decision"]
    assert (refund["list_amount"], refund["settled_amount"]) == ("-10.00000000", "-10.00")


def test_recorded_at_never_decreases_along_the_log(filled):
    times = [entry.recorded_at for entry in log_entries(filled)]
    assert times == sorted(times)


def test_a_range_of_the_log_carries_the_hash_of_the_entry_before_it(filled):
    whole = list(log_entries(filled))
    part = list(log_entries(filled, 3, 5))
    assert [e.position for e in part] == [3, 4, 5]
    assert part == whole[2:5]
    assert list(log_entries(filled, 7, 100)) == whole[6:]
    assert list(log_entries(filled, 8)) == []


def test_an_untouched_store_verifies_and_names_its_head(filled):
    report = verify(filled)
    assert report.verified and report.head == log_head(filled)
    assert "2026-10" in report.periods


def test_a_changed_byte_in_a_stored_event_breaks_the_chain_at_its_position(filled, tmp_path):
    with _db(tmp_path) as db:
        (state,) = db.execute("SELECT state FROM stored_events WHERE rowid=6").fetchone()
        changed = state.replace(b'"u-2"', b'"u-3"', 1)
        assert changed != state
        db.execute("UPDATE stored_events SET state=? WHERE rowid=6", (changed,))
    report = verify(filled)
    assert (report.verified, report.position) == (False, 6)
    assert "does not match its hash" in report.problem


def test_a_stored_event_that_is_no_longer_json_breaks_the_chain_at_its_position(filled, tmp_path):
    with _db(tmp_path) as db:
        db.execute("UPDATE stored_events SET state=substr(state, 2) WHERE rowid=2")
    report = verify(filled)
    assert (report.verified, report.position) == (False, 2)


def test_deleting_the_last_event_breaks_the_chain_at_the_last_position(filled, tmp_path):
    with _db(tmp_path) as db:
        db.execute("DELETE FROM stored_events WHERE rowid=(SELECT MAX(rowid) FROM stored_events)")
    report = verify(filled)
    assert (report.verified, report.position) == (False, 7)
    assert "missing" in report.problem


def test_reordering_two_events_breaks_the_chain_at_the_first_of_them(filled, tmp_path):
    with _db(tmp_path) as db:
        rows = dict(db.execute("SELECT rowid, state FROM stored_events WHERE rowid IN (4, 5)").fetchall())
        db.execute("UPDATE stored_events SET state=? WHERE rowid=4", (rows[5],))
        db.execute("UPDATE stored_events SET state=? WHERE rowid=5", (rows[4],))
        db.execute("UPDATE stored_events SET topic=(SELECT topic FROM stored_events WHERE rowid=5) WHERE rowid=4")
    report = verify(filled)
    assert (report.verified, report.position) == (False, 4)


def test_an_event_stored_behind_the_chains_back_is_named_after_the_head(filled, tmp_path):
    with _db(tmp_path) as db:
        db.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version + 100, topic, state FROM stored_events WHERE rowid=2"
        )
    report = verify(filled)
    assert (report.verified, report.position) == (False, 8)
    assert "not in the chain" in report.problem


def test_an_edited_hash_in_the_chain_breaks_it_at_that_position(filled, tmp_path):
    with _db(tmp_path) as db:
        first_position, hashes = db.execute(
            "SELECT first_position, hashes FROM log_chain WHERE first_position<=5 ORDER BY first_position DESC"
        ).fetchone()
        offset = (5 - first_position) * 32
        edited = hashes[:offset] + bytes([hashes[offset] ^ 1]) + hashes[offset + 1 :]
        db.execute("UPDATE log_chain SET hashes=? WHERE first_position=?", (edited, first_position))
    report = verify(filled)
    assert (report.verified, report.position) == (False, 5)


def test_a_head_is_checked_against_the_chain(filled):
    entries = list(log_entries(filled))
    assert verify(filled, (3, entries[2].hash)).verified
    assert verify(filled, (0, ZERO_HASH)).verified
    wrong = verify(filled, (3, entries[3].hash))
    assert (wrong.verified, wrong.position) == (False, 3) and "not in the chain" in wrong.problem
    beyond = verify(filled, (8, entries[6].hash))
    assert not beyond.verified and "last position is 7" in beyond.problem


def test_an_engine_decision_reads_the_head_before_its_own_entries(filled):
    before = log_head(filled)

    def close(decision):
        head = decision.ledger.recorder.log_head_in(decision.cursor)
        decision.append(ProbeNoted, stream="probes", id="close", note=str(head))
        return head

    assert filled.ledger.record_decision(close) == (before.position, before.hash)
    after = list(log_entries(filled, before.position + 1))
    assert [(e.position, e.prev_hash, e.type) for e in after] == [(8, before.hash, "probe.noted")]


def test_a_refused_or_failed_transaction_leaves_no_position_behind(filled):
    def refuse(decision):
        decision.append(ProbeNoted, stream="probes", id="x", note="x")
        raise Refused("invalid_state", "no")

    head = log_head(filled)
    with pytest.raises(Refused):
        filled.ledger.record_decision(refuse)
    assert log_head(filled) == head
    _note(filled, "n-3")
    assert log_head(filled).position == head.position + 1
    assert verify(filled).verified


def test_recorded_times_follow_the_log_when_a_writer_clock_is_behind(open_store):
    ahead = open_store(now="2026-11-05T00:00:00Z")
    record(ahead, [associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00")])
    behind = open_store(now="2026-11-01T00:00:00Z")
    record(behind, [usage("c-1", id="u-1")])
    _note(behind, "n-1")
    times = [entry.recorded_at for entry in log_entries(behind)]
    assert times == ["2026-11-05T00:00:00.000000Z"] * 3
    assert verify(behind).verified


def _wait_until_ready(worker, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not worker._is_ready():
        assert time.monotonic() < deadline, "the chain worker never said it was ready"
        time.sleep(0.02)


def _fixed_clock_store(open_store, name: str):
    return open_store(name, now="2026-11-02T00:00:00Z")


def test_a_batch_hashed_by_the_worker_makes_the_chain_an_inline_hash_makes(open_store, monkeypatch):
    events = month_of_events(customers=12, usage_per_customer=6)
    inline = _fixed_clock_store(open_store, "inline.db")
    record(inline, events, batch_size=40)
    monkeypatch.setattr(log_chain, "MIN_ENTRIES", 10)
    by_worker = _fixed_clock_store(open_store, "worker.db")
    by_worker.ledger.recorder.prepare_chain_worker()
    worker = by_worker.ledger.recorder._worker()
    _wait_until_ready(worker)
    submitted = []
    submit = worker.submit
    monkeypatch.setattr(worker, "submit", lambda *a: submitted.append(submit(*a)) or submitted[-1])
    record(by_worker, events, batch_size=40)
    assert submitted and all(submitted)
    assert log_head(by_worker) == log_head(inline)
    assert list(log_entries(by_worker)) == list(log_entries(inline))
    assert verify(by_worker).verified


def test_engine_events_hashed_by_the_worker_are_rendered_from_their_stored_json(store, monkeypatch):
    monkeypatch.setattr(log_chain, "MIN_ENTRIES", 2)
    store.ledger.recorder.prepare_chain_worker()
    worker = store.ledger.recorder._worker()
    _wait_until_ready(worker)
    record(store, [associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00"), usage("c-1", id="u-1")])
    store.ledger.record_decision(
        lambda d: [d.append(ProbeNoted, stream="probes", id=f"n-{n}", note="é") for n in range(3)]
    )
    assert not worker._broken
    entries = list(log_entries(store))
    assert [e.type for e in entries] == ["customer.associated", "usage.recorded"] + ["probe.noted"] * 3
    assert entries[-1].fact.startswith('{"id":"n-2","note":"é",') and entries[-1].source == "billing"
    assert verify(store).verified


def test_without_asking_for_the_worker_every_batch_is_hashed_in_the_writer(open_store, monkeypatch):
    monkeypatch.setattr(log_chain, "MIN_ENTRIES", 10)
    store = _fixed_clock_store(open_store, "writer.db")
    record(store, month_of_events(customers=6, usage_per_customer=5), batch_size=30)
    assert "_chain_worker" not in store.ledger.recorder.__dict__  # no child was started
    assert verify(store).verified


def test_a_worker_that_dies_leaves_the_chain_to_be_hashed_inline(open_store, monkeypatch):
    monkeypatch.setattr(log_chain, "MIN_ENTRIES", 10)
    store = _fixed_clock_store(open_store, "dies.db")
    store.ledger.recorder.prepare_chain_worker()
    worker = store.ledger.recorder._worker()
    _wait_until_ready(worker)
    worker._process.kill()
    worker._process.wait()
    record(store, month_of_events(customers=6, usage_per_customer=5), batch_size=30)
    assert worker._broken
    assert verify(store).verified


def test_a_store_written_before_the_chain_is_chained_when_next_opened_for_writing(filled, open_store, tmp_path):
    head = log_head(filled)
    with _db(tmp_path) as db:
        db.execute("DELETE FROM log_chain")
    stale = verify(filled)
    assert (stale.verified, stale.position) == (False, 1)
    reopened = open_store()
    assert log_head(reopened) == head  # the same events, the same clock stamps: the same chain
    record(reopened, [usage("c-1", id="u-9")])
    assert verify(reopened).verified and log_head(reopened).position == 8


def test_a_store_read_before_it_has_a_chain_says_so_at_position_one(filled, open_store, tmp_path):
    with _db(tmp_path) as db:
        db.execute("DROP TABLE log_chain")
    reader = open_store(create=False)
    with pytest.raises(ChainBroken, match="no hash chain yet"):
        log_head(reader)
    report = verify(reader)
    assert (report.verified, report.position) == (False, 1) and "no hash chain yet" in report.problem


# --- the store's own checks ---------------------------------------------------------------


def test_an_accepted_event_whose_pair_is_not_taken_fails_the_store_check(filled, tmp_path):
    with _db(tmp_path) as db:
        db.execute("DELETE FROM event_ids WHERE id='u-2'")
    with pytest.raises(StoreDamaged, match=r"position 6.*'u-2'.*could be accepted again"):
        verify(filled)


def test_a_live_view_that_differs_from_the_replay_fails_the_store_check(filled, tmp_path):
    filled.projection.bring_up_to_date(filled.ledger)
    with _db(tmp_path) as db:
        db.execute("UPDATE view_bill_lines SET sums='1000000,0,1000000,1000000,0,1' WHERE customer_id='c-2'")
    filled.projection.view._sums_cache = {}
    with pytest.raises(StoreDamaged, match=r"live views differ from a replay.*c-2"):
        verify(filled)


def test_live_view_rows_that_cannot_be_read_fail_the_store_check(filled, tmp_path):
    filled.projection.bring_up_to_date(filled.ledger)
    with _db(tmp_path) as db:
        db.execute("UPDATE view_bill_lines SET sums='1,1,1,1,0,1' WHERE customer_id='c-2'")
    filled.projection.view._sums_cache = {}
    with pytest.raises(StoreDamaged, match="live views can't be read"):
        verify(filled)


def test_a_feature_check_that_finds_a_problem_fails_the_store_check(filled):
    filled.ledger.store_checks.append(lambda ledger: "accounts: the balances add up to 0.01, not zero")
    with pytest.raises(StoreDamaged, match="balances add up"):
        verify(filled)


def test_an_empty_store_verifies_with_the_empty_head(open_store):
    empty = open_store()
    report = verify(empty)
    assert report.verified and (report.head.position, report.head.hash) == (0, ZERO_HASH)
    assert list(log_entries(empty)) == []


def test_a_day_of_clock_steps_back_within_one_process_keeps_the_log_in_order(store):
    moments = iter([datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)])
    store.ledger.clock = lambda: next(moments, datetime(2026, 11, 1, tzinfo=UTC)) + timedelta(0)
    record(store, [associated("c-1", "p-1", time="2026-09-01T00:00:00+08:00")])
    record(store, [usage("c-1", id="u-1")])
    times = [entry.recorded_at for entry in log_entries(store)]
    assert times[0] == times[1] == "2026-11-03T00:00:00.000000Z"
