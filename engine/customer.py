"""A customer's decision state, folded from its stream: associations, discounts, orders
and the charges corrections acted on.

`evolve` is the only way the state changes, and it is a pure fold over recorded
events, so the persisted state is a cache: it can always be rebuilt from the stream.
Usage leaves the state alone; the state grows with associations, discounts, orders
and corrections, never with consumption. A charge no correction touched stands as it
was recorded: a correction's decider reads it from the log (the ledger hands it in),
so the state, written back after every batch, stays as small as it was.

Stored as msgpack in `customer_states`: these types only grow at the end, with
defaults, so a state written by an older version still decodes.
"""

from __future__ import annotations

from msgspec import Struct

from engine.instants import Instant
from engine.money import format_units, units_from_fixed8
from schemas.recorded import (
    ChargeFigures,
    ChargeRecorded,
    ChargeVoided,
    CustomerAssociated,
    CustomerDisassociated,
    DiscountGranted,
    DiscountRevoked,
    RecordedEvent,
    UsageAmended,
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
    # Voided (CONTRACT.md §11): still paid (its id can't be paid again), nothing to refund.
    voided: bool = False

    @property
    def refundable_units(self) -> int:
        """What is left to refund: the order less its refunds not voided."""
        if self.voided:
            return 0
        return units_from_fixed8(self.list_amount) - units_from_fixed8(self.refunded_amount)

    @property
    def has_refunds(self) -> bool:
        """Whether a refund of it stands (each refund is above zero, so any refund not
        voided leaves the refunded amount above zero)."""
        return units_from_fixed8(self.refunded_amount) != 0


class CorrectedCharge(Struct, array_like=True):
    """A charge a correction acted on: voided, and its standing figures when an
    amendment replaced the recorded ones (None: the recorded charge stands)."""

    voided: bool
    figures: ChargeFigures | None = None


class CustomerState(Struct):
    """Everything decisions about one customer depend on, at a stream version."""

    customer_id: str
    version: int = 0
    associations: list[Association] = []
    discounts: dict[str, Discount] = {}
    orders: dict[str, PaidOrder] = {}
    # The charges corrections acted on, by the `source` and `id` of the charged event.
    corrected: dict[str, dict[str, CorrectedCharge]] = {}

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

    def correction_of(self, source: str, event_id: str) -> CorrectedCharge | None:
        """What corrections did to the charge of event `(source, event_id)`, if anything."""
        by_id = self.corrected.get(source)
        return None if by_id is None else by_id.get(event_id)


def evolve(state: CustomerState, event: RecordedEvent) -> CustomerState:
    """Applies one recorded event of the customer's stream to its state, in place."""
    state.version = event.originator_version
    if isinstance(event, ChargeRecorded):
        if type(event) is not ChargeRecorded:
            _remember_correction(state, event)
        elif event.order_id is not None:
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


def _remember_correction(state: CustomerState, correction: ChargeRecorded) -> None:
    by_id = state.corrected.setdefault(correction.event_source, {})
    if isinstance(correction, UsageAmended):
        # The new charge stands from now on (its figures are this event's own).
        by_id[correction.event_id] = CorrectedCharge(False, figures_of(correction))
        return
    assert isinstance(correction, ChargeVoided)
    earlier = by_id.get(correction.event_id)
    by_id[correction.event_id] = CorrectedCharge(True, earlier.figures if earlier else None)
    if correction.order_id is None:
        return  # a usage or a gift: no order keeps count of it
    order = state.orders[correction.order_id]
    if correction.event_type == "order.paid":
        order.voided = True
    else:  # a refund voided: its reversal's (positive) list amount goes back to the order
        assert correction.event_type == "order.refunded", correction.event_type
        order.refunded_amount = format_units(units_from_fixed8(order.refunded_amount) - correction.list_units)


def figures_of(charge: ChargeRecorded) -> ChargeFigures:
    """The rated figures a charge carries."""
    return ChargeFigures(
        charge.rate_units,
        charge.list_units,
        charge.discount_units,
        charge.payable_units,
        charge.settled_units,
        charge.rounding_off_units,
    )
