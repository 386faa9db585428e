"""The live views' PostgreSQL tables: eventsourcing's PostgreSQL tracking recorder with
view rows in the store's schema (the rows, the sums cache and the queries are in
`view_tables.py`, shared with SQLite)."""

from __future__ import annotations

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import Identifier

from engine.store.postgres import TEXT, PostgresDialect
from projections.view_tables import BillingViewTables


class PostgresBillingViews(BillingViewTables, PostgresDialect, PostgresTrackingRecorder):
    """Bill lines (also per partner scope), partner charge tallies and association
    intervals, with tracking."""

    def __init__(self, datastore: PostgresDatastore, **kwargs):
        super().__init__(datastore, **kwargs)
        self.tracking_table = self.table_prefix + Identifier(self.tracking_table_name).as_string()
        self.create_statements(
            [
                f"CREATE TABLE IF NOT EXISTS {{t}}view_bill_lines (customer_id {TEXT} NOT NULL, "
                f"period {TEXT} NOT NULL, service_type {TEXT} NOT NULL, item_id {TEXT} NOT NULL, "
                "currency text NOT NULL, sums text NOT NULL, "
                "PRIMARY KEY (period, customer_id, service_type, item_id))",
                f"CREATE TABLE IF NOT EXISTS {{t}}view_partner_charges (partner_id {TEXT} NOT NULL, "
                f"period {TEXT} NOT NULL, customer_id {TEXT} NOT NULL, account_manager_id {TEXT} NOT NULL, "
                f"indirect_partner_id {TEXT} NOT NULL, sums text NOT NULL, "
                "PRIMARY KEY (partner_id, period, customer_id, account_manager_id, indirect_partner_id))",
                f"CREATE TABLE IF NOT EXISTS {{t}}view_partner_bill_lines (partner_id {TEXT} NOT NULL, "
                f"period {TEXT} NOT NULL, customer_id {TEXT} NOT NULL, account_manager_id {TEXT} NOT NULL, "
                f"indirect_partner_id {TEXT} NOT NULL, service_type {TEXT} NOT NULL, item_id {TEXT} NOT NULL, "
                "sums text NOT NULL, PRIMARY KEY (partner_id, period, customer_id, account_manager_id, "
                "indirect_partner_id, service_type, item_id))",
                f"CREATE TABLE IF NOT EXISTS {{t}}view_associations (customer_id {TEXT} NOT NULL, "
                f"version bigint NOT NULL, partner_id {TEXT} NOT NULL, start_at {TEXT} NOT NULL, "
                f"end_at {TEXT}, customer_type text NOT NULL, account_manager_id text, indirect_partner_id text, "
                "PRIMARY KEY (customer_id, version))",
                "CREATE INDEX IF NOT EXISTS view_associations_by_partner ON {t}view_associations (partner_id)",
            ]
        )
