"""`billing ingest` on both cores: a child process decides the next batch while this
one writes the last (commands/ahead.py says how the decision state is kept right).

This process stays the only writer: it commits each decided batch in input order, in
one transaction with its views (as `ingest_streams` does), and tells the decider what
it committed. What is stored is byte for byte what the in-process ingest stores, but
for the recorded times (tests compare stores made both ways). A kill -9 of either
process loses no committed batch and a re-run counts nothing twice, as before: the
store is the only memory of what was recorded.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking

from commands.ahead import (
    Committed,
    DecideAgain,
    DecidedBatch,
    DeciderFailed,
    FoldedViews,
    FromDecider,
    InputEnded,
    ReadyBatch,
    RenderShare,
    decode_from_decider,
    encode,
)
from commands.bootstrap import Engine
from commands.ingest import committed_on_interrupt, inline_projector, write_views
from commands.interrupts_held import interrupts_held
from commands.settings import Settings
from commands.store_url import parse_store_url
from engine.batch_types import BatchOutcome
from engine.frames import read_frame, widen_pipe, write_frame
from engine.ledger import Ledger, StaleDecision
from projections.projector import BillingProjection
from schemas.views import IngestCounts

# Below this, starting the decider (~0.4 s: an interpreter and the store opened again)
# and filling the pipeline (the writer waits for the first batch, the decider idles
# during the last) cost about what the overlap saves. Measured on the benchmark's log
# (medians of 5, in turn with the one-process ingest): 8 MiB 1.44 x slower, 16 MiB
# 1.05 x slower, 32 MiB 0.94 x, 61 MiB ~0.83 x, 293 MiB 0.65 x the wall clock.
AUTO_MIN_BYTES = 64 << 20
_CONFLICT_RETRIES = 5


class DeciderStopped(OSError):
    """The decider failed in a way a user can act on (its one line says how)."""


def decides_ahead(settings: Settings, input_bytes: int) -> bool:
    """Whether an ingest of files of this size has its batches decided by a child."""
    location = parse_store_url(settings.store_url)
    if settings.decide_ahead == "off" or location.kind == "memory":  # another process can't see a memory store
        return False
    if settings.decide_ahead == "on":
        return True
    return location.kind == "sqlite" and input_bytes >= AUTO_MIN_BYTES and usable_cores() > 1


def usable_cores() -> int:
    """The cores this process may run on (a container's or `taskset`'s limit counts)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ingest_ahead(
    engine: Engine, paths: list[str], batch_size: int, progress: Callable[[int], None] | None = None
) -> IngestCounts:
    """Records every line of the files, batch by batch, views included."""
    total = IngestCounts()
    # The decider folds the views from where the log is now: they must be there too.
    write_views(engine)
    with (
        committed_on_interrupt(total),
        running_decider(paths, batch_size, engine.settings.store_url) as (frames, orders),
    ):
        _write_batches(engine, frames, orders, total, progress)
    write_views(engine)  # whatever the decider's folds did not cover (another writer's events)
    return total


class _HandedViews:
    """The projector of a batch committed here: applies the views the decider folded
    (and handed over with the batch, if it did) when they continue the stored views:
    every batch they cover committed here, one after the other (`views_at`: the log's
    head before the first). Otherwise they are dropped: the views stay where they
    were, and whatever they lack is folded from the log when they are next written."""

    def __init__(self, projection: BillingProjection):
        self.projection = projection
        self.views_at: int | None = None  # None: no run of consecutive batches yet
        self.handed: FoldedViews | None = None
        self.batch: ReadyBatch | None = None

    def project_in(self, cursor: Any, ledger: Ledger, recorded: list) -> None:
        batch = self.batch
        if batch is None or batch.head_moved:  # others' events lie between the batches folded
            self.views_at = None
            return
        if self.views_at is None:
            self.views_at = batch.head
        handed, self.handed = self.handed, None
        if handed is not None:
            through = recorded[-1][0] if recorded else batch.head
            self.apply_in(cursor, ledger, handed, through)

    def apply_in(self, cursor: Any, ledger: Ledger, handed: FoldedViews, through: int) -> None:
        if through == self.views_at:
            return  # no event since: nothing to write, not even the position
        if self.views_at is not None and self.projection.view.position_in(cursor, ledger.name) == self.views_at:
            self.projection.view.apply_in(cursor, handed.delta(), Tracking(ledger.name, through))
        self.views_at = through

    def rolled_back(self) -> None:
        self.views_at = None


class DeciderFrames:
    """The decider's frames, read by a thread as soon as they are written: the decider
    then runs up to `AHEAD` batches ahead instead of waiting on a full pipe whenever
    one batch took the writer longer than it took the decider (and the thread, mostly
    blocked in `read`, barely holds the GIL)."""

    AHEAD = 2

    def __init__(self, fd: int):
        self._fd = fd
        self._queue: queue.Queue[bytes | EOFError] = queue.Queue(maxsize=self.AHEAD)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._read, name="decider-frames", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                item: bytes | EOFError = read_frame(self._fd)
            except (EOFError, OSError) as error:
                item = EOFError(str(error))
            while not self._stopping.is_set():  # once stopping, frames are read and dropped to the end
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, EOFError):
                if self._stopping.is_set():
                    self._end_anyway(item)
                return

    def _end_anyway(self, end: EOFError) -> None:
        """Once stopping, the end still reaches a thread waiting for the next frame (in
        place of the frames it would not take any more)."""
        while True:
            try:
                self._queue.put_nowait(end)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    pass

    def ready(self) -> bool:
        return not self._queue.empty()

    def next(self) -> bytes:
        item = self._queue.get()
        if isinstance(item, EOFError):
            raise item
        return item

    def stop(self) -> None:
        self._stopping.set()

    def join(self) -> None:
        self._thread.join(timeout=5)


class BatchWriter:
    """Commits the decider's frames in input order, each batch in one write transaction
    with its views; tells the decider what it committed, or to decide again when a
    batch conflicts with another writer's (`send` writes a message on its orders pipe)."""

    def __init__(self, engine: Engine, send: Callable[[bytes], None], counts: IngestCounts | None = None):
        self.ledger = engine.ledger
        self.send = send
        self.counts = IngestCounts() if counts is None else counts  # of every batch committed here
        self.projector = _HandedViews(engine.projection) if inline_projector(engine) is not None else None
        self.epoch = 0
        self.head: int | None = None  # where this process's last commit left the log
        self.tries = 0
        self.share = RenderShare()
        self.outcome: BatchOutcome | None = None  # the last batch's, once `take` committed it
        # Held while a frame is committed or applied (serve: a publishing round holds it
        # to read the store between commits, not beside one: commands/serve_ahead.py).
        self.gate: AbstractContextManager = nullcontext()

    def take(self, message: FromDecider, waited: bool) -> bool:
        """Commits a decided batch, or applies the views that end an input or answer a
        flush; False for a frame of an earlier epoch, or a batch that conflicted (it is
        decided again). `waited`: this process had to wait for the frame."""
        if type(message) is DeciderFailed:
            if message.kind == "line":
                raise DeciderStopped(message.message)
            raise RuntimeError(f"the deciding process failed:\n{message.message}")
        if message.epoch != self.epoch:
            return False  # decided before the decider was told to decide again
        if type(message) is DecidedBatch:
            return self._commit(message, waited)
        if self.projector is not None and message.views is not None and self.head is not None:
            with self.ledger.recorder.write_transaction() as cursor:
                self.projector.apply_in(cursor, self.ledger, message.views, self.head)
        return True

    def taken_from(self, frames: DeciderFrames) -> Iterator[FromDecider]:
        """Takes the decider's frames in order, as they come; yields each one committed
        or applied (not those of an earlier epoch, nor a batch decided again)."""
        while True:
            waited = not frames.ready()
            message = decode_from_decider(frames.next())
            with self.gate, interrupts_held():  # a batch committed is a batch counted
                taken = self.take(message, waited)
            if taken:
                yield message

    def _commit(self, message: DecidedBatch, waited: bool) -> bool:
        ledger, projector = self.ledger, self.projector
        batch = ReadyBatch(ledger, message, self.head)
        if projector is not None:
            projector.batch, projector.handed = batch, message.views
        timing = ledger.batch_timing
        started = time.perf_counter()
        try:
            self.outcome = ledger.commit_decided(batch, projector)
        except (StaleDecision, IntegrityError):
            # Another writer appended what this batch read, took one of its pairs, or
            # moved the times or positions: the batch and those after it are decided
            # again afresh.
            ledger.batch_timing.conflicts += 1
            self.tries += 1
            if self.tries > _CONFLICT_RETRIES:
                raise RuntimeError(
                    f"batch kept conflicting with other writers after {_CONFLICT_RETRIES} tries"
                ) from None
            self._decide_again_from(message.seq)
            return False
        self.tries = 0
        counts = self.outcome.counts
        self.counts.add(counts)
        timing.batches += 1
        timing.lines += counts.accepted + counts.duplicates + counts.rejected + self.outcome.redelivered
        timing.batch_seconds += time.perf_counter() - started
        self.head = ledger.cached_states_head
        self.send(encode(Committed(self.epoch, message.seq, self.share.writer_waited(waited))))
        if batch.head_moved:
            # Committed (what it read was as it was), but others appended meanwhile: the
            # decider's cache beyond this batch's streams can't be vouched for.
            self._decide_again_from(message.seq + 1)
        return True

    def _decide_again_from(self, seq: int) -> None:
        self.epoch, self.head = self.epoch + 1, None
        if self.projector is not None:
            self.projector.views_at = None
        self.send(encode(DecideAgain(self.epoch, seq)))
        self.after_decide_again()

    def after_decide_again(self) -> None:
        """What else the decider must be told once it decides again (serve: the flushes
        it answered in the epoch just dropped)."""


def _write_batches(
    engine: Engine, frames: DeciderFrames, orders: int, total: IngestCounts, progress: Callable[[int], None] | None
) -> None:
    writer = BatchWriter(engine, lambda message: write_frame(orders, message), total)
    for message in writer.taken_from(frames):
        if type(message) is InputEnded:
            if progress is not None and message.bytes_read:
                progress(message.bytes_read)
            return
        if progress is not None:
            progress(message.bytes_read)


@contextmanager
def running_decider(arguments: list[str], batch_size: int, store_url: str) -> Iterator[tuple[DeciderFrames, int]]:
    """Starts the decider on `arguments` (the input paths, or `--lines`); yields (its
    frames, the pipe it reads orders from); stops it on the way out, whatever happened."""
    results_read, results_write = os.pipe()
    orders_read, orders_write = os.pipe()
    widen_pipe(results_write)  # a batch's frame is ~30 MB
    root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "BILLING_STORE": store_url,
        "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "commands.decider_process", str(results_write), str(orders_read)]
    try:
        process = subprocess.Popen(
            [*command, str(batch_size), *arguments],
            stdout=subprocess.DEVNULL,
            env=env,
            pass_fds=(results_write, orders_read),
        )
    except BaseException:
        for fd in (results_read, results_write, orders_read, orders_write):
            os.close(fd)
        raise
    os.close(results_write)
    os.close(orders_read)
    frames = DeciderFrames(results_read)
    try:
        yield frames, orders_write
    except (EOFError, BrokenPipeError):  # its end of a pipe closed: the decider is gone
        code = process.wait()
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        raise DeciderStopped(
            f"the process deciding the batches (pid {process.pid}) ended with {how}; "
            "the batches committed before it stay recorded, and a new ingest of the same files goes on from there"
        ) from None
    finally:
        frames.stop()  # its thread reads and drops whatever the decider still writes
        os.close(orders_write)  # the decider's word to stop
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        frames.join()  # the decider's end closed the pipe: the thread has read to its end
        os.close(results_read)
