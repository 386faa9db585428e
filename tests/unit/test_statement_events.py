"""The close and statement events as stored: they only grow at the end, with defaults,
so the bytes an earlier version stored still decode."""

from __future__ import annotations

import msgspec

from engine.mapper import decode_event, stored_row
from schemas.statement_events import PeriodClosed, StatementIssued, StatementStatusChanged
from schemas.statements import CarriedCharges, LogHead

HEAD = {
    "originator_id": "statement:p-1:2026-10",
    "originator_version": 1,
    "id": "statement:p-1:2026-10:issued",
    "recorded_at": "2026-11-05T00:00:00.000000Z",
}


def test_a_statement_issued_stored_before_the_body_was_added_still_decodes():
    yesterday = msgspec.json.encode(HEAD | {"partner_id": "p-1", "period": "2026-10", "total_settled_amount": "1.00"})
    event = decode_event("schemas.statement_events:StatementIssued", yesterday)
    assert isinstance(event, StatementIssued)
    assert (event.statement, event.carried_charges, event.total_settled_amount) == (None, [], "1.00")


def test_a_status_change_keeps_its_first_fields_and_defaults():
    event = decode_event(
        "schemas.statement_events:StatementStatusChanged",
        msgspec.json.encode(HEAD | {"partner_id": "p-1", "period": "2026-10", "status": "confirmed"}),
    )
    assert isinstance(event, StatementStatusChanged)
    assert (event.reason, event.total_settled_amount) == (None, "0")


def test_engine_events_round_trip_through_the_log_and_name_their_log_type():
    closed = PeriodClosed(
        originator_id="periods",
        originator_version=3,
        id="period.closed:2026-10",
        recorded_at=HEAD["recorded_at"],
        period="2026-10",
        partners=["p-1"],
        log_head=LogHead(position=12, hash="0" * 64),
    )
    issued = StatementIssued(
        **HEAD,
        partner_id="p-1",
        period="2026-10",
        total_settled_amount="1.00",
        carried_charges=[CarriedCharges("2026-09", "c-1", 2)],
    )
    for event in (closed, issued):
        row = stored_row(event)
        assert decode_event(row.topic, row.state) == event
    assert (PeriodClosed.LOG_TYPE, StatementIssued.LOG_TYPE, StatementStatusChanged.LOG_TYPE) == (
        "period.closed",
        "statement.issued",
        "statement.status_changed",
    )
