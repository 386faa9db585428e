"""The authorization requests' tables (CONTRACT.md §12), kept by an inline projection of
their engine events, in the transaction that records them.

`authorizations` holds each request as it stands (`seq`, the request event's
notification id, is the request order); `authorization_steps` every status it has had.
Reads take a `rows(sql, params)` function: a decision's own (inside the write
transaction that decides) or a read transaction's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.authorization.decide import APPROVED, PENDING, REJECTED, REVOKED, AuthorizationRecord
from engine.recording import Decision
from schemas.engine_events import EngineEvent
from schemas.resource_events import (
    AuthorizationApproved,
    AuthorizationRejected,
    AuthorizationRequested,
    AuthorizationRevoked,
)
from schemas.resources import Authorization, AuthorizationStep

Rows = Callable[[str, Sequence], list[tuple]]

DDL = [
    "CREATE TABLE IF NOT EXISTS {t}authorizations (id {key} PRIMARY KEY, seq {int} NOT NULL, "
    "partner_id {key} NOT NULL, customer_id {key} NOT NULL, indirect_partner_id {key}, status {key} NOT NULL)",
    "CREATE INDEX IF NOT EXISTS authorizations_by_customer ON {t}authorizations (customer_id, partner_id)",
    "CREATE TABLE IF NOT EXISTS {t}authorization_steps (authorization_id {key} NOT NULL, seq {int} NOT NULL, "
    "status {key} NOT NULL, at {text} NOT NULL, reason {text}, PRIMARY KEY (authorization_id, seq))",
]

_STATUS_OF = {AuthorizationApproved: APPROVED, AuthorizationRejected: REJECTED, AuthorizationRevoked: REVOKED}
_COLUMNS = "id, partner_id, customer_id, indirect_partner_id, status"


def project_authorizations(decision: Decision, stored: list[tuple[int, EngineEvent]]) -> None:
    """Folds the authorization events just stored into the tables."""
    for notification_id, event in stored:
        kind = type(event)
        if kind is AuthorizationRequested:
            decision.execute(
                "INSERT INTO {t}authorizations VALUES (?,?,?,?,?,?)",
                (event.id, notification_id, event.partner_id, event.customer_id, event.indirect_partner_id, PENDING),
            )
            status, reason = PENDING, None
        elif kind in _STATUS_OF:
            status, reason = _STATUS_OF[kind], getattr(event, "reason", None)
            decision.execute("UPDATE {t}authorizations SET status=? WHERE id=?", (status, event.id))
        else:
            continue
        decision.execute(
            "INSERT INTO {t}authorization_steps VALUES (?,?,?,?,?)",
            (event.id, notification_id, status, event.recorded_at, reason),
        )


def authorization_record(rows: Rows, authorization_id: str) -> AuthorizationRecord | None:
    found = rows(f"SELECT {_COLUMNS} FROM {{t}}authorizations WHERE id=?", (authorization_id,))
    return AuthorizationRecord(*found[0]) if found else None


def standing_of(rows: Rows, customer_id: str, partner_id: str) -> list[AuthorizationRecord]:
    """The customer's requests of the partner that a disassociation still changes."""
    found = rows(
        f"SELECT {_COLUMNS} FROM {{t}}authorizations "
        "WHERE customer_id=? AND partner_id=? AND status IN (?,?) ORDER BY seq",
        (customer_id, partner_id, PENDING, APPROVED),
    )
    return [AuthorizationRecord(*row) for row in found]


def holds_approved(rows: Rows, partner_id: str, customer_id: str, reseller: str | None) -> bool:
    """Whether the partner holds an approved authorization of the customer, the reseller
    named as in the request."""
    found = rows(
        "SELECT indirect_partner_id FROM {t}authorizations WHERE customer_id=? AND partner_id=? AND status=?",
        (customer_id, partner_id, APPROVED),
    )
    return any(row[0] == reseller for row in found)


def authorizations(
    rows: Rows,
    *,
    partner_id: str | None = None,
    customer_id: str | None = None,
    status: str | None = None,
    ids: Sequence[str] | None = None,
) -> list[Authorization]:
    """Requests with their histories, in request order, filtered in the query."""
    conditions, params = [], []
    for column, value in (("partner_id", partner_id), ("customer_id", customer_id), ("status", status)):
        if value is not None:
            conditions.append(f"{column}=?")
            params.append(value)
    if ids is not None:
        conditions.append(f"id IN ({','.join('?' * len(ids))})")
        params.extend(ids)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    found = rows(f"SELECT {_COLUMNS} FROM {{t}}authorizations{where} ORDER BY seq", params)
    histories = _histories(rows, [row[0] for row in found])
    return [Authorization(*row, history=histories.get(row[0], [])) for row in found]


def _histories(rows: Rows, ids: list[str]) -> dict[str, list[AuthorizationStep]]:
    histories: dict[str, list[AuthorizationStep]] = {}
    for start in range(0, len(ids), 300):
        part = ids[start : start + 300]
        found = rows(
            f"SELECT authorization_id, status, at, reason FROM {{t}}authorization_steps "
            f"WHERE authorization_id IN ({','.join('?' * len(part))}) ORDER BY seq",
            part,
        )
        for authorization_id, status, at, reason in found:
            histories.setdefault(authorization_id, []).append(AuthorizationStep(status, at, reason))
    return histories
