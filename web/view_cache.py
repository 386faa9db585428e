"""Answers of the view endpoints, kept while the log stands still.

A view (bills, customer counts, performance) is a pure function of the log, so an
answer computed when the views reflected log position N stays right for as long as
the log's last position is N. Keys hold that position, the request's path and query
and the reader's scope (never its token): a scope never sees another's answer, and a
new event makes every older key unreachable. Bounded by size, least recently used
out first. Endpoints whose answers depend on more than the log (rejections, which are
not logged; replay as of "now") are not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

MAX_BYTES = 32 * 1024 * 1024


class ViewCache:
    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # PostgreSQL reads run in worker threads
        self.hits = self.misses = 0

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._bodies.get(key)
            if body is None:
                self.misses += 1
                return None
            self._bodies.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes // 4:
            return  # one answer never crowds out the rest (and a cache of 0 bytes keeps none)
        with self._lock:
            if key in self._bodies:
                return
            self._bodies[key] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _old, dropped = self._bodies.popitem(last=False)
                self._size -= len(dropped)
