"""The composition root: settings in, a wired ledger and projection out.

Nothing else in the code base opens a store or reads settings.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.currencies import minor_unit_digits
from engine.decide import Rules
from engine.errors import SettingsError, StoreError
from engine.instants import BillingCalendar
from engine.ledger import Ledger, utc_now
from engine.store import feature_tables
from engine.store import binding
from engine.store.binding import Binding
from commands import sqlite_file
from commands.settings import Settings
from commands.store_url import PostgresAddress, parse_store_url, safe_url
from projections.projector import BillingProjection
from projections.sqlite_views import SQLiteBillingViews


@dataclass(slots=True)
class Engine:
    """A ledger with its live views, ready for commands."""

    settings: Settings
    rules: Rules
    ledger: Ledger
    projection: BillingProjection

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def build_rules(settings: Settings) -> Rules:
    return Rules(
        currency=settings.currency,
        minor_digits=minor_unit_digits(settings.currency),
        calendar=BillingCalendar(settings.timezone),
    )


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
    missing = _BILLING_TABLES - names
    if missing and not create:
        raise StoreError(f"{url} is not a billing store (no {', '.join(sorted(missing))} table)")
    binding.check(stored, wanted, f"the store at {url}")


_BILLING_TABLES = frozenset({"stored_events", "event_ids", "customer_states", "rejections", "tracking"})
# On PostgreSQL eventsourcing names the log and tracking tables after the application.
_POSTGRES_TABLES = frozenset(
    {f"{Ledger.name.lower()}_events", f"{Ledger.name.lower()}_tracking", "event_ids", "customer_states", "rejections"}
)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


@contextmanager
def _postgres_checked(address: PostgresAddress, url: str, wanted: Binding, *, create: bool) -> Iterator[None]:
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
        raise StoreError(f"cannot reach the store at {url}: {_one_line(error)}") from None
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
                rows = connection.execute(
                    f'SELECT name, value FROM "{address.schema}".{binding.TABLE}'
                ).fetchall()
                binding.check(Binding.from_rows(rows), wanted, f"the store at {url}")
            if create:
                connection.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_DDL_LOCK, address.schema))
        except psycopg.Error as error:
            raise StoreError(f"cannot use the store at {url}: {_one_line(error)}") from None
        yield  # the lock, if taken, goes with the connection


_DDL_LOCK = 0x62696C6C  # "bill": the advisory lock key of creating a store's tables


def settings_clock(settings: Settings) -> Callable[[], datetime]:
    """The store's clock: fixed at BILLING_NOW when set, else the wall clock."""
    if settings.now is None:
        return utc_now
    try:
        moment = datetime.fromisoformat(settings.now.replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise SettingsError(f"BILLING_NOW: {settings.now!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise SettingsError(f"BILLING_NOW: {settings.now!r} has no offset")
    return lambda: moment


def open_engine(
    settings: Settings,
    *,
    create: bool,
    clock: Callable[[], datetime] | None = None,
    allow_damaged: bool = False,
) -> Engine:
    """Opens the store; a read (create=False) of a store that does not exist fails, and
    so does any command on a store found damaged (but a check of it: `allow_damaged`).
    A SQLite file this process can't write is opened read-only (create=False) or
    refused (create=True)."""
    clock = clock or settings_clock(settings)
    feature_tables.register(_feature_tables())
    rules = build_rules(settings)
    location = parse_store_url(settings.store_url)
    url = safe_url(settings.store_url)
    if not create and location.kind == "memory":
        raise StoreError(
            "memory:// is a store that lives for one command and is gone when it ends: a read of it "
            "has nothing to read; name a file (sqlite:///billing.db) or a PostgreSQL database, or try "
            "`billing demo --store memory://`, which writes and reads in one command"
        )
    if not create and not location.exists():
        raise StoreError(f"no store at {url} (run `billing ingest` or `billing demo` first)")
    if location.path is not None and location.path.exists() and not location.path.is_file():
        raise StoreError(f"store path {location.path} is not a file")
    if location.path is not None and create and not location.path.parent.exists():
        raise StoreError(f"cannot create the store: folder {location.path.parent} does not exist")
    wanted = Binding(settings.currency, settings.timezone)
    write_problem = None if location.path is None else sqlite_file.write_problem(location.path)
    if create and write_problem is not None:
        raise StoreError(f"the store at {url} is read-only ({write_problem}); this command needs to write to it")
    if location.path is not None and location.path.exists():
        damage = None if allow_damaged else sqlite_file.damage_found(location.path)
        if damage is not None:
            raise StoreError(f"the store at {url} is damaged ({damage}); restore it from a backup")
        _check_sqlite_store(location.path, url, wanted, create=create)
    env = {
        **location.persistence_env(),
        "ORIGINATOR_ID_TYPE": "text",
        "MAPPER_TOPIC": "engine.mapper:MsgspecMapper",
        # Reads never create: not the store, and not the tables in someone else's file.
        "CREATE_TABLE": "y" if create else "n",
    }
    if write_problem is not None:  # a read of a store this process can't write
        env["SQLITE_DBNAME"] = sqlite_file.read_only_uri(location.path)
    views_class: type = SQLiteBillingViews
    if location.postgres is not None:
        try:
            from projections.postgres_views import PostgresBillingViews  # psycopg only when asked for
        except ImportError as error:
            raise StoreError(f"PostgreSQL stores need psycopg ({error}); pip install 'psycopg[binary]' psycopg-pool") from None

        views_class = PostgresBillingViews
    ledger = None
    checked = _postgres_checked(location.postgres, url, wanted, create=create) if location.postgres else nullcontext()
    try:
        with checked:
            ledger = Ledger(env, rules, clock)
            views = ledger.factory.tracking_recorder(views_class)
    except StoreError:
        raise
    except Exception as error:  # the store's own errors vary by backend; say it in one line
        if ledger is not None:
            ledger.close()
        raise StoreError(f"cannot open the store at {url}: {_one_line(error)}") from error
    ledger.on_notice = _say
    if create:
        try:
            ledger.bind_store()  # recorded at creation; a store from before adopts it now
        except BaseException:
            ledger.close()
            raise
    for wire in FEATURES:
        wire(ledger)
    return Engine(settings, rules, ledger, BillingProjection(view=views))


def _say(message: str) -> None:
    print(f"billing: {message}", file=sys.stderr)


def _features() -> tuple[Callable[[Ledger], None], ...]:
    """Each feature's wiring: its inline projections of engine events and its hooks
    into ingest batches (`engine.recording`)."""
    from commands import resources
    from engine.incentives.tables import wire as wire_incentives
    from engine.statements.projection import wire as wire_statements
    from projections.accounts_wiring import wire_accounts

    # Statements first: a confirmation's transfer (accounts) follows from its event.
    return (wire_statements, wire_incentives, resources.wire, wire_accounts)


def _feature_tables() -> list[str]:
    """Each feature's DDL templates (`engine.store.feature_tables`)."""
    from engine.accounts import tables as accounts
    from engine.incentives import tables as incentive_tables
    from engine.statements.tables import DDL as STATEMENT_DDL
    from engine.tokens import TOKENS_DDL
    from projections import authorizations, catalog

    return [*STATEMENT_DDL, *incentive_tables.DDL, *authorizations.DDL, *catalog.DDL, *accounts.DDL, *TOKENS_DDL]


FEATURES = _features()
