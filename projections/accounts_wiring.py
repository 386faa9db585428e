"""Wires the ledger's inline projection (CONTRACT.md §8) into a ledger. Kept apart from
`projections.accounts` so that the composition root, imported by every command, loads
the feature only when a store is opened (a short start-up matters to `billing serve`,
which installs its signal handlers only once loaded)."""

from __future__ import annotations


def wire_accounts(ledger) -> None:
    """Registers the ledger's inline projection (the composition root calls it)."""
    from projections.accounts import project_accounts

    ledger.engine_projections.append(project_accounts)
