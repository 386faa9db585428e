"""Stable rejection codes (CONTRACT.md §3) and the errors that carry them."""

from __future__ import annotations

from enum import Enum


class Reason(str, Enum):
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


REASON_CODES = tuple(reason.value for reason in Reason)


class FieldError(ValueError):
    """A field that is missing or malformed; the message starts with the field's path."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Rejected(Exception):
    """An input the engine will not record, with its stable reason code."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(f"{reason.value}: {message}")
        self.reason = reason
        self.message = message


class SettingsError(ValueError):
    """A deployment setting (environment or flag) that can't be used."""


class StoreError(RuntimeError):
    """The store can't be opened or used (missing, unreachable, not a billing store)."""
