"""Hashing a large batch's log entries on another core.

Rendering and hashing an entry costs ~5 µs of Python per event, an eighth of what
ingest spends on it: inline, the chain slows ingest down by about that. A writer that
asks for the worker (`prepare_chain_worker`, BILLING_CHAIN_WORKER=1: off by default,
see `log_chain`) has each batch of at least `log_chain.MIN_ENTRIES` events sent, as
its stored rows, to a
child process (`python -m engine.store.chain_worker`) before its events are
inserted; the child hashes while the parent goes on with the transaction (inserts,
event ids, states, projections), and the parent collects the hashes just before it
commits. The child renders from the stored rows, so its hashes are those of what
the store holds.

Anything unusual (the child not started yet, late, gone, or failing) and the parent
hashes inline: the worker only ever saves time, it never decides what is chained.

Frames on the child's stdin and stdout: a 4-byte little-endian length, then msgpack.
A job is a frame `[position, prev_hash, [topic, …], lengths]` (the states' lengths
as 32-bit integers, the machine's byte order) followed by the states, back to back
(written straight from the rows, no copy); the answer `[true, digests]` (raw SHA-256
digests, back to back) or `[false, message]` (and the child stops).
"""

from __future__ import annotations

import os
import select
import sys
from array import array
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from engine.frames import LENGTH as _LENGTH
from engine.frames import read_exactly as _read_exactly
from engine.frames import read_frame as _read_frame
from engine.frames import widen_pipe
from engine.frames import write_all as _write_all
from engine.frames import write_frame as _write_frame

if TYPE_CHECKING:
    import subprocess

_READY = b"ready"
_TOPIC, _STATE = itemgetter(-2), itemgetter(-1)  # rows end with topic and state
_encode = msgspec.msgpack.encode
_decode = msgspec.msgpack.decode


class ChainWorker:
    """A child process that hashes jobs one at a time; started on first use.

    The parent never waits long for it: an answer not there within a grace period
    is given up on (the caller hashes inline, which a starved worker on a busy
    machine would not beat), and read and dropped once it comes."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._ready = False
        self._broken = False
        self._pending = False  # a job whose answer is awaited
        self._stale = 0  # answers of jobs given up on, to be dropped when they come

    def submit(self, position: int, prev_hash: bytes, rows: Sequence[Sequence]) -> bool:
        """Sends a job (rows ending with topic and state); False when the worker can't
        take it now (then the caller hashes inline)."""
        if self._broken or self._pending or not self._is_ready() or not self._drained():
            return False
        states = list(map(_STATE, rows))  # C-level loops: no Python code per row
        header = _encode((position, prev_hash, list(map(_TOPIC, rows)), array("I", map(len, states)).tobytes()))
        try:
            _write_all(self._process.stdin.fileno(), [_LENGTH.pack(len(header)), header, *states])  # type: ignore[union-attr]
        except OSError:
            self._break()
            return False
        self._pending = True
        return True

    def collect(self, timeout: float | None = None) -> bytes | None:
        """The hashes of the job sent last (raw SHA-256 digests, back to back); None
        if the worker failed it, or has not answered within `timeout` seconds (None:
        no limit), and then its answer is dropped when it comes."""
        if not self._pending:
            return None
        self._pending = False
        if timeout is not None and not self._answered(timeout):
            self._stale += 1
            return None
        return self._answer()

    def close(self) -> None:
        import subprocess

        process, self._process = self._process, None
        if process is None:
            return
        try:
            process.stdin.close()  # type: ignore[union-attr]
            if self._pending or self._stale:  # its answer would never be read
                process.kill()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        finally:
            process.stdout.close()  # type: ignore[union-attr]

    def _answered(self, timeout: float) -> bool:
        return bool(select.select([self._process.stdout.fileno()], [], [], timeout)[0])  # type: ignore[union-attr]

    def _answer(self) -> bytes | None:
        try:
            ok, result = _decode(_read_frame(self._process.stdout.fileno()))  # type: ignore[union-attr]
        except (OSError, EOFError, msgspec.DecodeError, ValueError):
            self._break()
            return None
        if not ok:
            self._break()
            return None
        return result

    def _drained(self) -> bool:
        """Drops the answers given up on that have come; False while one has not."""
        while self._stale:
            if not self._answered(0):
                return False
            self._stale -= 1
            if self._answer() is None:
                return False
        return True

    def start(self) -> None:
        """Starts the child if it is not started (it says when it is ready)."""
        if self._process is None and not self._broken:
            self._start()

    def _is_ready(self) -> bool:
        """Starts the child on first use; ready once it has said so (never waits:
        until then batches are hashed inline)."""
        if self._ready:
            return True
        if self._process is None:
            self._start()
            return False
        fd = self._process.stdout.fileno()  # type: ignore[union-attr]
        if not select.select([fd], [], [], 0)[0]:
            return False
        try:
            self._ready = _read_frame(fd) == _READY
        except (OSError, EOFError):
            self._ready = False
        if not self._ready:
            self._break()
        return self._ready

    def _start(self) -> None:
        import subprocess  # only a process that hashes large batches needs it

        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "engine.store.chain_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
                bufsize=0,
            )
        except OSError:
            self._broken = True
            return
        widen_pipe(self._process.stdin.fileno())  # type: ignore[union-attr]

    def _break(self) -> None:
        self._broken = True
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process.stdout.close()  # type: ignore[union-attr]
            self._process.stdin.close()  # type: ignore[union-attr]
            self._process = None


def serve(stdin: int = 0, stdout: int = 1) -> None:
    """The child's loop: a job in, its hashes out, until stdin closes."""
    from engine.log_entries import chain_hashes

    _write_frame(stdout, _READY)
    while True:
        try:
            job = _read_frame(stdin)
        except EOFError:
            return
        try:
            position, prev_hash, topics, lengths = _decode(job)
            lengths = array("I", lengths)
            states = memoryview(_read_exactly(stdin, sum(lengths)))
            rows, start = [], 0
            for topic, length in zip(topics, lengths, strict=True):
                rows.append((topic, states[start : start + length]))
                start += length
            answer = [True, bytes.fromhex(b"".join(chain_hashes(position, prev_hash, rows)).decode())]
        except Exception as error:  # the parent hashes inline; this worker stops
            _write_frame(stdout, _encode([False, f"{type(error).__name__}: {error}"]))
            return
        _write_frame(stdout, _encode(answer))


if __name__ == "__main__":
    serve()
