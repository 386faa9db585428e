"""`billing serve` on both cores: a child process (commands/decider_process.py, `--lines`)
decides each batch of records while a thread here commits the one before, as `billing
ingest` does with files (commands/ingest_ahead.py, whose `BatchWriter` commits here too).

The consumer's handler only hands the records over (`submit`) and returns for the next
poll, with at most `MAX_IN_FLIGHT` batches handed over and not yet committed. Each batch
is still one store transaction with its partitions' next offsets, committed in the
order the records were polled; the decider reads the offsets the batches in flight will
leave (`Ledger.in_flight_positions`), so a record seen again after a rebalance is
skipped once, as before. Offsets go to the consumer group after their batch committed
(the store's, read on assignment, are the ones that count). Before anything else reads
or writes the store in serve's turns (publishing, closing a period, a revocation, the
stop), `flush` waits until every batch handed over is committed with the views the
decider folded.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING

from aiokafka import ConsumerRecord, TopicPartition

from commands.ahead import LINES_FLAG, DecidedBatch, Flush, Flushed, Lines, encode
from commands.changed_ranges import ChangedRanges
from commands.ingest import BATCH_SIZE
from commands.ingest_ahead import BatchWriter, DeciderFrames, running_decider, usable_cores
from commands.kafka_binding import inbound_value, next_offsets
from commands.settings import Settings
from commands.store_url import parse_store_url
from engine.batch_types import BatchOutcome
from engine.frames import write_frame

if TYPE_CHECKING:
    from commands.bootstrap import Engine

Offsets = dict[TopicPartition, int]
# Told on the event loop: for each batch committed, its records and outcome; the error
# that stopped recording (the service stops: nothing may be recorded past it).
OnCommitted = Callable[[int, BatchOutcome], None]
OnFailed = Callable[[BaseException], None]


def serve_decides_ahead(settings: Settings) -> bool:
    """Whether `billing serve` has its batches decided by a child process: on a SQLite
    store, `on`, or `auto` with a second core. Not on PostgreSQL, which scales out by
    workers instead (each with a decider, they would mostly decide again after each
    other's commits; not measured)."""
    if settings.decide_ahead == "off" or parse_store_url(settings.store_url).kind != "sqlite":
        return False
    return settings.decide_ahead == "on" or usable_cores() > 1


class DeciderGone(RuntimeError):
    """The decider or the committing thread stopped; nothing past it is recorded."""


class AheadRecording:
    """The handler's side (`submit`, `flush`, `take_offsets`) on the event loop, and the
    thread committing the decider's frames."""

    MAX_IN_FLIGHT = 3

    def __init__(
        self,
        engine: Engine,
        on_committed: OnCommitted,
        on_failed: OnFailed,
        changed_ranges: ChangedRanges | None = None,
    ):
        self.engine = engine
        self.changed_ranges = changed_ranges  # told what each batch changed, for the publisher
        self.on_committed = on_committed
        self.on_failed = on_failed
        self.failure: BaseException | None = None
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._stack = ExitStack()
        self._orders = -1
        self._orders_lock = threading.Lock()  # frames on the orders pipe, whole, one at a time
        self._frames: DeciderFrames | None = None
        self._thread: threading.Thread | None = None
        self._seqs = itertools.count()
        self._tokens = itertools.count()
        self._in_flight: dict[int, tuple[int, Offsets]] = {}  # seq: (records, next offsets)
        self._room = asyncio.Event()
        self._flushes: dict[int, asyncio.Future] = {}
        self._flush_tokens: set[int] = set()  # read by the committing thread too
        self._offsets: Offsets = {}  # committed to the store, not yet to the group
        # Held by the committing thread for each frame; a publishing round that reads
        # between commits, without a flush (`BillingService`, catching up), holds it so
        # that its reads and a commit take turns (both are this process's Python work)
        # while the decider goes on deciding the batches handed over.
        self.commits_paused = threading.Lock()

    def start(self) -> None:
        """Starts the decider and the committing thread (blocking: run it in a thread)."""
        frames, self._orders = self._stack.enter_context(
            running_decider([LINES_FLAG], BATCH_SIZE, self.engine.settings.store_url)
        )
        self._frames = frames
        writer = BatchWriter(self.engine, self._send)
        writer.after_decide_again = self._flush_again
        writer.gate = self.commits_paused
        self._thread = threading.Thread(target=self._commit_frames, args=(writer,), name="commit", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops the decider (its batches not committed are dropped: never acknowledged,
        they are read again) and the committing thread (blocking)."""
        self._stopping = True
        self._stack.close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    async def submit(self, records: Sequence[ConsumerRecord], offsets: Offsets | None = None) -> None:
        """Hands a poll's records to the decider, once fewer than `MAX_IN_FLIGHT` batches
        are waiting to be committed (`offsets`: their `next_offsets`, if the caller has
        them already)."""
        while len(self._in_flight) >= self.MAX_IN_FLIGHT and self.failure is None:
            self._room.clear()
            await self._room.wait()
        self._check()
        seq = next(self._seqs)
        self._in_flight[seq] = (len(records), offsets if offsets is not None else next_offsets(records))
        await asyncio.to_thread(self._send_lines, seq, records)

    def _send_lines(self, seq: int, records: Sequence[ConsumerRecord]) -> None:
        lines = [
            # A CloudEvents binary-mode record is read as its structured JSON.
            (inbound_value(record.value, record.headers), record.topic, record.partition, record.offset)
            for record in records
        ]
        self._send(encode(Lines(seq, lines)))

    async def flush(self) -> None:
        """Returns once every batch submitted is committed, with the views folded so far."""
        self._check()
        token = next(self._tokens)
        done = self._loop.create_future()
        self._flushes[token] = done
        self._flush_tokens.add(token)  # before it is sent: a decision again re-sends it
        try:
            await asyncio.to_thread(self._send, encode(Flush(token)))
            await done
        finally:
            self._flushes.pop(token, None)
            self._flush_tokens.discard(token)
            if done.done() and not done.cancelled():
                done.exception()  # seen here, whichever way the flush ended

    def take_offsets(self) -> Offsets:
        """The next offsets of the batches committed since last asked, for the group."""
        offsets, self._offsets = self._offsets, {}
        return offsets

    def _check(self) -> None:
        if self.failure is not None:
            raise DeciderGone("recording stopped earlier") from self.failure

    def _send(self, message: bytes) -> None:
        try:
            with self._orders_lock:
                write_frame(self._orders, message)
        except OSError as error:  # its end of the pipe closed: the decider is gone
            gone = DeciderGone("the process deciding the batches has stopped")
            # Told as the committing thread tells it (once, whichever side saw it first),
            # before the caller's own exception reaches it.
            self._loop.call_soon_threadsafe(self._failed, gone)
            raise gone from error

    def _flush_again(self) -> None:
        # The Flushed answers of the epoch just dropped came before batches it decides
        # again: ask once more, after them.
        for token in sorted(self._flush_tokens.copy()):
            self._send(encode(Flush(token)))

    def _commit_frames(self, writer: BatchWriter) -> None:
        """The committing thread: every frame, in order, until the decider stops."""
        try:
            for message in writer.taken_from(self._frames):
                if type(message) is DecidedBatch:
                    if self.changed_ranges is not None and message.changes is not None:
                        self.changed_ranges.tell(
                            writer.outcome.recorded,
                            writer.head,
                            message.changes.changed(),
                            views_end_here=message.views is not None,
                        )
                    self._loop.call_soon_threadsafe(self._committed, message.seq, writer.outcome)
                elif type(message) is Flushed:
                    self._loop.call_soon_threadsafe(self._flushed, message.token)
        except BaseException as error:  # the decider gone (EOFError at the stop), or a commit failed
            self._loop.call_soon_threadsafe(self._failed, error)

    def _committed(self, seq: int, outcome: BatchOutcome) -> None:
        records, offsets = self._in_flight.pop(seq)
        for tp, offset in offsets.items():
            self._offsets[tp] = max(self._offsets.get(tp, 0), offset)
        self._room.set()
        self.on_committed(records, outcome)

    def _flushed(self, token: int) -> None:
        done = self._flushes.get(token)
        if done is not None and not done.done():
            done.set_result(None)

    def _failed(self, error: BaseException) -> None:
        if self.failure is not None:
            return
        self.failure = error
        self._room.set()
        for done in self._flushes.values():
            if not done.done():
                done.set_exception(DeciderGone("recording stopped"))
        if not self._stopping:
            self.on_failed(error)
