"""Store URLs (CONTRACT.md §5) turned into eventsourcing persistence settings."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

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
    """Where a PostgreSQL store is: server, login, database and schema, plus any other
    libpq connection parameters (`sslmode`, `application_name`, …) passed through.
    An empty host, user, password or database leaves libpq its default (the Unix
    socket, the login name, no password, the user's database)."""

    host: str
    port: int | None
    user: str
    password: str = field(repr=False)
    dbname: str
    schema: str = "public"
    options: tuple[tuple[str, str], ...] = ()

    def conninfo(self) -> dict[str, str | int]:
        """Keyword arguments of psycopg.connect for this database (empty ones left out,
        so libpq applies its defaults)."""
        values: dict[str, str | int | None] = {
            "host": self.host, "port": self.port, "user": self.user, "password": self.password, "dbname": self.dbname,
        }
        return {**{key: value for key, value in values.items() if value not in (None, "")}, **dict(self.options)}


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
            "POSTGRES_PORT": "" if address.port is None else str(address.port),
            "POSTGRES_USER": address.user,
            "POSTGRES_PASSWORD": address.password,
            "POSTGRES_SCHEMA": address.schema,
            "BILLING_POSTGRES_OPTIONS": urlencode(address.options),
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
    """The URL as it may be shown: a PostgreSQL password (in the authority or the
    query) is replaced by `***`."""
    if not url.startswith(tuple(f"{scheme}://" for scheme in _POSTGRES_SCHEMES)):
        return url
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if ":" in userinfo:
        parts = parts._replace(netloc=f"{userinfo.partition(':')[0]}:***{at}{hostport}")
    if parts.query:
        query = "&".join(
            f"{key}=***" if key == "password" else item
            for item in parts.query.split("&")
            for key in [item.partition("=")[0]]
        )
        parts = parts._replace(query=query)
    # Not geturl(): it drops the `//` of an empty authority (`postgresql:///db`).
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")


# Connection parameters a URL's query may set instead of its authority (as libpq's URLs allow).
_ADDRESS_KEYS = frozenset({"host", "port", "user", "password", "dbname"})


def _parse_postgres(url: str) -> PostgresAddress:
    """A libpq-style URL: `postgresql://[user[:password]@][host][:port][/dbname][?param=value&…]`,
    percent-encoded parts, a Unix-socket folder as host (`?host=/var/run/postgresql` or
    `%2Ftmp`), `schema` for the store's schema and every other parameter passed to libpq."""
    example = "e.g. postgresql://billing:secret@localhost:5432/billing or postgresql:///billing?host=/var/run/postgresql"
    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    host, port_text = _split_host_port(hostport)
    options = parse_qs(parts.query, keep_blank_values=True)
    values = {
        "host": unquote(host),
        "port": port_text,
        "user": unquote(user),
        "password": unquote(password),
        "dbname": unquote(parts.path.lstrip("/")),
    }
    values.update({key: options.pop(key)[-1] for key in _ADDRESS_KEYS & options.keys()})
    try:
        port = int(values["port"]) if values["port"] else None
        if port is not None and not 0 < port < 65536:
            raise ValueError
    except ValueError:
        raise SettingsError(f"store URL has a bad port {values['port']!r}; {example}") from None
    schema = options.pop("schema", ["public"])[-1]
    if not _SCHEMA_NAME.fullmatch(schema):
        raise SettingsError(f"schema name {schema!r} must be letters, digits and _ (not first a digit)")
    return PostgresAddress(
        host=values["host"],
        port=port,
        user=values["user"],
        password=values["password"],
        dbname=values["dbname"],
        schema=schema,
        options=tuple((key, value[-1]) for key, value in sorted(options.items())),
    )


def _split_host_port(hostport: str) -> tuple[str, str]:
    """`host:port`, `[ipv6]:port`, `host` or empty."""
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        return host, rest.removeprefix(":")
    host, _, port = hostport.partition(":")
    return host, port
