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
from projections.charge_rows import ASSOCIATION_TOPICS, CHARGE_TOPICS, ChargeView, decode_charge_view
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


def merge_changed(changed: ChangedViews, more: ChangedViews) -> None:
    """Adds what another run of events changed."""
    changed.keys.update(more.keys)
    counts_from = changed.counts_from
    for partner_id, period in more.counts_from.items():
        counts_from[partner_id] = min(period, counts_from.get(partner_id, period))


def add_changed_views(
    changed: ChangedViews, rows: Iterable[tuple[int, str, bytes]], period_of: Callable[[str], str]
) -> None:
    """Adds the records a run of stored rows (notification id, topic, state) changed.
    An association at time T changes the partner's counts of T's period and of every
    later one (total customers and association counts are as of each period's end)."""
    for _id, topic, state in rows:
        if topic in CHARGE_TOPICS:  # an amendment's reversal has its new charge's keys
            _add_charge(changed, decode_charge_view(state))
        elif topic in ASSOCIATION_TOPICS:
            event = decode_event(topic, state)
            if isinstance(event, CustomerAssociated | CustomerDisassociated):
                _add_association(changed, event, period_of)


def add_changed_by_events(
    changed: ChangedViews, events: Iterable[RecordedEvent], period_of: Callable[[str], str]
) -> None:
    """The same as `add_changed_views`, from the events themselves (as decided, before
    they are stored): a void and an amendment are charges with their reversal's keys."""
    for event in events:
        if isinstance(event, ChargeRecorded):
            _add_charge(changed, event)
        elif isinstance(event, CustomerAssociated | CustomerDisassociated):
            _add_association(changed, event, period_of)


def _add_charge(changed: ChangedViews, charge: ChargeRecorded | ChargeView) -> None:
    keys = changed.keys
    keys.add(ViewKey(BILL, charge.customer_id, charge.period))
    if charge.partner_id is not None:
        keys.add(ViewKey(CUSTOMER_COUNTS, charge.partner_id, charge.period))
        keys.add(ViewKey(PERFORMANCE, charge.partner_id, charge.period))


def _add_association(
    changed: ChangedViews, event: CustomerAssociated | CustomerDisassociated, period_of: Callable[[str], str]
) -> None:
    period = period_of(event.at)
    changed.keys.add(ViewKey(CUSTOMER_COUNTS, event.partner_id, period))
    counts_from = changed.counts_from
    counts_from[event.partner_id] = min(period, counts_from.get(event.partner_id, period))
