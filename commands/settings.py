"""Deployment settings, read once by the composition root (never at import time).

This is the one module that reads the environment: every other module is handed the
`Settings` (or the one value it needs) by its caller.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Literal, get_args

from engine.errors import SettingsError
from engine.statements.schedule import parse_duration

DEFAULT_STORE = "sqlite:///billing.db"
Projections = Literal["inline", "separate"]
DecideAhead = Literal["auto", "on", "off"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a `billing` command needs to know about its deployment."""

    store_url: str = DEFAULT_STORE
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    kafka: str = "localhost:9092"
    group: str = "billing"
    # "inline": writers fold the views in their own transaction; "separate": a
    # `billing project` process does it, following the log.
    projections: Projections = "inline"
    # The store's clock, fixed (BILLING_NOW, an RFC 3339 time): for tests and for
    # reproducing a decision; unset, the wall clock.
    now: str | None = None
    # BILLING_CLOSE_AFTER: an ISO 8601 duration; `billing serve` closes each period by
    # itself once its end plus this grace has passed. Unset: only `billing close` closes.
    close_after: str | None = None
    # BILLING_PROGRESS=1: progress bars on stderr even when it is not a terminal.
    progress: bool = False
    # BILLING_CHAIN_WORKER=1: large batches' log entries are hashed by a child process on
    # another core (engine/store/chain_worker.py) instead of in the writer. Pays only
    # where a core is free: on a shared machine the child's CPU is the writer's loss.
    chain_worker: bool = False
    # BILLING_DECIDE_AHEAD: `billing ingest` has a child process judge and decide the
    # next batch while this one writes the last (commands/ingest_ahead.py). "auto": for
    # files of at least 64 MiB on a SQLite store, when the machine has a second core;
    # "on": always (files and stdin, any store but memory://); "off": never.
    decide_ahead: DecideAhead = "auto"
    # `billing serve`'s consumer: records a batch at most, and the group's timeouts (a
    # test broker allows short sessions, so a restarted service rejoins in a second).
    kafka_max_records: int = 5000
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_ms: int = 3000
    # PostgreSQL pools stay small: a CLI command needs one connection, `serve` a few.
    postgres_pool_size: int = 2
    postgres_max_overflow: int = 4
    postgres_connect_timeout_s: int = 5
    postgres_lock_timeout_s: int = 30  # a batch waits this long for the write lock (as on SQLite)
    # A batch decides in Python between its statements; eventsourcing's default is 5 s.
    postgres_idle_in_transaction_timeout_s: int = 60

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: str | None) -> Settings:
        """Settings from BILLING_* (and POSTGRES_*) variables, with command-line flags
        taking precedence. Raises SettingsError naming the variable that is wrong."""
        environ = os.environ if environ is None else environ
        text = {
            "store_url": environ.get("BILLING_STORE") or DEFAULT_STORE,
            "currency": environ.get("BILLING_CURRENCY") or "CNY",
            "timezone": environ.get("BILLING_TIMEZONE") or "Asia/Shanghai",
            "kafka": environ.get("BILLING_KAFKA") or "localhost:9092",
            "group": environ.get("BILLING_GROUP") or "billing",
            "projections": environ.get("BILLING_PROJECTIONS") or "inline",
            "now": environ.get("BILLING_NOW") or None,
            "close_after": environ.get("BILLING_CLOSE_AFTER") or None,
        }
        text.update({key: value for key, value in overrides.items() if value})
        if text["projections"] not in get_args(Projections):
            raise SettingsError(f"BILLING_PROJECTIONS: {text['projections']!r} is neither inline nor separate")
        # Checked here, so a bad value is one line before anything starts (not after
        # `billing serve` has reached its broker).
        decide_ahead = environ.get("BILLING_DECIDE_AHEAD") or "auto"
        if decide_ahead not in get_args(DecideAhead):
            raise SettingsError(f"BILLING_DECIDE_AHEAD: {decide_ahead!r} is none of auto, on, off")
        if text["now"] is not None:
            fixed_moment(text["now"])
        if text["close_after"] is not None:
            parse_duration(text["close_after"], "BILLING_CLOSE_AFTER")
        defaults = {field.name: field.default for field in fields(cls)}
        numbers = {
            field: _whole_number(environ, name, defaults[field], least) for field, (name, least) in _NUMBERS.items()
        }
        return cls(
            **text,
            **numbers,
            progress=environ.get("BILLING_PROGRESS") == "1",
            chain_worker=environ.get("BILLING_CHAIN_WORKER") == "1",
            decide_ahead=decide_ahead,
        )

    def postgres_tuning(self) -> dict[str, str]:
        """The pool and timeout settings in eventsourcing's own names (POSTGRES_*)."""
        return {
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_max_overflow),
            "POSTGRES_CONNECT_TIMEOUT": str(self.postgres_connect_timeout_s),
            "POSTGRES_LOCK_TIMEOUT": str(self.postgres_lock_timeout_s),
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(self.postgres_idle_in_transaction_timeout_s),
        }


# The numeric settings: field name -> (environment variable, least value allowed).
_NUMBERS = {
    "kafka_max_records": ("BILLING_KAFKA_MAX_RECORDS", 1),
    "kafka_session_timeout_ms": ("BILLING_KAFKA_SESSION_TIMEOUT_MS", 1),
    "kafka_heartbeat_ms": ("BILLING_KAFKA_HEARTBEAT_MS", 1),
    "postgres_pool_size": ("POSTGRES_POOL_SIZE", 1),
    "postgres_max_overflow": ("POSTGRES_MAX_OVERFLOW", 0),
    "postgres_connect_timeout_s": ("POSTGRES_CONNECT_TIMEOUT", 0),
    "postgres_lock_timeout_s": ("POSTGRES_LOCK_TIMEOUT", 0),
    "postgres_idle_in_transaction_timeout_s": ("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT", 0),
}


def fixed_moment(text: str) -> datetime:
    """BILLING_NOW read: an RFC 3339 time with its offset."""
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise SettingsError(f"BILLING_NOW: {text!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise SettingsError(f"BILLING_NOW: {text!r} has no offset")
    return moment


def _whole_number(environ: Mapping[str, str], name: str, default: int, least: int) -> int:
    value = environ.get(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = least - 1
    if number < least:
        raise SettingsError(f"{name}: {value!r} is not a whole number of at least {least}")
    return number
