"""What a store holds, at a glance: `billing status`, `billing partners` and
`billing customers --list`. Read as every view is (projections/committed.py): from
what is committed, in one snapshot, without waiting for a writer."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from commands.bootstrap import Engine
from commands.store_url import parse_store_url, safe_url
from engine.instants import format_instant
from engine.mapper import decode_event
from projections.committed import committed_views
from projections.fold import AssociationRow

# Where a period's state (open or closed, CONTRACT.md §7) comes from: functions of the
# engine returning {period: status}, registered by the feature that closes periods.
PERIOD_STATUS_SOURCES: list[Callable[[Engine], dict[str, str]]] = []


def _latest_associations(rows: list[AssociationRow]) -> dict[str, AssociationRow]:
    latest: dict[str, AssociationRow] = {}
    for row in rows:
        if row.customer_id not in latest or row.version > latest[row.customer_id].version:
            latest[row.customer_id] = row
    return latest


def customer_list(engine: Engine, partner_id: str | None = None) -> dict[str, Any]:
    """Every customer known (associated, or with a bill), with its latest association;
    with a partner, the customers whose latest association is with it."""
    with committed_views(engine.ledger, engine.projection.view, None) as views:
        latest = _latest_associations(views.every_association_row())
        charged = {customer for (_period, customer) in views.bill_charge_counts()}
    customers = []
    for customer_id in sorted(latest.keys() | charged):
        row = latest.get(customer_id)
        if partner_id is not None and (row is None or row.partner_id != partner_id):
            continue
        customers.append(
            {
                "customer_id": customer_id,
                "partner_id": row.partner_id if row else None,
                "customer_type": row.customer_type if row else None,
                "associated_at": format_instant(row.start) if row else None,
                "disassociated_at": format_instant(row.end) if row and row.end else None,
                "account_manager_id": row.account_manager_id if row else None,
                "indirect_partner_id": row.indirect_partner_id if row else None,
            }
        )
    return {"customers": customers}


def partner_list(engine: Engine) -> dict[str, Any]:
    """Every partner with an association or a charge: its customers now (latest
    association open), its associations ever, and the periods it has charges in."""
    with committed_views(engine.ledger, engine.projection.view, None) as views:
        rows = views.every_association_row()
        pairs = views.partner_period_pairs()
    latest = _latest_associations(rows)
    partners: dict[str, dict[str, Any]] = {}

    def entry(partner_id: str) -> dict[str, Any]:
        return partners.setdefault(
            partner_id, {"partner_id": partner_id, "customers": 0, "associations": 0, "periods": []}
        )

    for row in rows:
        entry(row.partner_id)["associations"] += 1
    for row in latest.values():
        if row.end is None:
            entry(row.partner_id)["customers"] += 1
    for partner_id, period in sorted(pairs):
        entry(partner_id)["periods"].append(period)
    return {"partners": [partners[key] for key in sorted(partners)]}


def store_status(engine: Engine) -> dict[str, Any]:
    """Events, rejections, customers, partners, periods, the last write, the size."""
    recorder = engine.ledger.recorder
    with committed_views(engine.ledger, engine.projection.view, None) as views:
        cursor = views.cursor
        head = recorder.max_notification_id_in(cursor)
        events = recorder.rows(cursor, f"SELECT COUNT(*) FROM {recorder.events_table}")[0][0]
        kept, pending, arrived = recorder.rows(
            cursor, "SELECT COUNT(*), COUNT(*) - COUNT(accepted), MAX(arrived) FROM {t}rejections"
        )[0]
        rows = views.every_association_row()
        bills = views.bill_charge_counts()
        pairs = views.partner_period_pairs()
        views_at = engine.projection.view.position_in(cursor, engine.ledger.name)
        last_event = _recorded_at(recorder, cursor, head)
    statuses: dict[str, str] = {}
    for source in PERIOD_STATUS_SOURCES:
        statuses.update(source(engine))
    periods: dict[str, dict[str, Any]] = {}
    for (period, _customer), charges in sorted(bills.items()):
        row = periods.setdefault(period, {"period": period, "bills": 0, "charges": 0, "status": statuses.get(period)})
        row["bills"] += 1
        row["charges"] += charges
    return {
        "store": safe_url(engine.settings.store_url),
        "currency": engine.rules.currency,
        "timezone": engine.rules.calendar.timezone_name,
        "events": events,
        "rejections": kept,
        "rejections_pending": pending,
        "customers": len({row.customer_id for row in rows} | {customer for (_p, customer) in bills}),
        "partners": len({row.partner_id for row in rows} | {partner for partner, _p in pairs}),
        "periods": list(periods.values()),
        "last_recorded_at": max(filter(None, [last_event, arrived]), default=None),
        "views_behind": max(head - views_at, 0),
        "size_bytes": _size(engine, recorder),
    }


def _recorded_at(recorder: Any, cursor: Any, notification_id: int) -> str | None:
    if not notification_id:
        return None
    try:
        topic, state = recorder.select_state_of_notification(cursor, notification_id)
        return decode_event(topic, state).recorded_at
    except Exception:  # an event type this version does not know: no time to show
        return None


def _size(engine: Engine, recorder: Any) -> int | None:
    location = parse_store_url(engine.settings.store_url)
    if location.path is not None:
        return sum(os.path.getsize(p) for p in (location.path, f"{location.path}-wal") if os.path.exists(p))
    if location.postgres is not None:
        with recorder.read_transaction() as cursor:
            return recorder.rows(cursor, "SELECT pg_database_size(current_database())")[0][0]
    return None
