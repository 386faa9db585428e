"""Stable rejection codes (CONTRACT.md §3) and the errors that carry them."""

from __future__ import annotations

from schemas.reasons import REASON_CODES, Reason

__all__ = ["REASON_CODES", "FieldError", "Reason", "Refused", "Rejected", "SettingsError", "StoreError"]


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


class Refused(Exception):
    """A request the engine will not carry out (a close too early, a withdrawal above
    the balance, …): a stable snake_case code from CONTRACT.md §7–12, and nothing is
    recorded. The command line prints `CODE: message` and exits 1; the API answers 409."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
