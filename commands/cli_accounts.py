"""`billing account|transfer|transfers|ledger|warn|payment|payments|notifications`:
partner accounts and payment applications (CONTRACT.md §8).

Requests are checked before the store is opened (a malformed amount or id exits 2
naming the option, and records nothing); a refusal exits 1 as `code: message`; a
repeated id prints what the first call printed and says so on stderr (so `--json`
output stays clean). Writes create the store, reads need an existing one (§5).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from commands.bootstrap import build_rules, open_engine
from commands.cli_support import EXIT_OK, EXIT_PROBLEM, AddParser, Handler, UsageError, print_json
from commands.render import table
from commands.settings import Settings
from engine.accounts import inputs, rules
from engine.errors import FieldError

if TYPE_CHECKING:  # the handlers are imported when a command of theirs runs (start-up stays short)
    from commands import accounts
    from schemas.accounts import Account, LedgerListing, NotificationList, Payment, PaymentList, Transfer, TransferList

_OPTION_OF_FIELD = {
    "partner_id": "--partner",
    "amount": "--amount",
    "id": "--id",
    "note": "--note",
    "reason": "--reason",
    "below": "--below",
    "status": "--status",
    "kind": "KIND",
}


def _checked(check: Callable[[], object]):
    """Runs an input check; a bad field is a usage error naming its option."""
    try:
        return check()
    except FieldError as error:
        raise UsageError(f"{_OPTION_OF_FIELD.get(error.field, error.field)}: {error.problem}") from None


def add_commands(add_parser: AddParser) -> dict[str, Handler]:
    def with_json(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--json", action="store_true", help="print JSON (default: a table)")
        return parser

    account = with_json(add_parser("account", help="a partner's prepaid and incentive accounts and warning"))
    account.add_argument("--partner", required=True, metavar="ID", help="the partner (required)")

    transfer = with_json(add_parser("transfer", help="record a top-up, withdrawal or incentive credit"))
    transfer.add_argument(
        "kind",
        choices=rules.CALLER_KINDS,
        metavar="KIND",
        help="topup (bank → prepaid), withdrawal (prepaid → bank) or incentive (cloud incentives → incentive)",
    )
    _request_options(transfer, "transfer")
    transfer.add_argument("--note", help="free text kept with the transfer, 0..512 characters (default: none)")

    listing = with_json(add_parser("transfers", help="transfers in recorded order"))
    listing.add_argument("--partner", metavar="ID", help="only this partner's (default: all)")

    with_json(add_parser("ledger", help="every account's balance and pending; their total is zero"))

    warn = with_json(add_parser("warn", help="set or clear a partner's balance warning (余额预警)"))
    warn.add_argument("--partner", required=True, metavar="ID", help="the partner (required)")
    threshold = warn.add_mutually_exclusive_group(required=True)
    threshold.add_argument(
        "--below",
        metavar="AMOUNT",
        help="warn when the prepaid available falls below this amount (0 warns of arrears); "
        "one of --below and --off is required",
    )
    threshold.add_argument("--off", action="store_true", help="clear the threshold")

    _payment_commands(add_parser)

    payments = with_json(add_parser("payments", help="payment applications in submission order"))
    payments.add_argument("--partner", metavar="ID", help="only this partner's (default: all)")
    payments.add_argument("--status", choices=rules.PAYMENT_STATUSES, help="only those with this status (default: all)")

    notifications = with_json(add_parser("notifications", help="notifications to partners in recorded order"))
    notifications.add_argument("--partner", metavar="ID", help="only this partner's (default: all)")

    return {
        "account": _account,
        "transfer": _transfer,
        "transfers": _transfers,
        "ledger": _ledger,
        "warn": _warn,
        "payment": _payment,
        "payments": _payments,
        "notifications": _notifications,
    }


def _request_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--partner", required=True, metavar="ID", help="the partner, 1..64 characters (required)")
    parser.add_argument(
        "--amount",
        required=True,
        metavar="AMOUNT",
        help="a plain decimal above zero, at most the currency's minor digits and 999999999999 (required)",
    )
    parser.add_argument(
        "--id", required=True, metavar="ID", help=f"the {what}'s id, 1..64 characters: its idempotency key (required)"
    )


def _payment_commands(add_parser: AddParser) -> None:
    payment = add_parser("payment", help="submit, approve, reject or pay a payment application (付款申请)")
    steps = payment.add_subparsers(dest="payment_command", required=True, parser_class=type(payment))
    steps.add_parser = _with_global_options(steps.add_parser, payment)
    submit = steps.add_parser("submit", help="apply to be paid from the incentive account (under review)")
    _request_options(submit, "application")
    for name, text in (
        ("approve", "approve an application under review"),
        ("reject", "reject an application under review, voiding its reservation"),
        ("pay", "pay an approved application"),
    ):
        step = steps.add_parser(name, help=text)
        step.add_argument("--id", required=True, metavar="ID", help="the application's id (required)")
        if name == "reject":
            step.add_argument("--reason", required=True, help="why, 1..512 characters (required)")
    for parser in (submit, *(steps.choices[n] for n in ("approve", "reject", "pay"))):
        parser.add_argument("--json", action="store_true", help="print JSON (default: a table)")


def _with_global_options(add_parser, parent: argparse.ArgumentParser):
    """`billing payment submit --store …`: the global options the command got, on its steps too."""
    common = argparse.ArgumentParser(add_help=False)
    for action in parent._actions:
        if action.dest in ("store", "kafka", "group") and action.option_strings:
            common._add_action(action)

    def add(name: str, **kwargs):
        return add_parser(name, parents=[common], **kwargs)

    return add


# --- handlers ---------------------------------------------------------------------------------


def _show(args: argparse.Namespace, value: object, render: Callable[[object], str]) -> None:
    print_json(value) if args.json else print(render(value))


def _repeated(outcome: accounts.Outcome, what: str) -> None:
    if outcome.repeated:
        print(
            f"billing: {what} {outcome.value.id!r} was already recorded with the same kind, partner and amount; "
            "nothing changed",
            file=sys.stderr,
        )


def _transfer(args: argparse.Namespace, settings: Settings) -> int:
    from commands import accounts

    deployment = build_rules(settings)
    request = _checked(
        lambda: accounts.transfer_request(deployment, args.kind, args.partner, args.amount, args.id, args.note)
    )
    with open_engine(settings, create=True) as engine:
        outcome = accounts.transfer(engine, request)
    _show(args, outcome.value, _render_transfers)
    _repeated(outcome, "transfer")
    return EXIT_OK


def _payment(args: argparse.Namespace, settings: Settings) -> int:
    from commands import accounts

    deployment = build_rules(settings)
    if args.payment_command == "submit":
        request = _checked(lambda: accounts.payment_request(deployment, args.partner, args.amount, args.id))
        with open_engine(settings, create=True) as engine:
            outcome = accounts.submit_payment(engine, request)
        _repeated(outcome, "payment application")
    else:
        _checked(lambda: inputs.identifier("id", args.id))
        reason = getattr(args, "reason", None)
        if args.payment_command == "reject":
            _checked(lambda: accounts.reject_reason(reason))
        with open_engine(settings, create=True) as engine:
            outcome = accounts.step_payment(engine, args.id, args.payment_command, reason)
    _show(args, outcome.value, _render_payments)
    return EXIT_OK


def _warn(args: argparse.Namespace, settings: Settings) -> int:
    from commands import accounts

    deployment = build_rules(settings)
    partner_id = _checked(lambda: inputs.identifier("partner_id", args.partner))
    below = None if args.off else _checked(lambda: accounts.warning_threshold(deployment, args.below))
    with open_engine(settings, create=True) as engine:
        result = accounts.warn(engine, partner_id, below)
    _show(args, result, _render_account)
    return EXIT_OK


def _reading(show: Callable, render: Callable[[object], str], *, partner_required: bool = False) -> Handler:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        partner = getattr(args, "partner", None)
        if partner is not None or partner_required:
            _checked(lambda: inputs.identifier("partner_id", partner))
        from commands import accounts

        with open_engine(settings, create=False) as engine:
            result = show(accounts, engine, args)
        _show(args, result, render)
        return EXIT_OK

    return run


_account = _reading(lambda h, e, a: h.account(e, a.partner), lambda v: _render_account(v), partner_required=True)
_transfers = _reading(lambda h, e, a: h.transfers(e, a.partner), lambda v: _render_transfers(v))
_payments = _reading(lambda h, e, a: h.payments(e, a.partner, a.status), lambda v: _render_payments(v))
_notifications = _reading(lambda h, e, a: h.notifications(e, a.partner), lambda v: _render_notifications(v))


def _ledger(args: argparse.Namespace, settings: Settings) -> int:
    from commands import accounts

    with open_engine(settings, create=False) as engine:
        listing = accounts.ledger(engine)
    _show(args, listing, _render_ledger)
    if any(ch not in "0.-" for ch in listing.total):
        print(f"billing: the ledger is out of balance: its accounts sum to {listing.total}", file=sys.stderr)
        return EXIT_PROBLEM
    return EXIT_OK


# --- tables for people --------------------------------------------------------------------------


def _render_account(account: Account) -> str:
    rows = [
        (name, b.balance, b.pending, b.available)
        for name, b in (("prepaid", account.prepaid), ("incentive", account.incentive))
    ]
    warning = account.warn_below if account.warn_below is not None else "not set"
    return (
        f"partner {account.partner_id} ({account.currency})\n"
        + table(["account", "balance", "pending", "available"], rows)
        + f"\nwarn below: {warning}"
    )


def _render_transfers(value: Transfer | TransferList) -> str:
    transfers = value.transfers if hasattr(value, "transfers") else [value]  # a listing, or one transfer
    if not transfers:
        return "no transfers"
    return table(
        ["id", "kind", "debit", "credit", "amount", "status", "at", "note"],
        [(t.id, t.kind, t.debit, t.credit, t.amount, t.status, t.at, t.note) for t in transfers],
        numeric_from=99,
    )


def _render_ledger(listing: LedgerListing) -> str:
    rows = [(a.account, a.balance, a.pending) for a in listing.accounts]
    return table(["account", "balance", "pending"], rows) + f"\ntotal: {listing.total}"


def _render_payments(value: Payment | PaymentList) -> str:
    payments = value.payments if hasattr(value, "payments") else [value]  # a listing, or one application
    if not payments:
        return "no payment applications"
    rows = [
        (
            p.id,
            p.partner_id,
            p.amount,
            p.status,
            "; ".join(f"{h.status} {h.at}" + (f" ({h.reason})" if h.reason else "") for h in p.history),
        )
        for p in payments
    ]
    return table(["id", "partner", "amount", "status", "history"], rows, numeric_from=99)


def _render_notifications(listing: NotificationList) -> str:
    if not listing.notifications:
        return "no notifications"
    rows = [
        (n.at, n.type, n.partner_id, ", ".join(f"{k}={v}" for k, v in n.data.items())) for n in listing.notifications
    ]
    return table(["at", "type", "partner", "data"], rows, numeric_from=99)
