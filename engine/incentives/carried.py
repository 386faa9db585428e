"""Which charges a partner's statement for a period carries, told from the charges
alone, so a closed period's amounts can be scoped to account managers (CONTRACT.md §9).

A statement carries none of a charge's account manager: it keeps sums per (period,
customer). But which charges it carries follows from the rules of §7 and the times the
charges were recorded. Closes go in period order, and each carries every attributed
charge of its period or earlier recorded before it and not carried yet. So the partner's
statement for P, closed at `closed_at`, carries exactly its charges
- of period P recorded at or before `closed_at`, and
- of earlier periods recorded after the previous close (P's month before, if any) and at
  or before `closed_at` (its adjustments).
Whatever is recorded after a close is stamped strictly after it (`Ledger.recorded_floors`),
so "at or before" is exact even under a fixed clock. A month before the first close
counts as closed by it but has no statement of its own: its window carries nothing
(its late charges are the first statement's adjustments).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (payable_units, settled_units) of the carried charges of one account manager (None: none).
ManagerSums = dict[str | None, list[int]]


@dataclass(frozen=True, slots=True)
class CarryWindow:
    """The charges one statement carries: a partner's, of `period` or earlier, recorded
    in (`previous_closed_at`, `closed_at`] (earlier periods) or by `closed_at` (`period`)."""

    partner_id: str
    period: str
    closed_at: str | None  # None: no statement is issued for this period (carries nothing)
    previous_closed_at: str | None = None  # None: the first close (no earlier one)

    def carries(self, partner_id: str | None, period: str, recorded_at: str) -> bool:
        if partner_id != self.partner_id or self.closed_at is None or recorded_at > self.closed_at:
            return False
        if period == self.period:
            return True
        return period < self.period and (self.previous_closed_at is None or recorded_at > self.previous_closed_at)


@dataclass(slots=True)
class CarriedSums:
    """The payable and settled sums (10⁻⁸ units) of the charges a window carries, per
    account manager; fed one charge at a time (anything with a charge's view fields)."""

    window: CarryWindow
    by_manager: ManagerSums = field(default_factory=dict)
    charges: int = 0

    def add_charge(self, charge) -> None:
        if not self.window.carries(charge.partner_id, charge.period, charge.recorded_at):
            return
        sums = self.by_manager.get(charge.account_manager_id or None)
        if sums is None:
            self.by_manager[charge.account_manager_id or None] = [charge.payable_units, charge.settled_units]
        else:
            sums[0] += charge.payable_units
            sums[1] += charge.settled_units
        self.charges += 1

    def total(self, managers: frozenset[str] | None = None) -> tuple[int, int]:
        """(payable, settled) of the charges carrying one of `managers` (None: all)."""
        payable = settled = 0
        for manager, sums in self.by_manager.items():
            if managers is None or manager in managers:
                payable += sums[0]
                settled += sums[1]
        return payable, settled
