"""Who supervises whom (CONTRACT.md §9): a partner's `account_manager.assigned` events.

They are recorded in the partner's roster stream (`roster_stream(PARTNER)`), so one
indexed read of the log finds them all; no table caches them. An account manager
belongs to the supervisor named by its latest assignment before a moment (by business
time; at one instant, the later recorded wins), optionally counting only assignments
recorded by a given time (a closed period's close).
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.instants import Instant
from engine.mapper import decode_event
from schemas.recorded import AccountManagerAssigned, roster_stream


def roster_events(ledger, partner_id: str) -> list[AccountManagerAssigned]:
    """The partner's assignments in the order they were recorded."""
    recorder = ledger.recorder
    with recorder.read_transaction() as cursor:
        rows = recorder.rows(
            cursor,
            f"SELECT topic, state FROM {recorder.events_table} WHERE originator_id=? ORDER BY originator_version",
            (roster_stream(partner_id),),
        )
    events = (decode_event(topic, bytes(state)) for topic, state in rows)
    # A customer whose id happens to be the stream's name shares it: keep assignments only.
    return [e for e in events if isinstance(e, AccountManagerAssigned) and e.partner_id == partner_id]


def supervisors_before(
    assignments: Iterable[AccountManagerAssigned], before: Instant, recorded_by: str | None = None
) -> dict[str, str]:
    """Each account manager's supervisor by its latest assignment with `at` before
    `before` (and recorded at or before `recorded_by`, if given)."""
    latest: dict[str, tuple[tuple[Instant, int], str]] = {}
    for event in assignments:
        if event.at >= before or (recorded_by is not None and event.recorded_at > recorded_by):
            continue
        order = (event.at, event.originator_version)
        known = latest.get(event.account_manager_id)
        if known is None or order > known[0]:
            latest[event.account_manager_id] = (order, event.supervisor_id)
    return {manager: supervisor for manager, (_order, supervisor) in latest.items()}


def managers_of(supervisors: dict[str, str], supervisor_id: str) -> frozenset[str]:
    """The account managers whose standing supervisor is `supervisor_id`."""
    return frozenset(manager for manager, supervisor in supervisors.items() if supervisor == supervisor_id)
