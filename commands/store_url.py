"""Store URLs (CONTRACT.md §5) turned into eventsourcing persistence settings."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from engine.errors import SettingsError

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# Small pools unless the environment says otherwise: a CLI command needs one connection,
# `serve` a few (eventsourcing reads POSTGRES_* and BILLINGLEDGER_POSTGRES_* from it).
_POSTGRES_DEFAULTS = {
    "POSTGRES_POOL_SIZE": "2",
    "POSTGRES_MAX_OVERFLOW": "4",
    "POSTGRES_CONNECT_TIMEOUT": "5",
    "POSTGRES_LOCK_TIMEOUT": "30",  # seconds a batch waits for the write lock (as on SQLite)
    # A batch decides in Python between its statements; eventsourcing's default is 5 s.
    "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
}


@dataclass(frozen=True, slots=True)
class PostgresAddress:
    """Where a PostgreSQL store is: server, login, database and schema."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str
    schema: str = "public"

    def conninfo(self) -> dict[str, str | int]:
        """Keyword arguments of psycopg.connect for this database."""
        return {"host": self.host, "port": self.port, "user": self.user,
                "password": self.password, "dbname": self.dbname}


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """Where the ledger lives: a SQLite file, a private in-memory database, or a
    PostgreSQL database."""

    kind: str
    path: Path | None = None
    postgres: PostgresAddress | None = None

    def exists(self) -> bool:
        """Whether a file store (or memory) is there; PostgreSQL is asked by bootstrap."""
        return self.kind in ("memory", "postgres") or (self.path is not None and self.path.is_file())

    def persistence_env(self) -> dict[str, str]:
        if self.postgres is not None:
            return self._postgres_env(self.postgres)
        if self.kind == "memory":
            # A shared-cache name so every connection of this process sees one database.
            database = f"file:billing-{uuid.uuid4().hex}?mode=memory&cache=shared"
        else:
            database = str(self.path)
        return {
            "PERSISTENCE_MODULE": "engine.store.sqlite:LedgerSQLiteFactory",
            "SQLITE_DBNAME": database,
            "SQLITE_LOCK_TIMEOUT": "30",
        }

    @staticmethod
    def _postgres_env(address: PostgresAddress) -> dict[str, str]:
        tuning = {key: os.environ.get(key, default) for key, default in _POSTGRES_DEFAULTS.items()}
        return {
            "PERSISTENCE_MODULE": "engine.store.postgres:LedgerPostgresFactory",
            "POSTGRES_DBNAME": address.dbname,
            "POSTGRES_HOST": address.host,
            "POSTGRES_PORT": str(address.port),
            "POSTGRES_USER": address.user,
            "POSTGRES_PASSWORD": address.password,
            "POSTGRES_SCHEMA": address.schema,
            **tuning,
        }


def parse_store_url(url: str) -> StoreLocation:
    """`sqlite:///rel.db`, `sqlite:////abs/path.db`, `memory://` or
    `postgresql://USER:PASS@HOST:PORT/DB[?schema=NAME]` (also `postgres://`)."""
    if url == "memory://":
        return StoreLocation("memory")
    if url.startswith(_SQLITE_PREFIX):
        path = url[len(_SQLITE_PREFIX) :]
        if not path:
            raise SettingsError(f"store URL {url!r} names no file; e.g. sqlite:///billing.db")
        return StoreLocation("sqlite", Path(path))
    if url.startswith(tuple(f"{scheme}://" for scheme in _POSTGRES_SCHEMES)):
        return StoreLocation("postgres", postgres=_parse_postgres(url))
    raise SettingsError(
        f"store URL {url!r} is not understood; use sqlite:///PATH, sqlite:////ABS/PATH, "
        "postgresql://USER:PASS@HOST:PORT/DB or memory://"
    )


def safe_url(url: str) -> str:
    """The URL as it may be shown: a PostgreSQL password is replaced by `***`."""
    if not url.startswith(tuple(f"{scheme}://" for scheme in _POSTGRES_SCHEMES)):
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def _parse_postgres(url: str) -> PostgresAddress:
    example = "e.g. postgresql://billing:secret@localhost:5432/billing"
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        raise SettingsError(f"store URL has a bad port; {example}") from None
    dbname = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not parts.username or not dbname:
        raise SettingsError(f"store URL must name a user, a host and a database; {example}")
    options = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(options) - {"schema"})
    if unknown:
        raise SettingsError(f"store URL option {unknown[0]!r} is not understood; only ?schema=NAME is")
    schema = options.get("schema", ["public"])[-1]
    if not _SCHEMA_NAME.fullmatch(schema):
        raise SettingsError(f"schema name {schema!r} must be letters, digits and _ (not first a digit)")
    return PostgresAddress(
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        dbname=dbname,
        schema=schema,
    )
