"""A partner's rows of a closed period, kept between reads in one process.

A closed period's incentive values are as known at its close (CONTRACT.md §9): one
pass over the log up to the close, ~2 s at 600,000 events. Nothing recorded later
changes what that pass finds (the log is append-only, recorded times never decrease
along it, and a late fact goes to a later statement), so the rows, keyed by the
partner, the period and the close, stay right for the life of the process. The web
console reads the same partner's closed months again and again (each scope, each
refresh); this keeps the last few, least recently read out first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

MAX_ENTRIES = 64  # a partner's rows are its customers' sums: ~1 MB for 2,000 customers


class ClosedPeriodRows:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._rows: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()  # PostgreSQL reads run in the web server's worker threads

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            rows = self._rows.get(key)
            if rows is not None:
                self._rows.move_to_end(key)
            return rows

    def put(self, key: Hashable, rows: Any) -> None:
        with self._lock:
            self._rows[key] = rows
            self._rows.move_to_end(key)
            while len(self._rows) > self.max_entries:
                self._rows.popitem(last=False)
