"""A customer's decision state, folded from its stream: associations, discounts, orders.

`evolve` is the only way the state changes, and it is a pure fold over recorded
events, so the persisted state is a cache: it can always be rebuilt from the stream.
Usage leaves the state alone; the state grows with associations, discounts and orders,
never with consumption.
"""

from __future__ import annotations

from msgspec import Struct

from engine.instants import Instant
from engine.money import format_units, units_from_fixed8
from schemas.recorded import (
    ChargeRecorded,
    CustomerAssociated,
    CustomerDisassociated,
    DiscountGranted,
    DiscountRevoked,
    RecordedEvent,
)


class Association(Struct, array_like=True):
    """One association interval [start, end) with a partner."""

    partner_id: str
    start: Instant
    end: Instant | None
    customer_type: str
    account_manager_id: str | None
    indirect_partner_id: str | None


class Discount(Struct, array_like=True):
    """A granted discount: in force from valid_from to the earliest of its ends."""

    service_type: str
    rate_units: int
    valid_from: Instant
    valid_to: Instant | None

    def in_force(self, at: Instant) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)


class PaidOrder(Struct, array_like=True):
    """A paid order as rated, with what has been refunded of it so far."""

    service_type: str
    product_id: str
    list_amount: str
    refunded_amount: str
    rate_units: int
    partner_id: str | None
    account_manager_id: str | None
    indirect_partner_id: str | None

    @property
    def refundable_units(self) -> int:
        return units_from_fixed8(self.list_amount) - units_from_fixed8(self.refunded_amount)


class CustomerState(Struct):
    """Everything decisions about one customer depend on, at a stream version."""

    customer_id: str
    version: int = 0
    associations: list[Association] = []
    discounts: dict[str, Discount] = {}
    orders: dict[str, PaidOrder] = {}

    def association_at(self, at: Instant) -> Association | None:
        """The association covering `at`, if any (intervals never overlap)."""
        for association in reversed(self.associations):
            if association.start <= at and (association.end is None or at < association.end):
                return association
        return None

    def rate_units_at(self, service_type: str, at: Instant, scale: int) -> int:
        """The lowest rate of the discounts in force at `at` for the service type."""
        rate = scale
        for discount in self.discounts.values():
            if discount.service_type in (service_type, "*") and discount.in_force(at):
                rate = min(rate, discount.rate_units)
        return rate


def evolve(state: CustomerState, event: RecordedEvent) -> CustomerState:
    """Applies one recorded event of the customer's stream to its state, in place."""
    state.version = event.originator_version
    if isinstance(event, ChargeRecorded):
        if event.order_id is not None:
            _remember_order(state, event)
    elif isinstance(event, CustomerAssociated):
        state.associations.append(
            Association(
                event.partner_id,
                event.at,
                None,
                event.customer_type,
                event.account_manager_id,
                event.indirect_partner_id,
            )
        )
    elif isinstance(event, CustomerDisassociated):
        state.associations[-1].end = event.at
    elif isinstance(event, DiscountGranted):
        state.discounts[event.discount_id] = Discount(
            event.service_type,
            event.rate_units,
            event.valid_from,
            event.valid_to,
        )
    elif isinstance(event, DiscountRevoked):
        discount = state.discounts[event.discount_id]
        if discount.valid_to is None or event.at < discount.valid_to:
            discount.valid_to = event.at
    return state


def _remember_order(state: CustomerState, charge: ChargeRecorded) -> None:
    if charge.type == "order.paid":
        state.orders[charge.order_id] = PaidOrder(
            charge.service_type,
            charge.item_id,
            format_units(charge.list_units),
            "0.00000000",
            charge.rate_units,
            charge.partner_id,
            charge.account_manager_id,
            charge.indirect_partner_id,
        )
    else:  # a refund: its list amount is negative
        order = state.orders[charge.order_id]
        refunded = units_from_fixed8(order.refunded_amount) - charge.list_units
        order.refunded_amount = format_units(refunded)
