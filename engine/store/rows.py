"""Plain rows the ledger's recorders read and write, whatever the backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class StoredRow(NamedTuple):
    """A recorded event as the events table holds it: eventsourcing's `StoredEvent`
    fields (read by attribute, as its recorders do) in a plain tuple, which costs a
    fraction of the frozen dataclass's construction and is already a row to insert."""

    originator_id: str
    originator_version: int
    topic: str
    state: bytes


@dataclass(slots=True)
class PendingRejection:
    """A rejection about to be kept (origin: where it came from, to keep it once)."""

    arrived: str
    source: str | None
    id: str | None
    type: str | None
    reason: str
    message: str
    raw: bytes
    origin: str | None = None


@dataclass(slots=True)
class RejectionRow:
    """A kept rejection as listed by `billing rejected`."""

    seq: int
    arrived: str
    source: str | None
    id: str | None
    type: str | None
    reason: str
    message: str
    raw: bytes
    accepted: str | None
