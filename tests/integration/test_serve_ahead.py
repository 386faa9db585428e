"""`billing serve` with its batches decided by a child process (commands/serve_ahead.py):
the records handed over as `Lines`, committed by a thread here in the order polled, with
their Kafka positions. Driven on an event loop with records made here (no broker: the
Kafka path as a whole is tests/integration/test_serve.py's, which runs this way by
default), a real decider process and a real SQLite store."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass

import pytest

from commands.bootstrap import open_engine
from commands.changed_ranges import ChangedRanges
from commands.publisher import ViewPublisher
from commands.serve_ahead import AheadRecording, DeciderGone, serve_decides_ahead
from commands.settings import Settings
from engine.batch_types import InboundLine
from tests.builders import associated, line, usage
from tests.conftest import record
from tests.integration.test_backends import all_views
from tests.integration.test_ingest_ahead import store_tables

pytestmark = pytest.mark.timeout(120)

NOW = "2026-11-05T08:00:00Z"
TOPIC = "billing.events"


@dataclass
class Record:
    """What the service reads of an aiokafka ConsumerRecord."""

    topic: str
    partition: int
    offset: int
    value: bytes
    headers: tuple = ()


def records_of(raws: list[bytes], partitions: int = 2) -> list[Record]:
    """The lines spread over partitions in turn, each partition's offsets from 0."""
    offsets = [0] * partitions
    made = []
    for at, raw in enumerate(raws):
        partition = at % partitions
        made.append(Record(TOPIC, partition, offsets[partition], raw))
        offsets[partition] += 1
    return made


def month_lines() -> list[bytes]:
    customers = [f"c-{n}" for n in range(5)]
    lines = [line(associated(c, "p-1", time="2026-09-15T00:00:00+08:00")) for c in customers]
    lines += [
        line(usage(c, id=f"u-{c}-{n}", time=f"2026-10-{1 + n:02d}T10:00:00+08:00")) for n in range(6) for c in customers
    ]
    lines.insert(12, lines[7])  # a duplicate
    lines.insert(20, b"not json")  # kept as a rejection
    return lines


class Served:
    """An `AheadRecording` on a store, with what it told the service."""

    def __init__(self, url: str):
        self.engine = open_engine(Settings(store_url=url, now=NOW), create=True)
        self.batches: list[tuple[int, object]] = []
        self.failures: list[BaseException] = []
        self.ahead: AheadRecording | None = None

    async def start(self, changed_ranges: ChangedRanges | None = None) -> AheadRecording:
        self.ahead = AheadRecording(
            self.engine, lambda n, outcome: self.batches.append((n, outcome)), self.failures.append, changed_ranges
        )
        await asyncio.to_thread(self.ahead.start)
        return self.ahead

    async def stop(self) -> None:
        if self.ahead is not None:
            await asyncio.to_thread(self.ahead.stop)
        self.engine.close()


@pytest.fixture
def decider_env(monkeypatch):
    monkeypatch.setenv("BILLING_NOW", NOW)  # the decider's clock, as the writer's


def one_process_store(url: str, polls: list[list[Record]]) -> None:
    engine = open_engine(Settings(store_url=url, now=NOW), create=True)
    try:
        for poll in polls:
            engine.ledger.record_batch(
                [InboundLine(r.value, (r.topic, r.partition, r.offset)) for r in poll], engine.projection
            )
        engine.projection.bring_up_to_date(engine.ledger)
    finally:
        engine.close()


def test_serve_ahead_stores_what_serve_in_one_process_stores(tmp_path, decider_env):
    records = records_of(month_lines())
    # Polls as a consumer hands them over, one repeated after a "rebalance" (seek back
    # to offsets a batch in flight had not yet committed): skipped, never counted twice.
    polls = [records[:9], records[9:17], records[5:17], records[17:]]

    async def serve() -> Served:
        served = Served(f"sqlite:///{tmp_path / 'ahead.db'}")
        ahead = await served.start()
        try:
            for poll in polls:
                await ahead.submit(poll)
            await ahead.flush()
            offsets = ahead.take_offsets()
        finally:
            await served.stop()
        served.offsets = offsets
        return served

    served = asyncio.run(serve())
    one_process_store(f"sqlite:///{tmp_path / 'one.db'}", polls)

    assert not served.failures
    assert [n for n, _ in served.batches] == [len(poll) for poll in polls]
    assert sum(outcome.redelivered for _, outcome in served.batches) == 12
    ahead_tables, one_tables = store_tables(tmp_path / "ahead.db"), store_tables(tmp_path / "one.db")
    assert ahead_tables.keys() == one_tables.keys()
    for name in ahead_tables:
        assert ahead_tables[name] == one_tables[name], name
    last = {p: max(r.offset for r in records if r.partition == p) + 1 for p in (0, 1)}
    assert {tp.partition: offset for tp, offset in served.offsets.items()} == last


def test_a_flush_waits_for_every_batch_and_the_views(tmp_path, decider_env, open_url):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    raws = month_lines()

    async def serve() -> None:
        served = Served(url)
        ahead = await served.start()
        try:
            for poll in (records_of(raws)[:15], records_of(raws)[15:]):
                await ahead.submit(poll)
            await ahead.flush()
            assert len(served.batches) == 2, "both batches committed when the flush returns"
            assert not served.engine.projection.is_behind(served.engine.ledger), "the decider's views applied"
        finally:
            await served.stop()

    asyncio.run(serve())
    expected = open_url("memory://", now=NOW)
    record(expected, raws)
    assert all_views(open_url(url, create=False)) == all_views(expected)


def test_the_publisher_is_told_what_each_batch_changed_and_publishes_what_reading_back_would(tmp_path, decider_env):
    records = records_of(month_lines())
    polls = [records[:9], records[9:17], records[17:]]
    ranges = ChangedRanges()

    async def serve() -> Served:
        served = Served(f"sqlite:///{tmp_path / 'store.db'}")
        ahead = await served.start(ranges)
        try:
            for poll in polls:
                await ahead.submit(poll)
            await ahead.flush()
        finally:
            await served.stop()
        return served

    served = asyncio.run(serve())
    with open_engine(Settings(store_url=f"sqlite:///{tmp_path / 'store.db'}", now=NOW), create=False) as engine:
        told = ViewPublisher(engine)
        told.changed_ranges = ranges
        work, reference = told.pending(), ViewPublisher(engine).pending()
        first = min(outcome.recorded[0][0] for _, outcome in served.batches)
    chain, after = [], first - 1  # the batches joined in one range (no views handed over between them)
    while (told_range := ranges.starting_at(after)) is not None:
        chain.append(told_range.last - after)
        after = told_range.last
    assert len(served.batches) > 1
    assert chain == [sum(len(outcome.recorded) for _, outcome in served.batches)]
    assert sum(m.topic == "billing.bills" for m in work.messages) == 5, "not an empty round: a bill a customer"
    assert [(m.topic, m.key, m.value) for m in work.messages] == [(m.topic, m.key, m.value) for m in reference.messages]
    assert work.positions == reference.positions


def test_a_round_holding_the_commits_keeps_the_batches_handed_over_from_committing(tmp_path, decider_env):
    async def serve() -> None:
        served = Served(f"sqlite:///{tmp_path / 'store.db'}")
        ahead = await served.start()
        try:
            ahead.commits_paused.acquire()  # as a publishing round between commits does
            try:
                await ahead.submit(records_of(month_lines())[:10])
                await asyncio.sleep(1.5)  # time enough to decide and commit 10 lines many times over
                assert served.batches == [], "decided, not committed while the round reads"
            finally:
                ahead.commits_paused.release()
            await asyncio.wait_for(ahead.flush(), 30)
            assert [n for n, _ in served.batches] == [10]
        finally:
            await served.stop()

    asyncio.run(serve())


def test_a_batch_another_writer_changed_is_decided_again_and_the_flush_still_answers(tmp_path, decider_env, open_url):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    setup = open_url(url, now=NOW)
    record(setup, [associated("c-a", "p-1", time="2026-09-15T00:00:00+08:00")])
    first = [line(usage("c-a", id=f"u-{n}", time=f"2026-10-{1 + n:02d}T10:00:00+08:00")) for n in range(3)]
    second = [line(usage("c-a", id=f"v-{n}", time=f"2026-10-{5 + n:02d}T10:00:00+08:00")) for n in range(3)]
    records = records_of(first + second, partitions=1)

    async def serve() -> Served:
        served = Served(url)
        ahead = await served.start()
        try:
            await ahead.submit(records[:3])
            await ahead.flush()
            # Another writer appends to c-a's stream: the decider's cached state is stale.
            record(open_url(url, now=NOW), [line(usage("c-a", id="other", time="2026-10-20T10:00:00+08:00"))])
            await ahead.submit(records[3:])
            await asyncio.wait_for(ahead.flush(), 30)
        finally:
            await served.stop()
        return served

    served = asyncio.run(serve())
    assert not served.failures
    assert served.engine.ledger.batch_timing.conflicts >= 1, "the second batch conflicted"
    assert [outcome.counts.accepted for _, outcome in served.batches] == [3, 3]
    check = open_url(url, create=False)
    assert check.ledger.stored_positions({(TOPIC, 0)}) == {(TOPIC, 0): 6}


def test_the_decider_killed_stops_recording_and_says_so(tmp_path, decider_env):
    async def serve() -> Served:
        served = Served(f"sqlite:///{tmp_path / 'store.db'}")
        ahead = await served.start()
        try:
            await ahead.submit(records_of(month_lines())[:5])
            await ahead.flush()
            pid = _decider_pid()
            os.kill(pid, signal.SIGKILL)
            with pytest.raises(DeciderGone):
                for _ in range(50):  # until the thread has seen the pipe close
                    await ahead.submit(records_of(month_lines())[5:8])
                    await ahead.flush()
        finally:
            await served.stop()
        return served

    served = asyncio.run(serve())
    assert len(served.failures) == 1
    assert [n for n, _ in served.batches] == [5], "the batch before the kill stays recorded"


def _decider_pid() -> int:
    """The one decider process this test's process started."""
    children = [
        int(pid)
        for pid in os.listdir("/proc")
        if pid.isdigit() and _parent_of(int(pid)) == os.getpid() and b"decider_process" in _cmdline(int(pid))
    ]
    assert len(children) == 1, children
    return children[0]


def _parent_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except OSError:
        return -1


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return b""


@pytest.mark.parametrize(
    ("store", "setting", "cores", "expected"),
    [
        ("sqlite:///x.db", "auto", 2, True),
        ("sqlite:///x.db", "auto", 1, False),
        ("sqlite:///x.db", "off", 2, False),
        ("sqlite:///x.db", "on", 1, True),
        ("postgresql://u@h/db", "auto", 2, False),
        ("postgresql://u@h/db", "on", 2, False),
        ("memory://", "on", 2, False),
    ],
)
def test_when_serve_decides_ahead(monkeypatch, store, setting, cores, expected):
    monkeypatch.setattr("commands.serve_ahead.usable_cores", lambda: cores)
    assert serve_decides_ahead(Settings(store_url=store, decide_ahead=setting)) is expected
