"""One run of the scale-out step: N `billing serve` workers in one consumer group on a
fresh PostgreSQL database, from their launch until every published message is recorded.

The store's tables are made first (`billing ingest` of an empty file, untimed), so the
workers don't race to create them and the clock counts start-up, group join and
recording. Progress is read from outside, never from the workers' figures: the store's
`consumer_positions` (the sum of next offsets is the count of messages recorded, each
committed with its events), polled on one connection, which also samples how many of
the store's sessions wait for a lock (to tell waiting from deciding, see `_contention`).
Then every worker is sent SIGTERM and its own batch timing is read from the line it
logs at its stop.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench import cpu
from bench import workers as children
from bench.broker import Broker
from bench.child import billing, run_measured
from bench.progress import note
from bench.raw_postgres import EVENTS_TABLE
from bench.worker_timing import TimingLineError, WorkerTiming, as_json, pooled, worker_timing
from testsupport.postgres import fresh_database

POLL_SECONDS = 0.1
PROGRESS_EVERY_SECONDS = 10.0
VIEWS_WAIT_SECONDS = 120.0
MAX_RECORDS = 5_000  # serve's default records a batch, set explicitly so the raw insert matches it
_RECORDED = "SELECT COALESCE(SUM(next_offset), 0)::bigint FROM consumer_positions"
_WORKER_APP = "bench-worker-"  # the workers' application_name (PGAPPNAME), then their number
# Messages recorded, and the workers' sessions waiting for a lock (their LOCK TABLE).
_PROGRESS = (
    f"SELECT ({_RECORDED}), (SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
    f"AND wait_event_type = 'Lock' AND application_name LIKE '{_WORKER_APP}%')"
)


class RunFailed(RuntimeError):
    """A run could not finish (a timeout, a worker that died); the message says why."""


@dataclass(frozen=True, slots=True)
class Setup:
    """What every run shares."""

    broker: Broker
    server_dsn: str  # a login that may create databases
    postgres_pid: int  # the server's postmaster, for its CPU time
    messages: int  # published to billing.events
    workdir: Path
    timeout_seconds: float  # each run's, from the launch until everything is recorded
    project: bool  # run one `billing project` beside the workers


def run_workers(count: int, setup: Setup) -> tuple[dict, str]:
    """Runs `count` workers until everything is recorded: their figures and the store's
    counts, and the DSN of the database they recorded into (kept, for the yardstick)."""
    dsn = fresh_database(setup.server_dsn, f"bench_scale_out_{count}")
    folder = setup.workdir / f"scale-out-{count}-workers"
    env = {
        "BILLING_STORE": dsn,
        "BILLING_PROJECTIONS": "separate",
        "BILLING_KAFKA_SESSION_TIMEOUT_MS": str(setup.broker.session_timeout_ms),
        "BILLING_KAFKA_HEARTBEAT_MS": str(setup.broker.heartbeat_ms),
        "BILLING_KAFKA_MAX_RECORDS": str(MAX_RECORDS),
    }
    _make_store(dsn, folder, env)
    group = f"bench-scale-out-{count}-{uuid.uuid4().hex[:8]}"  # never an earlier run's offsets
    serve = billing("--store", dsn, "serve", "--kafka", setup.broker.bootstrap, "--group", group)
    started: list[children.Child] = []
    cpu_before, postgres_before = cpu.machine_ticks(), cpu.tree_cpu_seconds(setup.postgres_pid)
    try:
        launched = time.perf_counter()
        for n in range(count):
            worker_env = env | {"PGAPPNAME": f"{_WORKER_APP}{n + 1}"}  # its sessions, told apart in the samples
            started.append(children.start(f"worker {n + 1}", serve, folder / f"worker-{n + 1}.log", worker_env))
        if setup.project:
            project_env = env | {"PGAPPNAME": "bench-project"}
            started.append(
                children.start("project", billing("--store", dsn, "project"), folder / "project.log", project_env)
            )
        note(f"started {', '.join(f'{child.name} (pid {child.process.pid})' for child in started)}")
        moments = _watch(dsn, started, launched, setup.messages, setup.timeout_seconds, count)
        postgres_after = cpu.tree_cpu_seconds(setup.postgres_pid)  # before the workers' backends end
        if setup.project:
            moments["views_caught_up_after_s"] = _wait_views(dsn, launched)
    finally:
        children.stop_all(started)
    cpu_busy = cpu.busy_share(cpu_before, cpu.machine_ticks())
    workers = started[:count]
    timings = [_timing(worker) for worker in workers]
    recorded_after, first_after = moments["recorded_after_s"], moments["first_recorded_after_s"]
    figures = {
        "workers": count,
        "database": dsn.rsplit("/", 1)[1],
        "group": group,
        "logs": str(folder),
        "events_per_s": setup.messages / recorded_after,
        "events_per_s_from_first_record": (
            setup.messages / (recorded_after - first_after) if recorded_after > first_after else None
        ),
        **moments,
        **pooled(timings),
        **_contention(timings, moments),
        "machine_cpu_busy_share": cpu_busy,
        "workers_cpu_seconds": sum(w.cpu_seconds or 0.0 for w in workers),
        # the server's CPU from the launch until everything was recorded (backends included)
        "postgres_cpu_seconds": None if None in (postgres_before, postgres_after) else postgres_after - postgres_before,
        "per_worker": [
            as_json(timing) | {"exit_status": w.exit_status, "cpu_seconds": w.cpu_seconds, "log": w.log_path.name}
            for w, timing in zip(workers, timings, strict=True)
        ],
        "project": None if not setup.project else {"exit_status": started[-1].exit_status},
    }
    return figures | _stored_counts(dsn), dsn


def _contention(timings: list[WorkerTiming], moments: dict) -> dict:
    """How contended the lock was, from the workers' figures and the bench's samples.

    `lock_busy_share`: the workers' lock-held seconds over the recording's span (from the
    first commit the bench saw, less a mean batch's lock time, since that batch held the
    lock before it was seen, to the last): near 1, the lock is held all the time and is
    the bottleneck. `lock_held_share_excluding_wait`: the workers' lock-held seconds over
    their batch time less their waiting for the lock: the share an uncontended worker
    would show. The waiting is the workers' own when they all report it
    (`lock_wait_seconds`), else the time the bench saw their sessions waiting for a lock
    (a sample each poll, pg_stat_activity).
    """
    held = sum(t.lock_held_seconds for t in timings)
    batches = sum(t.batches for t in timings)
    batch_seconds = sum(t.batch_seconds for t in timings)
    span = moments["recorded_after_s"] - moments["first_recorded_after_s"] + (held / batches if batches else 0.0)
    own = all(t.lock_wait_seconds is not None for t in timings)
    waited = sum(t.lock_wait_seconds for t in timings) if own else moments["lock_wait_seconds_sampled"]
    return {
        "lock_busy_share": held / span if span > 0 and batches else None,
        "lock_held_share_excluding_wait": held / (batch_seconds - waited) if batch_seconds > waited else None,
        "lock_wait_source": "workers" if own else "sampled",
    }


def _make_store(dsn: str, folder: Path, env: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.jsonl"
    empty.write_bytes(b"")
    run_measured(billing("--store", dsn, "ingest", str(empty)), "making the store's tables", env).check()


def _watch(dsn: str, started: list, launched: float, messages: int, timeout: float, count: int) -> dict:
    """Polls the store until every message is recorded; the moments (seconds after the
    launch) and the sessions' lock waiting, sampled at each poll."""
    first, shown, previous, waited = None, 0.0, 0.0, 0.0
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
        while (now := time.perf_counter() - launched) < timeout:
            for child in started:
                if child.exited():
                    raise RunFailed(
                        f"{child.name} of {count} exited ({child.exit_status}) before every message was recorded; "
                        f"its log ({child.log_path}):\n{child.log_tail()}"
                    )
            recorded, waiting = connection.execute(_PROGRESS).fetchone()
            waited += waiting * (now - previous)
            previous = now
            if recorded and first is None:
                first = now
            if recorded >= messages:
                return {
                    "recorded_after_s": now,
                    "first_recorded_after_s": first,
                    "lock_wait_seconds_sampled": waited,
                }
            if now - shown >= PROGRESS_EVERY_SECONDS:
                shown = now
                note(f"{count} worker(s): {recorded:,} of {messages:,} messages recorded after {now:,.0f} s")
            time.sleep(POLL_SECONDS)
        recorded = _recorded(connection)
    tails = "\n".join(f"--- {c.name} ({c.log_path}):\n{c.log_tail(1500)}" for c in started)
    raise RunFailed(
        f"{count} worker(s) recorded {recorded:,} of {messages:,} messages within the run's timeout "
        f"({timeout:g} s, --timeout):\n{tails}"
    )


def _recorded(connection: psycopg.Connection) -> int:
    return connection.execute(_RECORDED).fetchone()[0]


def _wait_views(dsn: str, launched: float) -> float | None:
    """Seconds after the launch when `billing project` had folded the whole log; None if
    not within VIEWS_WAIT_SECONDS of the recording's end."""
    deadline = time.perf_counter() + VIEWS_WAIT_SECONDS
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
        (last,) = connection.execute(f"SELECT COALESCE(MAX(notification_id), 0) FROM {EVENTS_TABLE}").fetchone()
        while time.perf_counter() < deadline:
            (folded,) = connection.execute(
                "SELECT COALESCE(MAX(notification_id), 0) FROM billingledger_tracking WHERE application_name = %s",
                ("BillingLedger",),
            ).fetchone()
            if folded >= last:
                return time.perf_counter() - launched
            time.sleep(POLL_SECONDS)
    return None


def _timing(worker: children.Child) -> WorkerTiming:
    if worker.killed:
        raise RunFailed(f"{worker.name} did not stop within the grace after SIGTERM:\n{worker.log_tail()}")
    try:
        return worker_timing(worker.log_path.read_bytes())
    except (OSError, TimingLineError) as error:
        raise RunFailed(
            f"{worker.name}'s batch timing: {error}; its log ({worker.log_path}):\n{worker.log_tail()}"
        ) from None


def _stored_counts(dsn: str) -> dict:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as connection:
        return {
            "stored_events": connection.execute(f"SELECT COUNT(*) FROM {EVENTS_TABLE}").fetchone()[0],
            "rejections": connection.execute("SELECT COUNT(*) FROM rejections").fetchone()[0],
            "recorded_messages": _recorded(connection),
        }
