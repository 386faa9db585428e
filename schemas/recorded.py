"""Recorded events: each accepted inbound fact, stored once with the decision taken on it.

One stream per customer (`originator_id` is the customer id), so every decision about
a customer is made against that stream's latest version and the store's optimistic
concurrency stops two writers from deciding from stale state. The one fact without a
customer, `account_manager.assigned`, goes to its partner's roster stream
(`roster_stream(PARTNER)`, `customer_id` ""), decided the same way.

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

from typing import ClassVar

import msgspec
from msgspec import Struct


class RecordedEvent(Struct, kw_only=True, array_like=True):
    """What every recorded event carries."""

    # The inbound `type` this event records (a charge's is its own `type` field).
    LOG_TYPE: ClassVar[str] = ""

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

    LOG_TYPE = "customer.associated"

    partner_id: str
    customer_type: str
    channel: str
    account_manager_id: str | None = None
    indirect_partner_id: str | None = None


class CustomerDisassociated(RecordedEvent, kw_only=True):
    """The customer's open association with the partner ended at `at`."""

    LOG_TYPE = "customer.disassociated"

    partner_id: str


class DiscountGranted(RecordedEvent, kw_only=True):
    """A discount rate on a service type (or `*`) from `valid_from`, before `valid_to`."""

    LOG_TYPE = "discount.granted"

    discount_id: str
    kind: str
    service_type: str
    rate_units: int
    valid_from: str
    valid_to: str | None = None
    partner_id: str | None = None


class DiscountRevoked(RecordedEvent, kw_only=True):
    """The discount stops applying at `at` (the earliest end wins)."""

    LOG_TYPE = "discount.revoked"

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


class ChargeFigures(Struct, array_like=True):
    """The rated figures of one charge (integers of 10⁻⁸)."""

    rate_units: int
    list_units: int
    discount_units: int
    payable_units: int
    settled_units: int
    rounding_off_units: int


class ChargeVoided(ChargeRecorded, kw_only=True):
    """A `charge.voided` (CONTRACT.md §11): the charge fields hold the *reversal* (the
    voided charge's amounts negated, its rate, period, line, order and attribution
    copied); `event_source`/`event_id` name the voided event."""

    event_source: str
    event_id: str
    reason: str
    # The voided event's type (`usage.recorded`, `order.paid` or `order.refunded`): a
    # reversal alone can't tell a voided gift from a voided usage of zero, nor (but by
    # its sign) a voided order from a voided refund.
    event_type: str = ""


class UsageAmended(ChargeRecorded, kw_only=True):
    """A `usage.amended` (CONTRACT.md §11): the charge fields hold the *new* charge
    (the new quantity and unit price rated at the usage's time), `reversal` the
    figures that reverse the usage's standing charge (same period, line, attribution)."""

    event_source: str
    event_id: str
    reason: str
    reversal: ChargeFigures


class AccountManagerAssigned(RecordedEvent, kw_only=True):
    """An `account_manager.assigned` (CONTRACT.md §1, §9): who supervises the account
    manager from `at` on. It concerns no customer: `customer_id` is "" and the event is
    recorded in its partner's roster stream (`roster_stream`), not a customer's."""

    LOG_TYPE = "account_manager.assigned"

    partner_id: str
    account_manager_id: str
    supervisor_id: str


# Longer than any customer id (see `schemas.engine_events.STREAM_PREFIX`), so a
# partner's roster never shares a stream with a customer.
ROSTER_STREAM_PREFIX = "billing-engine-streams-are-longer-than-any-customer-id-of-64-chars/account_managers:"


def roster_stream(partner_id: str) -> str:
    """The stream of a partner's account-manager assignments, in the order recorded."""
    return ROSTER_STREAM_PREFIX + partner_id


RECORDED_EVENT_TYPES: tuple[type[RecordedEvent], ...] = (
    CustomerAssociated,
    CustomerDisassociated,
    DiscountGranted,
    DiscountRevoked,
    ChargeRecorded,
    ChargeVoided,
    UsageAmended,
    AccountManagerAssigned,
)
