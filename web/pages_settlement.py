"""What the statements, account and payments pages show (CONTRACT.md §7, §8), gathered
through the CLI's handlers under the API's access rules. Each function takes the
engine, the principal and the page's query (empty values dropped) and returns the
template's context; `may(…)` tells the template which forms to offer."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta

from commands import accounts, queries, statements
from commands.bootstrap import Engine
from engine.accounts.rules import PAYMENT_STATUSES
from engine.errors import Refused
from engine.tokens import Principal
from schemas.statements import STATUSES
from web import params
from web.access import own_partner, require_read, require_write
from web.errors import ApiError, bad_request

# Dates a statement filter takes (beyond, a time zone's offset could leave the calendar).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


def may(who: Principal, action: str, partner_id: str | None = None) -> bool:
    """Whether `who` may take `action` (a page offers only the forms it may send)."""
    try:
        require_write(who, action, partner_id)
    except ApiError:
        return False
    return True


def new_id(prefix: str) -> str:
    """A fresh idempotency key for a form: the same form sent twice records once."""
    return f"{prefix}-{secrets.token_hex(6)}"


def statements_page(engine: Engine, who: Principal, query: dict[str, str]) -> dict:
    """Statement summaries filtered by partner, period, status and issue date, and the
    periods (operators close them from here)."""
    partner = own_partner(who, "statements", params.identifier(query.get("partner"), "partner"))
    period = params.period(query["period"]) if "period" in query else None
    status = params.choice(query.get("status"), "status", STATUSES)
    day_from, day_to = _day(query.get("issued_from"), "issued_from"), _day(query.get("issued_to"), "issued_to")
    zone = engine.rules.calendar.zone
    issued_from = _start_of(day_from, zone)
    issued_to = _start_of(day_to + timedelta(days=1), zone) if day_to else None  # the day chosen is included
    listing = statements.list_statements(engine, partner, period, status, issued_from, issued_to)
    periods = statements.list_periods(engine).periods
    return {
        "statements": listing.statements,
        "periods": periods,
        "partner": partner,
        "period": period,
        "status": status,
        "statuses": STATUSES,
        "issued_from": query.get("issued_from", ""),
        "issued_to": query.get("issued_to", ""),
        "partners": _partner_choices(engine, who),
        "may_close": may(who, "close_period"),
    }


def statement_page(engine: Engine, who: Principal, partner: str, period: str) -> dict:
    require_read(who, "statements", params.identifier(partner, "partner"))
    statement = statements.get_statement(engine, partner, params.period(period))
    may_respond = may(who, "statement_response", partner)
    return {
        "statement": statement,
        "may_confirm": may_respond and statement.status != "confirmed",
        "may_dispute": may_respond and statement.status == "pending_confirmation",
    }


def account_page(engine: Engine, who: Principal, query: dict[str, str]) -> dict:
    """A partner's balances, warning, transfers and notifications; the ledger for those
    who read every partner's."""
    partner = _chosen(engine, who, "account", query.get("partner"))
    context = {
        "partner": partner,
        "partners": _partner_choices(engine, who),
        "ledger": accounts.ledger(engine) if who.reads_everything else None,
    }
    if partner is None:
        return {**context, "account": None, "transfers": [], "notifications": []}
    return {
        **context,
        "account": accounts.account(engine, partner),
        "transfers": accounts.transfers(engine, partner).transfers[::-1],  # newest first
        "notifications": accounts.notifications(engine, partner).notifications[::-1],
        "may_transfer": may(who, "account_transfer", partner),
        "may_credit": may(who, "incentive_credit", partner),
        "may_warn": may(who, "warning", partner),
        "new_id": new_id("web"),
    }


def payments_page(engine: Engine, who: Principal, query: dict[str, str]) -> dict:
    """Payment applications (newest first) with the review steps an operator may take,
    and the submission form with the incentive account's available amount."""
    partner = own_partner(who, "payments", params.identifier(query.get("partner"), "partner"))
    status = params.choice(query.get("status"), "status", PAYMENT_STATUSES)
    found = accounts.payments(engine, partner, status).payments[::-1]
    return {
        "payments": found,
        "partner": partner,
        "status": status,
        "statuses": PAYMENT_STATUSES,
        "partners": _partner_choices(engine, who),
        "account": accounts.account(engine, partner) if partner else None,
        "may_submit": may(who, "payment_submit", who.partner_id),
        "may_review": may(who, "payment_review"),
        "new_id": new_id("pay"),
    }


def refusal_of(action) -> Refused | None:
    """Runs a read the rules may refuse; the refusal, if any, for the page to show."""
    try:
        action()
    except Refused as refused:
        return refused
    return None


def _chosen(engine: Engine, who: Principal, kind: str, requested: str | None) -> str | None:
    """The partner a page shows: the token's own, or (operators, auditors) the one
    asked for, else the first there is."""
    requested = params.identifier(requested, "partner")
    if not who.reads_everything:
        require_read(who, kind, requested or who.partner_id)
        return who.partner_id
    if requested is not None:
        return requested
    choices = _partner_choices(engine, who)
    return choices[0] if choices else None


def _partner_choices(engine: Engine, who: Principal) -> list[str]:
    """Partners to choose from: those with charges or associations, and those with accounts."""
    if not who.reads_everything:
        return [who.partner_id]
    with_accounts = {
        a.account.split(":", 1)[1] for a in accounts.ledger(engine).accounts if not a.account.startswith("cloud:")
    }
    return sorted(set(queries.partner_ids(engine)) | with_accounts)


def _day(text: str | None, field: str) -> date | None:
    if text is None:
        return None
    try:
        if len(text) != 10:
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise bad_request(field, f"must be a date YYYY-MM-DD, not {text!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise bad_request(field, f"must be from {FIRST_DAY} to {LAST_DAY}")
    return day


def _start_of(day: date | None, zone) -> str | None:
    """The day's first instant in the billing time zone, as RFC 3339 in UTC (a zone's
    historical offset may have seconds, which RFC 3339 offsets cannot)."""
    return None if day is None else datetime.combine(day, time(), zone).astimezone(UTC).isoformat()
