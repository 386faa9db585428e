"""The tables of the engine's features (statements, accounts, …), created with the
ledger's own on every backend.

Each feature keeps its DDL in its own module as portable templates: `{t}` before a
table name, and column types `{key}` (text compared byte-wise: ids), `{text}`,
`{int}` (64-bit), `{blob}` and `{serial}` (an auto-numbered integer primary key).
Every template uses `IF NOT EXISTS`: a store created by an earlier version gains the
tables at its next write. The composition root registers the features' templates
before it opens a store (the store's modules never import the features').
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.store.log_chain import LOG_CHAIN_DDL

SQLITE_TYPES = {
    "key": "TEXT",
    "text": "TEXT",
    "int": "INTEGER",
    "blob": "BLOB",
    "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
}
POSTGRES_TYPES = {
    "key": 'text COLLATE "C"',
    "text": "text",
    "int": "bigint",
    "blob": "bytea",
    "serial": "bigserial PRIMARY KEY",
}

# The log's hash chain is the engine's own (CONTRACT.md §11), there for every store.
_templates: list[str] = [LOG_CHAIN_DDL]


def register(templates: Iterable[str]) -> None:
    """Adds features' DDL templates (each once, in the order given)."""
    for template in templates:
        if template not in _templates:
            _templates.append(template)


def feature_ddl() -> list[str]:
    """Every registered feature's DDL templates."""
    return list(_templates)
