"""What a close carries, and the statements it issues: pure functions of sums.

A partner's charges are tallied per `(period, customer)` as (payable, settled, charges)
in 10⁻⁸ units. The live tally (every charge recorded so far) minus the carried tally
(what earlier statements carried) is what the next statement carries. Charges are only
ever added, so a key's charge count never shrinks; a key whose count grew is carried
even when its amounts net to zero (a refund that cancels its order, a void).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import msgspec

from engine.money import format_units
from schemas.statements import (
    PENDING,
    CarriedCharges,
    LogHead,
    Statement,
    StatementAdjustment,
    StatementBody,
    StatementDetail,
    StatementStep,
)

# (partner_id, period, customer_id) -> [payable_units, settled_units, charges]
TallyKey = tuple[str, str, str]
PAYABLE, SETTLED, CHARGES = range(3)


class TallyBroken(RuntimeError):
    """The carried tally is ahead of the live one: a charge vanished from the views (a bug)."""


@dataclass(frozen=True, slots=True)
class CarriedEntry:
    """The charges of one (period, customer) a statement carries."""

    period: str
    customer_id: str
    payable_units: int
    settled_units: int
    charges: int


def to_carry(
    live: Mapping[TallyKey, Sequence[int]], carried: Mapping[TallyKey, Sequence[int]]
) -> dict[str, list[CarriedEntry]]:
    """Per partner, what is recorded and not carried yet, sorted by (period, customer)."""
    by_partner: dict[str, list[CarriedEntry]] = {}
    for key, sums in live.items():
        before = carried.get(key)
        if before is None:
            before = (0, 0, 0)
        new_charges = sums[CHARGES] - before[CHARGES]
        payable, settled = sums[PAYABLE] - before[PAYABLE], sums[SETTLED] - before[SETTLED]
        if new_charges < 0 or (new_charges == 0 and (payable or settled)):
            raise TallyBroken(f"{key}: live {list(sums)} but carried {list(before)}")
        if new_charges:
            partner_id, period, customer_id = key
            by_partner.setdefault(partner_id, []).append(
                CarriedEntry(period, customer_id, payable, settled, new_charges)
            )
    missing = carried.keys() - live.keys()
    if missing:
        raise TallyBroken(f"carried but not in the live views: {sorted(missing)[:3]}")
    for entries in by_partner.values():
        entries.sort(key=lambda entry: (entry.period, entry.customer_id))
    return by_partner


def build_statement(
    partner_id: str,
    period: str,
    issued_at: str,
    currency: str,
    minor_digits: int,
    entries: Iterable[CarriedEntry],
    log_head: LogHead,
) -> StatementBody:
    """The statement for `period` carrying `entries`: those of the period in its details,
    those of earlier periods in its adjustments (sorted by period, then customer)."""
    details, adjustments = [], []
    totals = [0, 0, 0, 0]  # payable, settled of the period; of the adjustments
    for entry in sorted(entries, key=lambda e: (e.period, e.customer_id)):
        payable = format_units(entry.payable_units)
        settled = format_units(entry.settled_units, minor_digits)
        if entry.period == period:
            details.append(StatementDetail(entry.customer_id, payable, settled))
            totals[0] += entry.payable_units
            totals[1] += entry.settled_units
        elif entry.period < period:
            adjustments.append(StatementAdjustment(entry.period, entry.customer_id, payable, settled))
            totals[2] += entry.payable_units
            totals[3] += entry.settled_units
        else:
            raise ValueError(f"a statement for {period} cannot carry charges of {entry.period}")
    return StatementBody(
        partner_id=partner_id,
        period=period,
        issued_at=issued_at,
        currency=currency,
        payable_amount=format_units(totals[0]),
        settled_amount=format_units(totals[1], minor_digits),
        customers=len(details),
        details=details,
        adjustments=adjustments,
        adjustments_payable_amount=format_units(totals[2]),
        adjustments_settled_amount=format_units(totals[3], minor_digits),
        total_payable_amount=format_units(totals[0] + totals[2]),
        total_settled_amount=format_units(totals[1] + totals[3], minor_digits),
        log_head=log_head,
    )


def carried_charges(entries: Iterable[CarriedEntry]) -> list[CarriedCharges]:
    return [CarriedCharges(entry.period, entry.customer_id, entry.charges) for entry in entries]


def canonical_json(value: object) -> str:
    """Keys sorted, no spaces, UTF-8 as is: the canonical JSON of replay's digest (§5)."""
    return json.dumps(msgspec.to_builtins(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def statement_digest(body: StatementBody) -> str:
    """`sha256:` and the hex SHA-256 of the statement without status, history and digest."""
    return "sha256:" + hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def issued_step(body: StatementBody) -> StatementStep:
    return StatementStep(PENDING, body.issued_at, None)


def statement_view(body: StatementBody, history: list[StatementStep], digest: str) -> Statement:
    """The whole statement as printed: the frozen body, its status (the latest step), its history."""
    fields = msgspec.structs.asdict(body)
    return Statement(**fields, status=history[-1].status, history=history, digest=digest)
