"""Incentive policies (CONTRACT.md §9): reading a policy file, and the rewards of its tiers.

A reward applies its tiers to an indicator's value: `whole` takes the rate of the
highest tier reached (value ≥ its `from`) for all of the value; `stepped` takes each
tier's rate for the part of the value between its `from` and the next tier's. The
products are exact (10⁻¹⁶ units: value and rate are both 10⁻⁸ figures) and the reward
is truncated toward zero to the minor unit once, as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from engine.errors import FieldError, Refused
from engine.instants import parse_period
from engine.money import SCALE, SCALE_DIGITS, parse_amount
from schemas.incentive_events import IncentivePolicy

_DECODER = msgspec.json.Decoder(IncentivePolicy)
_CANONICAL = msgspec.json.Encoder(order="sorted")


class PolicyFileError(ValueError):
    """A malformed policy file (a usage error); the message names the field."""


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier in 10⁻⁸ units: from this value (inclusive), this rate."""

    from_units: int
    rate_units: int


def reward_units(value_units: int, tiers: Sequence[Tier], mode: str, minor_digits: int) -> int:
    """The reward of a value (10⁻⁸ units) under tiers sorted by `from`, truncated."""
    exact = 0  # 10⁻¹⁶ units
    if mode == "whole":
        reached = [tier for tier in tiers if value_units >= tier.from_units]
        if reached:
            exact = value_units * reached[-1].rate_units
    else:
        for index, tier in enumerate(tiers):
            if value_units <= tier.from_units:
                break
            top = value_units if index + 1 == len(tiers) else min(value_units, tiers[index + 1].from_units)
            exact += (top - tier.from_units) * tier.rate_units
    step = 10 ** (2 * SCALE_DIGITS - minor_digits)
    kept = abs(exact) // step * step // SCALE
    return kept if exact >= 0 else -kept


def read_policy(text: bytes) -> IncentivePolicy:
    """The policy in a file, or `PolicyFileError` naming the first bad field; two tiers
    of one reward with the same `from` are refused (`duplicate_tier`)."""
    try:
        policy = _DECODER.decode(text)
    except msgspec.ValidationError as error:
        raise PolicyFileError(_field_message(str(error))) from None
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as error:
        raise PolicyFileError(f"not a JSON policy ({error})") from None
    _check_periods(policy.periods)
    names = [indicator.name for indicator in policy.indicators]
    if not names:
        raise PolicyFileError("indicators: at least one indicator is needed")
    if len(set(names)) != len(names):
        raise PolicyFileError("indicators: two indicators have the same name")
    rewarded: list[str] = []
    for index, reward in enumerate(policy.rewards):
        where = f"rewards[{index}]"
        if reward.indicator not in names:
            raise PolicyFileError(f"{where}.indicator: no indicator is named {reward.indicator!r}")
        if reward.indicator in rewarded:
            raise PolicyFileError(f"{where}.indicator: {reward.indicator!r} already has a reward")
        rewarded.append(reward.indicator)
        _read_tiers(reward.tiers, where)
    # Judged once the whole file is known to be well formed: a refusal, not a usage error.
    for index, reward in enumerate(policy.rewards):
        starts = [tier.from_units for tier in _read_tiers(reward.tiers, f"rewards[{index}]")]
        if len(set(starts)) != len(starts):
            raise Refused("duplicate_tier", f"rewards[{index}]: two tiers have the same `from`")
    return policy


def policy_content(text: bytes) -> str:
    """A well-formed policy file's JSON value written canonically (keys sorted, no
    spaces): what identifies it, since equal content means equal as JSON values (§9),
    unknown keys included."""
    return _CANONICAL.encode(msgspec.json.decode(text)).decode()


def same_content(content: str, text: bytes) -> bool:
    """Whether a policy file holds the JSON value recorded as `content`."""
    return msgspec.json.decode(content) == msgspec.json.decode(text)


def tiers_of(tiers: Sequence) -> list[Tier]:
    """A read policy's tiers in 10⁻⁸ units, sorted by `from`."""
    return sorted(_read_tiers(tiers, "tiers"), key=lambda tier: tier.from_units)


def _read_tiers(tiers: Sequence, where: str) -> list[Tier]:
    if not tiers:
        raise PolicyFileError(f"{where}.tiers: at least one tier is needed")
    return [
        Tier(_non_negative(f"{where}.tiers[{i}].from", t.from_), _non_negative(f"{where}.tiers[{i}].rate", t.rate))
        for i, t in enumerate(tiers)
    ]


def _non_negative(field: str, text: str) -> int:
    try:
        units = parse_amount(field, text)
    except FieldError as error:
        raise PolicyFileError(str(error)) from None
    if units < 0:
        raise PolicyFileError(f"{field}: must not be negative")
    return units


def _check_periods(periods: list[str]) -> None:
    if not periods:
        raise PolicyFileError("periods: at least one period is needed")
    for index, period in enumerate(periods):
        try:
            parse_period(period)
        except ValueError as error:
            raise PolicyFileError(f"periods[{index}]: {error}") from None
    if len(set(periods)) != len(periods):
        raise PolicyFileError("periods: a period is listed twice")


def _field_message(message: str) -> str:
    """msgspec's "Expected … - at `$.rewards[0].mode`" as "rewards[0].mode: expected …"."""
    what, _, path = message.partition(" - at `$")
    path = path.rstrip("`").lstrip(".")
    if what.startswith("Object missing required field `"):
        field = what.removeprefix("Object missing required field `").rstrip("`")
        return f"{path + '.' if path else ''}{field}: missing"
    if "matching regex" in what:
        wanted = "a period YYYY-MM" if path.startswith("periods") else 'a plain decimal string such as "0.02"'
        return f"{path}: must be {wanted}"
    return f"{path or 'policy'}: {what[0].lower() + what[1:] if what else 'invalid'}"


def value_units_of_count(count: int) -> int:
    """A count as a 10⁻⁸ figure, so one tier rule serves amounts and counts."""
    return count * SCALE
