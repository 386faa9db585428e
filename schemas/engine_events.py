"""Events the engine records itself: a close, a status change, a transfer, a payment
step, a policy, a milestone, an authorization step, a catalogue load.

They live in the same log as the recorded inbound facts (so one hash chain covers
both, CONTRACT.md §11), each in a stream of its own kind (`originator_id`, e.g.
`"statements"`), and are stored as JSON objects: they are few, and an auditor reads
their `fact` as the event's own canonical JSON.

Each concrete type names its log `type` in `LOG_TYPE` (e.g. `"period.closed"`). Like
every stored type, a field is never renamed or dropped; a new one goes at the end,
with a default.
"""

from __future__ import annotations

from typing import ClassVar

from msgspec import Struct

# The log's `source` of every engine-recorded entry (CONTRACT.md §11).
ENGINE_SOURCE = "billing"

# Customer streams are named by customer ids, which are 1..64 characters of anything;
# every stream the engine names itself starts with this 67-character prefix, so no
# customer id can ever name the same stream (and block that customer's ingest).
STREAM_PREFIX = "billing-engine-streams-are-longer-than-any-customer-id-of-64-chars/"


def engine_stream(name: str) -> str:
    """The stored name of an engine stream (`originator_id`)."""
    return name if name.startswith(STREAM_PREFIX) else STREAM_PREFIX + name


class EngineEvent(Struct, kw_only=True):
    """What every engine-recorded event carries: its stream, its id and when it was recorded."""

    LOG_TYPE: ClassVar[str] = ""

    originator_id: str
    originator_version: int
    id: str
    recorded_at: str
