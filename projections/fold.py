"""Folding recorded events into view changes, in memory, one batch at a time.

Pure: it never re-prices, it only adds up the amounts each charge carries. The same
fold feeds the live views (then written by a view store) and replay's scratch views.
Corrections (CONTRACT.md §11) are charges like any other: a void is one (its reversal),
an amendment two (the reversal of the charge it replaces, then the new charge).
Amounts are integers of 10⁻⁸, so sums are exact however large they grow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from schemas.recorded import ChargeRecorded, CustomerAssociated, CustomerDisassociated, RecordedEvent, UsageAmended

# Index of each figure in a bill line's list of sums.
LIST, DISCOUNT, PAYABLE, SETTLED, ROUNDING_OFF, CHARGES = range(6)
# Index of each figure in a partner charge row's list of sums.
P_PAYABLE, P_SETTLED, P_CHARGES, P_POSITIVE = range(4)

BillLineKey = tuple[str, str, str, str]  # customer_id, period, service_type, item_id
PartnerChargeKey = tuple[str, str, str, str, str]  # partner, period, customer, manager, reseller
# partner, period, customer, manager, reseller, service_type, item_id: a bill line as
# one partner's scope sees it (CONTRACT.md §10: a scoped reader's bill holds only the
# charges attributed to its scope).
PartnerLineKey = tuple[str, str, str, str, str, str, str]
NO_ID = ""  # how a missing account manager or reseller is keyed (real ids are never empty)


@dataclass(slots=True)
class AssociationRow:
    """One association interval as the customer dashboard needs it."""

    customer_id: str
    version: int
    partner_id: str
    start: str
    end: str | None
    customer_type: str
    account_manager_id: str | None
    indirect_partner_id: str | None


@dataclass(slots=True)
class ViewDelta:
    """What a batch of recorded events adds to the views."""

    bill_lines: dict[BillLineKey, list[int]] = field(default_factory=dict)
    bill_currencies: dict[tuple[str, str], str] = field(default_factory=dict)
    partner_charges: dict[PartnerChargeKey, list[int]] = field(default_factory=dict)
    partner_bill_lines: dict[PartnerLineKey, list[int]] = field(default_factory=dict)
    new_associations: list[AssociationRow] = field(default_factory=list)
    # Ends of associations opened before this batch, by customer (at most one is open).
    ended_associations: dict[str, str] = field(default_factory=dict)
    # Only charges of this period are kept (replay of one period); None keeps all.
    period: str | None = None
    # Replay rebuilds the views of §4 only, not the scoped bill lines the API reads.
    keep_partner_lines: bool = True
    _open_here: dict[str, AssociationRow] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.bill_lines
            or self.partner_charges
            or self.partner_bill_lines
            or self.new_associations
            or self.ended_associations
        )

    def add(self, event: RecordedEvent) -> None:
        if isinstance(event, ChargeRecorded):
            if type(event) is UsageAmended:
                self.add_charge(reversal_of(event))
            self.add_charge(event)
        elif isinstance(event, CustomerAssociated):
            row = AssociationRow(
                event.customer_id,
                event.originator_version,
                event.partner_id,
                event.at,
                None,
                event.customer_type,
                event.account_manager_id,
                event.indirect_partner_id,
            )
            self.new_associations.append(row)
            self._open_here[event.customer_id] = row
        elif isinstance(event, CustomerDisassociated):
            row = self._open_here.pop(event.customer_id, None)
            if row is not None:
                row.end = event.at
            else:
                self.ended_associations[event.customer_id] = event.at

    def add_charge(self, charge: ChargeRecorded) -> None:
        """Adds one charge (any object with a charge's view fields, as replay's slim
        decode gives). The hot loop of ingest and replay: figures are read once into
        locals and the sums' positions are written as literals (LIST, DISCOUNT, PAYABLE,
        SETTLED, ROUNDING_OFF, CHARGES = 0..5; P_PAYABLE, P_SETTLED, P_CHARGES,
        P_POSITIVE = 0..3)."""
        period = charge.period
        if self.period is not None and period != self.period:
            return
        customer, service_type, item_id = charge.customer_id, charge.service_type, charge.item_id
        listed, discount, payable = charge.list_units, charge.discount_units, charge.payable_units
        settled, rounding_off = charge.settled_units, charge.rounding_off_units
        key = (customer, period, service_type, item_id)
        sums = self.bill_lines.get(key)
        if sums is None:
            self.bill_lines[key] = [listed, discount, payable, settled, rounding_off, 1]
            self.bill_currencies[(customer, period)] = charge.currency
        else:
            sums[0] += listed
            sums[1] += discount
            sums[2] += payable
            sums[3] += settled
            sums[4] += rounding_off
            sums[5] += 1
        partner_id = charge.partner_id
        if partner_id is None:
            return
        manager, reseller = charge.account_manager_id or NO_ID, charge.indirect_partner_id or NO_ID
        positive = 1 if payable > 0 else 0
        partner_key = (partner_id, period, customer, manager, reseller)
        tally = self.partner_charges.get(partner_key)
        if tally is None:
            self.partner_charges[partner_key] = [payable, settled, 1, positive]
        else:
            tally[0] += payable
            tally[1] += settled
            tally[2] += 1
            tally[3] += positive
        if not self.keep_partner_lines:
            return
        line_key = (partner_id, period, customer, manager, reseller, service_type, item_id)
        line = self.partner_bill_lines.get(line_key)
        if line is None:
            self.partner_bill_lines[line_key] = [listed, discount, payable, settled, rounding_off, 1]
        else:
            line[0] += listed
            line[1] += discount
            line[2] += payable
            line[3] += settled
            line[4] += rounding_off
            line[5] += 1


def reversal_of(amendment):
    """The reversal an amendment records beside its new charge (CONTRACT.md §11), as a
    charge of its own: the amendment's period, line and attribution with the
    `reversal` figures. Takes a `UsageAmended` or its slim view (`charge_rows`)."""
    reversal = amendment.reversal
    return msgspec.structs.replace(
        amendment,
        rate_units=reversal.rate_units,
        list_units=reversal.list_units,
        discount_units=reversal.discount_units,
        payable_units=reversal.payable_units,
        settled_units=reversal.settled_units,
        rounding_off_units=reversal.rounding_off_units,
    )


def fold(events: list[RecordedEvent]) -> ViewDelta:
    """The view changes of a sequence of recorded events, in log order."""
    delta = ViewDelta()
    for event in events:
        delta.add(event)
    return delta
