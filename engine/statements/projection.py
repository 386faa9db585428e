"""The inline projection of the close and statement events into the statements' tables,
run in the transaction that stores the events (`Ledger.engine_projections`), and the
wiring of the feature into a ledger."""

from __future__ import annotations

from typing import Any

import msgspec

from engine.money import parse_amount
from engine.recording import Decision
from engine.statements import tables
from engine.statements.carry import issued_step, statement_digest
from engine.statements.tables import StoreReader
from schemas.engine_events import EngineEvent
from schemas.statement_events import PeriodClosed, StatementIssued, StatementStatusChanged
from schemas.statements import StatementBody

_BODY_ENCODER = msgspec.json.Encoder()
_BODY_DECODER = msgspec.json.Decoder(StatementBody)


def statement_stream(partner_id: str, period: str) -> str:
    """The stream of one statement's events: issued at version 1, each status change after."""
    return f"statement:{partner_id}:{period}"


def decode_body(text: str) -> StatementBody:
    return _BODY_DECODER.decode(text)


def project(decision: Decision, stored: list[tuple[int, EngineEvent]]) -> None:
    """Folds stored close and statement events into the tables, in log order."""
    for _notification_id, event in stored:
        if isinstance(event, PeriodClosed):
            tables.insert_close(decision, event.period, event.recorded_at)
        elif isinstance(event, StatementIssued):
            _issued(decision, event)
        elif isinstance(event, StatementStatusChanged):
            tables.set_status(decision, event.period, event.partner_id, event.status)
            tables.insert_step(
                decision,
                event.period,
                event.partner_id,
                event.originator_version,
                event.status,
                event.recorded_at,
                event.reason,
            )


def _issued(decision: Decision, event: StatementIssued) -> None:
    body = event.statement
    if body is None:
        raise ValueError(f"statement.issued {event.id} carries no statement")
    tables.insert_statement(
        decision,
        (
            body.period,
            body.partner_id,
            issued_step(body).status,
            body.issued_at,
            body.total_payable_amount,
            body.total_settled_amount,
            statement_digest(body),
            _BODY_ENCODER.encode(body).decode(),
        ),
    )
    tables.insert_step(
        decision, body.period, body.partner_id, event.originator_version, issued_step(body).status, body.issued_at, None
    )
    amounts = {(d.customer_id, body.period): (d.payable_amount, d.settled_amount) for d in body.details}
    amounts.update({(a.customer_id, a.period): (a.payable_amount, a.settled_amount) for a in body.adjustments})
    rows = []
    for carried in event.carried_charges:
        payable, settled = amounts[(carried.customer_id, carried.period)]
        rows.append(
            (
                body.partner_id,
                carried.period,
                carried.customer_id,
                body.period,
                parse_amount("payable_amount", payable),
                parse_amount("settled_amount", settled),
                carried.charges,
            )
        )
    if len(rows) != len(amounts):
        raise ValueError(f"statement.issued {event.id}: {len(amounts)} carried amounts but {len(rows)} charge counts")
    tables.insert_carried(decision, rows)


def wire(ledger: Any) -> None:
    """Registers the projection, and the floor that puts whatever is recorded after a
    close strictly after its `issued_at` (if the store has the tables yet)."""
    ledger.engine_projections.append(project)
    with ledger.recorder.read_transaction() as cursor:
        present = tables.tables_present(StoreReader(ledger.recorder, cursor), ledger.recorder)
    if present:
        ledger.recorded_floors.append(lambda cursor: tables.last_closed_at(StoreReader(ledger.recorder, cursor)))
