"""The service behind `billing serve` (commands/serve.py builds the app around it): each
batch recorded, then published in rounds; the periods due closed by a periodic turn
(BILLING_CLOSE_AFTER). Recording, publishing and closing take turns, never overlap."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aiokafka import ConsumerRecord
from faststream import FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import Consumer

from commands.ingest import inline_projector
from commands.kafka_binding import inbound_value, next_offsets
from commands.publisher import Outgoing, ViewPublisher
from commands.serve_ahead import AheadRecording, Offsets, serve_decides_ahead
from commands.settings import Settings
from commands.statements import close_due_periods
from engine.batch_timing import BatchTiming
from engine.batch_types import BatchOutcome
from engine.errors import Refused
from engine.ledger import InboundLine
from engine.statements.schedule import parse_duration

if TYPE_CHECKING:
    from commands.bootstrap import Engine

Opener = Callable[[], "Engine"]  # opens the store for writing; the caller closes what it returns

log = logging.getLogger("billing.serve")  # the service's log lines, as `billing serve` writes them
PUBLISH_INTERVAL_SECONDS = 1.0
PUBLISH_IDLE_FACTOR = 4  # idle this many times the last round's length between rounds, when busy
# ... and this many times while catching up (more than a batch of records waiting in the
# partitions assigned, past what was polled): the views are behind the broker anyway, and each changed view
# goes out once a round, so rarer rounds publish the same views fewer times.
PUBLISH_CATCHING_UP_FACTOR = 19
FINAL_PUBLISH_TIMEOUT_SECONDS = 10.0
FINAL_FLUSH_TIMEOUT_SECONDS = 30.0  # deciding ahead: the batches in flight, committed at the stop
CLOSE_CHECK_SECONDS = 1.0  # how often serve looks for a period due to close (BILLING_CLOSE_AFTER)


class BillingService:
    """The consumer's handler with its engine and publisher."""

    def __init__(
        self,
        settings: Settings,
        opener: Opener,
        app: FastStream,
        broker: KafkaBroker,
        stop_requested: threading.Event | None = None,
    ):
        self.settings = settings
        self.opener = opener
        self.stop_requested = stop_requested or threading.Event()
        self.app = app
        self.broker = broker
        self.engine: Engine | None = None
        self.publisher: ViewPublisher | None = None
        # Set at start when a child process decides the batches (commands/serve_ahead.py).
        self.ahead: AheadRecording | None = None
        self.failed = False
        self.subscriber = None
        self._turn = asyncio.Lock()  # recording and publishing, one at a time
        self._unpublished = False  # recorded since the last publication
        self._last_published = 0.0  # when the last publishing round ended (monotonic)
        self._last_round_seconds = 0.0
        self._last_recorded = 0.0  # when the last batch was recorded (monotonic)
        self._read_to: Offsets = {}  # each partition's next offset after the polls so far
        self._publish_when_idle_task: asyncio.Task | None = None
        self._close_when_due_task: asyncio.Task | None = None
        self._stopping = False
        # Fails at once (exit 2) on a duration that can't be read.
        self.close_after = parse_duration(settings.close_after) if settings.close_after else None

    def consumer(self):
        return getattr(self.subscriber, "consumer", None)

    async def start(self) -> None:
        if self.stop_requested.is_set():  # asked while loading, before the app's own handlers
            self._stopping = True
            self.app.exit()
            return
        self.engine = await asyncio.to_thread(self.opener)
        if self.settings.chain_worker:
            self.engine.ledger.recorder.prepare_chain_worker()
        self.publisher = ViewPublisher(self.engine)
        if serve_decides_ahead(self.settings):
            self.ahead = AheadRecording(
                self.engine, self._recorded, self._recording_failed, self.publisher.changed_ranges
            )
            await asyncio.to_thread(self.ahead.start)

    async def publish_backlog(self) -> None:
        # Whatever a previous run (or `billing ingest`) recorded but did not publish.
        async with self._turn:
            if self._stopping or self.publisher is None:  # stopped while starting
                return
            await self._publish()
        self._publish_when_idle_task = asyncio.create_task(self._publish_when_idle())
        if self.close_after is not None:
            self._close_when_due_task = asyncio.create_task(self._close_when_due())

    async def _publish(self, between_commits: bool = False) -> None:
        """A publishing round: of what the store holds once every batch handed over is
        committed, with its views; or (`between_commits`, deciding ahead while catching
        up) of what is committed and folded so far, read between two commits while the
        decider goes on with the batches handed over (a flush first would leave it idle
        while they commit: ~1.5 s a round at 1M events)."""
        if not between_commits:
            await self.flush()
            consumer = self.consumer()
            if consumer is not None:
                await self.commit_offsets(consumer)  # the last batches' too, once quiet
        self._unpublished = between_commits  # what is not folded yet goes out in a later round
        started = time.monotonic()
        try:
            if between_commits:
                sent = await self.publisher.publish_pending(
                    self.send, fold_views=False, reading=lambda: self.ahead.commits_paused
                )
            else:
                sent = await self.publisher.publish_pending(self.send)
            if sent:
                log.info("published %d message(s) in %.2f s", sent, time.monotonic() - started)
        except Exception:
            # The positions moved only for what the broker acknowledged: the rest is
            # published on the next turn.
            self._unpublished = True
            raise
        finally:
            self._last_published = time.monotonic()
            self._last_round_seconds = self._last_published - started

    def _publishing_due(self, catching_up: bool = False) -> bool:
        idle = time.monotonic() - self._last_published
        factor = PUBLISH_CATCHING_UP_FACTOR if catching_up else PUBLISH_IDLE_FACTOR
        return idle >= max(PUBLISH_INTERVAL_SECONDS, factor * self._last_round_seconds)

    async def _publish_when_idle(self) -> None:
        """Publishes what the last batches recorded when no batch follows them."""
        while True:
            await asyncio.sleep(PUBLISH_INTERVAL_SECONDS)
            # While batches keep coming, `handle` decides when to publish: a batch being
            # recorded (it may take longer than the interval) is not quiet.
            if self.failed or self._turn.locked() or not self._quiet():
                continue
            # Other processes record too (a statement confirmed with `billing confirm`, a
            # transfer's notification): whatever they recorded is published within a second.
            if not self._unpublished and not await self._outside_work_waiting():
                continue
            async with self._turn:
                if not self._quiet():
                    continue  # a batch was recorded while this waited for its turn
                try:
                    await self._publish()
                except Exception:
                    log.exception("publishing failed; trying again in %s s", PUBLISH_INTERVAL_SECONDS)

    def _quiet(self) -> bool:
        return time.monotonic() - self._last_recorded >= PUBLISH_INTERVAL_SECONDS

    async def _outside_work_waiting(self) -> bool:
        """Whether other commands recorded something to publish (notifications)."""
        try:
            return await asyncio.to_thread(self.publisher.outside_work_waiting)
        except Exception:
            log.exception("checking for notifications to publish failed")
            return False

    async def _close_when_due(self) -> None:
        """Closes the periods due (BILLING_CLOSE_AFTER), between batches, and publishes
        their statements."""
        while True:
            await asyncio.sleep(CLOSE_CHECK_SECONDS)
            if self.failed or self._stopping:
                continue
            async with self._turn:
                try:
                    await self.flush()  # every batch handed over is recorded before the close
                    closed = await asyncio.to_thread(close_due_periods, self.engine, self.close_after)
                except Refused as refused:
                    log.info("not closing yet: %s: %s", refused.code, refused.message)
                    continue
                except Exception:
                    log.exception("closing a due period failed; trying again in %s s", CLOSE_CHECK_SECONDS)
                    continue
                for result in closed:
                    log.info(
                        "closed %s at %s: %d statement(s)", result.period, result.issued_at, len(result.statements)
                    )
                if closed:
                    self._unpublished = True
                    try:
                        await self._publish()
                    except Exception:
                        log.exception("publishing the statements failed; the next round publishes them")

    async def stop(self) -> None:
        """The first step of shutting down, while the broker still runs: the last
        publication, after the batch or publishing round in flight (if any)."""
        self._stopping = True
        async with self._turn:
            for task in (self._publish_when_idle_task, self._close_when_due_task):
                if task is not None:
                    task.cancel()
            if self.ahead is not None and not self.failed:
                try:  # the batches handed over are recorded, and the group told
                    await asyncio.wait_for(self.flush(), FINAL_FLUSH_TIMEOUT_SECONDS)
                    consumer = self.consumer()
                    if consumer is not None:
                        await self.commit_offsets(consumer)
                except Exception:
                    log.exception("recording the batches handed over failed; the next start reads them again")
            if self._unpublished and not self.failed and self.publisher is not None:
                try:
                    await asyncio.wait_for(self._publish(), FINAL_PUBLISH_TIMEOUT_SECONDS)
                except Exception:
                    log.exception("publishing at shutdown failed; the next start publishes it")

    async def close(self) -> None:
        """The last step, once the broker has stopped and no batch can arrive."""
        async with self._turn:
            if self.ahead is not None:
                await asyncio.to_thread(self.ahead.stop)
            if self.engine is not None:
                # What bounds scale-out: how much of its batch time this worker held the
                # store's write lock (README, "Scaling out"); the JSON at the end of the
                # line is what `python -m bench --scale-out` reads (bench/worker_timing.py).
                timing = self.engine.ledger.batch_timing
                log.info("recorded %s; as JSON %s", timing.summary(), timing_json(timing))
                await asyncio.to_thread(self.engine.close)

    async def handle(self, records: Sequence[ConsumerRecord], consumer: Consumer) -> None:
        async with self._turn:
            if self._stopping:
                return  # not recorded, not committed: read again at the next start
            offsets = next_offsets(records)  # each partition's, after this poll
            if self.ahead is not None:
                await self._hand_over(records, offsets, consumer)
            else:
                await self._record(records, offsets, consumer)
            if self.failed:
                return
            catching_up = self._waiting_behind(offsets, consumer) > len(records)
            if self._publishing_due(catching_up):
                await self._publish(between_commits=catching_up and self.ahead is not None)

    def _waiting_behind(self, offsets: Offsets, consumer: Consumer) -> int:
        """How many records wait in the partitions assigned, past what has been polled
        (a poll may hold only partitions near their end while others are far behind)."""
        self._read_to.update(offsets)
        assigned = consumer.assignment()
        return waiting_records({tp: at for tp, at in self._read_to.items() if tp in assigned}, consumer)

    async def _record(self, records: Sequence[ConsumerRecord], offsets: Offsets, consumer: Consumer) -> None:
        if self.failed or not records:
            return  # after a failure, nothing may be recorded past the failed batch
        lines = [
            # A CloudEvents binary-mode record is read as its structured JSON.
            InboundLine(
                inbound_value(record.value, record.headers), position=(record.topic, record.partition, record.offset)
            )
            for record in records
        ]
        try:
            outcome = await asyncio.to_thread(self.engine.ledger.record_batch, lines, inline_projector(self.engine))
        except Exception:
            self.failed = True
            log.exception("recording a batch failed; stopping so that nothing is recorded past it")
            self.app.exit()
            raise
        await consumer.commit(offsets)
        self._recorded(len(records), outcome)

    async def _hand_over(self, records: Sequence[ConsumerRecord], offsets: Offsets, consumer: Consumer) -> None:
        """Hands the records to the decider; commits to the group the offsets of the
        batches recorded meanwhile."""
        if self.failed or not records:
            return
        try:
            await self.ahead.submit(records, offsets)
        except Exception:
            if not self.failed:
                self._recording_failed(None)
            raise
        await self.commit_offsets(consumer)

    async def flush(self) -> None:
        """Waits until every batch handed over is recorded (deciding ahead; else nothing
        is ever left in flight)."""
        if self.ahead is not None and not self.failed:
            await self.ahead.flush()

    async def commit_offsets(self, consumer: Consumer) -> None:
        """The offsets of the batches recorded since last time, to the consumer group
        (for lag and tooling: on assignment the store's positions are the ones read)."""
        offsets = self.ahead.take_offsets() if self.ahead is not None else {}
        if offsets:
            try:
                await consumer.commit(offsets)
            except Exception as error:  # e.g. during a rebalance; the next batch's commit covers it
                log.warning("committing offsets to the group failed: %s", error)

    def _recorded(self, records: int, outcome: BatchOutcome) -> None:
        """A batch is recorded (deciding ahead: told by the committing thread)."""
        counts = outcome.counts
        log.info(
            "batch of %d: accepted %d, duplicates %d, rejected %d, redelivered %d",
            records,
            counts.accepted,
            counts.duplicates,
            counts.rejected,
            outcome.redelivered,
        )
        self._unpublished = True
        self._last_recorded = time.monotonic()

    def _recording_failed(self, error: BaseException | None) -> None:
        if self.failed:
            return
        self.failed = True
        log.error("recording a batch failed; stopping so that nothing is recorded past it", exc_info=error)
        self.app.exit()

    async def send(self, messages: list[Outgoing]) -> None:
        """Publishes messages and waits until the broker acknowledged every one."""
        futures = [
            await self.broker.publish(
                message.value, message.topic, key=message.key, headers=message.headers, no_confirm=True
            )
            for message in messages
        ]
        await asyncio.gather(*futures)


def waiting_records(offsets: Offsets, consumer: Consumer) -> int:
    """How many records the partitions of a poll hold past it (`offsets`: each one's
    next offset after the poll), by the high watermarks the consumer last fetched (0
    where it knows none)."""
    waiting = 0
    for tp, next_offset in offsets.items():
        highwater = consumer.highwater(tp)
        if highwater is not None:
            waiting += max(0, highwater - next_offset)
    return waiting


def timing_json(timing: BatchTiming) -> str:
    """A worker's batch timing as one line of JSON: every counted field, and the share."""
    figures = dataclasses.asdict(timing) | {"lock_held_share": timing.lock_held_share}
    return json.dumps(figures, separators=(",", ":"))
