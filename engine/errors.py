"""Stable rejection codes (CONTRACT.md §3) and the errors that carry them."""

from __future__ import annotations

from schemas.reasons import REASON_CODES, Reason

__all__ = ["REASON_CODES", "FieldError", "Reason", "Rejected", "SettingsError", "StoreError"]


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
