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

from engine.mapper import decode_event
from projections.charge_rows import ASSOCIATION_TOPICS, CHARGE_TOPICS, decode_charge_view
from schemas.recorded import CustomerAssociated, CustomerDisassociated

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


def add_changed_views(
    changed: ChangedViews, rows: Iterable[tuple[int, str, bytes]], period_of: Callable[[str], str]
) -> None:
    """Adds the records a run of stored rows (notification id, topic, state) changed.
    An association at time T changes the partner's counts of T's period and of every
    later one (total customers and association counts are as of each period's end)."""
    keys, counts_from = changed.keys, changed.counts_from
    for _id, topic, state in rows:
        if topic in CHARGE_TOPICS:  # an amendment's reversal has its new charge's keys
            charge = decode_charge_view(state)
            keys.add(ViewKey(BILL, charge.customer_id, charge.period))
            if charge.partner_id is not None:
                keys.add(ViewKey(CUSTOMER_COUNTS, charge.partner_id, charge.period))
                keys.add(ViewKey(PERFORMANCE, charge.partner_id, charge.period))
        elif topic in ASSOCIATION_TOPICS:
            event = decode_event(topic, state)
            if isinstance(event, CustomerAssociated | CustomerDisassociated):
                period = period_of(event.at)
                keys.add(ViewKey(CUSTOMER_COUNTS, event.partner_id, period))
                counts_from[event.partner_id] = min(period, counts_from.get(event.partner_id, period))
