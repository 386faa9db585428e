"""The composition root: settings in, a wired ledger and projection out.

Nothing else in the code base opens a store or reads settings.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from commands import sqlite_file
from commands.closed_period_rows import ClosedPeriodRows
from commands.settings import Settings, fixed_moment
from commands.store_url import check_location, one_line, parse_store_url, postgres_checked, safe_url
from engine.currencies import minor_unit_digits
from engine.decide import Rules
from engine.errors import StoreError
from engine.instants import BillingCalendar
from engine.ledger import Ledger, utc_now
from engine.store import feature_tables
from engine.store.binding import Binding
from projections.projector import BillingProjection
from projections.sqlite_views import SQLiteBillingViews


@dataclass(slots=True)
class Engine:
    """A ledger with its live views, ready for commands."""

    settings: Settings
    rules: Rules
    ledger: Ledger
    projection: BillingProjection
    # Partners' rows of closed periods, kept between reads (commands/closed_period_rows.py).
    closed_period_rows: ClosedPeriodRows = field(default_factory=ClosedPeriodRows)

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


def settings_clock(settings: Settings) -> Callable[[], datetime]:
    """The store's clock: fixed at BILLING_NOW when set, else the wall clock."""
    if settings.now is None:
        return utc_now
    moment = fixed_moment(settings.now)
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
    wanted = Binding(settings.currency, settings.timezone)
    check_location(location, url, wanted, create=create, allow_damaged=allow_damaged)
    env = {
        **location.persistence_env(settings.postgres_tuning()),
        "ORIGINATOR_ID_TYPE": "text",
        "MAPPER_TOPIC": "engine.mapper:MsgspecMapper",
        # Reads never create: not the store, and not the tables in someone else's file.
        "CREATE_TABLE": "y" if create else "n",
    }
    if location.path is not None and sqlite_file.write_problem(location.path) is not None:
        env["SQLITE_DBNAME"] = sqlite_file.read_only_uri(location.path)  # a read of a store this process can't write
    views_class: type = SQLiteBillingViews
    if location.postgres is not None:
        try:
            from projections.postgres_views import PostgresBillingViews  # psycopg only when asked for
        except ImportError as error:
            raise StoreError(
                f"PostgreSQL stores need psycopg ({error}); pip install 'psycopg[binary]' psycopg-pool"
            ) from None

        views_class = PostgresBillingViews
    ledger = None
    checked = postgres_checked(location.postgres, url, wanted, create=create) if location.postgres else nullcontext()
    try:
        with checked:
            ledger = Ledger(env, rules, clock)
            views = ledger.factory.tracking_recorder(views_class)
    except StoreError:
        raise
    except Exception as error:  # the store's own errors vary by backend; say it in one line
        if ledger is not None:
            ledger.close()
        raise StoreError(f"cannot open the store at {url}: {one_line(error)}") from error
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


def serve_app():
    """`billing serve`'s FastStream app from the environment's settings, for
    `faststream run commands.bootstrap:serve_app --factory`."""
    from commands.serve import create_app

    settings = Settings.from_environment()
    return create_app(settings, partial(open_engine, settings, create=True))


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
