"""Statements (对账单) and period closes as users and downstream services read them
(CONTRACT.md §7). Field order is the order the JSON output shows. Amounts are strings
as in §4: 8-decimal figures with exactly 8 decimals, settled figures with exactly the
currency's minor digits."""

from __future__ import annotations

from msgspec import Struct

PENDING, CONFIRMED, DISPUTED = "pending_confirmation", "confirmed", "disputed"
STATUSES = (PENDING, CONFIRMED, DISPUTED)
OPEN, CLOSED = "open", "closed"


class LogHead(Struct):
    """The log's last entry before the close's own (CONTRACT.md §11): its position and hash."""

    position: int
    hash: str


class StatementDetail(Struct):
    """One customer's carried charges of the statement's period."""

    customer_id: str
    payable_amount: str
    settled_amount: str


class StatementAdjustment(Struct):
    """One customer's carried charges of an earlier period (recorded after it was carried)."""

    period: str
    customer_id: str
    payable_amount: str
    settled_amount: str


class StatementStep(Struct):
    """A status the statement has had, since when, and why (a dispute's reason, else null)."""

    status: str
    at: str
    reason: str | None


class StatementBody(Struct):
    """What a statement froze at its close: everything but its status, history and digest."""

    partner_id: str
    period: str
    issued_at: str
    currency: str
    payable_amount: str
    settled_amount: str
    customers: int
    details: list[StatementDetail]
    adjustments: list[StatementAdjustment]
    adjustments_payable_amount: str
    adjustments_settled_amount: str
    total_payable_amount: str
    total_settled_amount: str
    log_head: LogHead


class Statement(Struct):
    """A partner's statement for a period: the charges it carries, its status and digest."""

    partner_id: str
    period: str
    status: str
    issued_at: str
    currency: str
    payable_amount: str
    settled_amount: str
    customers: int
    details: list[StatementDetail]
    adjustments: list[StatementAdjustment]
    adjustments_payable_amount: str
    adjustments_settled_amount: str
    total_payable_amount: str
    total_settled_amount: str
    log_head: LogHead
    history: list[StatementStep]
    digest: str


class StatementSummary(Struct):
    """One statement as `billing statements` lists it."""

    partner_id: str
    period: str
    status: str
    issued_at: str
    total_payable_amount: str
    total_settled_amount: str


class StatementList(Struct):
    """What `billing statements --json` prints: by period, then partner_id."""

    statements: list[StatementSummary]


class ClosedStatement(Struct):
    """A statement issued by a close, in the close's summary."""

    partner_id: str
    total_payable_amount: str
    total_settled_amount: str


class CloseResult(Struct):
    """What `billing close --json` prints: the period, when it closed, its statements by partner_id."""

    period: str
    issued_at: str
    statements: list[ClosedStatement]


class PeriodStatus(Struct):
    """A period with a charge: open, or closed and when (null while open)."""

    period: str
    status: str
    closed_at: str | None


class PeriodList(Struct):
    """What `billing periods --json` prints: in period order."""

    periods: list[PeriodStatus]


class CarriedCharges(Struct):
    """How many charges of one (period, customer) a statement carries (amounts: its details, adjustments)."""

    period: str
    customer_id: str
    charges: int
