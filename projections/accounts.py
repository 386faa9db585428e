"""The ledger's inline projection (`Ledger.engine_projections`): folds the transfers and
payment steps just recorded into the ledger's tables, records the notifications they
cause, and reacts to the statements of CONTRACT.md §7 — an issued statement notifies
its partner, a confirmed one posts its `statement` transfer — all in the transaction
that recorded them.

The fold reads the rows it needs once for the whole list of events, folds them in
order with the same `evolve` the deciders use, and writes back what changed.
"""

from __future__ import annotations

from engine.accounts import notices, rules, tables
from engine.accounts.recording import record_statement_transfer
from engine.accounts.rules import LedgerState
from engine.money import format_units, parse_amount
from engine.recording import Decision
from schemas.account_events import ACCOUNT_EVENT_TYPES, PaymentApproved, PaymentPaid, PaymentRejected, TransferRecorded
from schemas.engine_events import EngineEvent
from schemas.statement_events import StatementIssued, StatementStatusChanged

_LEDGER_TYPES = frozenset(ACCOUNT_EVENT_TYPES)
_STEP_NOTICES = {PaymentApproved: "payment.approved", PaymentRejected: "payment.rejected", PaymentPaid: "payment.paid"}


def project_accounts(decision: Decision, stored: list[tuple[int, EngineEvent]]) -> None:
    """The inline projection: ledger events into the tables, statement events into
    notifications and transfers."""
    events = [event for _, event in stored]
    caused = _fold(decision, events) if any(type(e) in _LEDGER_TYPES for e in events) else {}
    rows: list[notices.NoticeRow] = []
    for index, event in enumerate(events):
        rows += caused.get(index, ())
        if type(event) is StatementIssued:
            rows.append(
                notices.statement_issued(event.partner_id, event.recorded_at, event.period, event.total_settled_amount)
            )
        elif type(event) is StatementStatusChanged and event.status == "confirmed":
            total = parse_amount("total_settled_amount", event.total_settled_amount)
            record_statement_transfer(decision, event.partner_id, event.period, total)
    if rows:
        tables.insert_notifications(decision, rows)


def _fold(decision: Decision, stored_events: list[EngineEvent]) -> dict[int, list[notices.NoticeRow]]:
    """Folds the ledger events among `stored_events`; returns the notifications each
    causes, by its index in `stored_events`."""
    minor_digits = decision.ledger.rules.minor_digits
    state = LedgerState()
    events = [e for e in stored_events if type(e) in _LEDGER_TYPES]
    names = {name for event in events for name in rules.needs(event)[0]}
    state.accounts.update(tables.load_accounts(decision, names))
    sums_before = _sums(state)
    step_ids = [e.id for e in events if type(e) in _STEP_NOTICES]
    state.transfers.update(tables.load_transfers(decision, step_ids))
    state.payments.update(tables.load_payments(decision, step_ids))
    partners = {e.partner_id for e in events if type(e) is TransferRecorded}
    warnings = tables.load_warnings(decision, partners)
    changed_warnings: dict[str, tuple[int | None, bool]] = {}
    caused: dict[int, list[notices.NoticeRow]] = {}
    for index, event in enumerate(stored_events):
        if type(event) not in _LEDGER_TYPES:
            continue
        rules.evolve(state, event)
        kind = _STEP_NOTICES.get(type(event))
        if kind is not None:
            caused.setdefault(index, []).append(
                notices.payment_step(
                    kind, event.partner_id, event.recorded_at, event.id, event.amount, getattr(event, "reason", None)
                )
            )
        elif type(event) is TransferRecorded and event.partner_id in warnings:
            below, warned = warnings[event.partner_id]
            available = state.accounts[rules.prepaid_account(event.partner_id)].available
            notify, warned_after = rules.warning_edge(below, warned, available)
            if warned_after != warned:
                warnings[event.partner_id] = changed_warnings[event.partner_id] = (below, warned_after)
            if notify:
                caused.setdefault(index, []).append(
                    notices.balance_low(
                        event.partner_id,
                        event.recorded_at,
                        format_units(available, minor_digits),
                        format_units(below, minor_digits),
                    )
                )
    # Double entry: whatever the events did, the balances still sum to what they did, and
    # every pending debit has its pending credit (a bug here would unbalance the ledger).
    assert _sums(state) == sums_before, "a fold changed the sum of the balances or of the pending amounts"
    _write(decision, state)
    if changed_warnings:
        tables.save_warnings(decision, changed_warnings)
    return caused


def _sums(state: LedgerState) -> tuple[int, int]:
    accounts = state.accounts.values()
    return sum(a.balance for a in accounts), sum(a.debits_pending - a.credits_pending for a in accounts)


def _write(decision: Decision, state: LedgerState) -> None:
    tables.save_accounts(decision, {n: state.accounts[n] for n in state.changed_accounts}, _partner_of)
    new_transfers = set(state.new_transfers)
    tables.insert_transfers(decision, [state.transfers[i] for i in state.new_transfers])
    tables.update_transfer_statuses(
        decision, [state.transfers[i] for i in sorted(state.changed_transfers - new_transfers)]
    )
    new_payments = set(state.new_payments)
    tables.insert_payments(decision, [state.payments[i] for i in state.new_payments])
    tables.update_payments(decision, [state.payments[i] for i in sorted(state.changed_payments - new_payments)])


def _partner_of(account: str) -> str | None:
    owner, _, partner_id = account.partition(":")
    return None if owner == "cloud" else partner_id
