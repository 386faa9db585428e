"""Replay: every view of one period rebuilt from the log alone, as known at a moment.

The log is read in chunks, in notification order, and folded into
scratch views in memory (a `ViewDelta` that keeps only the period's charges), so
memory grows with customers and partners, never with events. Events recorded after
`as_of` are left out, and the reading stops at the first of them (recorded times
never decrease along the log). The live views are never read or written here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from engine.ledger import Ledger
from projections.charge_rows import add_stored_rows
from projections.fold import AssociationRow, ViewDelta
from projections.queries import PeriodBounds, build_bills, count_customers, tally_performance
from schemas.views import Bill, CustomerCounts, Performance

READ_CHUNK = 10_000


class PeriodViews(msgspec.Struct):
    """Every view of one period: bills, and per partner its counts and performance."""

    period: str
    bills: list[Bill]
    customers: list[CustomerCounts]
    performance: list[Performance]


class ReplayReport(msgspec.Struct):
    """What `billing replay` prints (CONTRACT.md §5)."""

    period: str
    as_of: str
    bills: list[Bill]
    customers: list[CustomerCounts]
    performance: list[Performance]
    digest: str


@dataclass(frozen=True, slots=True)
class ViewSettings:
    """What turning rows into views needs besides the rows."""

    bounds: PeriodBounds
    currency: str
    minor_digits: int


def replay_period(
    ledger: Ledger,
    settings: ViewSettings,
    as_of: str,
    progress: Callable[[int], None] | None = None,
    chunk: int = READ_CHUNK,
) -> tuple[PeriodViews, int]:
    """The period's views from events recorded at or before `as_of` (a recorded-time
    string), and how many events were read."""
    # Keeps only the period's charges, and only the views of §4 (no scoped bill lines).
    scratch = ViewDelta(period=settings.bounds.period, keep_partner_lines=False)
    read = after = 0
    while True:
        with ledger.recorder.read_transaction() as cursor:
            rows = ledger.recorder.select_notifications_in(cursor, after, chunk)
        if not rows:
            break
        past_as_of = add_stored_rows(scratch, rows, as_of)
        after = rows[-1][0]
        read += len(rows)
        if progress is not None:
            progress(len(rows))
        if past_as_of:
            break
    return views_from_delta(scratch, settings), read


def views_from_delta(scratch: ViewDelta, settings: ViewSettings) -> PeriodViews:
    """The period's views from scratch rows holding the whole log's fold."""
    period = settings.bounds.period
    associations: dict[str, list[AssociationRow]] = {}
    for row in scratch.new_associations:
        associations.setdefault(row.partner_id, []).append(row)
    charges: dict[str, list[tuple[str, str, str, list[int]]]] = {}
    for (partner_id, _period, customer_id, manager, reseller), sums in scratch.partner_charges.items():
        charges.setdefault(partner_id, []).append((customer_id, manager, reseller, sums))
    partners = sorted(
        set(charges)
        | {partner for partner, rows in associations.items() if any(row.start < settings.bounds.end for row in rows)}
    )
    line_rows = [(customer, service, item, sums) for (customer, _p, service, item), sums in scratch.bill_lines.items()]
    currencies = {customer: currency for (customer, _p), currency in scratch.bill_currencies.items()}
    return PeriodViews(
        period=period,
        bills=build_bills(period, line_rows, currencies, settings.minor_digits),
        customers=[count_customers(p, settings.bounds, associations.get(p, []), charges.get(p, [])) for p in partners],
        performance=[
            tally_performance(p, period, settings.currency, charges.get(p, []), settings.minor_digits) for p in partners
        ],
    )


def digest(views: PeriodViews) -> str:
    """`sha256:` of the views' canonical JSON (see the README: keys sorted, no spaces,
    UTF-8), so any tool can recompute it from the printed output."""
    content = msgspec.to_builtins(views)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def report(views: PeriodViews, as_of: str) -> ReplayReport:
    return ReplayReport(
        period=views.period,
        as_of=as_of,
        bills=views.bills,
        customers=views.customers,
        performance=views.performance,
        digest=digest(views),
    )


def first_difference(replayed: PeriodViews, live: PeriodViews) -> str | None:
    """Names the first record that differs between two sets of views, or None."""
    for kind, key, left, right in (
        ("bill", "customer_id", replayed.bills, live.bills),
        ("customer counts", "partner_id", replayed.customers, live.customers),
        ("performance", "partner_id", replayed.performance, live.performance),
    ):
        replayed_by_key = {getattr(item, key): item for item in left}
        live_by_key = {getattr(item, key): item for item in right}
        for name in sorted(replayed_by_key.keys() | live_by_key.keys()):
            a, b = replayed_by_key.get(name), live_by_key.get(name)
            if a is None:
                return f"{kind} of {name} ({replayed.period}) is in the live views but not in the replay"
            if b is None:
                return f"{kind} of {name} ({replayed.period}) is in the replay but not in the live views"
            if a != b:
                return f"{kind} of {name} ({replayed.period}) differs: {_field_difference(a, b)}"
    return None


def _field_difference(replayed: msgspec.Struct, live: msgspec.Struct) -> str:
    for field in replayed.__struct_fields__:
        a, b = getattr(replayed, field), getattr(live, field)
        if a != b:
            if isinstance(a, list):
                return f"{field} differ"
            return f"{field} replay {a!r}, live {b!r}"
    return "records differ"
