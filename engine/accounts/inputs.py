"""What callers send to the ledger, checked before anything is opened or recorded
(CONTRACT.md §8): a malformed amount, id, note or reason is the caller's mistake
(`FieldError` naming the field: the command line exits 2, the API answers 400)."""

from __future__ import annotations

import re

from engine.errors import FieldError
from engine.money import SCALE_DIGITS

MAX_AMOUNT_WHOLE = 999_999_999_999
MAX_ID_CHARS = 64
MAX_NOTE_CHARS = 512
MAX_REASON_CHARS = 512

_PLAIN_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def amount_units(field: str, text: str, minor_digits: int, currency: str, *, zero_ok: bool = False) -> int:
    """A transfer amount (or, with `zero_ok`, a warning threshold): a plain decimal with
    at most the currency's minor digits, above zero (at least zero) and at most
    999999999999; returned in units of 10⁻⁸."""
    match = _PLAIN_DECIMAL.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise FieldError(field, f'must be a plain decimal such as "100.00", not {text!r}')
    whole, fraction = match.group(1).lstrip("0") or "0", match.group(2) or ""
    if len(fraction) > minor_digits:
        allowed = "no decimals" if minor_digits == 0 else f"at most {minor_digits} decimals"
        raise FieldError(field, f"{allowed} in {currency}, not {text!r}")
    if len(whole) > len(str(MAX_AMOUNT_WHOLE)):
        raise FieldError(field, f"at most {MAX_AMOUNT_WHOLE}, not {text!r}")
    units = int(whole) * 10**SCALE_DIGITS + int(fraction.ljust(SCALE_DIGITS, "0") or "0")
    if units > MAX_AMOUNT_WHOLE * 10**SCALE_DIGITS:
        raise FieldError(field, f"at most {MAX_AMOUNT_WHOLE}, not {text!r}")
    if units == 0 and not zero_ok:
        raise FieldError(field, f"must be above zero, not {text!r}")
    return units


def identifier(field: str, text: str) -> str:
    """An id (a transfer's, an application's, a partner's): 1..64 characters, no control
    characters."""
    if not isinstance(text, str) or not text:
        raise FieldError(field, "must not be empty")
    if len(text) > MAX_ID_CHARS:
        raise FieldError(field, f"at most {MAX_ID_CHARS} characters, not {len(text)}")
    if _CONTROL.search(text):
        raise FieldError(field, "must not contain control characters")
    return text


def text_of(field: str, text: str | None, *, least: int, most: int) -> str | None:
    """A free text (a note 0..512, a reason 1..512 characters); None stays None."""
    if text is None:
        return None
    if not isinstance(text, str) or not least <= len(text) <= most:
        raise FieldError(field, f"must be {least} to {most} characters")
    return text
