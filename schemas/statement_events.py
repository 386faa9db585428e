"""The period close and statement events of CONTRACT.md §7. Other features react to two
of them: a statement issued (a `statement.issued` notification, §8) and its status
changed (a confirmed statement posts its `statement` transfer, §8). New fields go at the
end, with defaults."""

from __future__ import annotations

from schemas.engine_events import EngineEvent
from schemas.statements import CarriedCharges, LogHead, StatementBody


class StatementIssued(EngineEvent, kw_only=True):
    """A partner's statement for a period was issued at the close (`recorded_at`)."""

    LOG_TYPE = "statement.issued"
    partner_id: str
    period: str
    # The statement's total settled amount (statement plus adjustments), as printed.
    total_settled_amount: str
    # The whole statement as frozen at the close (its digest is computed from it).
    statement: StatementBody | None = None
    # How many charges of each carried (period, customer) it carries.
    carried_charges: list[CarriedCharges] = []


class StatementStatusChanged(EngineEvent, kw_only=True):
    """A statement was confirmed or disputed (with a reason)."""

    LOG_TYPE = "statement.status_changed"
    partner_id: str
    period: str
    status: str
    reason: str | None = None
    total_settled_amount: str = "0"


class PeriodClosed(EngineEvent, kw_only=True):
    """A period was closed (`recorded_at` is its `issued_at`); its statements follow it in the log."""

    LOG_TYPE = "period.closed"
    period: str
    # The partners issued a statement by this close, by partner_id.
    partners: list[str] = []
    # The log's last entry before this close (CONTRACT.md §11).
    log_head: LogHead | None = None
