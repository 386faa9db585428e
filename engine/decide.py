"""The decider: one candidate against its customer's state becomes one recorded event.

Pure: no clock, no I/O. The caller passes the recorded time and the deployment's rules
in, and applies the returned event to the state with `evolve`. Business-rule failures
raise `Rejected` with a stable code (CONTRACT.md §3, item 7). Corrections (§11) are
decided by `engine.corrections`.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from engine.corrections import decide_correction
from engine.customer import CustomerState
from engine.errors import Reason, Rejected
from engine.instants import BillingCalendar, format_instant
from engine.judge import Candidate
from engine.money import SCALE, charge_figures, format_units, multiply_half_up
from schemas.inbound import CORRECTION_TYPES
from schemas.recorded import (
    AccountManagerAssigned,
    ChargeRecorded,
    CustomerAssociated,
    CustomerDisassociated,
    DiscountGranted,
    DiscountRevoked,
    RecordedEvent,
)


@dataclass(frozen=True, slots=True)
class Rules:
    """The deployment's settings that decisions depend on."""

    currency: str
    minor_digits: int
    calendar: BillingCalendar


def check_currency(candidate: Candidate, rules: Rules) -> None:
    """Rejects an amount in a currency this deployment does not bill."""
    currency = candidate.figures.get("currency")
    if currency is not None and currency != rules.currency:
        raise Rejected(
            Reason.CURRENCY_NOT_ACCEPTED,
            f"data.currency: {currency} is not accepted; this deployment bills in {rules.currency}",
        )


def decide(
    state: CustomerState,
    candidate: Candidate,
    rules: Rules,
    recorded_at: str,
    target: RecordedEvent | None = None,
) -> RecordedEvent:
    """The event to record for a candidate whose data is sound, or `Rejected`. For a
    correction, `target` is the recorded event it names (None: nothing recorded with
    that `(event_source, event_id)`)."""
    charge = _CHARGE_DECIDERS.get(candidate.type)
    if charge is not None:  # usage, orders, refunds: nearly every line
        return charge(state, candidate, rules, recorded_at)
    common = {
        "originator_id": state.customer_id,
        "originator_version": state.version + 1,
        "customer_id": state.customer_id,
        "source": candidate.source,
        "id": candidate.id,
        "time": candidate.time,
        "at": candidate.at,
        "recorded_at": recorded_at,
        "fact": msgspec.Raw(candidate.fact),
    }
    if candidate.type in CORRECTION_TYPES:
        return decide_correction(state, candidate, rules, common, target)
    return _DECIDERS[candidate.type](state, candidate, rules, common)


def _associate(state: CustomerState, candidate: Candidate, _rules: Rules, common: dict) -> RecordedEvent:
    data = candidate.data
    latest = state.associations[-1] if state.associations else None
    if latest is not None and latest.end is None:
        raise Rejected(
            Reason.ALREADY_ASSOCIATED,
            f"data.customer_id: customer {state.customer_id} is still associated with "
            f"partner {latest.partner_id} (since {format_instant(latest.start)})",
        )
    if latest is not None and latest.end > candidate.at:
        raise Rejected(
            Reason.ALREADY_ASSOCIATED,
            f"time: customer {state.customer_id}'s association with partner "
            f"{latest.partner_id} ended at {format_instant(latest.end)}, after this "
            "association's time",
        )
    return CustomerAssociated(
        **common,
        partner_id=data.partner_id,
        customer_type=data.customer_type,
        channel=data.channel,
        account_manager_id=data.account_manager_id,
        indirect_partner_id=data.indirect_partner_id,
    )


def _disassociate(state: CustomerState, candidate: Candidate, _rules: Rules, common: dict) -> RecordedEvent:
    data = candidate.data
    latest = state.associations[-1] if state.associations else None
    if latest is None or latest.end is not None:
        problem = f"customer {state.customer_id} is not associated with any partner"
    elif latest.partner_id != data.partner_id:
        problem = f"customer {state.customer_id} is associated with partner {latest.partner_id}, not {data.partner_id}"
    elif latest.start > candidate.at:
        problem = (
            f"customer {state.customer_id}'s association with partner {latest.partner_id} "
            f"begins at {format_instant(latest.start)}, after this disassociation's time"
        )
    else:
        return CustomerDisassociated(**common, partner_id=data.partner_id)
    raise Rejected(Reason.NOT_ASSOCIATED, f"data.partner_id: {problem}")


def _grant(state: CustomerState, candidate: Candidate, _rules: Rules, common: dict) -> RecordedEvent:
    data = candidate.data
    if data.discount_id in state.discounts:
        raise Rejected(
            Reason.DISCOUNT_ALREADY_GRANTED,
            f"data.discount_id: discount {data.discount_id} was already granted to customer {state.customer_id}",
        )
    figures = candidate.figures
    return DiscountGranted(
        **common,
        discount_id=data.discount_id,
        kind=data.kind,
        service_type=data.service_type,
        rate_units=figures["rate"],
        valid_from=figures["valid_from"],
        valid_to=figures["valid_to"],
        partner_id=data.partner_id,
    )


def _revoke(state: CustomerState, candidate: Candidate, _rules: Rules, common: dict) -> RecordedEvent:
    data = candidate.data
    if data.discount_id not in state.discounts:
        raise Rejected(
            Reason.UNKNOWN_DISCOUNT,
            f"data.discount_id: customer {state.customer_id} was never granted discount {data.discount_id}",
        )
    return DiscountRevoked(**common, discount_id=data.discount_id)


def _charge_usage(state: CustomerState, candidate: Candidate, rules: Rules, recorded_at: str) -> RecordedEvent:
    data = candidate.data
    figures = candidate.figures
    list_units = multiply_half_up(figures["quantity"], figures["unit_price"])
    return _charge(state, candidate, rules, recorded_at, data.service_type, data.resource_id, None, list_units)


def _charge_order(state: CustomerState, candidate: Candidate, rules: Rules, recorded_at: str) -> RecordedEvent:
    data = candidate.data
    if data.order_id and data.order_id in state.orders:
        raise Rejected(
            Reason.ORDER_ALREADY_PAID,
            f"data.order_id: order {data.order_id} of customer {state.customer_id} is already paid",
        )
    return _charge(
        state,
        candidate,
        rules,
        recorded_at,
        data.service_type,
        data.product_id,
        data.order_id or None,
        candidate.figures["amount"],
    )


def _charge_refund(state: CustomerState, candidate: Candidate, rules: Rules, recorded_at: str) -> RecordedEvent:
    data = candidate.data
    order = state.orders.get(data.order_id)
    if order is None:
        raise Rejected(
            Reason.UNKNOWN_ORDER,
            f"data.order_id: customer {state.customer_id} has no paid order {data.order_id}",
        )
    amount = candidate.figures["amount"]
    if amount > order.refundable_units:
        raise Rejected(
            Reason.REFUND_EXCEEDS_ORDER,
            f"data.amount: {format_units(amount)} exceeds what is left of order "
            f"{data.order_id} ({format_units(order.refundable_units)})",
        )
    list_units = -amount
    payable = multiply_half_up(list_units, order.rate_units)
    return _charge_event(
        state,
        candidate,
        rules,
        recorded_at,
        order.service_type,
        order.product_id,
        data.order_id,
        order.rate_units,
        list_units,
        payable,
        (order.partner_id, order.account_manager_id, order.indirect_partner_id),
    )


def _charge(
    state: CustomerState,
    candidate: Candidate,
    rules: Rules,
    recorded_at: str,
    service_type: str,
    item_id: str,
    order_id: str | None,
    list_units: int,
) -> RecordedEvent:
    rate = state.rate_units_at(service_type, candidate.at, SCALE)
    association = state.association_at(candidate.at)
    attribution = (
        (association.partner_id, association.account_manager_id, association.indirect_partner_id)
        if association is not None
        else (None, None, None)
    )
    payable = multiply_half_up(list_units, rate)
    return _charge_event(
        state, candidate, rules, recorded_at, service_type, item_id, order_id, rate, list_units, payable, attribution
    )


def _charge_event(
    state: CustomerState,
    candidate: Candidate,
    rules: Rules,
    recorded_at: str,
    service_type: str,
    item_id: str,
    order_id: str | None,
    rate: int,
    list_units: int,
    payable: int,
    attribution: tuple[str | None, str | None, str | None],
) -> ChargeRecorded:
    partner_id, account_manager_id, indirect_partner_id = attribution
    customer_id = state.customer_id
    # Every field named here, not merged from a shared dict: the hot path's one event
    # a line (1.10 µs against 1.53 with `**common`).
    return ChargeRecorded(
        originator_id=customer_id,
        originator_version=state.version + 1,
        customer_id=customer_id,
        source=candidate.source,
        id=candidate.id,
        time=candidate.time,
        at=candidate.at,
        recorded_at=recorded_at,
        fact=msgspec.Raw(candidate.fact),
        type=candidate.type,
        period=rules.calendar.period_of(candidate.at),
        service_type=service_type,
        item_id=item_id,
        order_id=order_id,
        currency=rules.currency,
        **charge_figures(rate, list_units, payable, rules.minor_digits),
        partner_id=partner_id,
        account_manager_id=account_manager_id,
        indirect_partner_id=indirect_partner_id,
    )


def _assign(_state: CustomerState, candidate: Candidate, _rules: Rules, common: dict) -> RecordedEvent:
    # No business rule: the latest assignment before a moment stands (CONTRACT.md §9).
    # `common` names the roster stream as its originator; the event has no customer.
    data = candidate.data
    return AccountManagerAssigned(
        **{**common, "customer_id": ""},
        partner_id=data.partner_id,
        account_manager_id=data.account_manager_id,
        supervisor_id=data.supervisor_id,
    )


_DECIDERS = {
    "customer.associated": _associate,
    "customer.disassociated": _disassociate,
    "discount.granted": _grant,
    "discount.revoked": _revoke,
    "account_manager.assigned": _assign,
}
# Charges take the recorded time, not `common`: they build their event field by field.
_CHARGE_DECIDERS = {
    "usage.recorded": _charge_usage,
    "order.paid": _charge_order,
    "order.refunded": _charge_refund,
}
