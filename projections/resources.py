"""A customer's on-demand resources (CONTRACT.md §12), folded from its own stream.

A resource is a `(service_type, resource_id)` pair of the customer's `usage.recorded`
charges. Its charges count the usages and their corrections (a void is one charge, an
amendment two: the reversal and the new charge) and their amounts add. `first_used`,
`last_used`, `product_id` and `region` come from the usages alone, by their own
business times: a correction's time plays no part, and an amendment changes neither
product nor region. A void of an order is no resource's: only corrections whose
`(event_source, event_id)` names one of the customer's usages count.

Every event of one customer is in one stream (`originator_id` = customer id), so the
fold reads that stream only, a chunk at a time, and never the rest of the log.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from engine.instants import Instant, format_instant
from engine.mapper import TOPICS, decode_event
from engine.money import format_units
from schemas.recorded import ChargeRecorded, ChargeVoided, RecordedEvent, UsageAmended
from schemas.resources import Resource

USAGE = "usage.recorded"
_CHARGE_TOPIC = TOPICS[ChargeRecorded]
_CORRECTION_TOPICS = (TOPICS[ChargeVoided], TOPICS[UsageAmended])
_CHUNK = 5_000  # stored events read at a time

# A stored charge read for this fold: every field in its stored position, those the fold
# does not use left as raw JSON (no string is built for them).
_USED = frozenset(
    {"source", "id", "at", "fact", "type", "period", "service_type", "item_id", "payable_units", "settled_units"}
)
UsageView = msgspec.defstruct(
    "UsageView",
    [(f.name, f.type if f.name in _USED else msgspec.Raw) for f in msgspec.structs.fields(ChargeRecorded)],
    array_like=True,
)
_decode_usage_view = msgspec.json.Decoder(UsageView).decode


class _UsageData(msgspec.Struct):
    product_id: str | None = None
    region: str | None = None


class _UsageFact(msgspec.Struct):
    data: _UsageData


_decode_usage_fact = msgspec.json.Decoder(_UsageFact).decode


@dataclass(slots=True)
class _Tally:
    first_used: Instant
    last_used: Instant
    product_id: str | None = None
    product_at: Instant = ""
    region: str | None = None
    region_at: Instant = ""
    charges: int = 0
    payable_units: int = 0
    settled_units: int = 0

    def add_usage(self, at: Instant, product_id: str | None, region: str | None) -> None:
        # Each of product and region on its own: the latest usage (by business time)
        # that has it; at equal times the one recorded later.
        self.first_used = min(self.first_used, at)
        self.last_used = max(self.last_used, at)
        if product_id is not None and at >= self.product_at:
            self.product_id, self.product_at = product_id, at
        if region is not None and at >= self.region_at:
            self.region, self.region_at = region, at


class ResourceFold:
    """Folds one customer's recorded events into its resources (of one period, or of
    every period when `period` is None). A correction must come after the usage it
    corrects (as in the stream); `corrected`, when given, names the only usages
    corrections will ask for, so that no other usage's identity is kept."""

    def __init__(self, period: str | None = None, corrected: Container[tuple[str, str]] | None = None):
        self.period = period
        self._corrected = corrected
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._usages: dict[tuple[str, str], tuple[str, str]] = {}  # (source, id) -> resource

    def add(self, event: RecordedEvent) -> None:
        kind = type(event)
        if kind is ChargeRecorded:
            self.add_charge(event)
        elif kind is ChargeVoided or kind is UsageAmended:
            self.add_correction(event)

    def add_charge(self, charge: Any) -> None:
        """A recorded charge (a ChargeRecorded, or its UsageView): usage counts, orders
        and refunds do not."""
        if charge.type != USAGE:
            return
        resource = (charge.service_type, charge.item_id)
        pair = (charge.source, charge.id)
        if self._corrected is None or pair in self._corrected:
            self._usages[pair] = resource
        if self.period is not None and charge.period != self.period:
            return
        tally = self._tallies.get(resource)
        if tally is None:
            tally = self._tallies[resource] = _Tally(charge.at, charge.at)
        data = _decode_usage_fact(charge.fact).data
        tally.add_usage(charge.at, data.product_id, data.region)
        tally.charges += 1
        tally.payable_units += charge.payable_units
        tally.settled_units += charge.settled_units

    def add_correction(self, event: ChargeVoided | UsageAmended) -> None:
        resource = self._usages.get((event.event_source, event.event_id))
        if resource is None or (self.period is not None and event.period != self.period):
            return  # a correction of an order or a refund, or of another period's usage
        tally = self._tallies[resource]
        if type(event) is ChargeVoided:  # its charge fields hold the reversal
            tally.charges += 1
            tally.payable_units += event.payable_units
            tally.settled_units += event.settled_units
        else:  # the new charge, and the reversal of the standing one
            tally.charges += 2
            tally.payable_units += event.payable_units + event.reversal.payable_units
            tally.settled_units += event.settled_units + event.reversal.settled_units

    def resources(self, minor_digits: int) -> list[Resource]:
        """The resources by `service_type`, then `resource_id` (code point order)."""
        return [
            Resource(
                resource_id=resource_id,
                service_type=service_type,
                product_id=tally.product_id,
                region=tally.region,
                first_used=format_instant(tally.first_used),
                last_used=format_instant(tally.last_used),
                charges=tally.charges,
                payable_amount=format_units(tally.payable_units),
                settled_amount=format_units(tally.settled_units, minor_digits),
            )
            for (service_type, resource_id), tally in sorted(self._tallies.items())
        ]


def fold_resources(events: Iterable[RecordedEvent], period: str | None, minor_digits: int) -> list[Resource]:
    """The resources of a customer's recorded events, in stream order."""
    fold = ResourceFold(period)
    for event in events:
        fold.add(event)
    return fold.resources(minor_digits)


def read_resources(recorder: Any, c: Any, customer_id: str, period: str | None, minor_digits: int) -> list[Resource]:
    """The customer's resources, read from its own stream (the events table's primary
    key is (stream, version)): its corrections first (few), then its charges a chunk at
    a time, remembering only the usages a correction names."""
    corrections = [
        decode_event(topic, state) for _v, topic, state in _stream_rows(recorder, c, customer_id, _CORRECTION_TOPICS)
    ]
    fold = ResourceFold(period, corrected={(e.event_source, e.event_id) for e in corrections})
    add_charge = fold.add_charge
    for _version, _topic, state in _stream_rows(recorder, c, customer_id, (_CHARGE_TOPIC,)):
        add_charge(_decode_usage_view(state))
    for correction in corrections:  # each follows its usage, now folded
        fold.add_correction(correction)
    return fold.resources(minor_digits)


def _stream_rows(recorder: Any, c: Any, customer_id: str, topics: tuple[str, ...]) -> Iterator[tuple[int, str, bytes]]:
    """(version, topic, state) of the customer's events of these topics, in stream order."""
    after = 0
    statement = (
        f"SELECT originator_version, topic, state FROM {recorder.events_table} "
        f"WHERE originator_id=? AND originator_version>? AND topic IN ({','.join('?' * len(topics))}) "
        "ORDER BY originator_version LIMIT ?"
    )
    while True:
        rows = recorder.rows(c, statement, (customer_id, after, *topics, _CHUNK))
        for version, topic, state in rows:
            yield version, topic, bytes(state)
        if len(rows) < _CHUNK:
            return
        after = rows[-1][0]
