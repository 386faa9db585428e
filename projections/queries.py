"""The three views computed from view rows: pure functions, shared by live views and replay.

Rows come from a view store (SQL tables for the live views, dictionaries for replay);
these functions only sort, filter and add up, exactly as CONTRACT.md §4 says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.money import format_units
from projections.fold import (
    CHARGES,
    DISCOUNT,
    LIST,
    NO_ID,
    P_PAYABLE,
    P_POSITIVE,
    P_SETTLED,
    PAYABLE,
    ROUNDING_OFF,
    SETTLED,
    AssociationRow,
)
from schemas.views import (
    AccountManagerTally,
    Bill,
    BillLine,
    CustomerCounts,
    Performance,
    PerformanceDetail,
    ResellerTally,
)


@dataclass(frozen=True, slots=True)
class PeriodBounds:
    """The instants that bound a period's dashboard (CONTRACT.md §4)."""

    period: str
    quarter_start: str
    end: str


@dataclass(frozen=True, slots=True)
class Scope:
    """Keep only what carries this account manager or reseller id (None: keep all)."""

    account_manager_id: str | None = None
    indirect_partner_id: str | None = None

    def keeps(self, account_manager_id: str | None, indirect_partner_id: str | None) -> bool:
        return (self.account_manager_id is None or account_manager_id == self.account_manager_id) and (
            self.indirect_partner_id is None or indirect_partner_id == self.indirect_partner_id
        )


def build_bills(
    period: str,
    line_rows: Iterable[tuple[str, str, str, list[int]]],
    currencies: dict[str, str],
    minor_digits: int,
) -> list[Bill]:
    """Bills from (customer_id, service_type, item_id, sums) rows of one period."""
    by_customer: dict[str, list[tuple[str, str, list[int]]]] = {}
    for customer_id, service_type, item_id, sums in line_rows:
        by_customer.setdefault(customer_id, []).append((service_type, item_id, sums))
    bills = []
    for customer_id in sorted(by_customer):
        lines = sorted(by_customer[customer_id], key=lambda line: (line[0], line[1]))
        totals = [sum(line[2][index] for line in lines) for index in range(6)]
        bills.append(
            Bill(
                customer_id=customer_id,
                period=period,
                currency=currencies[customer_id],
                **_amounts(totals, minor_digits),
                charges=totals[CHARGES],
                lines=[
                    BillLine(
                        service_type=service_type,
                        item_id=item_id,
                        **_amounts(sums, minor_digits),
                        charges=sums[CHARGES],
                    )
                    for service_type, item_id, sums in lines
                ],
            )
        )
    return bills


def _amounts(sums: list[int], minor_digits: int) -> dict[str, str]:
    """A bill's or a line's amounts, from sums that must add up as each charge did
    (CONTRACT.md §2): assertions, since only a bug in the views' sums can break them."""
    assert sums[LIST] == sums[DISCOUNT] + sums[PAYABLE], f"list != discount + payable in {sums}"
    assert sums[PAYABLE] == sums[SETTLED] + sums[ROUNDING_OFF], f"payable != settled + rounding-off in {sums}"
    return {
        "list_amount": format_units(sums[LIST]),
        "discount_amount": format_units(sums[DISCOUNT]),
        "payable_amount": format_units(sums[PAYABLE]),
        "settled_amount": format_units(sums[SETTLED], minor_digits),
        "rounding_off_amount": format_units(sums[ROUNDING_OFF]),
    }


def count_customers(
    partner_id: str,
    bounds: PeriodBounds,
    associations: Iterable[AssociationRow],
    charge_rows: Iterable[tuple[str, str, str, list[int]]],
    scope: Scope = Scope(),
) -> CustomerCounts:
    """The customer dashboard of one partner: associations of the partner, and its
    (customer_id, account_manager_id, indirect_partner_id, sums) charge rows of the period.
    """
    total = association_count = 0
    first_by_customer: dict[str, AssociationRow] = {}
    for row in associations:
        first = first_by_customer.get(row.customer_id)
        if first is None or row.start < first.start:
            first_by_customer[row.customer_id] = row
        if not scope.keeps(row.account_manager_id, row.indirect_partner_id):
            continue
        if row.start < bounds.end:
            association_count += 1
            if row.end is None or row.end >= bounds.end:
                total += 1
    new_enterprise = sum(
        1
        for first in first_by_customer.values()
        if first.customer_type == "enterprise"
        and bounds.quarter_start <= first.start < bounds.end
        and scope.keeps(first.account_manager_id, first.indirect_partner_id)
    )
    consuming = {
        customer_id
        for customer_id, manager, reseller, sums in charge_rows
        if sums[P_POSITIVE] > 0 and scope.keeps(manager or None, reseller or None)
    }
    return CustomerCounts(
        partner_id=partner_id,
        period=bounds.period,
        total_customers=total,
        association_count=association_count,
        consuming_customers=len(consuming),
        new_enterprise_customers_quarter=new_enterprise,
    )


def tally_performance(
    partner_id: str,
    period: str,
    currency: str,
    charge_rows: Iterable[tuple[str, str, str, list[int]]],
    minor_digits: int,
) -> Performance:
    """A partner's performance from its (customer, manager, reseller, sums) rows."""
    per_customer: dict[str, list[int]] = {}
    per_manager: dict[str, tuple[list[int], set[str]]] = {}
    per_reseller: dict[str, tuple[list[int], set[str]]] = {}
    for customer_id, manager, reseller, sums in charge_rows:
        _add_into(per_customer.setdefault(customer_id, [0, 0]), sums)
        for groups, key in ((per_manager, manager), (per_reseller, reseller)):
            totals, customers = groups.setdefault(key, ([0, 0], set()))
            _add_into(totals, sums)
            customers.add(customer_id)
    payable = sum(totals[0] for totals in per_customer.values())
    settled = sum(totals[1] for totals in per_customer.values())
    return Performance(
        partner_id=partner_id,
        period=period,
        currency=currency,
        payable_amount=format_units(payable),
        settled_amount=format_units(settled, minor_digits),
        customers=len(per_customer),
        details=[
            PerformanceDetail(
                customer_id=customer_id,
                payable_amount=format_units(totals[0]),
                settled_amount=format_units(totals[1], minor_digits),
            )
            for customer_id, totals in sorted(per_customer.items())
        ],
        by_account_manager=[
            AccountManagerTally(
                account_manager_id=key or None,
                payable_amount=format_units(totals[0]),
                settled_amount=format_units(totals[1], minor_digits),
                customers=len(customers),
            )
            for key, (totals, customers) in _null_last(per_manager)
        ],
        by_reseller=[
            ResellerTally(
                indirect_partner_id=key or None,
                payable_amount=format_units(totals[0]),
                settled_amount=format_units(totals[1], minor_digits),
                customers=len(customers),
            )
            for key, (totals, customers) in _null_last(per_reseller)
        ],
    )


def _add_into(totals: list[int], sums: list[int]) -> None:
    totals[0] += sums[P_PAYABLE]
    totals[1] += sums[P_SETTLED]


def _null_last(groups: dict[str, tuple[list[int], set[str]]]) -> list[tuple[str, tuple[list[int], set[str]]]]:
    return sorted(groups.items(), key=lambda item: (item[0] == NO_ID, item[0]))
