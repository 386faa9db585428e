"""Persistence of the ledger: eventsourcing recorders with the ledger's extra tables."""
