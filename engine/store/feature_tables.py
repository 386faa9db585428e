"""The tables of the engine's features (statements, accounts, …), created with the
ledger's own on every backend.

Each feature keeps its DDL in its own module as portable templates: `{t}` before a
table name, and column types `{key}` (text compared byte-wise: ids), `{text}`,
`{int}` (64-bit), `{blob}` and `{serial}` (an auto-numbered integer primary key).
Every template uses `IF NOT EXISTS`: a store created by an earlier version gains the
tables at its next write.
"""

from __future__ import annotations

SQLITE_TYPES = {"key": "TEXT", "text": "TEXT", "int": "INTEGER", "blob": "BLOB",
                "serial": "INTEGER PRIMARY KEY AUTOINCREMENT"}
POSTGRES_TYPES = {"key": 'text COLLATE "C"', "text": "text", "int": "bigint", "blob": "bytea",
                  "serial": "bigserial PRIMARY KEY"}


def feature_ddl() -> list[str]:
    """Every feature's DDL templates (imported here, not at module import, so the
    store's modules never import the features' at load time)."""
    from engine.store.log_chain import LOG_CHAIN_DDL

    templates: list[str] = [LOG_CHAIN_DDL]
    return templates
