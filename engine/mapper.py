"""Stored events as msgspec JSON, chosen by eventsourcing's MAPPER_TOPIC setting.

The recorded events are msgspec Structs, so one encoder and one typed decoder per
topic replace eventsourcing's dict-based JSON transcoder. Topics stay eventsourcing's
`module:Class` paths, resolved through its topic registry (so a moved class can be
registered under its old topic).
"""

from __future__ import annotations

from functools import cache

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from engine.store.rows import StoredRow
from schemas.recorded import RECORDED_EVENT_TYPES, RecordedEvent

_ENCODER = msgspec.json.Encoder()
TOPICS: dict[type, str] = {cls: get_topic(cls) for cls in RECORDED_EVENT_TYPES}


@cache
def _decoder(topic: str) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(resolve_topic(topic))


class MsgspecMapper(Mapper):
    """Maps recorded-event Structs to stored events and back."""

    def to_stored_event(self, domain_event: RecordedEvent) -> StoredEvent:
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=TOPICS[type(domain_event)],
            state=_ENCODER.encode(domain_event),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> RecordedEvent:
        return decode_event(stored_event.topic, stored_event.state)


def stored_row(event: RecordedEvent) -> StoredRow:
    """The events-table row of a recorded event (the ledger's hot path)."""
    return StoredRow(event.originator_id, event.originator_version, TOPICS[type(event)], _ENCODER.encode(event))


def decode_event(topic: str, state: bytes) -> RecordedEvent:
    """One recorded event from its topic and stored state."""
    return _decoder(topic).decode(state)
