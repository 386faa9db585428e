"""Which offsets a poll leaves, how many records wait behind it, and when serve
publishes (commands/serve_service.py): rarer rounds while catching up, none while a
batch is being recorded."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiokafka import TopicPartition

from commands import serve_service
from commands.kafka_binding import next_offsets
from commands.serve_service import BillingService, waiting_records
from commands.settings import Settings


@dataclass
class Record:
    topic: str
    partition: int
    offset: int


class Consumer:
    def __init__(self, highwaters: dict[TopicPartition, int]):
        self.highwaters = highwaters

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.highwaters.get(tp)

    def assignment(self) -> set[TopicPartition]:
        return set(self.highwaters)


POLL = [Record("t", 0, 5), Record("t", 1, 0), Record("t", 0, 6), Record("t", 1, 1), Record("t", 0, 7)]


def test_a_poll_leaves_each_partition_after_its_last_record():
    assert next_offsets(POLL) == {TopicPartition("t", 0): 8, TopicPartition("t", 1): 2}


def test_records_waiting_are_counted_from_the_high_watermarks_known():
    consumer = Consumer({TopicPartition("t", 0): 20, TopicPartition("t", 1): 2})
    assert waiting_records(next_offsets(POLL), consumer) == 12
    assert waiting_records(next_offsets(POLL), Consumer({})) == 0, "no watermark known: nothing counted as waiting"


def test_records_waiting_behind_count_every_partition_assigned_not_only_those_just_polled():
    billing = service()
    consumer = Consumer({TopicPartition("t", 0): 20, TopicPartition("t", 1): 2, TopicPartition("t", 2): 500})
    assert billing._waiting_behind({TopicPartition("t", 2): 100}, consumer) == 400
    # The next poll holds partitions 0 and 1, near their end: partition 2 still waits.
    assert billing._waiting_behind(next_offsets(POLL), consumer) == 12 + 400
    consumer.highwaters.pop(TopicPartition("t", 2))  # revoked: no longer counted
    assert billing._waiting_behind({}, consumer) == 12


def service() -> BillingService:
    return BillingService(Settings(store_url="memory://"), opener=None, app=None, broker=None)


def test_publishing_is_rarer_while_catching_up():
    billing = service()
    billing._last_round_seconds = 1.0
    billing._last_published = time.monotonic() - 6.0  # 6 s since a round of 1 s
    assert billing._publishing_due(catching_up=False), "after 4 x the round"
    assert not billing._publishing_due(catching_up=True), "not before 19 x the round"
    billing._last_published = time.monotonic() - 20.0
    assert billing._publishing_due(catching_up=True)


def test_the_idle_round_waits_while_a_batch_is_being_recorded(monkeypatch):
    monkeypatch.setattr(serve_service, "PUBLISH_INTERVAL_SECONDS", 0.01)
    billing = service()
    published: list[float] = []

    async def publish() -> None:
        published.append(time.monotonic())

    billing._publish = publish
    billing._unpublished = True

    async def scenario() -> None:
        idle = asyncio.create_task(billing._publish_when_idle())
        async with billing._turn:  # a batch taking far longer than the interval
            billing._last_recorded = time.monotonic() - 1.0
            await asyncio.sleep(0.2)
            billing._last_recorded = time.monotonic()  # ... and just recorded
        await asyncio.sleep(0.005)
        assert published == [], "neither during the batch nor right after it"
        await asyncio.sleep(0.2)
        idle.cancel()

    asyncio.run(scenario())
    assert published, "once quiet, the round comes"


class AheadRecording:
    """What serve's handler and rounds use of `AheadRecording`."""

    def __init__(self):
        self.flushes = 0
        self.handed: list[int] = []
        self.commits_paused = object()

    async def submit(self, records, offsets) -> None:
        self.handed.append(len(records))

    async def flush(self) -> None:
        self.flushes += 1

    def take_offsets(self) -> dict:
        return {}


class Publisher:
    def __init__(self):
        self.rounds: list[dict] = []

    async def publish_pending(self, send, **how) -> int:
        self.rounds.append(how)
        return 0


class GroupConsumer(Consumer):
    async def commit(self, offsets) -> None:
        pass


def test_deciding_ahead_a_catching_up_round_reads_between_commits_without_a_flush():
    billing = service()
    billing.ahead, billing.publisher = AheadRecording(), Publisher()
    consumer = GroupConsumer({TopicPartition("t", 0): 1_000, TopicPartition("t", 1): 1_000})
    asyncio.run(billing.handle(POLL, consumer))  # far behind: a round is due, catching up
    assert billing.ahead.handed == [5] and billing.ahead.flushes == 0, "the decider goes on while the round reads"
    (how,) = billing.publisher.rounds
    assert how["fold_views"] is False and how["reading"]() is billing.ahead.commits_paused
    assert billing._unpublished, "what the views have not folded yet goes out in a later round"

    asyncio.run(billing._publish())  # a quiet round, a close's, the stop's
    assert billing.ahead.flushes == 1 and billing.publisher.rounds[1] == {}, "every batch first, as before"
    assert not billing._unpublished
