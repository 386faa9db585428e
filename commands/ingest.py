"""Ingest handler: JSON Lines in, recorded batches out (one transaction per batch)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from commands.bootstrap import Engine
from engine.ledger import InboundLine
from schemas.views import IngestCounts

BATCH_SIZE = 20_000
_BOM = b"\xef\xbb\xbf"
_READ_SIZE = 1 << 22


def read_json_lines(stream: BinaryIO, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The non-blank lines of a JSON Lines stream, without end-of-line, `\r` or BOM."""
    # Read in large pieces and split in C rather than line by line (the hot path of a
    # file ingest). `read1` returns what a pipe has, so stdin is not held back.
    read = getattr(stream, "read1", stream.read)
    unfinished: list[bytes] = []  # pieces of a line whose end has not been read yet
    while chunk := read(_READ_SIZE):
        if progress is not None:
            progress(len(chunk))
        lines = chunk.split(b"\n")
        if unfinished:
            lines[0] = b"".join([*unfinished, lines[0]])
            unfinished = []
        unfinished.append(lines.pop())  # the last line may go on in the next piece
        yield from _cleaned(lines)
    yield from _cleaned([b"".join(unfinished)])


def _cleaned(lines: list[bytes]) -> Iterator[bytes]:
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.startswith(_BOM):
            line = line[len(_BOM) :]
        if line.strip():
            yield line


def batched(lines: Iterable[bytes], size: int = BATCH_SIZE) -> Iterator[list[InboundLine]]:
    batch: list[InboundLine] = []
    for line in lines:
        batch.append(InboundLine(line))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def check_readable(paths: list[str]) -> None:
    """Fails before anything is recorded if one of the inputs can't be read."""
    for path in paths:
        if path == "-":
            continue
        file = Path(path)
        if not file.exists():
            raise FileNotFoundError(f"{path}: no such file")
        if file.is_dir():
            raise IsADirectoryError(f"{path}: is a folder, not a file")
        with file.open("rb"):
            pass


def inline_projector(engine: Engine):
    """The projection to fold views with inside each batch, unless a separate
    `billing project` process does it (BILLING_PROJECTIONS=separate)."""
    return engine.projection if engine.settings.projections == "inline" else None


def ingest_streams(
    engine: Engine,
    streams: Iterable[BinaryIO],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> IngestCounts:
    """Records every line of the streams, batch by batch, views included."""
    total = IngestCounts()
    for stream in streams:
        for batch in batched(read_json_lines(stream, progress), batch_size):
            counts = engine.ledger.record_batch(batch, inline_projector(engine)).counts
            total.accepted += counts.accepted
            total.duplicates += counts.duplicates
            total.rejected += counts.rejected
    write_views(engine)
    return total


def write_views(engine: Engine) -> None:
    """Writes the views' fold held in memory, so they match the log when a command ends."""
    if inline_projector(engine) is not None:
        engine.projection.bring_up_to_date(engine.ledger)


def open_inputs(paths: list[str]) -> Iterator[BinaryIO]:
    for path in paths:
        if path == "-":
            yield sys.stdin.buffer
        else:
            with open(path, "rb") as stream:
                yield stream


def retry_rejections(engine: Engine, reason: str | None = None, batch_size: int = BATCH_SIZE) -> IngestCounts:
    """Judges every kept, not yet accepted rejection again, in arrival order."""
    pending = engine.ledger.recorder.select_rejections(reason=reason, pending_only=True)
    total = IngestCounts()
    for start in range(0, len(pending), batch_size):
        lines = [InboundLine(row.raw, retry_of=row.seq) for row in pending[start : start + batch_size]]
        counts = engine.ledger.record_batch(lines, inline_projector(engine)).counts
        total.accepted += counts.accepted
        total.duplicates += counts.duplicates
        total.rejected += counts.rejected
    write_views(engine)
    return total
