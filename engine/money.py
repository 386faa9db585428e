"""Exact money: every amount is an integer count of 10⁻⁸ of the currency unit.

CONTRACT.md §2 in arithmetic. Rounding modes are written out where they are used:
half away from zero (Python's ROUND_HALF_UP) to 8 decimals, truncation toward zero to
the currency's minor unit. No float ever touches an amount.
"""

from __future__ import annotations

import re

from engine.errors import FieldError

SCALE_DIGITS = 8
SCALE = 10**SCALE_DIGITS

_AMOUNT = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,8})?")
_LOOSE_NUMBER = re.compile(r"[+-]?[0-9]*\.?[0-9]*(?:[eE][+-]?[0-9]+)?")


_HALF_SCALE = SCALE // 2  # a remainder this large (of SCALE) rounds up
_MINOR_UNIT_STEPS = tuple(10 ** (SCALE_DIGITS - digits) for digits in range(SCALE_DIGITS + 1))  # by minor digits
_FRACTION_PADDING = tuple("0" * (SCALE_DIGITS - digits) for digits in range(SCALE_DIGITS + 1))
_PARSED: dict[str, int] = {}
_PARSED_LIMIT = 1 << 16


def parse_amount(field: str, text: str) -> int:
    """Reads a contract amount string into units of 10⁻⁸, naming `field` if it is bad."""
    # Remembered: prices and rates repeat across millions of lines, quantities less so.
    units = _PARSED.get(text)
    if units is not None:
        return units
    if not _AMOUNT.fullmatch(text):
        raise FieldError(field, _why_not_an_amount(text))
    # "-12.5" -> int("-12" "5" "0000000"): the sign stays in front, one int() call.
    whole, _, fraction = text.partition(".")
    units = int(whole + fraction + _FRACTION_PADDING[len(fraction)])
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[text] = units
    return units


def _why_not_an_amount(text: str) -> str:
    if text.strip() != text or not text:
        return 'must be a plain decimal string such as "12.5" (no spaces)'
    if "e" in text.lower() and _LOOSE_NUMBER.fullmatch(text):
        return "must be a plain decimal string: no exponent"
    if not _LOOSE_NUMBER.fullmatch(text) or text in {".", "+", "-", "+.", "-."}:
        return f'must be a plain decimal string such as "12.5", not {text!r}'
    if text.startswith("+"):
        return "must be a plain decimal string: no leading '+'"
    whole, _, fraction = text.lstrip("-").partition(".")
    if "." in text and not fraction:
        return "must have digits after the decimal point"
    if not whole:
        return "must have digits before the decimal point"
    if len(fraction) > SCALE_DIGITS:
        return "at most 8 decimals"
    if len(whole) > 15:
        return "at most 15 digits before the decimal point"
    return f"must be a plain decimal string, not {text!r}"


def multiply_half_up(left_units: int, right_units: int) -> int:
    """`left × right` for two 10⁻⁸ figures, rounded half away from zero to 10⁻⁸
    (`divide_half_up(left × right, SCALE)` written out: twice a charge, no call)."""
    product = left_units * right_units
    quotient, remainder = divmod(product if product >= 0 else -product, SCALE)
    if remainder >= _HALF_SCALE:
        quotient += 1
    return quotient if product >= 0 else -quotient


def divide_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounding half away from zero (denominator > 0)."""
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def truncate_to_minor(units: int, minor_digits: int) -> int:
    """Truncates toward zero to the currency's minor unit (still in 10⁻⁸ units)."""
    step = _MINOR_UNIT_STEPS[minor_digits]
    kept = (abs(units) // step) * step
    return kept if units >= 0 else -kept


def assert_settled(payable: int, settled: int, rounding_off: int, minor_digits: int) -> None:
    """The money identity of a decided charge (CONTRACT.md §2): payable = settled +
    rounding-off, the rounding-off under one minor unit and of the payable's sign.
    An assertion: only a bug in the engine can break it, never a user's input."""
    assert payable == settled + rounding_off, f"payable {payable} != settled {settled} + rounding-off {rounding_off}"
    assert abs(rounding_off) < _MINOR_UNIT_STEPS[minor_digits] and rounding_off * payable >= 0, (
        f"rounding-off {rounding_off} of payable {payable} is not under one minor unit ({minor_digits} digits)"
    )


def charge_figures(rate_units: int, list_units: int, payable_units: int, minor_digits: int) -> dict[str, int]:
    """A decided charge's six figures, as the `…_units` fields of a recorded charge: the
    rate and list amount as given, the discount what the rate took off, the payable
    settled by truncation to the minor unit and the rest its rounding-off (CONTRACT.md
    §2); the money identity asserted."""
    settled = truncate_to_minor(payable_units, minor_digits)
    rounding_off = payable_units - settled
    assert_settled(payable_units, settled, rounding_off, minor_digits)
    return {
        "rate_units": rate_units,
        "list_units": list_units,
        "discount_units": list_units - payable_units,
        "payable_units": payable_units,
        "settled_units": settled,
        "rounding_off_units": rounding_off,
    }


def format_units(units: int, decimals: int = SCALE_DIGITS) -> str:
    """Writes a 10⁻⁸ figure with exactly `decimals` decimals; zero never has a sign.

    `decimals` below 8 is only for figures already truncated to that many (settled
    amounts); the dropped digits must be zero.
    """
    if decimals == SCALE_DIGITS:  # the hot path: one divmod, one %-format
        if units >= 0:
            return "%d.%08d" % divmod(units, SCALE)  # noqa: UP031 (formats divmod's tuple as it is)
        return "-%d.%08d" % divmod(-units, SCALE)  # noqa: UP031
    drop = SCALE_DIGITS - decimals
    magnitude = abs(units)
    if drop:
        magnitude, rest = divmod(magnitude, 10**drop)
        if rest:
            raise ValueError(f"{units} has more than {decimals} decimals")
    sign = "-" if units < 0 and magnitude else ""
    if decimals == 0:
        return f"{sign}{magnitude}"
    whole, fraction = divmod(magnitude, 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}"


def units_from_fixed8(text: str) -> int:
    """Reads back a figure written by `format_units(…, 8)` (always exactly 8 decimals)."""
    return int(text.replace(".", "", 1))
