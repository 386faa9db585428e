"""`python -m bench`: the engine's ingest, replay and (with a broker) serve against raw limits.

    python -m bench [--events N] [--customers C] [--out bench-results.json] [--workdir DIR]
                    [--skip-naive] [--kafka HOST:PORT|tansu]
    python -m bench --scale-out [...]   # 1-3 serve workers on PostgreSQL (bench/scale_out.py)

Steps, on the same machine and the same log: (1) the raw limit, plain `sqlite3`
inserting the rows in one transaction (and, for reference, committing every 20,000
rows as the engine's batches do); (2) the naive peer, a plain eventsourcing
Application saving one aggregate per event, on a sample; (3) `billing ingest` of the
log into a fresh store, projections included; (4) `billing replay --period P --json`
on that store; (5) `billing close --period P --json` of that month (the months before
it with charges closed first, untimed; bench/close.py); (6) with `--kafka` (a broker's
HOST:PORT, or `tansu` to start the test broker for the run): `billing publish` of the
log to `billing.events` (6 partitions), a raw aiokafka consume of it with no group,
and `billing serve` into a fresh store from its launch until every message is
recorded (bench/kafka.py). The commands run
the real CLI, each in a fresh child process. The table goes to stdout, the figures as
JSON to --out, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from bench import raw
from bench.broker import BrokerUnavailable, check_early
from bench.child import ChildRun, billing, run_measured
from bench.close import CLOSE_TARGET_SECONDS, measure_close
from bench.kafka import kafka_figures, kafka_notes, measure_kafka
from bench.log import EventLog, event_log
from bench.progress import note, ticking
from bench.report import MEMORY_LIMIT_MIB, MIB, Figure, as_json, figure, machine, machine_line, table, tree_state
from commands.ingest import BATCH_SIZE
from engine.money import format_units, parse_amount

INGEST_TARGET_EVENTS_PER_S = 100_000
INGEST_TARGET_VS_RAW = 0.5
INGEST_TARGET_VS_NAIVE = 20
REPLAY_TARGET_SECONDS_PER_MILLION = 10
NAIVE_SAMPLE = 5_000
RAW_REPEATS = 3


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="lines in the log (default 1,000,000)")
    parser.add_argument("--customers", type=int, help="customers in the log (default events / 100)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--period", default="2026-10", help="the log's month, replayed in step 4")
    parser.add_argument("--out", default="bench-results.json", help="where to write the figures as JSON")
    parser.add_argument(
        "--workdir",
        help="where logs are kept and reused, and stores made "
        "(default: a partner-billing-bench folder in the temporary folder)",
    )
    parser.add_argument("--skip-naive", action="store_true", help="don't measure the naive eventsourcing peer")
    parser.add_argument("--naive-sample", type=int, default=NAIVE_SAMPLE, help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the ingested store (and serve's) in the work folder")
    parser.add_argument(
        "--kafka",
        metavar="HOST:PORT|tansu",
        help="a Kafka broker for the Kafka figures (its billing.events empty or absent), "
        "or 'tansu' to start the test broker for the run (needs the test extra)",
    )
    parser.add_argument(
        "--scale-out",
        action="store_true",
        help="instead: 1, 2 and 3 `billing serve` workers on one PostgreSQL store, each worker's share of "
        "batch time holding the store's lock (its own options: python -m bench --scale-out --help)",
    )
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("--events must be at least 1")
    if args.customers is None:
        args.customers = max(1, args.events // 100)
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else list(argv)
    if "--scale-out" in given:  # a step of its own, with its own options
        from bench import scale_out

        return scale_out.main([arg for arg in given if arg != "--scale-out"])
    args = parse(argv)
    if args.kafka:
        try:
            check_early(args.kafka)
        except BrokerUnavailable as error:
            print(f"bench: {error}", file=sys.stderr)
            return 2
    workdir = Path(args.workdir or Path(tempfile.gettempdir()) / "partner-billing-bench").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    facts, code_at_start = machine(), tree_state()
    note(machine_line(facts))
    log = event_log(workdir, args.events, args.customers, args.seed, args.period)

    store = workdir / "bench-store.db"
    _remove_database(store)
    startup = run_measured(billing("--help"), "CLI start-up (billing --help)").check()
    naive = None if args.skip_naive else _naive(log, args.naive_sample, workdir)
    ingest, counts, stored = _ingest(log, store)
    one_process = _ingest_in_one_process(log, workdir / "bench-store-one-process.db", counts)
    replay, replayed = _replay(store, args.period)
    engine_rows_info, line_rows_info = _raw_limits(store, log, workdir)
    close, closed = measure_close(store, args.period)
    if not args.keep:
        _remove_database(store)
    kafka = None
    if args.kafka:
        try:
            kafka = measure_kafka(args.kafka, log, workdir, args.keep)
        except BrokerUnavailable as error:
            print(f"bench: {error}", file=sys.stderr)
            return 2

    figures = _figures(log, startup.seconds, naive, ingest, replay, stored, engine_rows_info, line_rows_info)
    after_ingest = figures.index(_by_key(figures, "ingest_seconds")) + 1
    figures[after_ingest:after_ingest] = _one_process_figures(log, ingest, one_process)
    figures += _close_figures(close, closed, log)
    figures += kafka_figures(kafka, _by_key(figures, "ingest_events_per_s").value)
    notes = _notes(log, counts, stored, args.skip_naive) + _close_notes(closed, replayed) + kafka_notes(kafka, log)
    if tree_state() != code_at_start:
        notes.append(
            "ODD: the repository's tracked files changed during the run: the figures may mix versions of the code"
        )
    results = {
        "bench": {
            "version": 1,
            "started": started,
            "argv": sys.argv[1:] if argv is None else list(argv),
            "workdir": str(workdir),
        },
        "machine": facts,
        "log": log.as_json(),
        "figures": as_json(figures),
        "ingest": counts
        | {
            "exit_status": ingest.returncode,
            "stored_events": stored,
            "counts_match_generator": _counts_match(log, counts),
        },
        "replay": replayed,
        "close": closed,
        "raw": {"engine_rows": engine_rows_info, "line_rows": line_rows_info},
        "naive": naive or {"skipped": True},
        "kafka": kafka or {"skipped": True},
        "notes": notes,
    }
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(_header(log, facts))
    print(table(figures))
    print(_kafka_line(kafka))
    for line in notes:
        print(f"note: {line}")
    print(f"figures written to {args.out}")
    return 0


def _naive(log: EventLog, sample: int, workdir: Path) -> dict:
    argv = [sys.executable, "-m", "bench.naive", log.path, str(sample), str(workdir / "bench-naive.db")]
    run = run_measured(argv, f"naive eventsourcing peer ({min(sample, log.lines):,} events)").check()
    result = json.loads(run.stdout)
    return result | {"events_per_s": result["events"] / result["seconds"]}


def _ingest(log: EventLog, store: Path) -> tuple:
    run = run_measured(
        billing("--store", f"sqlite:///{store}", "ingest", "--json", log.path), f"billing ingest ({log.lines:,} lines)"
    )
    run.check((0, 1))  # 1: some lines were rejected, as the generator intends
    counts = json.loads(run.stdout)
    with closing(sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True)) as connection:
        (stored,) = connection.execute("SELECT COUNT(*) FROM stored_events").fetchone()
    return run, counts, stored


def _ingest_in_one_process(log: EventLog, store: Path, counts: dict) -> ChildRun:
    """The same ingest with the batches decided in the writing process (the path before
    BILLING_DECIDE_AHEAD): the yardstick of what deciding ahead gains."""
    _remove_database(store)
    run = run_measured(
        billing("--store", f"sqlite:///{store}", "ingest", "--json", log.path),
        f"billing ingest in one process ({log.lines:,} lines)",
        env={"BILLING_DECIDE_AHEAD": "off"},
    )
    run.check((0, 1))
    if json.loads(run.stdout) != counts:
        raise RuntimeError(f"the one-process ingest counted {run.stdout!r}, the default one {counts}")
    _remove_database(store)
    return run


def _one_process_figures(log: EventLog, ingest: ChildRun, one_process: ChildRun) -> list[Figure]:
    one_rate = log.lines / one_process.seconds
    return [
        figure(
            "ingest_peak_rss_both_mib",
            "billing ingest, peak RSS of both processes (sampled)",
            ingest.tree_peak_rss_bytes / MIB or None,
            "MiB",
            at_most=MEMORY_LIMIT_MIB,
            target=f"≤ {MEMORY_LIMIT_MIB:,.0f} (1 GiB, at 1M)",
        ),
        figure("ingest_one_process_events_per_s", "billing ingest, one process (off)", one_rate, "events/s"),
        figure("ingest_one_process_seconds", "billing ingest, one process, wall clock", one_process.seconds, "s"),
        figure("ingest_vs_one_process", "ingest / ingest in one process", one_process.seconds / ingest.seconds, "×"),
    ]


def _by_key(figures: list[Figure], key: str) -> Figure:
    return next(f for f in figures if f.key == key)


def _replay(store: Path, period: str) -> tuple:
    run = run_measured(
        billing("--store", f"sqlite:///{store}", "replay", "--period", period, "--json"),
        f"billing replay --period {period}",
    ).check()
    output = json.loads(run.stdout)
    payable = sum(parse_amount("payable_amount", p["payable_amount"]) for p in output["performance"])
    summary = {
        "period": output["period"],
        "bills": len(output["bills"]),
        "partners": len(output["performance"]),
        "digest": output["digest"],
        "performance_payable_amount": format_units(payable),
    }
    return run, summary


def _raw_limits(store: Path, log: EventLog, workdir: Path) -> tuple[dict, dict]:
    """The raw insert of the engine's stored rows exactly, then of the log's lines as the state."""
    target = workdir / "bench-raw.db"
    measured = []
    for label, load in (
        ("the engine's stored rows", lambda: raw.engine_rows(store)),
        ("the log's lines as rows", lambda: raw.line_rows(log.path)),
    ):
        rows = load()
        with ticking(f"raw sqlite3 insert of {label} ({len(rows):,}, best of {RAW_REPEATS})"):
            rate, runs = raw.best_rate(rows, target, RAW_REPEATS)
        measured.append(
            {
                "rows": len(rows),
                "mean_state_bytes": raw.mean_state_bytes(rows),
                "runs_seconds": runs,
                "rows_per_s": rate,
            }
        )
        if not measured[1:]:  # the engine's rows again, committed batch by batch as the engine does
            with ticking(f"raw sqlite3 insert of {label}, {BATCH_SIZE:,} rows per transaction"):
                seconds = raw.insert_seconds(rows, target, batch=BATCH_SIZE)
            measured[0] |= {
                "batch_rows": BATCH_SIZE,
                "batched_seconds": seconds,
                "batched_rows_per_s": len(rows) / seconds,
            }
        del rows
    return measured[0], measured[1]


def _kafka_line(kafka: dict | None) -> str:
    if kafka is None:
        return "kafka: not measured (no --kafka given)"
    broker = kafka["broker"]
    return (
        f"kafka: {broker['kind']} broker at {broker['bootstrap']}, {kafka['topic']} with "
        f"{kafka['partitions']} partitions, {kafka['published']:,} messages"
    )


def _figures(log, startup_s, naive, ingest, replay, stored, engine_raw, line_raw) -> list[Figure]:
    ingest_rate = log.lines / ingest.seconds
    naive_rate = naive["events_per_s"] if naive else None
    replay_per_million = replay.seconds * 1_000_000 / max(stored, 1)
    memory_target = f"≤ {MEMORY_LIMIT_MIB:,.0f} (1 GiB, at 1M)"
    sample = f"sample {naive['events']:,}" if naive else "skipped"
    return [
        figure("raw_rows_per_s", "raw insert: engine's stored rows", engine_raw["rows_per_s"], "rows/s"),
        figure("raw_line_rows_per_s", "raw insert: log lines as rows", line_raw["rows_per_s"], "rows/s"),
        figure(
            "raw_batched_rows_per_s",
            f"raw insert: engine's rows, {engine_raw['batch_rows']:,} a commit",
            engine_raw["batched_rows_per_s"],
            "rows/s",
        ),
        figure("naive_events_per_s", f"naive eventsourcing peer ({sample})", naive_rate, "events/s"),
        figure(
            "ingest_events_per_s",
            "billing ingest",
            ingest_rate,
            "events/s",
            at_least=INGEST_TARGET_EVENTS_PER_S,
            target=f"≥ {INGEST_TARGET_EVENTS_PER_S:,}",
        ),
        figure("ingest_seconds", "billing ingest, wall clock", ingest.seconds, "s"),
        figure(
            "ingest_vs_raw",
            "ingest / raw (engine's rows)",
            ingest_rate / engine_raw["rows_per_s"],
            "×",
            at_least=INGEST_TARGET_VS_RAW,
            target=f"≥ {INGEST_TARGET_VS_RAW}",
        ),
        figure("ingest_vs_raw_lines", "ingest / raw (log lines)", ingest_rate / line_raw["rows_per_s"], "×"),
        figure(
            "ingest_vs_raw_batched",
            "ingest / raw (engine's rows, batched)",
            ingest_rate / engine_raw["batched_rows_per_s"],
            "×",
        ),
        figure(
            "ingest_vs_naive",
            "ingest / naive peer",
            ingest_rate / naive_rate if naive_rate else None,
            "×",
            at_least=INGEST_TARGET_VS_NAIVE,
            target=f"≥ {INGEST_TARGET_VS_NAIVE}",
        ),
        figure(
            "ingest_peak_rss_mib",
            "billing ingest, peak RSS",
            ingest.peak_rss_bytes / MIB,
            "MiB",
            at_most=MEMORY_LIMIT_MIB,
            target=memory_target,
        ),
        figure(
            "replay_events_per_s", f"billing replay ({stored:,} stored events)", stored / replay.seconds, "events/s"
        ),
        figure("replay_seconds", "billing replay, wall clock", replay.seconds, "s"),
        figure(
            "replay_seconds_per_million",
            "billing replay, per million events",
            replay_per_million,
            "s/M",
            at_most=REPLAY_TARGET_SECONDS_PER_MILLION,
            target=f"≤ {REPLAY_TARGET_SECONDS_PER_MILLION}",
        ),
        figure(
            "replay_peak_rss_mib",
            "billing replay, peak RSS",
            replay.peak_rss_bytes / MIB,
            "MiB",
            at_most=MEMORY_LIMIT_MIB,
            target=memory_target,
        ),
        figure("cli_startup_seconds", "CLI start-up (in both wall clocks)", startup_s, "s"),
    ]


def _close_figures(close, closed: dict, log: EventLog) -> list[Figure]:
    return [
        figure(
            "close_seconds",
            f"billing close --period {closed['period']} ({closed['statements']} statements, "
            f"{log.customers:,} customers)",
            close.seconds,
            "s",
            at_most=CLOSE_TARGET_SECONDS,
            target=f"≤ {CLOSE_TARGET_SECONDS} (at 1M, 10k customers)",
        ),
        figure(
            "close_peak_rss_mib",
            "billing close, peak RSS",
            close.peak_rss_bytes / MIB,
            "MiB",
            at_most=MEMORY_LIMIT_MIB,
            target=f"≤ {MEMORY_LIMIT_MIB:,.0f} (1 GiB, at 1M)",
        ),
    ]


def _close_notes(closed: dict, replayed: dict) -> list[str]:
    notes = [
        f"the close's wall clock includes the interpreter's start-up; "
        f"{closed['earlier_months_closed_first']} earlier month(s) were closed first, untimed"
    ]
    if closed["total_payable_amount"] != replayed["performance_payable_amount"]:
        notes.append(
            f"ODD: the month's statements carry {closed['total_payable_amount']} payable, "
            f"replay's performance {replayed['performance_payable_amount']}"
        )
    return notes


def _counts_match(log: EventLog, counts: dict) -> bool:
    return (counts["accepted"], counts["duplicates"], counts["rejected"]) == (
        log.expected_accepted,
        log.duplicates,
        log.bad_lines,
    )


def _notes(log: EventLog, counts: dict, stored: int, skipped_naive: bool) -> list[str]:
    notes = [
        "events/s of ingest count every line of the log (accepted, duplicate or rejected); "
        "replay's count the stored events it reads",
        "wall clocks include the interpreter's start-up; the raw limit is the best of "
        f"{RAW_REPEATS} inserts into fresh WAL files in one transaction, rows built before the clock starts; "
        f"the batched raw figure is one run committing every {BATCH_SIZE:,} rows, as the engine's batches do",
        "billing ingest runs as the README says (BILLING_DECIDE_AHEAD=auto: a second process decides the batches "
        "of an input this large); the one-process figure is the same log with BILLING_DECIDE_AHEAD=off",
    ]
    if not _counts_match(log, counts):
        notes.append(
            f"ODD: ingest counts {counts} differ from the generator's "
            f"(accepted {log.expected_accepted}, duplicates {log.duplicates}, rejected {log.bad_lines})"
        )
    if stored != counts["accepted"]:
        notes.append(f"ODD: {stored} stored events but {counts['accepted']} accepted")
    if skipped_naive:
        notes.append("naive peer skipped (--skip-naive)")
    return notes


def _header(log: EventLog, facts: dict) -> str:
    return (
        f"\nbench: {log.lines:,} events ({log.bytes / MIB:,.1f} MiB), {log.customers:,} customers, "
        f"seed {log.seed}, period {log.period}\n{machine_line(facts)}\n"
    )


def _remove_database(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
