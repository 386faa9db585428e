"""View rows (CONTRACT.md §4): what users and downstream services read.

Amounts are strings: 8-decimal figures with exactly 8 decimals, settled figures with
exactly the currency's minor digits, zero without a sign. Field order is the order
the JSON output shows.
"""

from __future__ import annotations

from msgspec import Struct


class BillLine(Struct):
    """One (service_type, item_id) line of a bill."""

    service_type: str
    item_id: str
    list_amount: str
    discount_amount: str
    payable_amount: str
    settled_amount: str
    rounding_off_amount: str
    charges: int


class Bill(Struct):
    """A customer's bill for one period: the sums of its charges."""

    customer_id: str
    period: str
    currency: str
    list_amount: str
    discount_amount: str
    payable_amount: str
    settled_amount: str
    rounding_off_amount: str
    charges: int
    lines: list[BillLine]


class CustomerCounts(Struct):
    """The customer dashboard of a partner for a period, as of the period's end."""

    partner_id: str
    period: str
    total_customers: int
    association_count: int
    consuming_customers: int
    new_enterprise_customers_quarter: int


class PerformanceDetail(Struct):
    """One customer's share of a partner's performance."""

    customer_id: str
    payable_amount: str
    settled_amount: str


class AccountManagerTally(Struct):
    """Performance under one account manager (null: charges with none)."""

    account_manager_id: str | None
    payable_amount: str
    settled_amount: str
    customers: int


class ResellerTally(Struct):
    """Performance under one reseller (null: charges with none)."""

    indirect_partner_id: str | None
    payable_amount: str
    settled_amount: str
    customers: int


class Performance(Struct):
    """A partner's performance (业绩) for a period: charges attributed to it."""

    partner_id: str
    period: str
    currency: str
    payable_amount: str
    settled_amount: str
    customers: int
    details: list[PerformanceDetail]
    by_account_manager: list[AccountManagerTally]
    by_reseller: list[ResellerTally]


class IngestCounts(Struct):
    """What one ingest (or retry) did with its inputs."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0

    def add(self, other: IngestCounts) -> None:
        """Adds another batch's counts to these (a running total)."""
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected += other.rejected


class BillsListing(Struct):
    """What `billing bills --json` prints: a period's bills, sorted by customer_id."""

    period: str
    bills: list[Bill]


class RejectionEntry(Struct):
    """One kept rejection as `billing rejected --json` lists it (null: not known)."""

    source: str | None
    id: str | None
    type: str | None
    reason: str
    message: str
    arrived: str
    accepted: str | None
    raw: str


class RejectionList(Struct):
    """What `billing rejected --json` prints: kept rejections in arrival order."""

    rejected: list[RejectionEntry]
