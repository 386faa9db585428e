"""`billing project`: the projections as their own process, following the store's log.

It folds whatever the log holds beyond the views' tracking position, in chunks, each
chunk's rows committed with its position, then polls for more. Restarted, it resumes
from the position; run beside `billing ingest` or `billing serve` started with
`BILLING_PROJECTIONS=separate`, so recording and projecting use different cores. Two
writers of the views are safe all the same: the position only moves forward, so the
second to commit a chunk fails, rolls back, and folds again from the new position.
"""

from __future__ import annotations

import logging
import signal
import threading

from eventsourcing.persistence import IntegrityError

from commands.bootstrap import open_engine
from commands.settings import Settings

log = logging.getLogger("billing.project")


def run_projection(settings: Settings, poll_seconds: float = 0.5, once: bool = False) -> int:
    """Follows the log until SIGINT/SIGTERM (or, with `once`, until caught up)."""
    stopping = threading.Event()
    if not once:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.set())
    with open_engine(settings, create=False) as engine:
        while not stopping.is_set():
            try:
                folded = engine.projection.catch_up(engine.ledger)
            except IntegrityError:
                continue  # another writer moved the position first: fold from there
            if folded:
                log.info("folded %d events", folded)
            elif once:
                break
            else:
                stopping.wait(poll_seconds)
    return 0
