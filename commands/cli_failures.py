"""How a `billing` command that could not finish ends (CONTRACT.md §5): one line on
stderr and exit 2, never a traceback; an interrupt exits 130 saying what was committed;
a reader that went away (`billing bills … | head -1`) ends it quietly.

The store's own errors arrive wrapped in several ways (sqlite3's, eventsourcing's,
psycopg's, a StoreError from opening): the chain of causes is searched for the
driver's error, which says what happened.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator

from eventsourcing.persistence import PersistenceError

from commands import sqlite_file
from commands.settings import Settings
from commands.store_url import parse_store_url, safe_url
from engine.errors import SettingsError, StoreError

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a Unix tool whose reader went away ends


def failure_line(error: BaseException, settings: Settings | None) -> str | None:
    """The one line that explains a failure, or None for a failure that is a bug."""
    url = _store_url(settings)
    store = _store_problem(error, url)
    if store is not None:
        kind, driver_text, line = store
        if kind == "damaged" and settings is not None:
            _mark(settings, driver_text)
        return line
    if isinstance(error, (StoreError, SettingsError, OSError)):
        return " ".join(str(error).split()) or type(error).__name__
    from commands.kafka_tools import KafkaToolError

    if isinstance(error, KafkaToolError):
        return str(error)
    return None


def interrupted_line(interrupt: KeyboardInterrupt) -> str:
    """What an interrupt left behind: what a command committed stays, whole."""
    committed = getattr(interrupt, "committed", None)
    if committed:
        return f"interrupted; committed before it: {committed}; the batch in progress was not recorded"
    return "interrupted; whatever was committed before stays recorded, the transaction in progress was rolled back"


def quiet_after_broken_pipe() -> int:
    """The reader of stdout went away: say nothing more, as `cat` or `yes` would."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's last flush must not fail again
    except OSError:
        pass
    return EXIT_BROKEN_PIPE


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _store_problem(error: BaseException, url: str) -> tuple[str, str, str] | None:
    """(kind, the driver's words, the line to show) when a store driver's error is in
    the chain (a StoreError of its own, with none, is shown as it is)."""
    if isinstance(error, StoreError):  # its own words, but for damage (to be marked)
        for cause in _causes(error):
            if isinstance(cause, sqlite3.Error):
                problem = _sqlite_problem(cause, url)
                return problem if problem[0] == "damaged" else None
        return None
    for cause in _causes(error):
        if isinstance(cause, sqlite3.Error):
            return _sqlite_problem(cause, url)
        if type(cause).__module__.startswith("psycopg"):
            return "failed", _one_line(cause), f"the store at {url} failed: {_one_line(cause)}"
    for cause in _causes(error):
        if isinstance(cause, PersistenceError):  # eventsourcing's, without its driver's
            return _sqlite_problem(cause, url)
    return None


def _sqlite_problem(error: BaseException, url: str) -> tuple[str, str, str]:
    name = getattr(error, "sqlite_errorname", "") or ""
    text = _one_line(error)
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return (
            "damaged",
            text,
            f"the store at {url} is damaged ({text}); nothing was answered from it: restore it from a backup",
        )
    if name == "SQLITE_NOTADB" or "not a database" in text:
        return "not-a-store", text, f"the store at {url} is damaged or not a SQLite database ({text})"
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return (
            "read-only",
            text,
            f"the store at {url} is read-only ({text}); this command needs to write to it (reads work)",
        )
    if name.startswith("SQLITE_BUSY") or "database is locked" in text:
        return "busy", text, f"the store at {url} stayed locked by another writer ({text}); try again"
    if name == "SQLITE_FULL" or "disk is full" in text:
        return "full", text, f"no room left for the store at {url} ({text})"
    return "failed", text, f"the store at {url} failed: {text}"


def _mark(settings: Settings, problem: str) -> None:
    try:
        location = parse_store_url(settings.store_url)
    except SettingsError:
        return
    if location.path is not None and location.path.is_file():
        sqlite_file.mark_damaged(location.path, problem)


def _store_url(settings: Settings | None) -> str:
    return "(unknown)" if settings is None else safe_url(settings.store_url)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
