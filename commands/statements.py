"""Handlers of CONTRACT.md §7 for the CLI and the HTTP API: close a period, list periods
and statements, read one statement, confirm or dispute it.

Each returns the Structs of `schemas.statements`, shaped as the `--json` output, or
raises `Refused` (exit 1 / HTTP 409) or `FieldError` (a usage error / HTTP 400).
"""

from __future__ import annotations

from commands.bootstrap import Engine
from engine.errors import FieldError, Refused
from engine.instants import InvalidTime, instant_from_datetime, parse_instant, parse_period
from engine.recording import Decision
from engine.statements import tables
from engine.statements.carry import build_statement, carried_charges, statement_view, to_carry
from engine.statements.projection import decode_body, statement_stream
from engine.statements.rules import (
    PERIOD_ALREADY_CLOSED,
    UNKNOWN_STATEMENT,
    CloseState,
    check_close,
    check_reason,
    following_period,
    next_status,
)
from engine.statements.schedule import Grace, next_to_close, shifted_period
from schemas.statement_events import PeriodClosed, StatementIssued, StatementStatusChanged
from schemas.statements import (
    CLOSED,
    CONFIRMED,
    DISPUTED,
    OPEN,
    STATUSES,
    ClosedStatement,
    CloseResult,
    LogHead,
    PeriodList,
    PeriodStatus,
    Statement,
    StatementList,
    StatementStep,
    StatementSummary,
)


def close_period(engine: Engine, period: str) -> CloseResult:
    """Closes `period` and issues its statements, in one write transaction."""
    _check_period(period)
    ledger, rules, view = engine.ledger, engine.rules, engine.projection.view

    def decide(decision: Decision) -> CloseResult:
        cursor = decision.cursor
        # The views must hold every event recorded before this moment (a fold held in
        # memory, or events recorded with BILLING_PROJECTIONS=separate).
        engine.projection.bring_up_to_date_in(cursor, ledger)
        last = tables.last_close(decision)
        earliest, _latest = view.charge_period_range_in(cursor)
        check_close(
            period,
            CloseState(
                now=instant_from_datetime(ledger.clock()),
                period_end=rules.calendar.period_end(period),
                last_closed=last[0] if last else None,
                earliest_charge=earliest,
            ),
        )
        position, hash_ = ledger.recorder.log_head_in(cursor)
        log_head = LogHead(position=position, hash=hash_)
        carry = to_carry(view.partner_tally_in(cursor, period), tables.carried_tally(decision, period))
        issued_at = decision.recorded_at
        decision.append(
            PeriodClosed,
            stream="periods",
            id=f"period.closed:{period}",
            period=period,
            partners=sorted(carry),
            log_head=log_head,
        )
        summaries = []
        for partner_id in sorted(carry):
            entries = carry[partner_id]
            body = build_statement(partner_id, period, issued_at, rules.currency, rules.minor_digits, entries, log_head)
            stream = statement_stream(partner_id, period)
            decision.append(
                StatementIssued,
                stream=stream,
                id=f"{stream}:issued",
                partner_id=partner_id,
                period=period,
                total_settled_amount=body.total_settled_amount,
                statement=body,
                carried_charges=carried_charges(entries),
            )
            summaries.append(ClosedStatement(partner_id, body.total_payable_amount, body.total_settled_amount))
        return CloseResult(period=period, issued_at=issued_at, statements=summaries)

    return ledger.record_decision(decide)


def due_period(engine: Engine, grace: Grace) -> str | None:
    """The period `billing serve` should close now (BILLING_CLOSE_AFTER), or None."""
    recorder = engine.ledger.recorder
    with tables.reading(recorder) as db:
        last = tables.last_close(db)
        earliest, latest = engine.projection.view.charge_period_range_in(db.cursor)
    candidate = next_to_close(last[0] if last else None, earliest, latest)
    if candidate is None:
        return None
    moment = instant_from_datetime(engine.ledger.clock() - grace.fixed)
    # End plus whole months: the end of the period that many months later.
    end = engine.rules.calendar.period_end(shifted_period(candidate, grace.months))
    return candidate if moment >= end else None


def close_due_periods(engine: Engine, grace: Grace) -> list[CloseResult]:
    """Closes, in order, every period whose end plus `grace` has passed, from the next
    one to close up to the latest with a charge. A close another process made first is
    skipped; any other refusal (views not caught up yet) waits for the next call."""
    closed = []
    while (period := due_period(engine, grace)) is not None:
        try:
            closed.append(close_period(engine, period))
        except Refused as refused:
            if refused.code != PERIOD_ALREADY_CLOSED:
                raise
    return closed


def close_through(engine: Engine, period: str) -> list[CloseResult]:
    """Closes, in order, every period from the next one to close through `period`
    (empty months included); refusals are those of `close_period`."""
    results = []
    while True:
        recorder = engine.ledger.recorder
        with tables.reading(recorder) as db:
            last = tables.last_close(db)
            earliest, _latest = engine.projection.view.charge_period_range_in(db.cursor)
        if last is not None and last[0] >= period:
            return results
        candidate = following_period(last[0]) if last is not None else min(earliest or period, period)
        results.append(close_period(engine, candidate))


def list_periods(engine: Engine) -> PeriodList:
    """Every period with a charge, open or closed (see `closed_at`)."""
    engine.projection.bring_up_to_date(engine.ledger)
    recorder = engine.ledger.recorder
    with tables.reading(recorder) as db:
        charged = engine.projection.view.charged_periods_in(db.cursor)
        closed = tables.closes(db) if tables.tables_present(db, recorder) else {}
    result = []
    for period in charged:
        at = closed_at(closed, period)
        result.append(PeriodStatus(period, CLOSED if at else OPEN, at))
    return PeriodList(periods=result)


def period_closed_at(engine: Engine, period: str) -> str | None:
    """When `period` was closed, or None while it is open (for §9's `final` values)."""
    recorder = engine.ledger.recorder
    with tables.reading(recorder) as db:
        return closed_at(tables.closes(db), period) if tables.tables_present(db, recorder) else None


def closed_at(closes: dict[str, str], period: str) -> str | None:
    """A period's close time, given every close. A month before the first close counts
    as closed by it: its late charges are carried as adjustments, like a closed month's,
    and it can no longer be closed itself."""
    if period in closes:
        return closes[period]
    first = min(closes) if closes else None
    return closes[first] if first is not None and period < first else None


def list_statements(
    engine: Engine,
    partner_id: str | None = None,
    period: str | None = None,
    status: str | None = None,
    issued_from: str | None = None,
    issued_to: str | None = None,
) -> StatementList:
    """Statement summaries by period, then partner; `issued_from` inclusive and
    `issued_to` exclusive (RFC 3339 times with an offset, compared as instants)."""
    if status is not None and status not in STATUSES:
        raise FieldError("status", f"must be one of {', '.join(STATUSES)}")
    if period is not None:
        _check_period(period)
    low, high = _instant("issued_from", issued_from), _instant("issued_to", issued_to)
    recorder = engine.ledger.recorder
    with tables.reading(recorder) as db:
        rows = tables.statement_rows(db, partner_id, period, status) if tables.tables_present(db, recorder) else []
    summaries = []
    for period_, partner, status_, issued_at, total_payable, total_settled in sorted(rows, key=lambda r: (r[0], r[1])):
        at = parse_instant(issued_at)
        if (low is None or at >= low) and (high is None or at < high):
            summaries.append(StatementSummary(partner, period_, status_, issued_at, total_payable, total_settled))
    return StatementList(statements=summaries)


def _instant(name: str, text: str | None):
    if text is None:
        return None
    try:
        return parse_instant(text)
    except InvalidTime as error:
        raise FieldError(name, str(error)) from None


def _check_period(period: str) -> None:
    try:
        parse_period(period)
    except ValueError as error:
        raise FieldError("period", str(error)) from None


def get_statement(engine: Engine, partner_id: str, period: str) -> Statement:
    """One whole statement, or `unknown_statement`."""
    recorder = engine.ledger.recorder
    with tables.reading(recorder) as db:
        if not tables.tables_present(db, recorder):
            raise _unknown(partner_id, period)
        return _statement_in(db, partner_id, period)


def statement_at(db: tables.Db, partner_id: str, period: str, version: int | None = None) -> Statement | None:
    """The statement as it was after its `version`th event (its latest, if None)."""
    row = tables.statement_row(db, partner_id, period)
    if row is None:
        return None
    steps = [
        StatementStep(status, at, reason) for _v, status, at, reason in tables.history(db, partner_id, period, version)
    ]
    return statement_view(decode_body(row[7]), steps, row[6])


def confirm_statement(engine: Engine, partner_id: str, period: str) -> Statement:
    """pending_confirmation or disputed → confirmed (final)."""
    return _change_status(engine, partner_id, period, CONFIRMED, None)


def dispute_statement(engine: Engine, partner_id: str, period: str, reason: str) -> Statement:
    """pending_confirmation → disputed, with a reason of 1..512 characters."""
    return _change_status(engine, partner_id, period, DISPUTED, check_reason(reason))


def _change_status(engine: Engine, partner_id: str, period: str, wanted: str, reason: str | None) -> Statement:
    def decide(decision: Decision) -> Statement:
        current = tables.statement_row(decision, partner_id, period)
        if current is None:
            raise _unknown(partner_id, period)
        status = next_status(partner_id, period, current[2], wanted)
        stream = statement_stream(partner_id, period)
        # A statement becomes each status at most once: the status names the event.
        event = decision.append(
            StatementStatusChanged,
            stream=stream,
            id=f"{stream}:{status}",
            partner_id=partner_id,
            period=period,
            status=status,
            reason=reason,
            total_settled_amount=current[5],
        )
        history = [StatementStep(s, at, r) for _v, s, at, r in tables.history(decision, partner_id, period)]
        history.append(StatementStep(status, event.recorded_at, reason))
        return statement_view(decode_body(current[7]), history, current[6])

    return engine.ledger.record_decision(decide)


def _statement_in(db: tables.Db, partner_id: str, period: str) -> Statement:
    statement = statement_at(db, partner_id, period)
    if statement is None:
        raise _unknown(partner_id, period)
    return statement


def _unknown(partner_id: str, period: str) -> Refused:
    return Refused(UNKNOWN_STATEMENT, f"no statement of {partner_id} for {period}")
