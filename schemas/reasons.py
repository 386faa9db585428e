"""Stable rejection reason codes (CONTRACT.md §3 and the corrections of §11), in the
order the checks run."""

from __future__ import annotations

from enum import Enum


class Reason(str, Enum):  # noqa: UP042 (StrEnum would change how a member prints; kept as it is stored)
    """Why an input was rejected, in the order the checks run."""

    MALFORMED_JSON = "malformed_json"
    INVALID_ENVELOPE = "invalid_envelope"
    UNKNOWN_TYPE = "unknown_type"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    INVALID_DATA = "invalid_data"
    CURRENCY_NOT_ACCEPTED = "currency_not_accepted"
    ALREADY_ASSOCIATED = "already_associated"
    NOT_ASSOCIATED = "not_associated"
    UNKNOWN_ORDER = "unknown_order"
    ORDER_ALREADY_PAID = "order_already_paid"
    REFUND_EXCEEDS_ORDER = "refund_exceeds_order"
    DISCOUNT_ALREADY_GRANTED = "discount_already_granted"
    UNKNOWN_DISCOUNT = "unknown_discount"
    UNKNOWN_EVENT = "unknown_event"
    ALREADY_VOIDED = "already_voided"
    ORDER_HAS_REFUNDS = "order_has_refunds"


REASON_CODES = tuple(reason.value for reason in Reason)
