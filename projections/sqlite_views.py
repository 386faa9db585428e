"""The live views' SQLite tables: an eventsourcing tracking recorder with view rows
(the rows, the sums cache and the queries are in `view_tables.py`)."""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteTrackingRecorder

from engine.store.sqlite import SQLiteDialect
from projections.view_tables import BillingViewTables


class SQLiteBillingViews(BillingViewTables, SQLiteDialect, SQLiteTrackingRecorder):
    """Bill lines (also per partner scope), partner charge tallies and association
    intervals, with tracking."""

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS view_bill_lines ("
            "customer_id TEXT NOT NULL, period TEXT NOT NULL, service_type TEXT NOT NULL, "
            "item_id TEXT NOT NULL, currency TEXT NOT NULL, sums TEXT NOT NULL, "
            "PRIMARY KEY (period, customer_id, service_type, item_id)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS view_partner_charges ("
            "partner_id TEXT NOT NULL, period TEXT NOT NULL, customer_id TEXT NOT NULL, "
            "account_manager_id TEXT NOT NULL, indirect_partner_id TEXT NOT NULL, sums TEXT NOT NULL, "
            "PRIMARY KEY (partner_id, period, customer_id, account_manager_id, indirect_partner_id)"
            ") WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS view_partner_bill_lines ("
            "partner_id TEXT NOT NULL, period TEXT NOT NULL, customer_id TEXT NOT NULL, "
            "account_manager_id TEXT NOT NULL, indirect_partner_id TEXT NOT NULL, "
            "service_type TEXT NOT NULL, item_id TEXT NOT NULL, sums TEXT NOT NULL, "
            "PRIMARY KEY (partner_id, period, customer_id, account_manager_id, indirect_partner_id, "
            "service_type, item_id)) WITHOUT ROWID",
            "CREATE TABLE IF NOT EXISTS view_associations ("
            "customer_id TEXT NOT NULL, version INTEGER NOT NULL, partner_id TEXT NOT NULL, "
            "start_at TEXT NOT NULL, end_at TEXT, customer_type TEXT NOT NULL, "
            "account_manager_id TEXT, indirect_partner_id TEXT, "
            "PRIMARY KEY (customer_id, version)) WITHOUT ROWID",
            "CREATE INDEX IF NOT EXISTS view_associations_by_partner ON view_associations (partner_id)",
        ]
