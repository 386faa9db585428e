"""Deciding corrections (CONTRACT.md §11): a void or an amendment of an earlier charge.

Corrections are events, never edits: the charge they act on stays in the log as it was
recorded, and the correction records new figures beside it. A void records the
*reversal* of the target's standing charge (its five amounts negated; rate, period,
line, order and attribution copied). An amendment records that reversal (as
`UsageAmended.reversal`) and a new charge for the same usage, rated at the usage's own
time with the discounts as known now, in the usage's period, line and attribution.

Pure, like `engine.decide`: the caller hands in the target, the recorded event with the
correction's `(event_source, event_id)` (from the log, or an earlier line of the same
batch), or None when nothing with that pair was recorded before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.customer import CorrectedCharge, CustomerState, figures_of
from engine.errors import Reason, Rejected
from engine.judge import Candidate
from engine.money import SCALE, assert_settled, charge_figures, multiply_half_up
from schemas.inbound import CORRECTION_TYPES
from schemas.recorded import ChargeFigures, ChargeRecorded, ChargeVoided, RecordedEvent, UsageAmended

if TYPE_CHECKING:
    from engine.decide import Rules

CHARGED_TYPES = frozenset({"usage.recorded", "order.paid", "order.refunded"})
"""The events whose charges can be voided."""
AMENDABLE_TYPES = frozenset({"usage.recorded"})


def target_pair(candidate: Candidate) -> tuple[str, str]:
    """The `(source, id)` a correction names."""
    return (candidate.data.event_source, candidate.data.event_id)


def correction_targets(candidates: list[Candidate]) -> set[tuple[str, str]]:
    """The `(source, id)` pairs the sound corrections among `candidates` name, for the
    ledger to read before deciding."""
    return {
        target_pair(c) for c in candidates if c.type in CORRECTION_TYPES and c.problem is None and c.data is not None
    }


def decide_correction(
    state: CustomerState, candidate: Candidate, rules: Rules, common: dict, target: RecordedEvent | None
) -> ChargeRecorded:
    """The `ChargeVoided` or `UsageAmended` to record, or `Rejected` (in the contract's
    order: `unknown_event`, `already_voided`, `order_has_refunds`)."""
    data = candidate.data
    amending = candidate.type == "usage.amended"
    charge = _charge_of(state, data, target, AMENDABLE_TYPES if amending else CHARGED_TYPES)
    correction = state.correction_of(data.event_source, data.event_id)
    if correction is not None and correction.voided:
        raise Rejected(
            Reason.ALREADY_VOIDED,
            f"data.event_id: the charge of event {_pair(data)} is already voided",
        )
    standing = _standing(charge, correction)
    links = {"event_source": data.event_source, "event_id": data.event_id, "reason": data.reason}
    if amending:
        return _amendment(state, candidate, rules, common, charge, standing, links)
    if charge.type == "order.paid" and charge.order_id is not None and state.orders[charge.order_id].has_refunds:
        order = state.orders[charge.order_id]
        raise Rejected(
            Reason.ORDER_HAS_REFUNDS,
            f"data.event_id: order {charge.order_id} has refunds that are not voided "
            f"({order.refunded_amount} refunded); void them first",
        )
    return ChargeVoided(
        **common,
        **_line_of(charge, "charge.voided"),
        **_reversed(standing),
        **links,
        event_type=charge.type,
    )


def _charge_of(state: CustomerState, data, target: RecordedEvent | None, types: frozenset[str]) -> ChargeRecorded:
    """The target as a charge of this customer of one of `types`, or `unknown_event`."""
    if (
        isinstance(target, ChargeRecorded)
        and target.customer_id == state.customer_id
        and type(target) is ChargeRecorded  # a correction is never the target of another
        and target.type in types
    ):
        return target
    what = "usage" if types is AMENDABLE_TYPES else "usage, order or refund"
    raise Rejected(
        Reason.UNKNOWN_EVENT,
        f"data.event_id: customer {state.customer_id} has no accepted {what} {_pair(data)}",
    )


def _pair(data) -> str:
    return f"({data.event_source!r}, {data.event_id!r})"


def _standing(charge: ChargeRecorded, correction: CorrectedCharge | None) -> ChargeFigures:
    """The figures that stand for the charge: the latest amendment's, or as recorded."""
    if correction is not None and correction.figures is not None:
        return correction.figures
    return figures_of(charge)


def _reversed(figures: ChargeFigures) -> dict[str, int]:
    """A reversal's figures: the rate copied, the five amounts negated."""
    return {
        "rate_units": figures.rate_units,
        "list_units": -figures.list_units,
        "discount_units": -figures.discount_units,
        "payable_units": -figures.payable_units,
        "settled_units": -figures.settled_units,
        "rounding_off_units": -figures.rounding_off_units,
    }


def _line_of(charge: ChargeRecorded, type_name: str) -> dict[str, object]:
    """Where a correction's charges land: the target's period, line, order, currency
    and attribution."""
    return {
        "type": type_name,
        "period": charge.period,
        "service_type": charge.service_type,
        "item_id": charge.item_id,
        "order_id": charge.order_id,
        "currency": charge.currency,
        "partner_id": charge.partner_id,
        "account_manager_id": charge.account_manager_id,
        "indirect_partner_id": charge.indirect_partner_id,
    }


def _amendment(
    state: CustomerState,
    candidate: Candidate,
    rules: Rules,
    common: dict,
    usage: ChargeRecorded,
    standing: ChargeFigures,
    links: dict,
) -> UsageAmended:
    figures = candidate.figures
    list_units = multiply_half_up(figures["quantity"], figures["unit_price"])
    # Rated at the usage's own time, with the discounts as known now.
    rate = state.rate_units_at(usage.service_type, usage.at, SCALE)
    payable = multiply_half_up(list_units, rate)
    reversal = _reversed(standing)
    assert_settled(
        reversal["payable_units"], reversal["settled_units"], reversal["rounding_off_units"], rules.minor_digits
    )
    return UsageAmended(
        **common,
        **_line_of(usage, "usage.amended"),
        **charge_figures(rate, list_units, payable, rules.minor_digits),
        **links,
        reversal=ChargeFigures(**reversal),
    )
