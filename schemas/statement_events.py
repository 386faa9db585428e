"""The statement events of CONTRACT.md §7 that other features react to: a statement
issued (a `statement.issued` notification, §8) and its status changed (a confirmed
statement posts its `statement` transfer, §8). New fields go at the end, with defaults."""

from __future__ import annotations

from schemas.engine_events import EngineEvent


class StatementIssued(EngineEvent, kw_only=True):
    """A partner's statement for a period was issued at the close (`recorded_at`)."""

    LOG_TYPE = "statement.issued"
    partner_id: str
    period: str
    # The statement's total settled amount (statement plus adjustments), as printed.
    total_settled_amount: str


class StatementStatusChanged(EngineEvent, kw_only=True):
    """A statement was confirmed or disputed (with a reason)."""

    LOG_TYPE = "statement.status_changed"
    partner_id: str
    period: str
    status: str
    reason: str | None = None
    total_settled_amount: str = "0"
