"""The figures an inbound event's data carries, read and checked: the rules its type
can't say (CONTRACT.md §3: amounts, signs, gifts, currencies, discount windows).

A problem is a `FieldError` naming the `data.` field; `engine.judge` keeps it on the
candidate, to be reported after the duplicate check.
"""

from __future__ import annotations

from engine.currencies import is_iso_4217
from engine.errors import FieldError
from engine.instants import Instant, InvalidTime, parse_instant
from engine.money import SCALE, parse_amount
from schemas.inbound import (
    DiscountGrantedData,
    OrderPaidData,
    OrderRefundedData,
    UsageAmendedData,
    UsageRecordedData,
)


def _currency(data) -> str:
    if not is_iso_4217(data.currency):
        raise FieldError("data.currency", f"{data.currency!r} is not an ISO 4217 currency code")
    return data.currency


def _non_negative(field: str, text: str) -> int:
    units = parse_amount(field, text)
    if units < 0:
        raise FieldError(field, "must not be negative")
    return units


def _usage_figures(data: UsageRecordedData, _at: Instant) -> dict[str, object]:
    quantity = _non_negative("data.quantity", data.quantity)
    unit_price = _non_negative("data.unit_price", data.unit_price)
    return {"quantity": quantity, "unit_price": unit_price, "currency": _currency(data)}


def _order_figures(data: OrderPaidData, _at: Instant) -> dict[str, object]:
    amount = _non_negative("data.amount", data.amount)
    if data.source_type == "1":
        if data.order_id != "":
            raise FieldError("data.order_id", 'must be empty for a gift (source_type "1")')
        if amount != 0:
            raise FieldError("data.amount", 'a gift (source_type "1") must have amount zero')
    elif data.order_id == "":
        raise FieldError("data.order_id", 'must not be empty for a purchase (source_type "0")')
    return {"amount": amount, "currency": _currency(data)}


def _refund_figures(data: OrderRefundedData, _at: Instant) -> dict[str, object]:
    amount = parse_amount("data.amount", data.amount)
    if amount <= 0:
        raise FieldError("data.amount", "must be greater than zero")
    return {"amount": amount, "currency": _currency(data)}


def _discount_figures(data: DiscountGrantedData, _at: Instant) -> dict[str, object]:
    rate = parse_amount("data.rate", data.rate)
    if not 0 < rate <= SCALE:
        raise FieldError("data.rate", "must be greater than 0 and at most 1")
    try:
        valid_from = parse_instant(data.valid_from)
    except InvalidTime as error:
        raise FieldError("data.valid_from", str(error)) from None
    valid_to = None
    if data.valid_to is not None:
        try:
            valid_to = parse_instant(data.valid_to)
        except InvalidTime as error:
            raise FieldError("data.valid_to", str(error)) from None
        if valid_to <= valid_from:
            raise FieldError("data.valid_to", "must be after data.valid_from")
    return {"rate": rate, "valid_from": valid_from, "valid_to": valid_to}


def _amendment_figures(data: UsageAmendedData, _at: Instant) -> dict[str, object]:
    # As a usage's, but with no currency: a correction is billed as its target was.
    quantity = _non_negative("data.quantity", data.quantity)
    unit_price = _non_negative("data.unit_price", data.unit_price)
    return {"quantity": quantity, "unit_price": unit_price}


def _no_figures(_data: object, _at: Instant) -> dict[str, object]:
    return {}


FIGURE_READERS = {
    "customer.associated": _no_figures,
    "customer.disassociated": _no_figures,
    "usage.recorded": _usage_figures,
    "order.paid": _order_figures,
    "order.refunded": _refund_figures,
    "discount.granted": _discount_figures,
    "discount.revoked": _no_figures,
    "account_manager.assigned": _no_figures,
    "charge.voided": _no_figures,
    "usage.amended": _amendment_figures,
}
"""For each inbound type, `reader(data, at)`: its figures (amounts in 10⁻⁸ units,
instants), or FieldError on the first that breaks a rule."""
