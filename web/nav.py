"""The console's navigation. An entry of a later feature (statements, account, …) is
listed here already and appears as soon as its handler module exists and its page is
registered (`web.console.FEATURE_PAGES`): nothing else changes in the console."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from engine.tokens import Principal
from web.access import GLOBAL_READS, require_read
from web.errors import ApiError


@dataclass(frozen=True, slots=True)
class NavEntry:
    key: str  # the page's label key (web.i18n) and name
    path: str
    reads: str  # the kind of data it reads (web.access)
    module: str | None = None  # the feature's handler module; None: always there


NAV = (
    NavEntry("dashboard", "/", "views"),
    NavEntry("bills", "/bills", "views"),
    NavEntry("performance", "/performance", "views"),
    NavEntry("statements", "/statements", "statements", "commands.statements"),
    NavEntry("account", "/account", "account", "commands.accounts"),
    NavEntry("payments", "/payments", "payments", "commands.accounts"),
    NavEntry("incentives", "/incentives", "incentives", "commands.incentives"),
    NavEntry("subsidies", "/subsidies", "subsidies", "commands.subsidies"),
    NavEntry("resources", "/resources", "resources", "commands.resources"),
)


def feature_present(entry: NavEntry, pages: frozenset[str]) -> bool:
    if entry.module is None:
        return True
    return entry.key in pages and importlib.util.find_spec(entry.module) is not None


def visible_entries(who: Principal, pages: frozenset[str]) -> list[NavEntry]:
    """The entries this principal may open, of the features that exist."""
    shown = []
    for entry in NAV:
        if not feature_present(entry, pages):
            continue
        try:
            require_read(who, entry.reads, None if entry.reads in GLOBAL_READS else who.partner_id)
        except ApiError:
            continue
        shown.append(entry)
    return shown
