"""Deciding ledger requests inside an engine decision (`Ledger.record_decision`).

Each function reads what it needs through the decision (under the store's write lock),
judges the request with the pure rules (`rules`), and appends the events that record
it; the ledger's inline projection (`projections.accounts`) folds them into the
tables in the same transaction. Within one decision a session remembers what was
read and what its own events changed, so a batch of requests is judged one after the
other, each seeing the ones before it.

For other features: `record_transfer` credits or moves money once per id (the
incentives' `settle` credits each partner's `incentive` transfer with it), and
`record_statement_transfer` posts a confirmed statement's total.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from engine.accounts import notices, rules, tables
from engine.accounts.rules import Balances, LedgerState, PaymentRecord, TransferRecord
from engine.errors import Refused
from engine.money import SCALE_DIGITS, format_units
from engine.recording import Decision
from schemas.account_events import (
    PAYMENTS_STREAM,
    TRANSFERS_STREAM,
    PaymentApproved,
    PaymentPaid,
    PaymentRejected,
    PaymentSubmitted,
    TransferRecorded,
)
from schemas.accounts import Payment, PaymentStep, Transfer

_STEP_EVENTS = {"approve": PaymentApproved, "reject": PaymentRejected, "pay": PaymentPaid}


@dataclass(slots=True)
class Outcome:
    """What a request printed (the transfer or the application) and whether it was a
    repeat of an earlier one (nothing changed)."""

    value: Transfer | Payment
    repeated: bool = False


class Session:
    """A decision's view of the ledger: rows read once, then kept up to date with the
    events this decision appends."""

    def __init__(self, decision: Decision):
        self.decision = decision
        self.minor_digits = decision.ledger.rules.minor_digits
        self.state = LedgerState()

    def amount(self, units: int) -> str:
        return format_units(units, self.minor_digits)

    def preload(self, transfer_ids: list[str], account_names: list[str]) -> None:
        """Reads many transfers and accounts at once (a batch's), for speed."""
        state = self.state
        wanted = [i for i in transfer_ids if i not in state.transfers]
        found = tables.load_transfers(self.decision, wanted)
        for transfer_id in wanted:
            state.transfers[transfer_id] = found.get(transfer_id)
        names = [n for n in account_names if n not in state.accounts]
        state.accounts.update(tables.load_accounts(self.decision, names))
        for name in names:
            state.accounts.setdefault(name, Balances())

    def transfer(self, transfer_id: str) -> TransferRecord | None:
        if transfer_id not in self.state.transfers:
            self.preload([transfer_id], [])
        return self.state.transfers[transfer_id]

    def account(self, name: str) -> Balances:
        if name not in self.state.accounts:
            self.preload([], [name])
        return self.state.accounts[name]

    def payment(self, payment_id: str) -> PaymentRecord | None:
        payments = self.state.payments
        if payment_id not in payments:
            payments[payment_id] = tables.load_payments(self.decision, [payment_id]).get(payment_id)
            if payments[payment_id] is not None:
                self.transfer(payment_id)  # its pending transfer, which a step resolves
        return payments[payment_id]

    def append(self, event_type, stream: str, **fields):
        event = self.decision.append(event_type, stream=stream, **fields)
        accounts = self.state.accounts
        missing = [name for name in rules.needs(event)[0] if name not in accounts]
        if missing:
            self.preload([], missing)
        rules.evolve(self.state, event)
        return event


_SESSIONS: weakref.WeakKeyDictionary[Decision, Session] = weakref.WeakKeyDictionary()


def session(decision: Decision) -> Session:
    """The ledger session of a decision (one per decision)."""
    found = _SESSIONS.get(decision)
    if found is None:
        found = _SESSIONS[decision] = Session(decision)
    return found


def transfer_view(record: TransferRecord, minor_digits: int) -> Transfer:
    return Transfer(
        record.id,
        record.kind,
        record.debit,
        record.credit,
        format_units(record.amount_units, minor_digits),
        record.status,
        record.at,
        record.note,
    )


def payment_view(record: PaymentRecord, minor_digits: int, *, as_submitted: bool = False) -> Payment:
    """The application as it stands, or (`as_submitted`) as its submission printed it."""
    history = record.history[:1] if as_submitted else record.history
    return Payment(
        record.id,
        record.partner_id,
        format_units(record.amount_units, minor_digits),
        history[-1][0],
        [PaymentStep(*step) for step in history],
    )


def _check_new_id(transfer_id: str, from_caller: bool) -> None:
    if from_caller and transfer_id.startswith(rules.ENGINE_ID_PREFIXES):
        raise Refused(
            "id_conflict",
            f"id {transfer_id!r}: ids beginning {' or '.join(rules.ENGINE_ID_PREFIXES)} are the engine's own",
        )


def record_transfer(
    decision: Decision,
    kind: str,
    partner_id: str,
    amount_units: int,
    transfer_id: str,
    note: str | None = None,
    *,
    from_caller: bool = False,
) -> Outcome:
    """Records a posted transfer of `kind` (topup, withdrawal or incentive) once per id.

    The id is judged first: the same kind, partner and amount again is a repeat (nothing
    recorded, `repeated`); anything else under that id is `id_conflict`. Then funds: a
    withdrawal above the prepaid available is `insufficient_funds`. `from_caller` (a
    request from outside the engine) also keeps the engine's own ids (`statement:…`,
    `incentive:…`) for the engine. `amount_units` is in 10⁻⁸, above zero, in minor units.
    """
    if kind not in rules.CALLER_KINDS:
        raise ValueError(f"record_transfer takes {rules.CALLER_KINDS}, not {kind!r}")
    return _post(session(decision), kind, partner_id, amount_units, transfer_id, note, from_caller)


def record_statement_transfer(
    decision: Decision, partner_id: str, period: str, total_settled_units: int
) -> Outcome | None:
    """Posts a confirmed statement's total (`statement:P:PERIOD`): prepaid → revenue, the
    other way if negative, nothing if zero. It may take the prepaid balance below zero."""
    if total_settled_units == 0:
        return None
    return _post(
        session(decision),
        "statement",
        partner_id,
        abs(total_settled_units),
        f"statement:{partner_id}:{period}",
        None,
        False,
        reverse=total_settled_units < 0,
    )


def _post(
    s: Session,
    kind: str,
    partner_id: str,
    amount_units: int,
    transfer_id: str,
    note: str | None,
    from_caller: bool,
    *,
    reverse: bool = False,
) -> Outcome:
    if amount_units <= 0 or amount_units % 10 ** (SCALE_DIGITS - s.minor_digits):
        raise ValueError(f"a transfer moves a positive amount of whole minor units, not {amount_units} (10⁻⁸)")
    existing = s.transfer(transfer_id)
    if rules.judge_id(existing, kind, partner_id, amount_units):
        return Outcome(transfer_view(existing, s.minor_digits), repeated=True)
    _check_new_id(transfer_id, from_caller)
    debit, credit = rules.route(kind, partner_id)
    if reverse:
        debit, credit = credit, debit
    rules.check_funds(kind, debit, s.account(debit), amount_units, s.amount)
    event = s.append(
        TransferRecorded,
        TRANSFERS_STREAM,
        id=transfer_id,
        kind=kind,
        partner_id=partner_id,
        debit=debit,
        credit=credit,
        amount=s.amount(amount_units),
        note=note,
    )
    return Outcome(Transfer(transfer_id, kind, debit, credit, event.amount, "posted", event.recorded_at, note))


def submit_payment(decision: Decision, partner_id: str, amount_units: int, payment_id: str) -> Outcome:
    """A payment application (`under_review`), its pending transfer reserving the amount
    on the incentive account. Judged: id, then funds (`insufficient_funds`)."""
    s = session(decision)
    existing = s.transfer(payment_id)
    if rules.judge_id(existing, "payment", partner_id, amount_units):
        return Outcome(payment_view(s.payment(payment_id), s.minor_digits, as_submitted=True), repeated=True)
    _check_new_id(payment_id, True)
    debit, credit = rules.route("payment", partner_id)
    rules.check_funds("payment", debit, s.account(debit), amount_units, s.amount)
    s.append(
        PaymentSubmitted,
        PAYMENTS_STREAM,
        id=payment_id,
        partner_id=partner_id,
        debit=debit,
        credit=credit,
        amount=s.amount(amount_units),
    )
    return Outcome(payment_view(s.state.payments[payment_id], s.minor_digits))


def step_payment(decision: Decision, payment_id: str, step: str, reason: str | None = None) -> Outcome:
    """approve / reject (with a reason) / pay: `unknown_payment`, then `invalid_state`."""
    s = session(decision)
    payment = s.payment(payment_id)
    rules.check_step(payment, payment_id, step)
    fields = {"reason": reason} if step == "reject" else {}
    s.append(
        _STEP_EVENTS[step],
        PAYMENTS_STREAM,
        id=payment_id,
        partner_id=payment.partner_id,
        amount=s.amount(payment.amount_units),
        **fields,
    )
    return Outcome(payment_view(payment, s.minor_digits))


def set_warning(decision: Decision, partner_id: str, below_units: int | None) -> bool:
    """Sets (or with None clears) a partner's balance warning; records a `balance.low`
    (and returns True) when the prepaid available is below the new threshold and was
    not already warned of. Not logged (CONTRACT.md §11); a threshold makes the partner's
    accounts appear (§8), clearing one that is not set records nothing.
    Decided on the tables as they stand: call it in a decision of its own."""
    s = session(decision)
    below_before, warned = tables.load_warnings(decision, [partner_id]).get(partner_id, (None, False))
    if below_units is None and below_before is None:
        return False
    available = s.account(rules.prepaid_account(partner_id)).available
    notify, warned_after = rules.warning_edge(below_units, warned, available)
    tables.save_warnings(decision, {partner_id: (below_units, warned_after)})
    if notify:
        tables.insert_notifications(
            decision,
            [notices.balance_low(partner_id, decision.recorded_at, s.amount(available), s.amount(below_units))],
        )
    prepaid, incentive = rules.partner_accounts(partner_id)
    missing = {name: Balances() for name in (prepaid, incentive) if not tables.load_accounts(decision, [name])}
    if missing:
        tables.save_accounts(decision, missing, lambda name: partner_id)
    return notify
