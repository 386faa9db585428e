"""The hash chain on PostgreSQL with several writers at once: one chain, no gap, whole.

Writers share customers, so their batches conflict on stream versions and are decided
again: the failed attempts burn notification ids (PostgreSQL's sequence never gives
them back), yet positions stay gapless and every entry links to the one before.
"""

from __future__ import annotations

import os
import subprocess

import msgspec
import pytest

from commands.bootstrap import open_engine
from commands.demo import generate_month
from commands.log_chain import log_entries, log_head
from commands.settings import Settings
from commands.verify import verify
from engine.log_entries import ZERO_HASH
from tests.unit.test_log_entries import reference_hash
from testsupport.cli_runner import BILLING

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

WRITERS = 4


def test_concurrent_writers_on_one_postgres_store_make_one_gapless_chain_that_verifies(tmp_path, postgres_fresh_dsn):
    lines = list(generate_month(customers=40, seed=11, period="2026-10", events=3000))
    slices = []
    for writer in range(WRITERS):  # every writer gets every customer's events, in turn
        path = tmp_path / f"writer-{writer}.jsonl"
        path.write_bytes(b"\n".join(lines[writer::WRITERS]) + b"\n")
        slices.append(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")} | {"BILLING_STORE": postgres_fresh_dsn}
    assert subprocess.run(
        [str(BILLING), "ingest", str(slices[0]), "--batch-size", "1"], env=env, capture_output=True, timeout=120
    ).returncode in (0, 1)  # creates the tables first
    writers = [
        subprocess.Popen(
            [str(BILLING), "ingest", "--json", "--batch-size", "25", str(path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for path in slices[1:]
    ]
    outputs = [writer.communicate(timeout=240) for writer in writers]
    for writer, (_out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode in (0, 1), err.decode()

    with open_engine(Settings(store_url=postgres_fresh_dsn), create=False) as engine:
        recorder = engine.ledger.recorder
        with recorder.read_transaction() as c:
            head, stored, last_id = recorder.chain_bounds_in(c)
        entries = [msgspec.to_builtins(entry) for entry in log_entries(engine)]
        report = verify(engine)
        assert report.verified, report.problem
        assert report.head == log_head(engine)
    assert head == stored == len(entries) > 0
    assert [entry["position"] for entry in entries] == list(range(1, head + 1))
    prev, recorded_at = ZERO_HASH, ""
    for entry in entries:
        assert entry["prev_hash"] == prev and entry["hash"] == reference_hash(entry)
        assert entry["recorded_at"] >= recorded_at
        prev, recorded_at = entry["hash"], entry["recorded_at"]
    print(f"{head} entries, notification ids up to {last_id}")  # a higher last id: burned ids


def test_batches_hashed_by_the_worker_chain_on_postgres_as_inline(open_url, postgres_fresh_dsn, monkeypatch):
    from engine.store import log_chain
    from tests.builders import month_of_events
    from tests.conftest import record
    from tests.integration.test_log_chain import _wait_until_ready

    monkeypatch.setattr(log_chain, "MIN_ENTRIES", 10)
    engine = open_url(postgres_fresh_dsn, now="2026-11-02T00:00:00Z")
    engine.ledger.recorder.prepare_chain_worker()
    worker = engine.ledger.recorder._worker()
    _wait_until_ready(worker)
    record(engine, month_of_events(customers=8, usage_per_customer=6), batch_size=30)
    assert not worker._broken and worker._ready
    report = verify(engine)
    assert report.verified, report.problem
    assert report.head.position == engine.ledger.recorder.count_events()
