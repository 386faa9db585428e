"""The composition root: settings in, a wired ledger and projection out.

Nothing else in the code base opens a store or reads settings.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.currencies import minor_unit_digits
from engine.decide import Rules
from engine.errors import StoreError
from engine.instants import BillingCalendar
from engine.ledger import Ledger, utc_now
from commands.settings import Settings
from commands.store_url import parse_store_url
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


def _check_is_billing_store(path: Path, url: str) -> None:
    """Fails unless the file is a SQLite database holding a billing store."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as error:
        raise StoreError(f"{url} is not a readable SQLite database ({error})") from None
    missing = _BILLING_TABLES - names
    if missing:
        raise StoreError(f"{url} is not a billing store (no {', '.join(sorted(missing))} table)")


_BILLING_TABLES = frozenset({"stored_events", "event_ids", "customer_states", "rejections", "tracking"})


def open_engine(settings: Settings, *, create: bool, clock: Callable[[], datetime] = utc_now) -> Engine:
    """Opens the store; a read (create=False) of a store that does not exist fails."""
    rules = build_rules(settings)
    location = parse_store_url(settings.store_url)
    if not create and not location.exists():
        raise StoreError(f"no store at {settings.store_url} (run `billing ingest` or `billing demo` first)")
    if location.path is not None and location.path.exists() and not location.path.is_file():
        raise StoreError(f"store path {location.path} is not a file")
    if location.path is not None and create and not location.path.parent.exists():
        raise StoreError(f"cannot create the store: folder {location.path.parent} does not exist")
    if not create and location.path is not None:
        _check_is_billing_store(location.path, settings.store_url)
    env = {
        **location.persistence_env(),
        "ORIGINATOR_ID_TYPE": "text",
        "MAPPER_TOPIC": "engine.mapper:MsgspecMapper",
        # Reads never create: not the store, and not the tables in someone else's file.
        "CREATE_TABLE": "y" if create else "n",
    }
    try:
        ledger = Ledger(env, rules, clock)
        views = ledger.factory.tracking_recorder(SQLiteBillingViews)
    except Exception as error:  # the store's own errors vary by backend; say it in one line
        raise StoreError(f"cannot open the store at {settings.store_url}: {error}") from error
    return Engine(settings, rules, ledger, BillingProjection(view=views))
