"""Which published views a run of recorded events changed (CONTRACT.md §6).

A bill changes with each of its charges; a partner's customer counts and performance
change with a charge attributed to it in their period. An association or a
disassociation changes the partner's counts of its own period and of every later
period: the publisher republishes those it has records for, so no published record
goes stale whatever order the events arrive in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from schemas.recorded import ChargeRecorded, CustomerAssociated, CustomerDisassociated, RecordedEvent

BILL, CUSTOMER_COUNTS, PERFORMANCE = "bill", "customer-counts", "performance"


class ViewKey(NamedTuple):
    """One published view record: its kind, its key (customer or partner), its period."""

    kind: str
    key: str
    period: str


class ChangedViews(NamedTuple):
    """The records a run of events changed: exact keys, and for customer counts the
    earliest period from which a partner's association history changed."""

    keys: set[ViewKey]
    counts_from: dict[str, str]


def changed_views(events: Iterable[RecordedEvent], period_of: Callable[[str], str]) -> ChangedViews:
    """An association at time T changes the partner's counts of T's period and of every
    later one (total customers and association counts are as of each period's end)."""
    keys: set[ViewKey] = set()
    counts_from: dict[str, str] = {}
    for event in events:
        if isinstance(event, ChargeRecorded):
            keys.add(ViewKey(BILL, event.customer_id, event.period))
            if event.partner_id is not None:
                keys.add(ViewKey(CUSTOMER_COUNTS, event.partner_id, event.period))
                keys.add(ViewKey(PERFORMANCE, event.partner_id, event.period))
        elif isinstance(event, CustomerAssociated | CustomerDisassociated):
            period = period_of(event.at)
            keys.add(ViewKey(CUSTOMER_COUNTS, event.partner_id, period))
            counts_from[event.partner_id] = min(period, counts_from.get(event.partner_id, period))
    return ChangedViews(keys, counts_from)
