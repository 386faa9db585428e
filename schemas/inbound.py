"""Inbound CloudEvents (CONTRACT.md §1): the envelope and the `data` of each type.

The Structs are the single statement of each event's shape: the ingest decodes with
them, the JSON Schema documents are generated from them. Amounts stay strings with a
pattern; `engine.money` turns them into exact figures (msgspec can't constrain
`Decimal`, and it would accept "NaN").
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Literal, Union

import msgspec
from msgspec import Meta, Struct

AMOUNT_PATTERN = r"^-?[0-9]{1,15}(\.[0-9]{1,8})?$"
RFC3339_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)

Identifier = Annotated[str, Meta(min_length=1, max_length=64)]
Amount = Annotated[str, Meta(pattern=AMOUNT_PATTERN, description="a plain decimal string, at most 8 decimals")]
Timestamp = Annotated[str, Meta(pattern=RFC3339_PATTERN, description="RFC 3339 date-time with its offset")]
CurrencyCode = Annotated[str, Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]


class CustomerAssociatedData(Struct):
    """A customer was associated with a partner."""

    partner_id: Identifier
    customer_id: Identifier
    customer_type: Literal["enterprise", "individual"]
    channel: Literal["registration", "invitation_link", "qr_code"]
    indirect_partner_id: Identifier | None = None
    account_manager_id: Identifier | None = None


class CustomerDisassociatedData(Struct):
    """A customer was disassociated from a partner."""

    partner_id: Identifier
    customer_id: Identifier
    reason: Annotated[str, Meta(max_length=256)] | None = None


class UsageRecordedData(Struct):
    """Metered consumption of one resource at a list price per unit."""

    customer_id: Identifier
    service_type: Annotated[str, Meta(min_length=1, max_length=64)]
    resource_id: Annotated[str, Meta(min_length=1, max_length=128)]
    quantity: Amount
    unit: Annotated[str, Meta(min_length=1, max_length=32)]
    unit_price: Amount
    currency: CurrencyCode
    product_id: Identifier | None = None
    region: Annotated[str, Meta(min_length=1, max_length=64)] | None = None


class OrderPaidData(Struct):
    """A prepaid order (or a gift, source_type "1") was paid at list price."""

    order_id: Annotated[str, Meta(max_length=64)]
    customer_id: Identifier
    product_id: Identifier
    service_type: Annotated[str, Meta(min_length=1, max_length=64)]
    source_type: Literal["0", "1"]
    amount: Amount
    currency: CurrencyCode


class OrderRefundedData(Struct):
    """Part or all of a paid order was refunded, at list price."""

    order_id: Identifier
    customer_id: Identifier
    amount: Amount
    currency: CurrencyCode


class DiscountGrantedData(Struct):
    """A customer was granted a discount rate on a service type (or `*`)."""

    discount_id: Identifier
    customer_id: Identifier
    kind: Literal["business", "exclusive"]
    service_type: Annotated[str, Meta(min_length=1, max_length=64)]
    rate: Amount
    valid_from: Timestamp
    valid_to: Timestamp | None = None
    partner_id: Identifier | None = None


class DiscountRevokedData(Struct):
    """A customer's discount stops applying at this event's time."""

    discount_id: Identifier
    customer_id: Identifier


class AccountManagerAssignedData(Struct):
    """An account manager of a partner is supervised by `supervisor_id` from this event's time."""

    partner_id: Identifier
    account_manager_id: Identifier
    supervisor_id: Identifier


EventSource = Annotated[str, Meta(min_length=1, max_length=256)]
EventId = Annotated[str, Meta(min_length=1, max_length=128)]
CorrectionReason = Annotated[str, Meta(min_length=1, max_length=256)]


class ChargeVoidedData(Struct):
    """A correction: the charge of an accepted usage, order or refund is voided."""

    customer_id: Identifier
    event_source: Annotated[EventSource, Meta(description="`source` of the event whose charge is voided")]
    event_id: Annotated[EventId, Meta(description="`id` of the event whose charge is voided")]
    reason: CorrectionReason


class UsageAmendedData(Struct):
    """A correction: an accepted usage's quantity and unit price are replaced."""

    customer_id: Identifier
    event_source: Annotated[EventSource, Meta(description="`source` of the amended usage.recorded")]
    event_id: Annotated[EventId, Meta(description="`id` of the amended usage.recorded")]
    quantity: Amount
    unit_price: Amount
    reason: CorrectionReason


DATA_TYPES: dict[str, type[Struct]] = {
    "customer.associated": CustomerAssociatedData,
    "customer.disassociated": CustomerDisassociatedData,
    "usage.recorded": UsageRecordedData,
    "order.paid": OrderPaidData,
    "order.refunded": OrderRefundedData,
    "discount.granted": DiscountGrantedData,
    "discount.revoked": DiscountRevokedData,
    "account_manager.assigned": AccountManagerAssignedData,
    "charge.voided": ChargeVoidedData,
    "usage.amended": UsageAmendedData,
}
"""Every accepted `type` with the Struct its `data` must decode into."""

EVENT_TYPES = frozenset(DATA_TYPES)
CORRECTION_TYPES = frozenset({"charge.voided", "usage.amended"})
"""The corrections (CONTRACT.md §11): events that act on an earlier charge."""

# Amount fields checked by `engine.money` for a precise message rather than the regex.
AMOUNT_FIELDS = frozenset({"quantity", "unit_price", "amount", "rate"})


def _event_struct(type_name: str, data_type: type[Struct]) -> type[Struct]:
    """The full CloudEvent Struct of one type: the envelope plus its typed `data`."""
    class_name = "".join(part.capitalize() for part in type_name.split(".")) + "Event"
    return msgspec.defstruct(
        class_name,
        [
            ("specversion", Literal["1.0"]),
            ("id", Annotated[str, Meta(min_length=1, max_length=128)]),
            ("source", Annotated[str, Meta(min_length=1, max_length=256)]),
            ("time", Timestamp),
            ("data", data_type),
        ],
        tag_field="type",
        tag=type_name,
        module=__name__,
    )


INBOUND_EVENT_TYPES = tuple(_event_struct(name, struct) for name, struct in DATA_TYPES.items())
InboundEvent = Union[INBOUND_EVENT_TYPES]  # type: ignore[valid-type]  # noqa: UP007
"""The tagged union of every inbound CloudEvent, tagged on `type`."""

for _struct in INBOUND_EVENT_TYPES:
    _struct.__doc__ = f"A `{_struct.__struct_config__.tag}` CloudEvent."
    globals()[_struct.__name__] = _struct


def _without_patterns(annotation: object) -> object:
    """The annotation with every `pattern` constraint left out (lengths kept)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *metas = typing.get_args(annotation)
        kept = [
            Meta(min_length=meta.min_length, max_length=meta.max_length)
            for meta in metas
            if meta.min_length is not None or meta.max_length is not None
        ]
        base = _without_patterns(base)
        return Annotated[(base, *kept)] if kept else base  # type: ignore[return-value]
    if origin in (Union, types.UnionType):
        return Union[tuple(_without_patterns(arg) for arg in typing.get_args(annotation))]  # noqa: UP007
    if isinstance(annotation, type) and issubclass(annotation, Struct):
        return _struct_without_patterns(annotation)
    return annotation


def _struct_without_patterns(struct: type[Struct]) -> type[Struct]:
    hints = typing.get_type_hints(struct, include_extras=True)
    names = struct.__struct_fields__
    defaults = (msgspec.NODEFAULT,) * (len(names) - len(struct.__struct_defaults__)) + struct.__struct_defaults__
    config = struct.__struct_config__
    return msgspec.defstruct(
        f"Unchecked{struct.__name__}",
        [
            (name, _without_patterns(hints[name]))
            if default is msgspec.NODEFAULT
            else (name, _without_patterns(hints[name]), default)
            for name, default in zip(names, defaults, strict=True)
        ],
        tag_field=config.tag_field,
        tag=config.tag,
        module=__name__,
    )


UncheckedInboundEvent = Union[tuple(_struct_without_patterns(s) for s in INBOUND_EVENT_TYPES)]  # type: ignore[valid-type]  # noqa: UP007
"""`InboundEvent` without its string patterns, for the ingest's fast decode.

msgspec checks a pattern by calling Python's `re` for each field, which took two
thirds of the decode (9.1 µs a usage line with patterns, 3.3 µs without, measured on
2026-11-25 with msgspec 0.22).
The ingest re-reads the same fields anyway (`engine.money.parse_amount`,
`engine.instants.parse_instant`, the ISO 4217 table) with messages that name the
field, so a line this decodes is still judged by exactly the same rules.
"""
