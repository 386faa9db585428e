"""The ledger's rules, pure: accounts, transfer kinds, idempotency, funds, payment
steps, the balance warning's edge, and the fold of the recorded events.

TigerBeetle's model: an account is four running sums (posted and pending, debits and
credits); its `balance` is posted credits less posted debits, its `pending` what its
pending debits reserve (CONTRACT.md §8 counts pending on the debited account only),
and `available` = balance − pending. A transfer's id is its idempotency key; a pending
transfer is posted or voided exactly once. Amounts are integers of 10⁻⁸ (`*_units`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import Refused
from engine.money import parse_amount
from schemas.account_events import (
    PaymentApproved,
    PaymentPaid,
    PaymentRejected,
    PaymentSubmitted,
    TransferRecorded,
)

BANK, INCENTIVES, REVENUE = "cloud:bank", "cloud:incentives", "cloud:revenue"
CLOUD_ACCOUNTS = (BANK, INCENTIVES, REVENUE)
# Ids the engine gives its own transfers (a confirmed statement's, a settled incentive's).
ENGINE_ID_PREFIXES = ("statement:", "incentive:")


def prepaid_account(partner_id: str) -> str:
    return f"prepaid:{partner_id}"


def incentive_account(partner_id: str) -> str:
    return f"incentive:{partner_id}"


def partner_accounts(partner_id: str) -> tuple[str, str]:
    return prepaid_account(partner_id), incentive_account(partner_id)


# kind -> (debited, credited) account of a partner; `statement` runs the other way when
# the statement's total is negative.
_ROUTES = {
    "topup": (lambda p: BANK, prepaid_account),
    "withdrawal": (prepaid_account, lambda p: BANK),
    "statement": (prepaid_account, lambda p: REVENUE),
    "incentive": (lambda p: INCENTIVES, incentive_account),
    "payment": (incentive_account, lambda p: BANK),
}
CALLER_KINDS = ("topup", "withdrawal", "incentive")  # what `billing transfer` takes
# Kinds whose debited account may not go below zero available.
_GUARDED = frozenset({"withdrawal", "payment"})


def route(kind: str, partner_id: str) -> tuple[str, str]:
    """The (debit, credit) accounts of a transfer of `kind` for a partner."""
    debit, credit = _ROUTES[kind]
    return debit(partner_id), credit(partner_id)


@dataclass(slots=True)
class Balances:
    """One account's running sums."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def pending(self) -> int:
        return self.debits_pending

    @property
    def available(self) -> int:
        return self.balance - self.pending


@dataclass(slots=True)
class TransferRecord:
    """A transfer as the ledger holds it."""

    id: str
    kind: str
    partner_id: str
    debit: str
    credit: str
    amount_units: int
    status: str  # posted | pending | voided
    at: str
    note: str | None = None


@dataclass(slots=True)
class PaymentRecord:
    """A payment application and every status it has had: (status, at, reason)."""

    id: str
    partner_id: str
    amount_units: int
    status: str
    history: list[tuple[str, str, str | None]]


@dataclass(slots=True)
class LedgerState:
    """The part of the ledger a decision or a fold works on (loaded by the caller),
    with what the fold changed, for writing back."""

    accounts: dict[str, Balances] = field(default_factory=dict)
    transfers: dict[str, TransferRecord | None] = field(default_factory=dict)
    payments: dict[str, PaymentRecord | None] = field(default_factory=dict)
    changed_accounts: set[str] = field(default_factory=set)
    new_transfers: list[str] = field(default_factory=list)
    changed_transfers: set[str] = field(default_factory=set)
    new_payments: list[str] = field(default_factory=list)
    changed_payments: set[str] = field(default_factory=set)
    # Partners whose two accounts are known to be in `accounts` (a shortcut of the fold).
    partners_present: set[str] = field(default_factory=set)


# --- deciding --------------------------------------------------------------------------


def judge_id(existing: TransferRecord | None, kind: str, partner_id: str, amount_units: int) -> bool:
    """True when the id was already used for the same request (a repeat: nothing to do),
    False when it is new; `id_conflict` when it was used for anything else. Compared as
    values: kind, partner and amount, not the note."""
    if existing is None:
        return False
    if (existing.kind, existing.partner_id, existing.amount_units) == (kind, partner_id, amount_units):
        return True
    raise Refused(
        "id_conflict",
        f"id {existing.id!r} is already taken by a {existing.kind} of {existing.partner_id!r} "
        "with another kind, partner or amount",
    )


def check_funds(kind: str, debit: str, balances: Balances, amount_units: int, format_amount) -> None:
    """Refuses a withdrawal or payment above the debited account's available amount."""
    if kind in _GUARDED and amount_units > balances.available:
        raise Refused(
            "insufficient_funds",
            f"{kind} of {format_amount(amount_units)} exceeds the available {format_amount(balances.available)} "
            f"of {debit}",
        )


# step -> (the status it starts from, the status it leads to)
PAYMENT_STEPS = {
    "approve": ("under_review", "approved"),
    "reject": ("under_review", "rejected"),
    "pay": ("approved", "paid"),
}
PAYMENT_STATUSES = ("under_review", "approved", "rejected", "paid")


def check_step(payment: PaymentRecord | None, payment_id: str, step: str) -> None:
    """Refuses a step the application's status does not allow (or an unknown application)."""
    if payment is None:
        raise Refused("unknown_payment", f"no payment application with id {payment_id!r}")
    start, _ = PAYMENT_STEPS[step]
    if payment.status != start:
        raise Refused(
            "invalid_state",
            f"payment {payment_id!r} is {payment.status.replace('_', ' ')}; only an "
            f"application {start.replace('_', ' ')} can be {PAYMENT_STEPS[step][1]}",
        )


def warning_edge(below_units: int | None, warned: bool, available_units: int) -> tuple[bool, bool]:
    """(notify, warned afterwards): a `balance.low` when the available amount is below the
    threshold and was not already (warned) since it last stood at or above it."""
    is_below = below_units is not None and available_units < below_units
    return is_below and not warned, is_below


# --- the fold ----------------------------------------------------------------------------


def needs(event) -> tuple[list[str], str]:
    """The accounts and the transfer/payment id a fold of `event` reads."""
    if isinstance(event, TransferRecorded | PaymentSubmitted):
        return [event.debit, event.credit, *partner_accounts(event.partner_id)], event.id
    # a payment step posts or voids the pending transfer between these two
    return [*route("payment", event.partner_id), prepaid_account(event.partner_id)], event.id


def evolve(state: LedgerState, event) -> None:
    """Folds one recorded event into `state` (which holds what `needs` names)."""
    amount_units = parse_amount("amount", event.amount)
    if event.partner_id not in state.partners_present:
        for name in partner_accounts(event.partner_id):
            if name not in state.accounts:
                state.accounts[name] = Balances()
                state.changed_accounts.add(name)
        state.partners_present.add(event.partner_id)
    if type(event) is TransferRecorded:
        _add(
            state,
            TransferRecord(
                event.id,
                event.kind,
                event.partner_id,
                event.debit,
                event.credit,
                amount_units,
                "posted",
                event.recorded_at,
                event.note,
            ),
        )
        _move(state, event.debit, event.credit, amount_units, posted=amount_units)
    elif type(event) is PaymentSubmitted:
        _add(
            state,
            TransferRecord(
                event.id,
                "payment",
                event.partner_id,
                event.debit,
                event.credit,
                amount_units,
                "pending",
                event.recorded_at,
            ),
        )
        _move(state, event.debit, event.credit, amount_units, pending=amount_units)
        state.payments[event.id] = PaymentRecord(
            event.id, event.partner_id, amount_units, "under_review", [("under_review", event.recorded_at, None)]
        )
        state.new_payments.append(event.id)
    elif type(event) is PaymentApproved:
        _step(state, event, "approved", None)
    elif type(event) is PaymentRejected:
        _step(state, event, "rejected", event.reason)
        _resolve(state, event.id, "voided")
    elif type(event) is PaymentPaid:
        _step(state, event, "paid", None)
        _resolve(state, event.id, "posted")
    else:
        raise TypeError(f"not a ledger event: {type(event).__name__}")


def _add(state: LedgerState, transfer: TransferRecord) -> None:
    assert state.transfers.get(transfer.id) is None, f"transfer {transfer.id!r} recorded twice"
    state.transfers[transfer.id] = transfer
    state.new_transfers.append(transfer.id)


def _move(state: LedgerState, debit: str, credit: str, amount_units: int, *, posted: int = 0, pending: int = 0):
    accounts, changed = state.accounts, state.changed_accounts
    debited = accounts.get(debit) or accounts.setdefault(debit, Balances())
    credited = accounts.get(credit) or accounts.setdefault(credit, Balances())
    changed.add(debit)
    changed.add(credit)
    if posted:
        debited.debits_posted += posted
        credited.credits_posted += posted
    if pending:
        debited.debits_pending += pending
        credited.credits_pending += pending


def _step(state: LedgerState, event, status: str, reason: str | None) -> None:
    payment = state.payments[event.id]
    payment.status = status
    payment.history.append((status, event.recorded_at, reason))
    state.changed_payments.add(event.id)


def _resolve(state: LedgerState, transfer_id: str, status: str) -> None:
    """Posts or voids a pending transfer, once."""
    transfer = state.transfers[transfer_id]
    assert transfer is not None and transfer.status == "pending", f"transfer {transfer_id!r} is not pending"
    transfer.status = status
    state.changed_transfers.add(transfer_id)
    debit, credit, amount = state.accounts[transfer.debit], state.accounts[transfer.credit], transfer.amount_units
    debit.debits_pending -= amount
    credit.credits_pending -= amount
    if status == "posted":
        debit.debits_posted += amount
        credit.credits_posted += amount
    state.changed_accounts.update((transfer.debit, transfer.credit))
