"""The service catalogue's table (CONTRACT.md §12), kept by an inline projection of
`catalog.loaded` events: each load replaces the whole catalogue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from engine.recording import Decision
from schemas.engine_events import EngineEvent
from schemas.resource_events import CatalogLoaded
from schemas.resources import ServiceTypeNames

Rows = Callable[[str, Sequence], list[tuple]]

DDL = [
    "CREATE TABLE IF NOT EXISTS {t}catalog_service_types (service_type {key} PRIMARY KEY, "
    "service_type_name {text}, service_type_name_en {text})",
]


def project_catalog(decision: Decision, stored: list[tuple[int, EngineEvent]]) -> None:
    """Replaces the catalogue's rows with the latest load's."""
    for _notification_id, event in stored:
        if type(event) is not CatalogLoaded:
            continue
        decision.execute("DELETE FROM {t}catalog_service_types")
        decision.executemany(
            "INSERT INTO {t}catalog_service_types VALUES (?,?,?)",
            [
                (entry.service_type, entry.service_type_name, entry.service_type_name_en)
                for entry in event.service_types
            ],
        )


def catalog_names(rows: Rows) -> dict[str, ServiceTypeNames]:
    """The catalogue by service type."""
    found = rows("SELECT service_type, service_type_name, service_type_name_en FROM {t}catalog_service_types", ())
    return {row[0]: ServiceTypeNames(*row) for row in found}


def has_table(recorder: Any, c: Any, name: str) -> bool:
    """Whether the store has one of the feature's tables. A store written only by a
    version before them gains them at its next write; until then a read finds none
    (an empty catalogue, no authorizations), never a failure."""
    if recorder.table_prefix:  # PostgreSQL: the store's schema
        statement = "SELECT 1 FROM information_schema.tables WHERE table_schema=? AND table_name=?"
        return bool(recorder.rows(c, statement, (recorder.datastore.schema, name)))
    return bool(recorder.rows(c, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)))
