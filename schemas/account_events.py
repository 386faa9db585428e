"""The events of partner accounts and payment applications (CONTRACT.md §8), recorded
by the engine in the log: every transfer, and every step of a payment application.

Amounts are strings with exactly the deployment currency's minor digits, as printed
(`"100.00"`): an auditor reads the log's `fact` as these events' canonical JSON. Like
every stored type, a field is never renamed or dropped; a new one goes at the end,
with a default.
"""

from __future__ import annotations

from schemas.engine_events import EngineEvent

TRANSFERS_STREAM = "transfers"
PAYMENTS_STREAM = "payments"


class TransferRecorded(EngineEvent, kw_only=True):
    """A posted transfer (`id` is the caller's idempotency key): `amount` moved from
    `debit` to `credit`."""

    LOG_TYPE = "transfer.recorded"
    kind: str
    partner_id: str
    debit: str
    credit: str
    amount: str
    note: str | None = None


class PaymentSubmitted(EngineEvent, kw_only=True):
    """A payment application was submitted (`id`): its pending `payment` transfer
    reserves `amount` on `debit` (the partner's incentive account)."""

    LOG_TYPE = "payment.submitted"
    partner_id: str
    debit: str
    credit: str
    amount: str


class PaymentApproved(EngineEvent, kw_only=True):
    """A payment application under review was approved."""

    LOG_TYPE = "payment.approved"
    partner_id: str
    amount: str


class PaymentRejected(EngineEvent, kw_only=True):
    """A payment application under review was rejected: its pending transfer is voided."""

    LOG_TYPE = "payment.rejected"
    partner_id: str
    amount: str
    reason: str


class PaymentPaid(EngineEvent, kw_only=True):
    """An approved payment application was paid: its pending transfer is posted."""

    LOG_TYPE = "payment.paid"
    partner_id: str
    amount: str


ACCOUNT_EVENT_TYPES = (TransferRecorded, PaymentSubmitted, PaymentApproved, PaymentRejected, PaymentPaid)
