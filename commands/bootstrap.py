"""The composition root: settings in, a wired ledger and projection out.

Nothing else in the code base opens a store or reads settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

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
    env = {
        **location.persistence_env(),
        "ORIGINATOR_ID_TYPE": "text",
        "MAPPER_TOPIC": "engine.mapper:MsgspecMapper",
        "CREATE_TABLE": "y",
    }
    try:
        ledger = Ledger(env, rules, clock)
        views = ledger.factory.tracking_recorder(SQLiteBillingViews)
    except Exception as error:  # the store's own errors vary by backend; say it in one line
        raise StoreError(f"cannot open the store at {settings.store_url}: {error}") from error
    return Engine(settings, rules, ledger, BillingProjection(view=views))
