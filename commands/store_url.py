"""Store URLs (CONTRACT.md §5) turned into eventsourcing persistence settings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from engine.errors import SettingsError, StoreError

_SQLITE_PREFIX = "sqlite:///"


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """Where the ledger lives: a SQLite file, or a private in-memory database."""

    kind: str
    path: Path | None = None

    def exists(self) -> bool:
        return self.kind == "memory" or (self.path is not None and self.path.is_file())

    def persistence_env(self) -> dict[str, str]:
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


def parse_store_url(url: str) -> StoreLocation:
    """`sqlite:///rel.db`, `sqlite:////abs/path.db` or `memory://`."""
    if url == "memory://":
        return StoreLocation("memory")
    if url.startswith(_SQLITE_PREFIX):
        path = url[len(_SQLITE_PREFIX) :]
        if not path:
            raise SettingsError(f"store URL {url!r} names no file; e.g. sqlite:///billing.db")
        return StoreLocation("sqlite", Path(path))
    if url.startswith(("postgresql://", "postgres://")):
        raise StoreError("PostgreSQL stores are not available in this version; use sqlite:///PATH")
    raise SettingsError(
        f"store URL {url!r} is not understood; use sqlite:///PATH, sqlite:////ABS/PATH or memory://"
    )
