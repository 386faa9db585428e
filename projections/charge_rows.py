"""Stored rows of the log read for the views only: the hot loops of replay and of the
publisher walk every event, and most events are charges.

A charge is decoded into a Struct that has every field in its stored position but
reads the fields no view uses as raw JSON, so no string is built for the verbatim
inbound line or the ids only the log needs. Discounts change no view: their rows are
skipped, not decoded, and so are the engine's own events (closes, transfers, …).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from engine.mapper import TOPICS, decode_event
from projections.fold import ViewDelta
from schemas.recorded import ChargeRecorded, CustomerAssociated, CustomerDisassociated

# The fields of a recorded charge the views use.
VIEW_FIELDS = frozenset({
    "recorded_at", "customer_id", "period", "service_type", "item_id", "currency",
    "list_units", "discount_units", "payable_units", "settled_units", "rounding_off_units",
    "partner_id", "account_manager_id", "indirect_partner_id",
})
ChargeView = msgspec.defstruct(
    "ChargeView",
    [(f.name, f.type if f.name in VIEW_FIELDS else msgspec.Raw) for f in msgspec.structs.fields(ChargeRecorded)],
    array_like=True,
)
decode_charge_view = msgspec.json.Decoder(ChargeView).decode
CHARGE_TOPIC = TOPICS[ChargeRecorded]
# The other events the views fold; every other topic changes no view of §4.
ASSOCIATION_TOPICS = frozenset({TOPICS[CustomerAssociated], TOPICS[CustomerDisassociated]})


def add_stored_rows(delta: ViewDelta, rows: Iterable[tuple[int, str, bytes]], as_of: str | None = None) -> None:
    """Folds stored rows (notification id, topic, state) into `delta`, in log order;
    with `as_of` (a recorded time), only the events recorded at or before it."""
    add_charge, add = delta.add_charge, delta.add
    for _id, topic, state in rows:
        if topic == CHARGE_TOPIC:
            charge = decode_charge_view(state)
            if as_of is None or charge.recorded_at <= as_of:
                add_charge(charge)
        elif topic in ASSOCIATION_TOPICS:
            event = decode_event(topic, state)
            if as_of is None or event.recorded_at <= as_of:
                add(event)
