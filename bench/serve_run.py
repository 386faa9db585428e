"""`billing serve` measured end to end: started in a fresh process on a fresh store,
watched until every published message is recorded, then stopped with SIGTERM.

Progress is read from outside, never from the service's own figures: the store's
`consumer_positions` (the sum of next offsets is the count of messages recorded, each
committed with its events), polled read-only. The moment the group gave the service
its partitions is taken from the service's own log line ("assigned [...]"), so the rate
after the group join can be told from the one including start-up and join.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

from bench.broker import Broker
from bench.child import LiveChild, billing, running_measured
from bench.peak import tree_rss_kib
from commands.ingest import BATCH_SIZE
from testsupport.serve_harness import consumed_offsets, fully_published, query_store

POLL_SECONDS = 0.05
PUBLISH_WAIT_SECONDS = 60.0
# Batches as large as `billing ingest`'s, so the two commands record alike (serve's
# own default is 5,000 records a batch).
MAX_RECORDS = BATCH_SIZE
_ASSIGNED = b"billing.serve INFO assigned ["
_BATCH = re.compile(rb"batch of \d+: accepted (\d+), duplicates (\d+), rejected (\d+), redelivered (\d+)")


def measure_serve(
    broker: Broker, messages: int, store: Path, timeout_seconds: float, extra_env: dict[str, str] | None = None
) -> dict:
    """Runs serve until `messages` are recorded and their views published; returns the
    moments (seconds after the launch), the counts it logged and its exit."""
    group = f"bench-{uuid.uuid4().hex[:12]}"  # never an earlier run's committed offsets
    env = {
        "BILLING_KAFKA_SESSION_TIMEOUT_MS": str(broker.session_timeout_ms),
        "BILLING_KAFKA_HEARTBEAT_MS": str(broker.heartbeat_ms),
        "BILLING_KAFKA_MAX_RECORDS": str(MAX_RECORDS),
        **(extra_env or {}),
    }
    argv = billing("--store", f"sqlite:///{store}", "serve", "--kafka", broker.bootstrap, "--group", group)
    with running_measured(argv, f"billing serve ({messages:,} messages)", env) as child:
        tree_peak = [0]
        moments = _watch(child, store, messages, timeout_seconds, tree_peak)
        moments["published_after_s"] = _wait_published(child, store)
    run = child.result
    logged = [tuple(map(int, m.groups())) for m in _BATCH.finditer(run.stderr)]
    return moments | {
        "group": group,
        "max_records": MAX_RECORDS,
        "exit_status": run.returncode,
        "seconds_until_exit": run.seconds,
        "batches": len(logged),
        # the service's own peak (see bench/child.py: ru_maxrss has the bench's as a floor)
        "peak_rss_bytes": child.own_peak_rss_bytes or run.peak_rss_bytes,
        # ... and its decider's, when it decides ahead: each process's peak, summed (an
        # upper bound), and both processes' resident memory together, sampled every poll
        "peak_rss_bytes_with_children": (child.own_peak_rss_bytes or run.peak_rss_bytes)
        + child.children_peak_rss_bytes,
        "tree_peak_rss_bytes_sampled": tree_peak[0] * 1024,
        "rusage_maxrss_bytes": run.peak_rss_bytes,
        "logged": dict(
            zip(
                ("accepted", "duplicates", "rejected", "redelivered"),
                (sum(column) for column in zip(*logged, strict=True)) if logged else (0,) * 4,
                strict=True,
            )
        ),
        "stderr_tail": run.stderr.decode(errors="replace")[-1500:] if run.returncode else None,
    }


def _watch(child: LiveChild, store: Path, messages: int, timeout_seconds: float, tree_peak: list[int]) -> dict:
    """Polls until every message is recorded; `tree_peak[0]` keeps the largest resident
    memory of serve and its decider together (KiB), sampled at each poll."""
    assigned = first = None
    first_count = 0
    while (now := time.perf_counter() - child.start) < timeout_seconds:
        if child.exited():
            raise RuntimeError(f"billing serve exited before recording every message:\n{child.stderr_tail()}")
        tree_peak[0] = max(tree_peak[0], tree_rss_kib(child.process.pid))
        if assigned is None and _ASSIGNED in child.stderr_since(0):
            assigned = now
        recorded = consumed_offsets(store)
        if recorded and first is None:
            first, first_count = now, recorded
        if recorded >= messages:
            return {
                "recorded_after_s": now,
                "assigned_after_s": assigned,
                "first_recorded_after_s": first,
                "first_recorded_messages": first_count,
            }
        time.sleep(POLL_SECONDS)
    raise RuntimeError(
        f"billing serve recorded {consumed_offsets(store):,} of {messages:,} messages "
        f"in {timeout_seconds:.0f} s:\n{child.stderr_tail()}"
    )


def _wait_published(child: LiveChild, store: Path) -> float | None:
    """Seconds after the launch when the views of everything recorded were published
    (the last batch publishes after it is recorded); None if not within the wait."""
    deadline = time.perf_counter() + PUBLISH_WAIT_SECONDS
    while time.perf_counter() < deadline and not child.exited():
        if fully_published(store):
            return time.perf_counter() - child.start
        time.sleep(POLL_SECONDS)
    return None


def stored_counts(store: Path) -> dict:
    """What the store holds once serve has stopped."""
    counts = {}
    for key, statement in (
        ("stored_events", "SELECT COUNT(*) FROM stored_events"),
        ("rejections", "SELECT COUNT(*) FROM rejections"),
        ("recorded_messages", "SELECT COALESCE(SUM(next_offset), 0) FROM consumer_positions"),
    ):
        rows = query_store(store, statement)
        counts[key] = rows[0][0] if rows else None
    return counts
