"""JSON Schema documents (and the AsyncAPI document) generated from the Structs, checked in.

`python -m schemas.export` (re)writes them into this folder; `--check` writes nothing,
names the files that differ from what the Structs give and exits 1. The output is
deterministic (sorted keys, 2-space indent, trailing newline) so a stale file shows up
as a diff. Descriptions come from the Structs' docstrings and `Meta(description=...)`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from schemas import (
    account_events,
    accounts,
    asyncapi,
    inbound,
    incentive_events,
    incentive_views,
    recorded,
    resource_events,
    resources,
    statement_events,
    statements,
    views,
)

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX = "urn:partner-billing:schema:"
HERE = Path(__file__).resolve().parent
_REF_TEMPLATE = "#/$defs/{name}"


@dataclass(frozen=True, slots=True)
class Document:
    """One schema document: its file, its title and what its top level accepts."""

    filename: str
    title: str
    description: str
    types: tuple[Any, ...]
    with_topics: bool = False

    @property
    def id(self) -> str:
        return ID_PREFIX + self.filename.removesuffix(".schema.json")


def _topic(cls: type) -> str:
    # The stored event's topic, as eventsourcing's `get_topic` writes it.
    return f"{cls.__module__}:{cls.__qualname__}"


DOCUMENTS: tuple[Document, ...] = (
    Document(
        "inbound.schema.json",
        "Inbound billing event",
        "One CloudEvents 1.0 event (structured mode, JSON) as upstream systems send it "
        "(CONTRACT.md §1; the corrections `charge.voided` and `usage.amended` of §11), tagged "
        "on `type`. Business rules the schema can't state (order_id empty exactly for gifts, "
        "valid_to after valid_from, ...) are the engine's.",
        (inbound.InboundEvent,),
    ),
    Document(
        "recorded.schema.json",
        "Recorded billing event",
        "The state of one recorded event (CONTRACT.md §2), stored as msgspec JSON; the "
        "stored event's topic (`x-topics`) names its type. Amounts are exact 8-decimal strings.",
        recorded.RECORDED_EVENT_TYPES,
        with_topics=True,
    ),
    Document(
        "views.schema.json",
        "Billing views",
        "What users and downstream services read (CONTRACT.md §4, §5): bills, customer "
        "counts, performance, ingest counts and kept rejections. Amounts are strings with "
        "exactly 8 decimals, settled figures with the currency's minor digits.",
        (
            views.Bill,
            views.BillsListing,
            views.CustomerCounts,
            views.Performance,
            views.IngestCounts,
            views.RejectionList,
        ),
    ),
    Document(
        "incentives.schema.json",
        "Subsidies and incentives",
        "CONTRACT.md §9: what `billing subsidies`, `billing calendar` and `billing incentives` "
        "print with `--json`, the calendar and policy files they load, and the engine events "
        "they record (in the log with the inbound facts).",
        (
            incentive_views.SubsidyList,
            incentive_views.CalendarYears,
            incentive_views.IncentiveReport,
            incentive_views.PolicyLoadedView,
            incentive_views.IncentiveSettlement,
            incentive_events.CalendarFile,
            incentive_events.IncentivePolicy,
            *incentive_events.INCENTIVE_EVENT_TYPES,
        ),
        with_topics=False,
    ),
    Document(
        "accounts.schema.json",
        "Partner accounts and payment applications",
        "What `billing account`, `transfer`, `transfers`, `ledger`, `payment`, `payments` and "
        "`notifications` print (CONTRACT.md §8). Amounts are strings with exactly the currency's "
        "minor digits.",
        (
            accounts.Account,
            accounts.Transfer,
            accounts.TransferList,
            accounts.LedgerListing,
            accounts.Payment,
            accounts.PaymentList,
            accounts.NotificationList,
        ),
    ),
    Document(
        "account_events.schema.json",
        "Recorded ledger event",
        "The engine's own events of CONTRACT.md §8 (transfers and payment steps), stored in "
        "the log as JSON objects; `x-topics` names each stored type.",
        account_events.ACCOUNT_EVENT_TYPES,
        with_topics=True,
    ),
    Document(
        "statements.schema.json",
        "Period closes and statements",
        "What `billing close`, `periods`, `statements`, `statement`, `confirm` and `dispute` "
        "print (CONTRACT.md §7); a Statement is also the value of a billing.statements message.",
        (statements.Statement, statements.StatementList, statements.CloseResult, statements.PeriodList),
    ),
    Document(
        "statement_events.schema.json",
        "Close and statement events",
        "The events the engine records when it closes a period and when a statement's status "
        "changes (CONTRACT.md §7), stored as JSON objects in the log; `x-topics` names each type.",
        (statement_events.PeriodClosed, statement_events.StatementIssued, statement_events.StatementStatusChanged),
        with_topics=True,
    ),
    Document(
        "resources.schema.json",
        "Resources, authorization requests and the service catalogue",
        "CONTRACT.md §12: what `billing resources`, `authorization …`, `authorizations`, "
        "`catalog load` and `service-types` print with `--json`, the catalogue file `catalog load` "
        "reads, and the engine events they record (in the log with the inbound facts).",
        (
            resources.ResourceList,
            resources.Authorization,
            resources.AuthorizationList,
            resources.CatalogFile,
            resources.ServiceTypeList,
            *resource_events.AUTHORIZATION_EVENT_TYPES,
            resource_events.CatalogLoaded,
        ),
    ),
)


def build(document: Document) -> dict[str, Any]:
    """The schema document as a JSON value."""
    schemas, components = msgspec.json.schema_components(document.types, ref_template=_REF_TEMPLATE)
    head: dict[str, Any] = {
        "$schema": DRAFT_2020_12,
        "$id": document.id,
        "title": document.title,
        "description": document.description,
    }
    body = dict(schemas[0]) if len(schemas) == 1 else {"anyOf": list(schemas)}
    if document.with_topics:
        body["x-topics"] = {_topic(cls): _REF_TEMPLATE.format(name=cls.__name__) for cls in document.types}
    return {**head, **body, "$defs": components}


def render(value: Any) -> str:
    """Deterministic text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


ASYNCAPI_FILENAME = "asyncapi.json"


def generate() -> dict[str, str]:
    """Every document's file name and text, as the Structs give them now."""
    documents = {document.filename: render(build(document)) for document in DOCUMENTS}
    documents[ASYNCAPI_FILENAME] = render(asyncapi.build())
    return documents


def stale_files(directory: Path = HERE) -> list[str]:
    """The documents missing from `directory` or differing from what `generate` gives."""
    stale = []
    for filename, text in generate().items():
        path = directory / filename
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(filename)
    return stale


def write(directory: Path = HERE) -> list[str]:
    """Writes every document into `directory`; returns the names of those that changed."""
    changed = stale_files(directory)
    for filename, text in generate().items():
        if filename in changed:
            (directory / filename).write_text(text, encoding="utf-8", newline="\n")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.export", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is stale")
    parser.add_argument("--dir", type=Path, default=HERE, help="where the documents live (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.dir)
        for filename in stale:
            print(f"stale: {args.dir / filename} (run `python -m schemas.export`)", file=sys.stderr)
        return 1 if stale else 0
    for filename in write(args.dir):
        print(f"wrote {args.dir / filename}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
