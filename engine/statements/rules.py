"""The rules of closing a period and of a statement's status (CONTRACT.md §7), pure.

Refusal codes (exit 1, nothing recorded):
- `period_not_ended`: the period's end has not passed by the store's clock;
- `period_already_closed`: the period is closed (it, or a later one: periods close in
  order, and a month before the first close counts as closed by it);
- `period_out_of_order`: a period is closed and this is not the month right after the last;
- `earlier_charges_open`: no period is closed yet and a charge is recorded for an
  earlier month (close that one first);
- `unknown_statement`: no statement for that partner and period;
- `invalid_state`: a status change the statement's status does not allow.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import FieldError, Refused
from engine.instants import Instant, format_instant, parse_period
from schemas.statements import CONFIRMED, DISPUTED, PENDING

PERIOD_NOT_ENDED = "period_not_ended"
PERIOD_ALREADY_CLOSED = "period_already_closed"
PERIOD_OUT_OF_ORDER = "period_out_of_order"
EARLIER_CHARGES_OPEN = "earlier_charges_open"
UNKNOWN_STATEMENT = "unknown_statement"
INVALID_STATE = "invalid_state"

REASON_MAX_CHARS = 512
# Which status each status may become: a confirmed statement is final.
_NEXT = {PENDING: (CONFIRMED, DISPUTED), DISPUTED: (CONFIRMED,), CONFIRMED: ()}


def following_period(period: str) -> str:
    year, month = parse_period(period)
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


@dataclass(frozen=True, slots=True)
class CloseState:
    """What deciding a close needs to know about the store."""

    now: Instant  # the store's clock
    period_end: Instant  # the end of the period asked for
    last_closed: str | None  # the latest closed period
    earliest_charge: str | None  # the earliest period with a recorded charge


def check_close(period: str, state: CloseState) -> None:
    """Refuses a close the rules do not allow, in the contract's order: the end has
    passed, the period is not closed yet, it is next in order."""
    if state.now < state.period_end:
        raise Refused(
            PERIOD_NOT_ENDED,
            f"{period} ends at {format_instant(state.period_end)}; the store's clock is {format_instant(state.now)}",
        )
    last = state.last_closed
    if last is not None and period <= last:
        raise Refused(PERIOD_ALREADY_CLOSED, f"{period} is closed (periods up to {last} are closed)")
    if last is not None and period != following_period(last):
        raise Refused(
            PERIOD_OUT_OF_ORDER,
            f"the last closed period is {last}: close {following_period(last)} before {period}",
        )
    if last is None and state.earliest_charge is not None and state.earliest_charge < period:
        raise Refused(
            EARLIER_CHARGES_OPEN,
            f"no period is closed yet and charges are recorded for {state.earliest_charge}: close it first",
        )


def next_status(partner_id: str, period: str, current: str, wanted: str) -> str:
    """`wanted` if the statement's status may become it, else `invalid_state`."""
    if wanted not in _NEXT[current]:
        if current == CONFIRMED:
            why = "a confirmed statement is final"
        elif current == wanted:
            why = f"it is {current} already"
        else:
            why = f"a {current} statement cannot become {wanted}"
        raise Refused(INVALID_STATE, f"statement of {partner_id} for {period} is {current}: {why}")
    return wanted


def check_reason(reason: str | None) -> str:
    """A dispute's reason: 1..512 characters (anything else is a usage error)."""
    if reason is None or not 1 <= len(reason) <= REASON_MAX_CHARS:
        raise FieldError("reason", f"must be 1..{REASON_MAX_CHARS} characters")
    return reason
