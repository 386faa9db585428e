"""Partner accounts and payment applications (CONTRACT.md §8): the handlers the command
line and the HTTP API share. Requests are checked first (`*_request`, `FieldError`
naming the field, before any store is opened); the handlers decide in one write
transaction each and return what the contract's `--json` shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from commands.bootstrap import Engine
from engine.accounts import inputs, recording, rules, tables
from engine.accounts.recording import Outcome
from engine.accounts.rules import Balances
from engine.decide import Rules
from engine.errors import FieldError, Refused
from engine.money import format_units
from schemas.accounts import (
    Account,
    AccountBalances,
    LedgerAccount,
    LedgerListing,
    Notification,
    NotificationList,
    PaymentList,
    TransferList,
)

__all__ = ["Outcome", "PaymentRequest", "TransferRequest"]
_DATA = msgspec.json.Decoder(dict)


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """A checked `transfer topup|withdrawal|incentive` request."""

    kind: str
    partner_id: str
    amount_units: int
    id: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """A checked payment application."""

    partner_id: str
    amount_units: int
    id: str


def transfer_request(
    deployment: Rules, kind: str, partner_id: str, amount: str, transfer_id: str, note: str | None = None
) -> TransferRequest:
    if kind not in rules.CALLER_KINDS:
        raise FieldError("kind", f"must be one of {', '.join(rules.CALLER_KINDS)}, not {kind!r}")
    return TransferRequest(
        kind,
        inputs.identifier("partner_id", partner_id),
        inputs.amount_units("amount", amount, deployment.minor_digits, deployment.currency),
        inputs.identifier("id", transfer_id),
        inputs.text_of("note", note, least=0, most=inputs.MAX_NOTE_CHARS),
    )


def payment_request(deployment: Rules, partner_id: str, amount: str, payment_id: str) -> PaymentRequest:
    return PaymentRequest(
        inputs.identifier("partner_id", partner_id),
        inputs.amount_units("amount", amount, deployment.minor_digits, deployment.currency),
        inputs.identifier("id", payment_id),
    )


def warning_threshold(deployment: Rules, below: str | None) -> int | None:
    """A `warn --below` threshold (zero allowed: warns of arrears); None clears it."""
    if below is None:
        return None
    return inputs.amount_units("below", below, deployment.minor_digits, deployment.currency, zero_ok=True)


def reject_reason(reason: str | None) -> str:
    if reason is None:
        raise FieldError("reason", "is required")
    return inputs.text_of("reason", reason, least=1, most=inputs.MAX_REASON_CHARS)


# --- writes --------------------------------------------------------------------------------


def transfer(engine: Engine, request: TransferRequest) -> Outcome:
    """Records a transfer (or finds it already recorded: `repeated`)."""
    return engine.ledger.record_decision(
        lambda d: recording.record_transfer(
            d, request.kind, request.partner_id, request.amount_units, request.id, request.note, from_caller=True
        )
    )


def transfer_batch(engine: Engine, requests: Sequence[TransferRequest]) -> list[Outcome | Refused]:
    """Records many transfers in one transaction, judged one after the other: each gets
    its outcome, or the refusal that left it unrecorded (the others still count)."""

    def decide(decision) -> list[Outcome | Refused]:
        s = recording.session(decision)
        s.preload([r.id for r in requests], [name for r in requests for name in rules.route(r.kind, r.partner_id)])
        results: list[Outcome | Refused] = []
        for r in requests:
            try:
                results.append(
                    recording.record_transfer(
                        decision, r.kind, r.partner_id, r.amount_units, r.id, r.note, from_caller=True
                    )
                )
            except Refused as refused:
                results.append(refused)
        return results

    return engine.ledger.record_decision(decide)


def submit_payment(engine: Engine, request: PaymentRequest) -> Outcome:
    return engine.ledger.record_decision(
        lambda d: recording.submit_payment(d, request.partner_id, request.amount_units, request.id)
    )


def step_payment(engine: Engine, payment_id: str, step: str, reason: str | None = None) -> Outcome:
    """approve, reject (with a reason) or pay an application."""
    payment_id = inputs.identifier("id", payment_id)
    if step == "reject":
        reason = reject_reason(reason)
    return engine.ledger.record_decision(lambda d: recording.step_payment(d, payment_id, step, reason))


def warn(engine: Engine, partner_id: str, below_units: int | None) -> Account:
    """Sets or clears a partner's balance warning; returns its account."""
    partner_id = inputs.identifier("partner_id", partner_id)
    engine.ledger.record_decision(lambda d: recording.set_warning(d, partner_id, below_units))
    return account(engine, partner_id)


# --- reads ----------------------------------------------------------------------------------


def _read(engine: Engine, read):
    recorder = engine.ledger.recorder
    with recorder.read_transaction() as cursor:
        return read(tables.Reader(recorder, cursor))


def _amount(engine: Engine, units: int) -> str:
    return format_units(units, engine.rules.minor_digits)


def _balances(engine: Engine, balances: Balances) -> AccountBalances:
    return AccountBalances(
        _amount(engine, balances.balance), _amount(engine, balances.pending), _amount(engine, balances.available)
    )


def account(engine: Engine, partner_id: str) -> Account:
    """A partner's accounts and warning threshold; zeros for a partner without any."""
    names = rules.partner_accounts(partner_id)

    def read(sql):
        return tables.load_accounts(sql, names), tables.load_warnings(sql, [partner_id])

    found, warnings = _read(engine, read)
    below, _ = warnings.get(partner_id, (None, False))
    prepaid, incentive = (found.get(name, Balances()) for name in names)
    return Account(
        partner_id,
        engine.rules.currency,
        _balances(engine, prepaid),
        _balances(engine, incentive),
        None if below is None else _amount(engine, below),
    )


def transfers(engine: Engine, partner_id: str | None = None) -> TransferList:
    records = _read(engine, lambda sql: tables.list_transfers(sql, partner_id))
    return TransferList([recording.transfer_view(record, engine.rules.minor_digits) for record in records])


def ledger(engine: Engine) -> LedgerListing:
    """Every account by name (the cloud's three always), and the sum of the balances."""
    found = _read(engine, tables.all_accounts)
    for name in rules.CLOUD_ACCOUNTS:
        found.setdefault(name, Balances())
    total = sum(balances.balance for balances in found.values())
    accounts = [
        LedgerAccount(name, _amount(engine, b.balance), _amount(engine, b.pending)) for name, b in sorted(found.items())
    ]
    return LedgerListing(accounts, _amount(engine, total))


def payments(engine: Engine, partner_id: str | None = None, status: str | None = None) -> PaymentList:
    if status is not None and status not in rules.PAYMENT_STATUSES:
        raise FieldError("status", f"must be one of {', '.join(rules.PAYMENT_STATUSES)}, not {status!r}")
    records = _read(engine, lambda sql: tables.list_payments(sql, partner_id, status))
    return PaymentList([recording.payment_view(record, engine.rules.minor_digits) for record in records])


def notifications(engine: Engine, partner_id: str | None = None) -> NotificationList:
    rows = _read(engine, lambda sql: tables.list_notifications(sql, partner_id))
    return NotificationList([notification_of(row) for row in rows])


def notifications_after(engine: Engine, after: int, limit: int) -> list[tuple[int, Notification]]:
    """Up to `limit` notifications recorded after number `after`, with their numbers
    (the publisher's position)."""
    rows = _read(engine, lambda sql: tables.list_notifications(sql, after=after, limit=limit))
    return [(row[0], notification_of(row)) for row in rows]


def last_notification(engine: Engine) -> int:
    """The number of the latest notification (0: none)."""
    return _read(engine, tables.last_notification)


def notification_of(row: tables.NotificationRow) -> Notification:
    _seq, kind, partner_id, at, data = row
    return Notification(kind, partner_id, at, _DATA.decode(data))
