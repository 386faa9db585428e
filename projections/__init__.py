"""Read models folded from the ledger's log: bills, customer counts, performance."""
