"""Ingest handler: JSON Lines in (`commands.json_lines`), recorded batches out (one
transaction per batch); retrying kept rejections the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from commands.bootstrap import Engine
from commands.interrupts_held import interrupts_held
from commands.json_lines import read_json_lines
from engine.ledger import InboundLine
from schemas.views import IngestCounts

BATCH_SIZE = 20_000


def batched(lines: Iterable[bytes], size: int = BATCH_SIZE) -> Iterator[list[InboundLine]]:
    batch: list[InboundLine] = []
    for line in lines:
        batch.append(InboundLine(line))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def inline_projector(engine: Engine):
    """The projection to fold views with inside each batch, unless a separate
    `billing project` process does it (BILLING_PROJECTIONS=separate)."""
    return engine.projection if engine.settings.projections == "inline" else None


def expect_large_input(engine: Engine) -> None:
    """Starts the hash chain's worker now, for an ingest that knows large batches are
    coming (it hashes them on another core, and takes a moment to start)."""
    engine.ledger.recorder.prepare_chain_worker()


def ingest_streams(
    engine: Engine,
    streams: Iterable[BinaryIO],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> IngestCounts:
    """Records every line of the streams, batch by batch, views included."""
    total = IngestCounts()
    with committed_on_interrupt(total):
        for stream in streams:
            for batch in batched(read_json_lines(stream, progress), batch_size):
                with interrupts_held():  # a batch committed is a batch counted
                    total.add(engine.ledger.record_batch(batch, inline_projector(engine)).counts)
    write_views(engine)
    return total


@contextmanager
def committed_on_interrupt(total: IngestCounts) -> Iterator[None]:
    """An interrupt (Ctrl-C) carries what the batches committed before it."""
    try:
        yield
    except KeyboardInterrupt as interrupt:
        lines = total.accepted + total.duplicates + total.rejected
        interrupt.committed = (
            f"{lines:,} lines (accepted {total.accepted:,}, duplicates {total.duplicates:,}, "
            f"rejected {total.rejected:,})"
        )
        raise


def write_views(engine: Engine) -> None:
    """Writes the views' fold held in memory, so they match the log when a command ends."""
    if inline_projector(engine) is not None:
        engine.projection.bring_up_to_date(engine.ledger)


def retry_rejections(engine: Engine, reason: str | None = None, batch_size: int = BATCH_SIZE) -> IngestCounts:
    """Judges every kept, not yet accepted rejection again, in arrival order."""
    pending = engine.ledger.recorder.select_rejections(reason=reason, pending_only=True)
    total = IngestCounts()
    with committed_on_interrupt(total):
        for start in range(0, len(pending), batch_size):
            lines = [InboundLine(row.raw, retry_of=row.seq) for row in pending[start : start + batch_size]]
            with interrupts_held():
                total.add(engine.ledger.record_batch(lines, inline_projector(engine)).counts)
    write_views(engine)
    return total
