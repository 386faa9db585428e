"""The field order of what `billing … --json` prints, as CONTRACT.md lists it (§7–9,
§12): written from the contract, never read from the engine's own types, so a test
comparing `list(printed)` with one of these checks the engine against the contract."""

from __future__ import annotations

# §7 statements
STATEMENT_KEYS = [
    "partner_id",
    "period",
    "status",
    "issued_at",
    "currency",
    "payable_amount",
    "settled_amount",
    "customers",
    "details",
    "adjustments",
    "adjustments_payable_amount",
    "adjustments_settled_amount",
    "total_payable_amount",
    "total_settled_amount",
    "log_head",
    "history",
    "digest",
]
SUMMARY_KEYS = ["partner_id", "period", "status", "issued_at", "total_payable_amount", "total_settled_amount"]

# §8 accounts, transfers and payment applications
ACCOUNT_KEYS = ["partner_id", "currency", "prepaid", "incentive", "warn_below"]
TRANSFER_KEYS = ["id", "kind", "debit", "credit", "amount", "status", "at", "note"]
PAYMENT_KEYS = ["id", "partner_id", "amount", "status", "history"]

# §9 subsidies
SUBSIDY_KEYS = [
    "partner_id",
    "deal_id",
    "milestone",
    "planned",
    "delivered",
    "amount",
    "working_days_late",
    "deduction_rate",
    "payable_amount",
    "status",
    "calendar",
]

# §12 resources and authorization requests
RESOURCE_KEYS = [
    "resource_id",
    "service_type",
    "product_id",
    "region",
    "first_used",
    "last_used",
    "charges",
    "payable_amount",
    "settled_amount",
]
AUTHORIZATION_KEYS = ["id", "partner_id", "customer_id", "indirect_partner_id", "status", "history"]
