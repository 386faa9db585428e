"""Partner accounts and payment applications (CONTRACT.md §8): a double-entry ledger
in TigerBeetle's model. `rules` is the pure decider and fold, `inputs` checks what
callers send, `tables` holds the feature's SQL, `recording` decides inside an engine
decision (`Ledger.record_decision`)."""
