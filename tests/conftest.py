"""Shared fixtures: engines on real SQLite files in temporary folders, or in memory."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Iterator

import pytest

from commands.bootstrap import Engine, open_engine
from commands.settings import Settings
from engine.ledger import InboundLine
from schemas.views import IngestCounts
from tests.builders import line

# A shell's background job (`bash .ci/run &`) starts with SIGINT ignored, and an ignored
# signal is inherited by every command a test starts: the Ctrl-C tests would then find
# `billing ingest` deaf to it (measured: exit 1 after the whole ingest, not 130). A
# handler here is reset to the default in each child, as a terminal's would be.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def record(engine: Engine, events: Iterable[dict | str | bytes], batch_size: int = 5000) -> IngestCounts:
    """Records events (dicts, raw strings or bytes) through the ledger, views included
    (written at the end, as `billing ingest` writes them)."""
    raws = [e if isinstance(e, bytes) else line(e) for e in events]
    total = IngestCounts()
    for start in range(0, len(raws), batch_size):
        batch = [InboundLine(raw) for raw in raws[start : start + batch_size]]
        total.add(engine.ledger.record_batch(batch, engine.projection).counts)
    engine.projection.bring_up_to_date(engine.ledger)
    return total


@pytest.fixture
def open_url() -> Iterator[Callable[..., Engine]]:
    """Opens engines on store URLs (`create=False` as a read command does); all are closed after."""
    opened: list[Engine] = []

    def _open(url: str, *, create: bool = True, **settings: str) -> Engine:
        engine = open_engine(Settings(store_url=url, **settings), create=create)
        opened.append(engine)
        return engine

    yield _open
    for engine in opened:
        engine.close()


@pytest.fixture
def open_store(tmp_path, open_url) -> Callable[..., Engine]:
    """Opens engines on SQLite files in a temporary folder (`memory=True` for memory://)."""

    def _open(name: str = "billing.db", *, memory: bool = False, **settings: str) -> Engine:
        return open_url("memory://" if memory else f"sqlite:///{tmp_path / name}", **settings)

    return _open


@pytest.fixture
def store(open_store) -> Engine:
    """A fresh engine on a SQLite file (CNY, Asia/Shanghai)."""
    return open_store()


# A real PostgreSQL server for the session (BILLING_TEST_POSTGRES, or a throwaway one).
# A real Kafka-protocol broker for integration tests: $KAFKA_BOOTSTRAP, else an in-memory Tansu.
from tests.kafka_broker import kafka_bootstrap  # noqa: E402, F401
from tests.postgres_server import postgres_dsn, postgres_fresh_dsn  # noqa: E402, F401

# Tests that use the real broker or the real PostgreSQL server are marked by the
# fixtures they ask for, so `pytest -m "not kafka and not postgres"` runs without them.
_MARK_BY_FIXTURE = {
    "kafka_bootstrap": "kafka",
    "postgres_dsn": "postgres",
    "postgres_fresh_dsn": "postgres",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, mark in _MARK_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(getattr(pytest.mark, mark))
