"""The benchmark's event log: a month from the demo generator, written once per
(events, customers, seed, period) in the work folder and reused afterwards.

Beside the JSON Lines file a `.meta.json` records what the generator put in on
purpose, so the ingest's counts can be checked: lines delivered twice (metering
retries, counted as duplicates) and the deliberate bad lines (rejected).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.progress import note

# The demo generator's three deliberate bad lines (an exponent in a price, a currency
# other than CNY, a refund of an order never paid), as tests/integration/test_demo_ingest.py finds them.
BAD_LINE_MARKERS = (b'"unit_price":"1e3"', b'"currency":"USD"', b'"order_id":"ord-0000000"')
# Usage lines carry unique ids (`u-NNNNNNNN`): only the other lines can be delivered twice.
_USAGE_START = b'{"specversion":"1.0","id":"u-'
_META_VERSION = 1


@dataclass(frozen=True, slots=True)
class EventLog:
    """A generated log and what it holds."""

    path: str
    events: int
    customers: int
    seed: int
    period: str
    lines: int
    bytes: int
    duplicates: int
    bad_lines: int

    @property
    def expected_accepted(self) -> int:
        return self.lines - self.duplicates - self.bad_lines

    def as_json(self) -> dict:
        return asdict(self) | {"expected_accepted": self.expected_accepted}


def event_log(workdir: Path, events: int, customers: int, seed: int, period: str) -> EventLog:
    """The log for these arguments: reused from the work folder, or generated there."""
    stem = f"events-n{events}-c{customers}-s{seed}-{period}"
    path, meta = workdir / f"{stem}.jsonl", workdir / f"{stem}.meta.json"
    if path.is_file() and meta.is_file():
        known = json.loads(meta.read_text())
        if known.pop("meta_version", None) == _META_VERSION and known.get("bytes") == path.stat().st_size:
            note(f"reusing {path} ({known['lines']:,} lines)")
            return EventLog(**(known | {"path": str(path)}))
    log = _generate(path, events, customers, seed, period)
    partial = meta.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(log) | {"meta_version": _META_VERSION}, indent=2) + "\n")
    os.replace(partial, meta)
    return log


def _generate(path: Path, events: int, customers: int, seed: int, period: str) -> EventLog:
    from commands.demo_data import generate_month  # the project's own generator

    note(f"generating {events:,} events ({customers:,} customers, seed {seed}, {period}) into {path}")
    repeated: Counter[bytes] = Counter()
    lines = size = bad = 0
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as file:
        for line in generate_month(customers, seed, period, events=events):
            file.write(line + b"\n")
            lines += 1
            size += len(line) + 1
            if not line.startswith(_USAGE_START):
                repeated[line] += 1
                bad += any(marker in line for marker in BAD_LINE_MARKERS)
            if lines % 250_000 == 0:
                note(f"  {lines:,} lines written")
    os.replace(partial, path)
    duplicates = sum(times - 1 for times in repeated.values())
    return EventLog(str(path), events, customers, seed, period, lines, size, duplicates, bad)
