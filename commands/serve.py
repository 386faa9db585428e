"""`billing serve`: the FastStream app that consumes `billing.events` (CONTRACT.md §6).

Exactly-once effect, in this order for every batch of records:
1. record the batch through the same ledger as `billing ingest`, with each partition's
   next offset committed in the same store transaction (a redelivered record below it
   is skipped, so it is never counted or kept as a rejection twice);
2. commit the offsets to the consumer group (for lag and tooling only: on partition
   assignment the consumer seeks to the offsets the store holds);
3. publish the changed views, the rejections and the partner notifications (§8), from
   the log and the notifications table (commands/publisher.py; notifications that
   other commands record are looked for every quiet second):
   a round once four times its last round's length (at least a second) has passed
   since that round, so publishing takes at most a fifth of a busy service's time and
   each changed record goes out once a round, not once a batch (at most a twentieth,
   19 times the round, while the service is catching up: more than a batch of records
   waits in its partitions past what it has polled); and within a second of the last batch in
   any case. (A batch smaller than the most a poll returns does
   not mean the service has caught up: the consumer hands over what it has
   prefetched, and publishing then took 40% of a busy service's time, measured on
   2026-11-25.)
With BILLING_CLOSE_AFTER set, a periodic turn closes the periods whose end plus that
grace has passed (CONTRACT.md §7), in order, and publishes their statements.
On a SQLite store with a second core, step 1 is handed to a decider process and a
committing thread (commands/serve_ahead.py): the handler polls again while the batches
before it commit, and steps 2 and 3 follow each commit; the publisher is told which
records each batch changed (commands/changed_ranges.py), and a round while catching up
reads between two commits instead of waiting for every batch handed over.
A crash between any two steps loses nothing and counts nothing twice. A failure in
step 1 stops the service (non-zero exit): later batches must not be recorded past a
batch that was not. Recording and publishing take turns, never overlap: both are
Python work, and a thread recording a batch next to a busy one waits for the GIL at
every row the database writes.

The service itself (recording, publishing, closing in turns) is
commands/serve_service.py; this module builds the app around it: the broker, the batch
subscriber, the rebalance listener. Built by a factory that is handed its settings and
how to open the store (the composition root's `commands.bootstrap:serve_app` is the one `faststream run
commands.bootstrap:serve_app --factory` runs).
"""

from __future__ import annotations

import asyncio
import logging
import threading

from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker, Topic

from commands import serve_logging
from commands.kafka_tools import check_reachable
from commands.serve_service import BillingService, Opener
from commands.settings import Settings
from schemas import topics

log = logging.getLogger("billing.serve")


class _SeekToStoredPositions(ConsumerRebalanceListener):
    """On assignment, continue each partition where the store says, not the group."""

    def __init__(self, service: BillingService):
        self.service = service

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Deciding ahead: the batches handed over are recorded, and their offsets told
        # to the group, before another worker may take their partitions.
        consumer = self.service.consumer()
        if self.service.ahead is None or consumer is None or not revoked:
            return
        try:
            await self.service.flush()
            await self.service.commit_offsets(consumer)
        except Exception:
            log.exception("recording the batches in flight at a revocation failed")

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        engine = self.service.engine
        consumer = self.service.consumer()
        if engine is None or consumer is None or not assigned:
            return
        stored = await asyncio.to_thread(engine.ledger.stored_positions, {(tp.topic, tp.partition) for tp in assigned})
        for tp in assigned:
            if (tp.topic, tp.partition) in stored:
                consumer.seek(tp, stored[(tp.topic, tp.partition)])
        log.info("assigned %s, continuing at %s", sorted(tp.partition for tp in assigned), stored)


def _raw_records(message) -> tuple[ConsumerRecord, ...]:
    # FastStream would parse each value as JSON; a bad line must reach the ledger as
    # the bytes it was, to be judged and kept as a rejection.
    return message.raw_message


# While the broker is away, the client retries this often (its default, 100 ms, logged
# ten errors a second).
RETRY_BACKOFF_MS = 1000


def create_app(
    settings: Settings,
    opener: Opener,
    stop_requested: threading.Event | None = None,
    logger: logging.Logger | None = None,
) -> FastStream:
    """The service: one broker, one batch subscriber, one engine opened at startup (by
    `opener`, for writing)."""
    logger = logger or log
    broker = KafkaBroker(
        settings.kafka,
        acks="all",
        enable_idempotence=False,
        allow_auto_create_topics=False,
        retry_backoff_ms=RETRY_BACKOFF_MS,
        logger=logger,
    )
    app = FastStream(broker, logger=logger)
    service = BillingService(settings, opener, app, broker, stop_requested)
    subscriber = broker.subscriber(
        Topic(topics.EVENTS, declare=False),
        batch=True,
        max_records=settings.kafka_max_records,
        group_id=settings.group,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        listener=_SeekToStoredPositions(service),
        decoder=_raw_records,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_ms,
    )
    service.subscriber = subscriber
    subscriber(service.handle)
    app.on_startup(service.start)
    app.after_startup(service.publish_backlog)
    app.on_shutdown(service.stop)
    app.after_shutdown(service.close)
    app.service = service
    return app


def run_serve(settings: Settings, opener: Opener, stop_requested: threading.Event | None = None) -> int:
    """Runs until SIGINT/SIGTERM; 1 if it stopped because recording failed. A store
    that can't be used or a broker that can't be reached at start is one line and
    exit 2, within seconds (commands/cli_failures.py). (A malformed BILLING_CLOSE_AFTER
    was said before, when the settings were read.)"""
    check_reachable(settings.kafka)
    opener().close()  # the store's own problems, said plainly
    app = create_app(settings, opener, stop_requested, serve_logging.configure())
    asyncio.run(app.run())
    return 1 if app.service.failed else 0
