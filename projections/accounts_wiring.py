"""Wires the ledger's inline projection (CONTRACT.md §8) into a ledger. Kept apart from
`projections.accounts` so that the composition root, imported by every command, loads
the feature only when a store is opened (a short start-up matters to `billing serve`,
which installs its signal handlers only once loaded)."""

from __future__ import annotations


def wire_accounts(ledger) -> None:
    """Registers the ledger's inline projection and, for `billing verify`, the check
    that every account's balance adds up to zero (the composition root calls it)."""
    from projections.accounts import project_accounts

    ledger.engine_projections.append(project_accounts)
    ledger.store_checks.append(balances_sum_to_zero)


def balances_sum_to_zero(ledger) -> str | None:
    """A one-line problem when the partner ledger's balances do not sum to zero."""
    from engine.accounts import tables

    recorder = ledger.recorder
    with recorder.read_transaction() as cursor:
        if not recorder.table_exists_in(cursor, "ledger_accounts"):
            return None
        accounts = tables.all_accounts(tables.Reader(recorder, cursor))
    total = sum(balances.balance for balances in accounts.values())
    pending_debits = sum(balances.pending for balances in accounts.values())
    if total != 0:
        return f"accounts: the balances add up to {total} (10⁻⁸ units), not zero"
    if pending_debits < 0:
        return f"accounts: pending reservations are negative ({pending_debits})"
    return None
