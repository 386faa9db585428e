"""A store is bound to the currency and billing time zone it was created with
(CONTRACT.md §5): a bill never mixes currencies, a period never changes its bounds.

The binding is two rows of the store's own `store_settings` table, written by the
first write transaction a store sees (its creation, or, for a store created before
the binding existed, its next write: it adopts the settings of that command). Every
later command compares its settings with them: a read before it opens the store
(`commands/bootstrap.py`), a write inside its own write transaction, so two writers
with different settings can't both bind a fresh store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import StoreError

TABLE = "store_settings"
DDL = "CREATE TABLE IF NOT EXISTS {t}store_settings (name {key} PRIMARY KEY, value {text} NOT NULL)"


@dataclass(frozen=True, slots=True)
class Binding:
    """The settings a store is bound to."""

    currency: str
    timezone: str

    @classmethod
    def from_rows(cls, rows: list[tuple[str, str]]) -> Binding | None:
        values = dict(rows)
        if "currency" not in values or "timezone" not in values:
            return None
        return cls(values["currency"], values["timezone"])

    def rows(self) -> list[tuple[str, str]]:
        return [("currency", self.currency), ("timezone", self.timezone)]


class BindingMismatch(StoreError):
    """A command's currency or time zone is not the store's."""

    def __init__(self, stored: Binding, wanted: Binding, where: str = "this store"):
        super().__init__(
            f"{where} is bound to currency {stored.currency} and time zone {stored.timezone} (set when it "
            f"was created), but this command has BILLING_CURRENCY={wanted.currency} and "
            f"BILLING_TIMEZONE={wanted.timezone}; nothing was changed (run it with the store's settings)"
        )


def check(stored: Binding | None, wanted: Binding, where: str = "this store") -> None:
    """Fails unless the store is unbound or bound to `wanted`."""
    if stored is not None and stored != wanted:
        raise BindingMismatch(stored, wanted, where)


def bind_in(recorder: Any, c: Any, wanted: Binding) -> bool:
    """Inside a write transaction: records `wanted` if the store has no binding yet,
    else checks it. Returns True when a store that already held records adopted it."""
    recorder.execute(c, recorder.ddl(DDL))  # a store older than the table has none
    stored = Binding.from_rows(recorder.rows(c, "SELECT name, value FROM {t}store_settings"))
    if stored is not None:
        check(stored, wanted)
        return False
    recorder.executemany(
        c, "INSERT INTO {t}store_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", wanted.rows()
    )
    has_records = recorder.max_notification_id_in(c) > 0 or bool(
        recorder.rows(c, "SELECT 1 FROM {t}rejections LIMIT 1")
    )
    return has_records
