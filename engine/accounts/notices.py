"""The notifications of CONTRACT.md §8, as rows of the notifications table: a
`balance.low` may recur (edge-triggered), the others happen once per subject (their
`once_key`). Not logged (§11): written in the transaction of what caused them."""

from __future__ import annotations

import msgspec

from engine.accounts import rules

NoticeRow = tuple[str, str, str, str, str | None]  # type, partner_id, at, data (JSON), once_key
_ENCODER = msgspec.json.Encoder()


def _row(kind: str, partner_id: str, at: str, data: dict, once_key: str | None) -> NoticeRow:
    return kind, partner_id, at, _ENCODER.encode(data).decode(), once_key


def balance_low(partner_id: str, at: str, available: str, warn_below: str) -> NoticeRow:
    data = {"account": rules.prepaid_account(partner_id), "available": available, "warn_below": warn_below}
    return _row("balance.low", partner_id, at, data, None)


def statement_issued(partner_id: str, at: str, period: str, total_settled_amount: str) -> NoticeRow:
    data = {"period": period, "total_settled_amount": total_settled_amount}
    return _row("statement.issued", partner_id, at, data, f"statement.issued:{partner_id}:{period}")


def payment_step(
    kind: str, partner_id: str, at: str, payment_id: str, amount: str, reason: str | None = None
) -> NoticeRow:
    """`payment.approved`, `payment.rejected` (with its reason) or `payment.paid`."""
    data = {"payment_id": payment_id, "amount": amount}
    if kind == "payment.rejected":
        data["reason"] = reason
    return _row(kind, partner_id, at, data, f"{kind}:{payment_id}")
