"""What a batch of inbound lines is and what recording it did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.recorded import RecordedEvent
from schemas.views import IngestCounts


@dataclass(slots=True)
class InboundLine:
    """One input as received: its bytes, where it came from (a Kafka topic,
    partition and offset), and which kept rejection it re-judges (`rejected --retry`)."""

    raw: bytes
    position: tuple[str, int, int] | None = None
    retry_of: int | None = None

    @property
    def origin(self) -> str | None:
        """A stable name of where the line came from, so a redelivery is kept once."""
        return None if self.position is None else "kafka:{}:{}:{}".format(*self.position)


@dataclass(slots=True)
class KeptRejection:
    """A rejection decided in a batch, for callers that pass it on (the Kafka topic)."""

    line: InboundLine
    reason: str
    message: str


@dataclass(slots=True)
class BatchOutcome:
    """What a recorded batch did."""

    counts: IngestCounts = field(default_factory=IngestCounts)
    # Lines whose Kafka position the store had already recorded: skipped, not counted.
    redelivered: int = 0
    # (notification id, event) of each event stored, in order (`RecordedEvents` once committed).
    recorded: Sequence[tuple[int, RecordedEvent]] = field(default_factory=list)
    rejections: list[KeptRejection] = field(default_factory=list)
