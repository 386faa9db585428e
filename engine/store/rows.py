"""Plain rows the ledger's recorders read and write, whatever the backend."""

from __future__ import annotations

from dataclasses import dataclass


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
