"""Helpers of the ledger's tests (CONTRACT.md §8): requests in a line, the statement
events another feature records (appended here through `record_decision`), and what
the log and the tables hold."""

from __future__ import annotations

import msgspec

from commands import accounts
from engine.errors import Refused
from engine.mapper import decode_event, is_engine_topic
from schemas.statement_events import StatementIssued, StatementStatusChanged
from schemas.statements import CarriedCharges, LogHead, StatementBody, StatementDetail


def topup(engine, partner: str, amount: str, id: str, note: str | None = None) -> accounts.Outcome:
    return transfer(engine, "topup", partner, amount, id, note)


def transfer(engine, kind: str, partner: str, amount: str, id: str, note: str | None = None) -> accounts.Outcome:
    return accounts.transfer(engine, accounts.transfer_request(engine.rules, kind, partner, amount, id, note))


def submit(engine, partner: str, amount: str, id: str) -> accounts.Outcome:
    return accounts.submit_payment(engine, accounts.payment_request(engine.rules, partner, amount, id))


def refusal(call) -> str:
    """The code of the refusal `call` raises (it must raise one)."""
    try:
        call()
    except Refused as refused:
        return refused.code
    raise AssertionError("expected a refusal")


def issue_statement(engine, partner: str, period: str, total: str) -> None:
    """A statement of one customer's charge for `total`, issued as a close issues it
    (the statements feature folds its body; the ledger reacts to the event)."""

    def issue(decision):
        body = StatementBody(
            partner_id=partner,
            period=period,
            issued_at=decision.recorded_at,
            currency="CNY",
            payable_amount=f"{total}000000",
            settled_amount=total,
            customers=1,
            details=[StatementDetail("c-1", f"{total}000000", total)],
            adjustments=[],
            adjustments_payable_amount="0.00000000",
            adjustments_settled_amount="0.00",
            total_payable_amount=f"{total}000000",
            total_settled_amount=total,
            log_head=LogHead(0, "0" * 64),
        )
        decision.append(
            StatementIssued,
            stream="statements",
            id=f"{partner}:{period}",
            partner_id=partner,
            period=period,
            total_settled_amount=total,
            statement=body,
            carried_charges=[CarriedCharges(period, "c-1", 1)],
        )

    engine.ledger.record_decision(issue)


def change_statement(engine, partner: str, period: str, status: str, total: str, reason: str | None = None) -> None:
    engine.ledger.record_decision(
        lambda d: d.append(
            StatementStatusChanged,
            stream="statements",
            id=f"{partner}:{period}",
            partner_id=partner,
            period=period,
            status=status,
            reason=reason,
            total_settled_amount=total,
        )
    )


def engine_log(engine) -> list:
    """The engine events of the log, in order."""
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as c:
        rows = recorder.select_notifications_in(c, 0, 1_000_000)
    return [decode_event(topic, state) for _, topic, state in rows if is_engine_topic(topic)]


def balances(engine) -> dict[str, tuple[str, str]]:
    """Every ledger account's (balance, pending)."""
    return {a.account: (a.balance, a.pending) for a in accounts.ledger(engine).accounts}


def notices(engine, partner: str | None = None) -> list[tuple[str, str, dict]]:
    return [(n.type, n.partner_id, n.data) for n in accounts.notifications(engine, partner).notifications]


def as_json(value) -> dict:
    return msgspec.to_builtins(value)
