"""The decider of a pipelined ingest or serve, run as a child process by
`commands.ingest_ahead` (files) or `commands.serve_ahead` (`--lines`: Kafka lines):

    python -m commands.decider_process OUT_FD IN_FD BATCH_SIZE PATH...
    python -m commands.decider_process OUT_FD IN_FD BATCH_SIZE --lines

It opens the store (`BILLING_STORE` and the other settings from its environment, as
the writer passed them) for reading, reads the inputs itself (`-` is stdin, inherited
from the writer) or takes the writer's `Lines`, and hands every batch, decided
(commands/ahead.py), to the writer on OUT_FD; on IN_FD the writer says which batches it
committed and when to decide again. It stops when the writer closes IN_FD, or after
saying why it failed (`DeciderFailed`).
"""

from __future__ import annotations

import ctypes
import gc
import queue
import select
import signal
import sys
import threading
import traceback
from collections import deque
from collections.abc import Iterator

from commands.ahead import (
    LINES_FLAG,
    AheadDecider,
    Committed,
    DecideAgain,
    DeciderFailed,
    Flush,
    Flushed,
    InputEnded,
    Lines,
    decode_from_writer,
    encode,
)
from commands.bootstrap import open_engine
from commands.cli_failures import failure_line
from commands.gc_tuning import GC_THRESHOLDS
from commands.ingest import batched
from commands.json_lines import open_inputs, read_json_lines
from commands.malloc_tuning import map_large_blocks_apart
from commands.settings import Settings
from engine.batch_types import InboundLine
from engine.frames import read_frame, write_frame

_PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the writer's to handle; it stops this process
    _die_with_the_writer()
    gc.set_threshold(*GC_THRESHOLDS)
    out_fd, in_fd, batch_size, paths = int(argv[0]), int(argv[1]), int(argv[2]), argv[3:]
    settings = None
    try:
        settings = Settings.from_environment()
        with open_engine(settings, create=False) as engine:
            lines = paths == [LINES_FLAG]
            if lines:  # serve's decider: as serve itself (commands/malloc_tuning.py)
                map_large_blocks_apart()
            decider = AheadDecider(engine.ledger, fold_views=settings.projections == "inline", note_changes=lines)
            if lines:
                _decide_lines(decider, out_fd, in_fd)
            else:
                _decide_inputs(decider, paths, batch_size, out_fd, in_fd)
    except (BrokenPipeError, EOFError):
        return 0  # the writer is gone: nothing to tell it
    except Exception as error:
        line = failure_line(error, settings)
        kind, message = ("line", line) if line is not None else ("bug", traceback.format_exc())
        try:
            write_frame(out_fd, encode(DeciderFailed(kind, message)))
        except OSError:
            pass
        return 1
    return 0


def _decide_inputs(decider: AheadDecider, paths: list[str], batch_size: int, out_fd: int, in_fd: int) -> None:
    read = [0]  # input bytes read so far
    source = _input_batches(paths, batch_size, read)
    seq = reported = 0
    ended_in_epoch: int | None = None  # the epoch whose InputEnded was sent
    while True:
        input_done = ended_in_epoch is not None
        if not _take_messages(decider, in_fd, wait=input_done and not decider.has_work_again()):
            return
        again = decider.next_again()
        if again is not None:
            write_frame(out_fd, encode(decider.decide(again.seq, again.lines, again.bytes_read)))
            continue
        if ended_in_epoch == decider.epoch:
            continue  # wait for the writer: it may ask for batches again
        if not input_done:
            batch = next(source, None)
            if batch is not None:
                write_frame(out_fd, encode(decider.decide(seq, batch, read[0] - reported)))
                reported = read[0]
                seq += 1
                continue
        ended_in_epoch = decider.epoch
        write_frame(out_fd, encode(InputEnded(decider.epoch, read[0] - reported, decider.take_views())))


def _decide_lines(decider: AheadDecider, out_fd: int, in_fd: int) -> None:
    """Decides the writer's `Lines` in the order sent; answers each `Flush` in turn."""
    orders = _Orders(in_fd)
    work: deque[Lines | Flush] = deque()
    while True:
        wait = not work and not decider.has_work_again()
        for message in orders.take(wait):
            if message is None:
                return  # the writer closed its end: stop
            if type(message) is Committed:
                decider.committed(message)
            elif type(message) is DecideAgain:
                decider.decide_again(message)
            else:
                work.append(message)
        again = decider.next_again()
        if again is not None:
            write_frame(out_fd, encode(decider.decide(again.seq, again.lines, 0)))
        elif work:
            item = work.popleft()
            if type(item) is Lines:
                write_frame(out_fd, encode(decider.decide(item.seq, item.inbound(), 0)))
            else:
                write_frame(out_fd, encode(Flushed(decider.epoch, item.token, decider.take_views())))


class _Orders:
    """The writer's messages, read by a thread as soon as they are written: the writer
    never waits on a full pipe (its `Lines` are large) while this process writes a frame
    it has yet to read (the two would wait on each other)."""

    def __init__(self, fd: int):
        self._fd = fd
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._read, name="writer-orders", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                self._queue.put(decode_from_writer(read_frame(self._fd)))
            except (EOFError, OSError):
                self._queue.put(None)
                return
            except Exception as error:  # a frame that can't be read: said by the main thread
                self._queue.put(error)
                return

    def take(self, wait: bool) -> list:
        """What arrived (waiting for one message if `wait`); None stands for the end."""
        taken = [self._queue.get()] if wait else []
        while True:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        for message in taken:
            if isinstance(message, Exception):
                raise message
        return taken


def _take_messages(decider: AheadDecider, in_fd: int, wait: bool) -> bool:
    """Takes what the writer said (waiting for a word if `wait`); False once it closed."""
    timeout = None if wait else 0
    while select.select([in_fd], [], [], timeout)[0]:
        try:
            message = decode_from_writer(read_frame(in_fd))
        except EOFError:
            return False
        if type(message) is Committed:
            decider.committed(message)
        elif type(message) is DecideAgain:
            decider.decide_again(message)
        timeout = 0
    return True


def _input_batches(paths: list[str], batch_size: int, read: list[int]) -> Iterator[list[InboundLine]]:
    """The inputs' batches; `read[0]` counts the input bytes read so far."""

    def count(size: int) -> None:
        read[0] += size

    for stream in open_inputs(paths):
        yield from batched(read_json_lines(stream, count), batch_size)


def _die_with_the_writer() -> None:
    """Linux: this process is killed when its writer dies (kill -9 included), even
    while it waits for something else than the writer's pipes."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # elsewhere a write to the writer's closed pipe ends it


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
