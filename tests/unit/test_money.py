"""Money arithmetic (CONTRACT.md §1 amounts, §2 rounding, §4 formatting), no I/O."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.currencies import minor_unit_digits
from engine.errors import FieldError, SettingsError
from engine.money import (
    SCALE,
    assert_settled,
    charge_figures,
    divide_half_up,
    format_units,
    multiply_half_up,
    parse_amount,
    truncate_to_minor,
    units_from_fixed8,
)

CONTRACT_PATTERN = r"^-?[0-9]{1,15}(\.[0-9]{1,8})?$"
UNITS = st.integers(min_value=-(10**23) + 1, max_value=10**23 - 1)  # 15 digits . 8 digits


def exact_units(text: str) -> int:
    """The oracle: the decimal value of an amount string in units of 10⁻⁸."""
    return int(Decimal(text) * SCALE)


# Parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("0", 0),
        ("-0", 0),
        ("12", 1_200_000_000),
        ("12.5", 1_250_000_000),
        ("0.00000001", 1),
        ("-1.5", -150_000_000),
        ("0.12345678", 12_345_678),
        ("999999999999999.99999999", 99_999_999_999_999_999_999_999),
        ("007.10", 710_000_000),
    ],
)
def test_a_plain_decimal_is_read_exactly_in_hundred_millionths(text, units):
    assert parse_amount("data.amount", text) == units


@given(st.from_regex(CONTRACT_PATTERN, fullmatch=True).filter(lambda s: "\n" not in s))
def test_every_string_the_contract_pattern_allows_is_accepted_with_its_exact_value(text):
    assert parse_amount("data.amount", text) == exact_units(text)


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "nan",
        "Infinity",
        "1e3",
        "1E3",
        "1.5e-2",
        "+1",
        " 1",
        "1 ",
        "1.",
        ".5",
        "",
        "-",
        ".",
        "1.123456789",
        "1234567890123456",
        "1,5",
        "0x10",
        "--1",
        "1.2.3",
        "1_000",
        "١",  # an Arabic-Indic digit: a digit to Python, not to the contract
        "1\n",  # `$` in Python's re would allow a trailing newline; the contract doesn't
    ],
)
def test_a_string_outside_the_contract_pattern_is_rejected_naming_the_field(text):
    assert re.fullmatch(CONTRACT_PATTERN.strip("^$"), text) is None  # the oracle agrees
    with pytest.raises(FieldError) as caught:
        parse_amount("data.unit_price", text)
    assert str(caught.value).startswith("data.unit_price: ")
    assert caught.value.field == "data.unit_price"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("1e3", "exponent"),
        ("+1", "+"),
        ("1.123456789", "8 decimals"),
        ("1234567890123456", "15 digits"),
        ("1.", "after the decimal point"),
        (".5", "before the decimal point"),
    ],
)
def test_the_rejection_message_says_what_is_wrong(text, hint):
    with pytest.raises(FieldError) as caught:
        parse_amount("data.quantity", text)
    assert hint in str(caught.value)


# Rounding ----------------------------------------------------------------------------


def half_up_oracle(numerator: int, denominator: int) -> int:
    with localcontext() as context:
        context.prec = 100
        return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("left", "right", "product"),
    [
        # 0.00000001 × 0.5 = 0.000000005: half goes away from zero (half-even would give 0)
        (1, 50_000_000, 1),
        (-1, 50_000_000, -1),
        # 0.00000003 × 0.5 = 0.000000015 → 0.00000002, and its mirror
        (3, 50_000_000, 2),
        (-3, 50_000_000, -2),
        # just under a half rounds toward zero, both signs
        (1, 49_999_999, 0),
        (-1, 49_999_999, 0),
        # 2 × 0.12345678 = 0.24691356, exact
        (200_000_000, 12_345_678, 24_691_356),
        # 33.33333333 × 0.85 = 28.3333333305 → 28.33333333
        (3_333_333_333, 85_000_000, 2_833_333_333),
        (-3_333_333_333, 85_000_000, -2_833_333_333),
    ],
)
def test_products_are_rounded_half_away_from_zero_to_8_decimals(left, right, product):
    assert multiply_half_up(left, right) == product


@given(UNITS, st.integers(min_value=0, max_value=10**11))
def test_a_product_agrees_with_decimal_round_half_up(left, right):
    assert multiply_half_up(left, right) == half_up_oracle(left * right, SCALE)


@given(UNITS, st.integers(min_value=0, max_value=10**11))
def test_a_negative_product_mirrors_the_positive_one(left, right):
    assert multiply_half_up(-left, right) == -multiply_half_up(left, right)


@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=1, max_value=10**12))
def test_division_agrees_with_decimal_round_half_up(numerator, denominator):
    assert divide_half_up(numerator, denominator) == half_up_oracle(numerator, denominator)


@pytest.mark.parametrize(
    ("units", "digits", "settled"),
    [
        (123_999_999, 2, 123_000_000),  # 1.23999999 → 1.23
        (-123_999_999, 2, -123_000_000),  # toward zero, not down
        (999_999, 2, 0),  # 0.00999999 → 0.00
        (-999_999, 2, 0),
        (599_999_999, 0, 500_000_000),  # JPY: 5.99999999 → 5
        (-599_999_999, 0, -500_000_000),
        (123_456_789, 3, 123_400_000),  # KWD: 1.23456789 → 1.234
        (-123_456_789, 3, -123_400_000),
        (0, 2, 0),
        (0, 0, 0),
        (1_000_000, 2, 1_000_000),  # already at the minor unit
    ],
)
def test_settling_truncates_toward_zero_to_the_minor_unit(units, digits, settled):
    assert truncate_to_minor(units, digits) == settled


@given(UNITS, st.sampled_from([0, 2, 3]))
def test_settling_agrees_with_decimal_round_down(units, digits):
    with localcontext() as context:
        context.prec = 100
        value = (Decimal(units) / SCALE).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN)
    assert truncate_to_minor(units, digits) == int(value * SCALE)


@given(UNITS, st.sampled_from([0, 2, 3]))
def test_the_rounding_off_is_under_one_minor_unit_with_the_sign_of_the_amount(units, digits):
    rounding_off = units - truncate_to_minor(units, digits)
    minor_unit = 10 ** (8 - digits)
    if units >= 0:
        assert 0 <= rounding_off < minor_unit
    else:
        assert -minor_unit < rounding_off <= 0


@given(UNITS, st.sampled_from([0, 2, 3]))
def test_every_settled_charge_passes_the_engines_own_money_assertion(units, digits):
    settled = truncate_to_minor(units, digits)
    assert_settled(units, settled, units - settled, digits)  # raises AssertionError if it fails


def test_a_charges_figures_split_the_payable_into_settled_and_rounding_off_and_the_list_into_discount():
    # 2 × 0.12345678 = 0.24691356 listed, 85% payable 0.20987653 (CNY): settled 0.20.
    assert charge_figures(85_000_000, 24_691_356, 20_987_653, 2) == {
        "rate_units": 85_000_000,
        "list_units": 24_691_356,
        "discount_units": 3_703_703,
        "payable_units": 20_987_653,
        "settled_units": 20_000_000,
        "rounding_off_units": 987_653,
    }
    # A refund of the same: every amount negative, truncated toward zero.
    refund = charge_figures(85_000_000, -24_691_356, -20_987_653, 2)
    assert (refund["discount_units"], refund["settled_units"], refund["rounding_off_units"]) == (
        -3_703_703,
        -20_000_000,
        -987_653,
    )


@pytest.mark.parametrize(
    ("payable", "settled", "rounding_off"),
    [
        (1_234_567, 1_000_000, 234_568),  # the sum is off by one unit
        (3_000_000, 1_000_000, 2_000_000),  # two minor units (CNY) left as rounding-off
        (-1_500_000, -2_000_000, 500_000),  # rounded away from zero: the sign differs
    ],
)
def test_a_broken_money_identity_is_an_assertion_error_a_bug_not_a_refusal(payable, settled, rounding_off):
    with pytest.raises(AssertionError):
        assert_settled(payable, settled, rounding_off, 2)


# Formatting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "decimals", "text"),
    [
        (1_111_111_101, 8, "11.11111101"),
        (1, 8, "0.00000001"),
        (-1, 8, "-0.00000001"),
        (0, 8, "0.00000000"),
        (-0, 8, "0.00000000"),
        (100_000_000_000, 8, "1000.00000000"),
        (1_109_000_000, 2, "11.09"),
        (-123_000_000, 2, "-1.23"),
        (0, 2, "0.00"),
        (500_000_000, 0, "5"),
        (-500_000_000, 0, "-5"),
        (0, 0, "0"),
        (123_400_000, 3, "1.234"),
        (5_000_000, 2, "0.05"),
        (-5_000_000, 2, "-0.05"),
    ],
)
def test_amounts_are_written_with_exactly_the_decimals_asked_for(units, decimals, text):
    assert format_units(units, decimals) == text


@given(UNITS)
def test_an_8_decimal_figure_has_exactly_8_decimals_and_reads_back(units):
    text = format_units(units)
    assert re.fullmatch(r"-?[0-9]+\.[0-9]{8}", text)
    assert Decimal(text) * SCALE == units
    assert units_from_fixed8(text) == units


@given(UNITS, st.sampled_from([0, 2, 3]))
def test_a_settled_figure_has_the_minor_digits_and_zero_never_has_a_sign(units, digits):
    settled = truncate_to_minor(units, digits)
    text = format_units(settled, digits)
    assert Decimal(text) * SCALE == settled
    if digits:
        assert re.fullmatch(rf"-?[0-9]+\.[0-9]{{{digits}}}", text)
    else:
        assert re.fullmatch(r"-?[0-9]+", text)
    assert not text.startswith("-") or settled < 0


def test_a_small_negative_amount_settles_to_an_unsigned_zero():
    settled = truncate_to_minor(-999_999, 2)  # -0.00999999
    assert format_units(settled, 2) == "0.00"
    assert format_units(-999_999 - settled) == "-0.00999999"


def test_writing_a_figure_with_fewer_decimals_than_it_has_is_a_programming_error():
    with pytest.raises(ValueError):
        format_units(123_456_789, 2)


# Currencies --------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "digits"), [("CNY", 2), ("USD", 2), ("JPY", 0), ("KWD", 3)])
def test_minor_units_follow_iso_4217(code, digits):
    assert minor_unit_digits(code) == digits


@pytest.mark.parametrize("code", ["XAU", "XXX", "ABC", "cny"])
def test_a_deployment_cannot_bill_in_a_code_without_a_minor_unit(code):
    with pytest.raises(SettingsError, match="BILLING_CURRENCY"):
        minor_unit_digits(code)
