"""Recorded events: each accepted inbound fact, stored once with the decision taken on it.

One stream per customer (`originator_id` is the customer id), so every decision about
a customer is made against that stream's latest version and the store's optimistic
concurrency stops two writers from deciding from stale state.

Every recorded event keeps the inbound line verbatim (`fact`), its business time
(`time`, as sent, and `at`, the sortable instant) and its recorded time
(`recorded_at`, RFC 3339 UTC with microseconds, fixed width so it sorts as text).

Stored compactly, as JSON arrays in field order (`array_like`): field names would be a
third of every stored row, and the rows' size bounds how fast the store can write them.
Amounts and rates are integers counting 10⁻⁸ of the currency unit (`*_units`; JSON
integers have no size limit, and the views write them out as 8-decimal strings). These
types never reorder or drop a field, and the base's fields never change (every
subclass's positions follow them); a new field goes at the end of its class, with a
default.
"""

from __future__ import annotations

import msgspec
from msgspec import Struct


class RecordedEvent(Struct, kw_only=True, array_like=True):
    """What every recorded event carries."""

    originator_id: str
    originator_version: int
    customer_id: str
    source: str
    id: str
    time: str
    at: str
    recorded_at: str
    fact: msgspec.Raw


class CustomerAssociated(RecordedEvent, kw_only=True):
    """The customer was associated with a partner from `at` on."""

    partner_id: str
    customer_type: str
    channel: str
    account_manager_id: str | None = None
    indirect_partner_id: str | None = None


class CustomerDisassociated(RecordedEvent, kw_only=True):
    """The customer's open association with the partner ended at `at`."""

    partner_id: str


class DiscountGranted(RecordedEvent, kw_only=True):
    """A discount rate on a service type (or `*`) from `valid_from`, before `valid_to`."""

    discount_id: str
    kind: str
    service_type: str
    rate_units: int
    valid_from: str
    valid_to: str | None = None
    partner_id: str | None = None


class DiscountRevoked(RecordedEvent, kw_only=True):
    """The discount stops applying at `at` (the earliest end wins)."""

    discount_id: str


class ChargeRecorded(RecordedEvent, kw_only=True):
    """A usage, order or refund rated once: the amounts are never recomputed."""

    type: str
    period: str
    service_type: str
    item_id: str
    order_id: str | None
    currency: str
    rate_units: int
    list_units: int
    discount_units: int
    payable_units: int
    settled_units: int
    rounding_off_units: int
    partner_id: str | None
    account_manager_id: str | None
    indirect_partner_id: str | None


RECORDED_EVENT_TYPES: tuple[type[RecordedEvent], ...] = (
    CustomerAssociated,
    CustomerDisassociated,
    DiscountGranted,
    DiscountRevoked,
    ChargeRecorded,
)
