"""`billing close | periods | statements | statement | confirm | dispute` (CONTRACT.md §7).

Every command needs an existing store (exit 2 otherwise). The writing ones open it for
writing, which gives a store made by an earlier version the statements' tables.
"""

from __future__ import annotations

import argparse

from commands import statements as handlers
from commands.bootstrap import Engine, open_engine
from commands.cli_support import EXIT_OK, AddParser, Handler, UsageError, period, print_json
from commands.render import table
from commands.settings import Settings
from engine.errors import FieldError
from engine.instants import InvalidTime, parse_instant
from engine.statements.rules import REASON_MAX_CHARS
from schemas.statements import STATUSES, CloseResult, PeriodList, Statement, StatementList


def rfc3339(text: str) -> str:
    """An option's RFC 3339 time with its offset, kept as given (compared as an instant)."""
    try:
        parse_instant(text)
    except InvalidTime as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def reason(text: str) -> str:
    if not 1 <= len(text) <= REASON_MAX_CHARS:
        raise argparse.ArgumentTypeError(f"must be 1..{REASON_MAX_CHARS} characters, not {len(text)}")
    return text


def add_commands(add_parser: AddParser) -> dict[str, Handler]:
    close = add_parser("close", help="close a period and issue its partners' statements")
    close.add_argument("--period", required=True, type=period, metavar="YYYY-MM", help="the period to close (required)")
    _json(close)
    _json(add_parser("periods", help="every period with a charge, open or closed"))
    listing = add_parser("statements", help="statement summaries, by period then partner")
    listing.add_argument("--partner", metavar="ID", help="only this partner's (default: every partner's)")
    listing.add_argument(
        "--period", type=period, metavar="YYYY-MM", help="only this period's (default: every period's)"
    )
    listing.add_argument("--status", choices=STATUSES, help="only statements in this status (default: any)")
    listing.add_argument(
        "--issued-from",
        type=rfc3339,
        metavar="RFC3339",
        help="only those issued at or after this time (default: no bound)",
    )
    listing.add_argument(
        "--issued-to", type=rfc3339, metavar="RFC3339", help="only those issued before this time (default: no bound)"
    )
    _json(listing)
    one = add_parser("statement", help="one whole statement")
    _statement_key(one)
    _json(one)
    confirm = add_parser("confirm", help="confirm a statement (final)")
    _statement_key(confirm)
    _json(confirm)
    dispute = add_parser("dispute", help="dispute a statement, with a reason")
    _statement_key(dispute)
    dispute.add_argument(
        "--reason", required=True, type=reason, metavar="TEXT", help=f"why (1..{REASON_MAX_CHARS} characters; required)"
    )
    _json(dispute)
    return {
        "close": _writing(lambda engine, args: handlers.close_period(engine, args.period), _close_table),
        "periods": _reading(lambda engine, args: handlers.list_periods(engine), _periods_table),
        "statements": _reading(_list, _statements_table),
        "statement": _reading(lambda e, a: handlers.get_statement(e, a.partner, a.period), statement_text),
        "confirm": _writing(lambda e, a: handlers.confirm_statement(e, a.partner, a.period), statement_text),
        "dispute": _writing(lambda e, a: handlers.dispute_statement(e, a.partner, a.period, a.reason), statement_text),
    }


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON (default: a readable table)")


def _statement_key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--partner", required=True, metavar="ID", help="the partner (required)")
    parser.add_argument("--period", required=True, type=period, metavar="YYYY-MM", help="the period (required)")


def _list(engine: Engine, args: argparse.Namespace) -> StatementList:
    return handlers.list_statements(engine, args.partner, args.period, args.status, args.issued_from, args.issued_to)


def open_existing(settings: Settings, *, write: bool) -> Engine:
    """An engine on a store that must exist already (a missing one is exit 2)."""
    if not write:
        return open_engine(settings, create=False)
    open_engine(settings, create=False).close()  # fails unless a billing store is there
    return open_engine(settings, create=True)


def _run(show, render, write: bool) -> Handler:
    def run(args: argparse.Namespace, settings: Settings) -> int:
        with open_existing(settings, write=write) as engine:
            try:
                result = show(engine, args)
            except FieldError as error:
                raise UsageError(str(error)) from None
        print_json(result) if args.json else print(render(result))
        return EXIT_OK

    return run


def _reading(show, render) -> Handler:
    return _run(show, render, write=False)


def _writing(show, render) -> Handler:
    return _run(show, render, write=True)


def _close_table(result: CloseResult) -> str:
    head = f"closed {result.period} at {result.issued_at}: {len(result.statements)} statement(s)"
    if not result.statements:
        return head
    rows = [(s.partner_id, s.total_payable_amount, s.total_settled_amount) for s in result.statements]
    return head + "\n" + table(["partner", "total payable", "total settled"], rows)


def _periods_table(result: PeriodList) -> str:
    if not result.periods:
        return "no period has a charge yet"
    return table(
        ["period", "status", "closed at"],
        [(p.period, p.status, p.closed_at or "") for p in result.periods],
        numeric_from=99,
    )


def _statements_table(result: StatementList) -> str:
    if not result.statements:
        return "no statements"
    rows = [
        (s.period, s.partner_id, s.status, s.issued_at, s.total_payable_amount, s.total_settled_amount)
        for s in result.statements
    ]
    return table(["period", "partner", "status", "issued at", "total payable", "total settled"], rows, numeric_from=4)


def statement_text(s: Statement) -> str:
    """A statement for people: its head, details, adjustments and history."""
    parts = [
        f"statement of {s.partner_id} for {s.period} ({s.currency}): {s.status}, issued {s.issued_at}\n"
        f"period:      payable {s.payable_amount}, settled {s.settled_amount}, {s.customers} customer(s)\n"
        f"adjustments: payable {s.adjustments_payable_amount}, settled {s.adjustments_settled_amount}\n"
        f"total:       payable {s.total_payable_amount}, settled {s.total_settled_amount}\n"
        f"log head {s.log_head.position}:{s.log_head.hash}\ndigest {s.digest}",
    ]
    if s.details:
        parts.append(
            table(
                ["customer", "payable", "settled"],
                [(d.customer_id, d.payable_amount, d.settled_amount) for d in s.details],
            )
        )
    if s.adjustments:
        parts.append(
            "adjustments\n"
            + table(
                ["period", "customer", "payable", "settled"],
                [(a.period, a.customer_id, a.payable_amount, a.settled_amount) for a in s.adjustments],
                numeric_from=2,
            )
        )
    parts.append(
        "history\n"
        + table(["status", "at", "reason"], [(h.status, h.at, h.reason or "") for h in s.history], numeric_from=99)
    )
    return "\n\n".join(parts)
