"""Kafka topic names (CONTRACT.md §6, §7, §8)."""

EVENTS = "billing.events"
EVENTS_REJECTED = "billing.events.rejected"
BILLS = "billing.bills"
CUSTOMER_COUNTS = "billing.customer-counts"
PERFORMANCE = "billing.performance"
STATEMENTS = "billing.statements"  # §7
NOTIFICATIONS = "billing.notifications"  # §8

ALL_TOPICS = (EVENTS, EVENTS_REJECTED, BILLS, CUSTOMER_COUNTS, PERFORMANCE, STATEMENTS, NOTIFICATIONS)
