"""SQLite connections: one idle connection stays open per store (each connection that
writes a batch gets a large page cache, so a pool of several would hold several)."""

from __future__ import annotations

from commands.queries import bills
from tests.builders import associated, usage
from tests.conftest import record

PERIOD = "2026-10"


def _events(customer: str, count: int) -> list[dict]:
    return [
        associated(customer, "p-1", id=f"a-{customer}", time="2026-09-01T00:00:00+08:00"),
        *(usage(customer, id=f"u-{customer}-{n}", time=f"2026-10-{n + 2:02d}T10:00:00+08:00") for n in range(count)),
    ]


def test_a_file_store_keeps_one_idle_connection_after_concurrent_use(store):
    pool = store.ledger.recorder.datastore.pool
    with store.ledger.recorder.read_transaction(), store.ledger.recorder.read_transaction():
        record(store, _events("c-1", 3))  # a batch written while two readers hold connections
    assert pool.num_in_use == 0
    assert pool.num_in_pool == 1
    record(store, _events("c-2", 2))
    assert pool.num_in_pool == 1
    assert [len(bill.lines) > 0 for bill in bills(store, PERIOD)] == [True, True]
