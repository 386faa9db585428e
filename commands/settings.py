"""Deployment settings, read once by the composition root (never at import time)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from engine.errors import SettingsError

DEFAULT_STORE = "sqlite:///billing.db"


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
    projections: str = "inline"
    # The store's clock, fixed (BILLING_NOW, an RFC 3339 time): for tests and for
    # reproducing a decision; unset, the wall clock.
    now: str | None = None
    # BILLING_CLOSE_AFTER: an ISO 8601 duration; `billing serve` closes each period by
    # itself once its end plus this grace has passed. Unset: only `billing close` closes.
    close_after: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: str | None) -> Settings:
        """Settings from BILLING_* variables, with command-line flags taking precedence."""
        environ = os.environ if environ is None else environ
        values = {
            "store_url": environ.get("BILLING_STORE") or DEFAULT_STORE,
            "currency": environ.get("BILLING_CURRENCY") or "CNY",
            "timezone": environ.get("BILLING_TIMEZONE") or "Asia/Shanghai",
            "kafka": environ.get("BILLING_KAFKA") or "localhost:9092",
            "group": environ.get("BILLING_GROUP") or "billing",
            "projections": environ.get("BILLING_PROJECTIONS") or "inline",
            "now": environ.get("BILLING_NOW") or None,
            "close_after": environ.get("BILLING_CLOSE_AFTER") or None,
        }
        values.update({key: value for key, value in overrides.items() if value})
        if values["projections"] not in ("inline", "separate"):
            raise SettingsError(f"BILLING_PROJECTIONS: {values['projections']!r} is neither inline nor separate")
        return cls(**values)
