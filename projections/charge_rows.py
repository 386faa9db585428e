"""Stored rows of the log read for the views only: the hot loops of replay and of the
publisher walk every event, and most events are charges.

A charge is decoded into a Struct that has every field in its stored position but
reads the fields no view uses as raw JSON, so no string is built for the verbatim
inbound line or the ids only the log needs. Discounts change no view: their rows are
skipped, not decoded, and so are the engine's own events (closes, transfers, …).
Corrections (CONTRACT.md §11) are charges too, under topics of their own: a void is read
as the charge it records (its reversal), an amendment as its reversal and new charge.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from engine.mapper import TOPICS, decode_event
from projections.fold import ViewDelta, reversal_of
from schemas.recorded import ChargeRecorded, ChargeVoided, CustomerAssociated, CustomerDisassociated, UsageAmended

# The fields of a recorded charge the views use.
VIEW_FIELDS = frozenset(
    {
        "recorded_at",
        "customer_id",
        "period",
        "service_type",
        "item_id",
        "currency",
        "list_units",
        "discount_units",
        "payable_units",
        "settled_units",
        "rounding_off_units",
        "partner_id",
        "account_manager_id",
        "indirect_partner_id",
    }
)


def _view_of(recorded: type[ChargeRecorded], view_fields: frozenset[str]) -> type[msgspec.Struct]:
    return msgspec.defstruct(
        recorded.__name__.removesuffix("Recorded") + "View",
        [(f.name, f.type if f.name in view_fields else msgspec.Raw) for f in msgspec.structs.fields(recorded)],
        array_like=True,
    )


ChargeView = _view_of(ChargeRecorded, VIEW_FIELDS)
# A void's charge fields are its reversal, read as a charge (the fields after a
# charge's are ignored); an amendment also carries the reversal it records.
AmendmentView = _view_of(UsageAmended, VIEW_FIELDS | {"reversal"})
decode_charge_view = msgspec.json.Decoder(ChargeView).decode
decode_amendment_view = msgspec.json.Decoder(AmendmentView).decode
CHARGE_TOPIC = TOPICS[ChargeRecorded]
VOID_TOPIC = TOPICS[ChargeVoided]
AMENDMENT_TOPIC = TOPICS[UsageAmended]
# Every topic whose event is a charge for the views (CONTRACT.md §11: so are corrections).
CHARGE_TOPICS = frozenset({CHARGE_TOPIC, VOID_TOPIC, AMENDMENT_TOPIC})
# The other events the views fold; every other topic changes no view of §4.
ASSOCIATION_TOPICS = frozenset({TOPICS[CustomerAssociated], TOPICS[CustomerDisassociated]})


def add_stored_rows(delta: ViewDelta, rows: Iterable[tuple[int, str, bytes]], as_of: str | None = None) -> bool:
    """Folds stored rows (notification id, topic, state) into `delta`, in log order;
    with `as_of` (a recorded time), only the events recorded at or before it. True once
    an event recorded after `as_of` is met: `recorded_at` never decreases along the log
    (CONTRACT.md §11), so no later row counts and the caller can stop reading."""
    add_charge, add = delta.add_charge, delta.add
    for _id, topic, state in rows:
        if topic == CHARGE_TOPIC:
            charge = decode_charge_view(state)
            if as_of is not None and charge.recorded_at > as_of:
                return True
            add_charge(charge)
        elif topic in ASSOCIATION_TOPICS:
            event = decode_event(topic, state)
            if as_of is not None and event.recorded_at > as_of:
                return True
            add(event)
        elif topic == VOID_TOPIC:
            charge = decode_charge_view(state)
            if as_of is not None and charge.recorded_at > as_of:
                return True
            add_charge(charge)
        elif topic == AMENDMENT_TOPIC:
            amendment = decode_amendment_view(state)
            if as_of is not None and amendment.recorded_at > as_of:
                return True
            add_charge(reversal_of(amendment))
            add_charge(amendment)
    return False
