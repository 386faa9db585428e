"""The service catalogue (CONTRACT.md §12): loading it, reading its names, and the
list of every service type with its charge count."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import msgspec

from engine.errors import FieldError
from engine.recording import Decision
from projections.catalog import catalog_names, has_table
from schemas.engine_events import engine_stream
from schemas.resource_events import CATALOG_STREAM, CatalogLoaded
from schemas.resources import CatalogFile, ServiceType, ServiceTypeList, ServiceTypeNames

if TYPE_CHECKING:
    from commands.bootstrap import Engine

_BOM = b"\xef\xbb\xbf"
_CATALOG_DECODER = msgspec.json.Decoder(CatalogFile)
_CHARGES = 5  # index of the charge count in a bill line's sums (projections.fold.CHARGES)


def parse_catalog(content: bytes) -> list[ServiceTypeNames]:
    """A catalogue file's entries, by service type; FieldError names what is wrong
    (not JSON, a field missing or malformed, a service type named twice)."""
    try:
        catalog = _CATALOG_DECODER.decode(content.removeprefix(_BOM))
    except msgspec.ValidationError as error:
        problem, _, path = str(error).partition(" - at `$")
        raise FieldError(path.rstrip("`").lstrip(".") or "catalogue", problem) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise FieldError("catalogue", f"not a JSON object of service types ({error})") from None
    except RecursionError:
        raise FieldError("catalogue", "JSON nested too deeply") from None
    seen: set[str] = set()
    for index, entry in enumerate(catalog.service_types):
        if entry.service_type in seen:
            raise FieldError(f"service_types[{index}].service_type", f"{entry.service_type!r} is named twice")
        seen.add(entry.service_type)
    return sorted(catalog.service_types, key=lambda entry: entry.service_type)


def load_catalog(engine: Engine, entries: list[ServiceTypeNames]) -> list[ServiceTypeNames]:
    """Records the whole catalogue (even when identical to the one before): it replaces it."""

    def decide(decision: Decision) -> list[ServiceTypeNames]:
        version = decision.ledger.recorder.max_version_in(decision.cursor, engine_stream(CATALOG_STREAM)) + 1
        decision.append(CatalogLoaded, stream=CATALOG_STREAM, id=f"catalog-{version}", service_types=entries)
        return entries

    return engine.ledger.record_decision(decide)


def service_type_names(engine: Engine) -> dict[str, ServiceTypeNames]:
    """The catalogue's names by service type."""
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as c:
        if not has_table(recorder, c, "catalog_service_types"):
            return {}
        return catalog_names(partial(recorder.rows, c))


def service_types(engine: Engine) -> ServiceTypeList:
    """Every service type seen in a charge (of any period) or named in the catalogue,
    with the number of charges of the type (every kind of charge, reversals and both
    charges of an amendment included, as the bills count them)."""
    engine.projection.bring_up_to_date(engine.ledger)
    names = service_type_names(engine)
    view = engine.projection.view
    with view.read_transaction() as c:
        lines = view.rows(c, "SELECT service_type, sums FROM {t}view_bill_lines", ())
    charges: dict[str, int] = {}
    for service_type, sums in lines:
        charges[service_type] = charges.get(service_type, 0) + int(sums.split(",")[_CHARGES])
    return ServiceTypeList(
        [
            ServiceType(
                service_type=service_type,
                service_type_name=names[service_type].service_type_name if service_type in names else None,
                service_type_name_en=names[service_type].service_type_name_en if service_type in names else None,
                charges=charges.get(service_type, 0),
            )
            for service_type in sorted(charges.keys() | names.keys())
        ]
    )
