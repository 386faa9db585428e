"""`billing serve`'s log: plain lines (no colour codes where no terminal reads them),
and quiet while the broker is away.

With the broker gone, the Kafka client tries to reconnect several times a second and
logs an ERROR each time (about 10 lines a second, measured). The same message from the
same place is let through once a minute, with how many like it were held back.
"""

from __future__ import annotations

import logging
import time

REPEAT_SECONDS = 60.0
FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


class RepeatLimit(logging.Filter):
    """Lets a record through once per `seconds` for each (logger, message template)."""

    def __init__(self, seconds: float = REPEAT_SECONDS, clock=time.monotonic):
        super().__init__()
        self.seconds = seconds
        self.clock = clock
        self._last: dict[tuple[str, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True  # progress lines (a batch recorded) are each news
        key = (record.name, record.msg)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last[0] < self.seconds:
            self._last[key] = (last[0], last[1] + 1)
            return False
        held_back = last[1] if last is not None else 0
        self._last[key] = (now, 0)
        if held_back:
            record.msg = f"{record.msg} ({held_back} more like it in the last {self.seconds:.0f} s)"
        return True


def configure() -> logging.Logger:
    """Logging for `serve`: one plain line a record, repeats limited; returns the
    logger to hand FastStream (whose own formatter colours its lines)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RepeatLimit())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    return logging.getLogger("billing.serve")
