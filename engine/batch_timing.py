"""How long a writer's batches took, and how much of it they held the store's write lock.

Kept by the ledger for every ingest batch (`Ledger.batch_timing`) and reported by
`billing serve` when it stops. The share of batch time spent holding the lock is what
bounds scale-out: by Amdahl, `1 / lock_held_share` is the most any number of workers
sharing one store can gain over one (README, "Scaling out").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class BatchTiming:
    batches: int = 0
    lines: int = 0
    # From the start of `record_batch` to its return, retries included.
    batch_seconds: float = 0.0
    # From the moment the write lock was granted to the commit (or rollback).
    lock_held_seconds: float = 0.0
    # From asking for the write transaction to the lock granted: queueing behind other
    # writers (it makes the share of a contended worker fall toward 1 / workers).
    lock_wait_seconds: float = 0.0
    # Batches that found, with the lock held, that another writer had changed what they
    # were decided from, and were decided again.
    conflicts: int = 0

    @property
    def lock_held_share(self) -> float:
        """The share of batch time spent holding the write lock (0..1; 0 before any batch)."""
        return self.lock_held_seconds / self.batch_seconds if self.batch_seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"{self.batches} batches of {self.lines} lines in {self.batch_seconds:.2f} s; "
            f"the store's write lock held {self.lock_held_seconds:.2f} s of it "
            f"(share {self.lock_held_share:.3f}); {self.conflicts} batches decided again after a conflict"
        )
