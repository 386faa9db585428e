"""What `billing account`, `transfers`, `ledger`, `payments` and `notifications` print
(CONTRACT.md §8), field order as the JSON shows it. Amounts are strings with exactly
the currency's minor digits; times are recorded times (RFC 3339 UTC)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct


class AccountBalances(Struct):
    """One account's figures: `available` = `balance` − `pending`."""

    balance: str
    pending: str
    available: str


class Account(Struct):
    """A partner's two accounts and its balance warning (`warn_below` null when unset)."""

    partner_id: str
    currency: str
    prepaid: AccountBalances
    incentive: AccountBalances
    warn_below: str | None


class Transfer(Struct):
    """One transfer: `amount` moved from `debit` to `credit`; status posted, pending or voided."""

    id: str
    kind: str
    debit: str
    credit: str
    amount: str
    status: str
    at: str
    note: str | None


class TransferList(Struct):
    """What `billing transfers --json` prints, in recorded order."""

    transfers: list[Transfer]


class LedgerAccount(Struct):
    """One account of the ledger: its balance and what its pending transfers reserve."""

    account: str
    balance: str
    pending: str


class LedgerListing(Struct):
    """Every account by name, and the sum of their balances (always zero)."""

    accounts: list[LedgerAccount]
    total: str


class PaymentStep(Struct):
    """A status a payment application has had (`reason` null but for a rejection)."""

    status: str
    at: str
    reason: str | None


class Payment(Struct):
    """A payment application (付款申请) with every status it has had, oldest first."""

    id: str
    partner_id: str
    amount: str
    status: str
    history: list[PaymentStep]


class PaymentList(Struct):
    """What `billing payments --json` prints, in submission order."""

    payments: list[Payment]


class Notification(Struct):
    """A notification to a partner (also published on `billing.notifications`)."""

    type: str
    partner_id: str
    at: str
    data: dict[str, Any]


class NotificationList(Struct):
    """What `billing notifications --json` prints, in recorded order."""

    notifications: list[Notification]
