"""Store URLs (CONTRACT.md §5): parsed, shown without their password, turned into
eventsourcing persistence settings, and the store they name checked before it is opened."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from commands import sqlite_file
from engine.errors import SettingsError, StoreError
from engine.ledger import Ledger
from engine.store import binding
from engine.store.binding import Binding

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


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
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
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
        """Whether a file store (or memory) is there; PostgreSQL is asked by `postgres_checked`."""
        return self.kind in ("memory", "postgres") or (self.path is not None and self.path.is_file())

    def persistence_env(self, postgres_tuning: Mapping[str, str] | None = None) -> dict[str, str]:
        """eventsourcing's persistence settings for this store; `postgres_tuning` adds
        the pool's sizes and timeouts (`Settings.postgres_tuning`) to a PostgreSQL one."""
        if self.postgres is not None:
            return self._postgres_env(self.postgres) | dict(postgres_tuning or {})
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
        return {
            "PERSISTENCE_MODULE": "engine.store.postgres:LedgerPostgresFactory",
            "POSTGRES_DBNAME": address.dbname,
            "POSTGRES_HOST": address.host,
            "POSTGRES_PORT": "" if address.port is None else str(address.port),
            "POSTGRES_USER": address.user,
            "POSTGRES_PASSWORD": address.password,
            "POSTGRES_SCHEMA": address.schema,
            "BILLING_POSTGRES_OPTIONS": urlencode(address.options),
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
    example = (
        "e.g. postgresql://billing:secret@localhost:5432/billing or postgresql:///billing?host=/var/run/postgresql"
    )
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


# Checking a location before eventsourcing opens it: plain one-line errors instead of
# the driver's, and a read that never creates anything.

_SQLITE_TABLES = frozenset({"stored_events", "event_ids", "customer_states", "rejections", "tracking"})
# On PostgreSQL eventsourcing names the log and tracking tables after the application.
_POSTGRES_TABLES = frozenset(
    {f"{Ledger.name.lower()}_events", f"{Ledger.name.lower()}_tracking", "event_ids", "customer_states", "rejections"}
)
_DDL_LOCK = 0x62696C6C  # "bill": the advisory lock key of creating a store's tables


def check_location(location: StoreLocation, url: str, wanted: Binding, *, create: bool, allow_damaged: bool) -> None:
    """Fails (StoreError) unless a command may use the store there: a read needs a store
    that exists (memory:// never does), a write a folder to create it in and a file it
    may write; a SQLite file must not be marked damaged (unless `allow_damaged`) and
    must hold a billing store bound to `wanted` (or not bound yet). `url` is the safe
    URL, for the messages."""
    if not create and location.kind == "memory":
        raise StoreError(
            "memory:// is a store that lives for one command and is gone when it ends: a read of it "
            "has nothing to read; name a file (sqlite:///billing.db) or a PostgreSQL database, or try "
            "`billing demo --store memory://`, which writes and reads in one command"
        )
    if not create and not location.exists():
        raise StoreError(f"no store at {url} (run `billing ingest` or `billing demo` first)")
    path = location.path
    if path is None:
        return
    if path.exists() and not path.is_file():
        raise StoreError(f"store path {path} is not a file")
    if create and not path.parent.exists():
        raise StoreError(f"cannot create the store: folder {path.parent} does not exist")
    problem = sqlite_file.write_problem(path)
    if create and problem is not None:
        raise StoreError(f"the store at {url} is read-only ({problem}); this command needs to write to it")
    if path.exists():
        damage = None if allow_damaged else sqlite_file.damage_found(path)
        if damage is not None:
            raise StoreError(f"the store at {url} is damaged ({damage}); restore it from a backup")
        _check_sqlite_store(path, url, wanted, create=create)


def _check_sqlite_store(path: Path, url: str, wanted: Binding, *, create: bool) -> None:
    """Fails unless the file is a SQLite database (for a read: holding a billing store)
    bound to the command's currency and time zone, or not bound yet."""
    try:
        with closing(sqlite3.connect(sqlite_file.read_only_uri(path), uri=True)) as connection:
            names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            stored = None
            if binding.TABLE in names:
                stored = Binding.from_rows(connection.execute(f"SELECT name, value FROM {binding.TABLE}").fetchall())
    except sqlite3.Error as error:
        raise StoreError(f"{url} is not a readable SQLite database ({error})") from None
    missing = _SQLITE_TABLES - names
    if missing and not create:
        raise StoreError(f"{url} is not a billing store (no {', '.join(sorted(missing))} table)")
    binding.check(stored, wanted, f"the store at {url}")


def one_line(error: BaseException) -> str:
    """An error's message on one line (drivers' messages span several)."""
    return " ".join(str(error).split()) or type(error).__name__


@contextmanager
def postgres_checked(address: PostgresAddress, url: str, wanted: Binding, *, create: bool) -> Iterator[None]:
    """Connects once, to say plainly when the server, the login or the database is wrong
    (eventsourcing's pool would only time out); a read also needs the billing tables.

    A writer holds an advisory lock on this connection while the store is opened, so
    processes starting together do not race to create the same tables (PostgreSQL's
    CREATE … IF NOT EXISTS and CREATE OR REPLACE are not safe against a concurrent one)."""
    try:
        import psycopg
    except ImportError:
        raise StoreError("PostgreSQL stores need psycopg: pip install 'partner-billing[postgres]'") from None
    try:
        connection = psycopg.connect(**address.conninfo(), connect_timeout=5, autocommit=True)
    except psycopg.Error as error:
        raise StoreError(f"cannot reach the store at {url}: {one_line(error)}") from None
    with connection:
        try:
            names = {
                row[0]
                for row in connection.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema=%s", (address.schema,)
                )
            }
            missing = _POSTGRES_TABLES - names
            if not create and missing:
                raise StoreError(
                    f"{url} is not a billing store (no {', '.join(sorted(missing))} table in schema "
                    f"{address.schema}; run `billing ingest` or `billing demo` first)"
                )
            if binding.TABLE in names:
                rows = connection.execute(f'SELECT name, value FROM "{address.schema}".{binding.TABLE}').fetchall()
                binding.check(Binding.from_rows(rows), wanted, f"the store at {url}")
            if create:
                connection.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_DDL_LOCK, address.schema))
        except psycopg.Error as error:
            raise StoreError(f"cannot use the store at {url}: {one_line(error)}") from None
        yield  # the lock, if taken, goes with the connection
