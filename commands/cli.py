"""The `billing` command line (CONTRACT.md §5).

Exit status: 0 success; 1 the command ran but found a problem (inputs rejected);
2 usage error, unreadable input or unusable store, with one line on stderr and no
traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import gc
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from eventsourcing.persistence import InterfaceError, OperationalError

from commands import render
from commands.bootstrap import Engine, open_engine
from commands.cli_support import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    Parser,
    UsageError,
    moment,
    period,
    print_json,
    with_engine,
)
from commands.ingest import BATCH_SIZE
from commands.kafka_tools import KafkaToolError
from commands.settings import Settings
from engine.errors import REASON_CODES, Refused, SettingsError, StoreError
from projections.queries import Scope

_STORE_HELP = (
    "store URL: sqlite:///PATH, postgresql://USER:PASS@HOST:PORT/DB[?schema=NAME], memory:// "
    "(default: $BILLING_STORE or sqlite:///billing.db)"
)

# Each feature's subcommands: a module with `add_commands(add_parser) -> {name: handler}`.
FEATURE_CLIS: tuple[str, ...] = ("commands.cli_chain",)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="billing", description="Event-sourced billing for cloud partner programmes.")
    # Global options, accepted after the command too (`billing bills --store …`).
    common = Parser(add_help=False)
    for parser_ in (parser, common):
        default = None if parser_ is parser else argparse.SUPPRESS
        parser_.add_argument("--store", default=default, help=_STORE_HELP)
        parser_.add_argument("--kafka", default=default, metavar="HOST:PORT[,…]",
                             help="Kafka brokers (default: $BILLING_KAFKA or localhost:9092)")
        parser_.add_argument("--group", default=default, help="consumer group (default: $BILLING_GROUP or billing)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    commands.add_parser = _with_parents(commands.add_parser, [common])

    ingest = commands.add_parser("ingest", help="record the events of JSON Lines files ('-' for stdin)")
    ingest.add_argument("files", nargs="+", metavar="FILE")
    ingest.add_argument("--json", action="store_true", help="print counts as JSON")
    ingest.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="lines per store transaction (default: %(default)s)")

    rejected = commands.add_parser("rejected", help="list kept rejections, or judge them again")
    rejected.add_argument("--reason", choices=REASON_CODES, metavar="CODE", help="only this reason code")
    rejected.add_argument("--retry", action="store_true", help="judge every pending rejection again")
    rejected.add_argument("--json", action="store_true")

    bills = commands.add_parser("bills", help="customers' bills for a period")
    bills.add_argument("--period", required=True, type=period, metavar="YYYY-MM")
    bills.add_argument("--customer", metavar="ID")
    bills.add_argument("--json", action="store_true")

    customers = commands.add_parser("customers", help="a partner's customer dashboard for a period")
    customers.add_argument("--partner", required=True, metavar="ID")
    customers.add_argument("--period", required=True, type=period, metavar="YYYY-MM")
    customers.add_argument("--account-manager", metavar="ID")
    customers.add_argument("--reseller", metavar="ID")
    customers.add_argument("--json", action="store_true")

    performance = commands.add_parser("performance", help="a partner's performance for a period")
    performance.add_argument("--partner", required=True, metavar="ID")
    performance.add_argument("--period", required=True, type=period, metavar="YYYY-MM")
    performance.add_argument("--json", action="store_true")

    replay = commands.add_parser("replay", help="rebuild a period's views from the log, as known at a moment")
    replay.add_argument("--period", required=True, type=period, metavar="YYYY-MM")
    replay.add_argument("--as-of", type=moment, metavar="RFC3339", help="only events recorded at or before (default: now)")
    replay.add_argument("--check", action="store_true", help="compare with the live views; exit 1 on a difference")
    replay.add_argument("--json", action="store_true")

    commands.add_parser("serve", help="consume billing.events and publish the views (Kafka)")

    project = commands.add_parser("project", help="run the projections as their own process, following the log")
    project.add_argument("--once", action="store_true", help="stop once the views have caught up")

    publish = commands.add_parser("publish", help="send JSON Lines files to billing.events as they are")
    publish.add_argument("files", nargs="+", metavar="FILE")

    topics_ = commands.add_parser("topics", help="Kafka topic administration")
    topic_commands = topics_.add_subparsers(dest="topics_command", required=True, parser_class=Parser)
    create = topic_commands.add_parser("create", help="create the engine's topics")
    create.add_argument("--partitions", type=int, default=6)
    create.add_argument("--replication-factor", type=int, default=1)

    lag = commands.add_parser("lag", help="the consumer group's lag per partition of billing.events")
    lag.add_argument("--json", action="store_true")

    demo = commands.add_parser("demo", help="write a month of sample events, ingest them, show dashboards")
    demo.add_argument("--out", default="billing-demo.jsonl", help="where to write the events")
    demo.add_argument("--customers", type=int, default=300)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--period", type=period, default="2026-10", metavar="YYYY-MM")
    for module_name in FEATURE_CLIS:
        module = importlib.import_module(module_name)
        _COMMANDS.update(module.add_commands(commands.add_parser))
    return parser


def _with_parents(add_parser, parents):
    def add(name: str, **kwargs):
        return add_parser(name, parents=parents, **kwargs)

    return add


# A batch allocates millions of short-lived objects and no reference cycles; at
# CPython's default threshold (700) the cycle collector ran thousands of times a batch.
# Measured: 8% less wall time on a 100,000-line ingest, 29 MiB more peak memory.
GC_THRESHOLDS = (50_000, 20, 100)


def main(argv: Sequence[str] | None = None) -> int:
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        args = build_parser().parse_args(argv)
        settings = Settings.from_environment(store_url=args.store, kafka=args.kafka, group=args.group)
        return _COMMANDS[args.command](args, settings)
    except UsageError as error:
        return _fail(f"usage: {error} (see `billing --help`)")
    except Refused as refused:  # a request the rules refuse: nothing was recorded
        print(f"{refused.code}: {refused.message}", file=sys.stderr)
        return EXIT_PROBLEM
    except (SettingsError, StoreError, OSError, KafkaToolError) as error:
        return _fail(str(error))
    except (OperationalError, InterfaceError) as error:  # the store went away mid-command
        return _fail(f"the store failed: {' '.join(str(error).split())}")
    except KeyboardInterrupt:
        return _fail("interrupted; batches already committed stay recorded")


def _fail(message: str) -> int:
    print(f"billing: {message}", file=sys.stderr)
    return EXIT_USAGE


_LARGE_INPUT_BYTES = 2 << 20  # an input whose batches are worth hashing on another core


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from commands.ingest import check_readable, ingest_streams, open_inputs
    from commands.progress import byte_progress

    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    check_readable(args.files)
    with open_engine(settings, create=True) as engine, byte_progress(args.files) as progress:
        if sum(os.path.getsize(path) for path in args.files if path != "-") >= _LARGE_INPUT_BYTES:
            engine.ledger.recorder.prepare_chain_worker()  # it hashes large batches on another core
        counts = ingest_streams(engine, open_inputs(args.files), args.batch_size, progress)
    print_json(counts) if args.json else print(render.counts(counts))
    return EXIT_PROBLEM if counts.rejected else EXIT_OK


def _rejected(args: argparse.Namespace, settings: Settings) -> int:
    from commands.ingest import retry_rejections

    with open_engine(settings, create=False) as engine:
        if args.retry:
            counts = retry_rejections(engine, args.reason)
            print_json(counts) if args.json else print(render.counts(counts))
            return EXIT_PROBLEM if counts.rejected else EXIT_OK
        rows = engine.ledger.recorder.select_rejections(reason=args.reason)
    if args.json:
        print_json({"rejected": [render.rejection_json(row) for row in rows]})
    else:
        print(render.rejections(rows))
    return EXIT_OK


def _bills(engine: Engine, args: argparse.Namespace) -> object:
    from commands.queries import bills

    return {"period": args.period, "bills": bills(engine, args.period, args.customer)}


def _customers(engine: Engine, args: argparse.Namespace) -> object:
    from commands.queries import customer_counts

    scope = Scope(account_manager_id=args.account_manager, indirect_partner_id=args.reseller)
    return customer_counts(engine, args.partner, args.period, scope)


def _performance(engine: Engine, args: argparse.Namespace) -> object:
    from commands.queries import performance

    return performance(engine, args.partner, args.period)


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from commands.progress import count_progress
    from commands.queries import period_views, view_settings
    from projections.replay import first_difference, replay_period, report

    with open_engine(settings, create=False) as engine:
        as_of = args.as_of or engine.ledger.now()
        with count_progress(engine.ledger.recorder.count_events(), "replay") as progress:
            views, _read = replay_period(engine.ledger, view_settings(engine, args.period), as_of, progress)
        difference = first_difference(views, period_views(engine, args.period)) if args.check else None
    result = report(views, as_of)
    print_json(result) if args.json else print(render.replay(result))
    if args.check:
        if difference is not None:
            print(f"billing: replay differs from the live views: {difference}", file=sys.stderr)
            return EXIT_PROBLEM
        if not args.json:
            print("check: the live views equal the replay")
    return EXIT_OK


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    # A stop asked for while the service loads (FastStream and aiokafka take a moment to
    # import) is remembered, and the service stops cleanly as soon as it starts.
    stop_requested = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    from commands.serve import run_serve

    return run_serve(settings, stop_requested)


def _project(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from commands.project import run_projection

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return run_projection(settings, once=args.once)


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    from commands.ingest import check_readable, open_inputs
    from commands.kafka_tools import publish_files
    from commands.progress import byte_progress

    check_readable(args.files)
    with byte_progress(args.files, "publish") as progress:
        sent = publish_files(settings.kafka, open_inputs(args.files), progress=progress)
    print(f"published: {sent}")
    return EXIT_OK


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from commands.kafka_tools import create_topics
    from schemas import topics

    if args.partitions < 1 or args.replication_factor < 1:
        raise UsageError("--partitions and --replication-factor must be at least 1")
    created = create_topics(settings.kafka, args.partitions, args.replication_factor)
    for name in topics.ALL_TOPICS:
        print(f"{name}: {'created' if name in created else 'exists'}")
    return EXIT_OK


def _lag(args: argparse.Namespace, settings: Settings) -> int:
    from commands.kafka_tools import consumer_lag

    partitions = consumer_lag(settings.kafka, settings.group)
    total = sum(p.lag for p in partitions)
    if args.json:
        print_json({"lag": total, "partitions": [dataclasses.asdict(p) for p in partitions]})
    else:
        print(render.table(["topic", "partition", "committed", "end", "lag"],
                           [(p.topic, p.partition, p.committed, p.end, p.lag) for p in partitions]))
        print(f"total lag: {total}")
    return EXIT_OK


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from commands.demo import run_demo

    return run_demo(settings, args.out, args.customers, args.seed, args.period)


_COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "ingest": _ingest,
    "rejected": _rejected,
    "bills": with_engine(_bills, render.bills),
    "customers": with_engine(_customers, render.customer_counts),
    "performance": with_engine(_performance, render.performance),
    "replay": _replay,
    "serve": _serve,
    "project": _project,
    "publish": _publish,
    "topics": _topics,
    "lag": _lag,
    "demo": _demo,
}

if __name__ == "__main__":
    sys.exit(main())
