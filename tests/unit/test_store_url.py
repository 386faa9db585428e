"""Store URLs (CONTRACT.md §5) to eventsourcing settings: no I/O."""

from __future__ import annotations

import pytest

from commands.store_url import parse_store_url, safe_url
from engine.errors import SettingsError


def test_a_postgresql_url_names_the_ledgers_factory_and_every_postgres_key(monkeypatch):
    monkeypatch.delenv("POSTGRES_POOL_SIZE", raising=False)
    monkeypatch.setenv("POSTGRES_MAX_OVERFLOW", "9")
    env = parse_store_url("postgresql://bill%40ing:p%3Ass@db.example:6543/ledger").persistence_env()
    assert env["PERSISTENCE_MODULE"] == "engine.store.postgres:LedgerPostgresFactory"
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("bill@ing", "p:ss")
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == ("db.example", "6543", "ledger")
    assert env["POSTGRES_SCHEMA"] == "public"
    assert (env["POSTGRES_POOL_SIZE"], env["POSTGRES_MAX_OVERFLOW"]) == ("2", "9")


def test_postgres_scheme_default_port_and_schema_option():
    location = parse_store_url("postgres://u:p@localhost/db?schema=billing_2026")
    assert location.kind == "postgres" and location.exists()
    assert (location.postgres.port, location.postgres.schema) == (5432, "billing_2026")


@pytest.mark.parametrize("url", [
    "postgresql://localhost/db",  # no user
    "postgresql://u:p@/db",  # no host
    "postgresql://u:p@localhost",  # no database
    "postgresql://u:p@localhost:99999/db",  # bad port
    "postgresql://u:p@localhost/db?sslmode=require",  # an option not understood
    "postgresql://u:p@localhost/db?schema=a-b",  # not a plain identifier
])
def test_a_postgresql_url_missing_a_part_is_a_settings_error(url):
    with pytest.raises(SettingsError):
        parse_store_url(url)


def test_a_shown_url_never_carries_the_password():
    assert safe_url("postgresql://u:secret@h:5432/db?schema=s") == "postgresql://u:***@h:5432/db?schema=s"
    assert safe_url("sqlite:///billing.db") == "sqlite:///billing.db"
    assert safe_url("postgresql://u@h/db") == "postgresql://u@h/db"
