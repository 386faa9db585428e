"""Store URLs (CONTRACT.md §5) to eventsourcing settings: no I/O."""

from __future__ import annotations

import pytest

from commands.settings import Settings
from commands.store_url import parse_store_url, safe_url
from engine.errors import SettingsError


def test_a_postgresql_url_names_the_ledgers_factory_and_every_postgres_key():
    tuning = Settings.from_environment({"POSTGRES_MAX_OVERFLOW": "9"}).postgres_tuning()
    env = parse_store_url("postgresql://bill%40ing:p%3Ass@db.example:6543/ledger").persistence_env(tuning)
    assert env["PERSISTENCE_MODULE"] == "engine.store.postgres:LedgerPostgresFactory"
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("bill@ing", "p:ss")
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == ("db.example", "6543", "ledger")
    assert env["POSTGRES_SCHEMA"] == "public"
    assert (env["POSTGRES_POOL_SIZE"], env["POSTGRES_MAX_OVERFLOW"]) == ("2", "9")


def test_postgres_scheme_default_port_and_schema_option():
    location = parse_store_url("postgres://u:p@localhost/db?schema=billing_2026")
    assert location.kind == "postgres" and location.exists()
    assert (location.postgres.port, location.postgres.schema) == (None, "billing_2026")  # libpq's 5432


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@localhost:99999/db",  # port out of range
        "postgresql://u:p@localhost:http/db",  # not a number
        "postgresql://u:p@localhost/db?port=0",
        "postgresql://u:p@localhost/db?schema=a-b",  # not a plain identifier
    ],
)
def test_a_postgresql_url_with_a_bad_part_is_a_settings_error(url):
    with pytest.raises(SettingsError):
        parse_store_url(url)


@pytest.mark.parametrize(
    ("url", "conninfo"),
    [
        # libpq's defaults where the URL leaves a part out: the Unix socket, no password.
        ("postgresql:///billing?host=/var/run/postgresql", {"host": "/var/run/postgresql", "dbname": "billing"}),
        ("postgresql://user@/db?host=/tmp", {"host": "/tmp", "user": "user", "dbname": "db"}),
        ("postgresql://postgres:@/db?host=/tmp/x", {"host": "/tmp/x", "user": "postgres", "dbname": "db"}),
        ("postgresql://%2Fvar%2Frun%2Fpg/db", {"host": "/var/run/pg", "dbname": "db"}),
        ("postgresql://localhost/db", {"host": "localhost", "dbname": "db"}),
        ("postgresql://[::1]:6000/db", {"host": "::1", "port": 6000, "dbname": "db"}),
        (
            "postgresql://u@h/db?port=6432&password=p%40ss",
            {"host": "h", "port": 6432, "user": "u", "password": "p@ss", "dbname": "db"},
        ),
    ],
)
def test_postgresql_urls_are_read_as_libpq_reads_them(url, conninfo):
    assert parse_store_url(url).postgres.conninfo() == conninfo


def test_other_libpq_parameters_pass_through_to_the_connection():
    location = parse_store_url("postgresql://u:p@h/db?sslmode=require&application_name=billing&schema=s1")
    assert location.postgres.schema == "s1"
    assert location.postgres.conninfo()["sslmode"] == "require"
    assert location.postgres.conninfo()["application_name"] == "billing"
    env = location.persistence_env()
    assert env["BILLING_POSTGRES_OPTIONS"] == "application_name=billing&sslmode=require"


def test_a_shown_url_never_carries_the_password():
    assert safe_url("postgresql://u:secret@h:5432/db?schema=s") == "postgresql://u:***@h:5432/db?schema=s"
    assert safe_url("sqlite:///billing.db") == "sqlite:///billing.db"
    assert safe_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert safe_url("postgresql://u:@/db?host=/tmp") == "postgresql://u:***@/db?host=/tmp"
    assert safe_url("postgresql:///db?user=u&password=s3cret") == "postgresql:///db?user=u&password=***"
