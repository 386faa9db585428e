"""The chain's worker process (engine/store/chain_worker.py): it hashes what the
parent would, and an answer the parent gave up on never stands for another job's."""

from __future__ import annotations

import time

import msgspec

from engine.log_entries import ZERO_HASH, chain_hashes
from engine.mapper import stored_row
from engine.store.chain_worker import ChainWorker
from tests.unit.test_log_entries import charge


def _rows(count: int, tag: str) -> list:
    return [stored_row(charge(id=f"{tag}-{n}", fact=msgspec.Raw(b'{"n":%d}' % n), list_units=n)) for n in range(count)]


def _digests(rows: list, position: int = 0) -> bytes:
    return bytes.fromhex(b"".join(chain_hashes(position, ZERO_HASH.encode(), rows)).decode())


def _until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker did not get there in time"
        time.sleep(0.01)


def test_the_worker_hashes_a_job_as_the_parent_would():
    worker = ChainWorker()
    try:
        worker.start()
        _until(worker._is_ready)
        rows = _rows(50, "a")
        assert worker.submit(7, ZERO_HASH.encode(), rows)
        assert worker.collect() == _digests(rows, 7)
    finally:
        worker.close()


def test_an_answer_given_up_on_is_dropped_and_the_next_job_gets_its_own():
    worker = ChainWorker()
    try:
        worker.start()
        _until(worker._is_ready)
        assert worker.submit(0, ZERO_HASH.encode(), _rows(3000, "slow"))
        assert worker.collect(timeout=0) is None  # not answered yet: given up on
        later = _rows(20, "next")
        _until(lambda: worker.submit(0, ZERO_HASH.encode(), later))  # once the stale answer is dropped
        assert worker.collect() == _digests(later)
        assert not worker._broken
    finally:
        worker.close()


def test_a_closed_worker_with_an_answer_in_flight_goes_away():
    worker = ChainWorker()
    worker.start()
    _until(worker._is_ready)
    process = worker._process
    assert worker.submit(0, ZERO_HASH.encode(), _rows(3000, "x"))
    worker.close()
    assert process.poll() is not None
