"""The naive peer: a plain eventsourcing Application saving one aggregate per event.

What a straightforward eventsourcing program would do with the log: decode each line
with the standard library, create an aggregate from its fields, `save` it. eventsourcing
9.5.6 as it comes: the default JSON transcoder and its SQLite persistence in a fresh
file. Run as `python -m bench.naive LOG SAMPLE DB` in its own process; prints JSON.
"""

from __future__ import annotations

import json
import sys
import time
from itertools import islice
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate


class InboundEvent(Aggregate):
    """One inbound event as an aggregate of its own."""

    def __init__(self, source: str, event_id: str, kind: str, time: str, data: dict):
        self.source = source
        self.event_id = event_id
        self.kind = kind
        self.time = time
        self.data = data


class NaiveLedger(Application):
    name = "NaiveLedger"


def measure(log_path: str, sample: int, db_path: Path) -> dict:
    for leftover in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        leftover.unlink(missing_ok=True)
    with open(log_path, "rb") as file:
        lines = [line.rstrip(b"\n") for line in islice(file, sample)]
    app = NaiveLedger({"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db_path)})
    start = time.perf_counter()
    for line in lines:
        body = json.loads(line)
        app.save(InboundEvent(body.get("source"), body.get("id"), body.get("type"), body.get("time"), body.get("data")))
    seconds = time.perf_counter() - start
    saved = app.recorder.max_notification_id()
    app.close()
    for leftover in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        leftover.unlink(missing_ok=True)
    if saved != len(lines):
        raise RuntimeError(f"naive peer saved {saved} of {len(lines)} events")
    return {"events": len(lines), "seconds": seconds}


if __name__ == "__main__":
    log, count, db = sys.argv[1:4]
    print(json.dumps(measure(log, int(count), Path(db))))
