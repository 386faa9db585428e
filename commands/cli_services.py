"""The long-running processes and the broker's tooling: `billing serve`, `project`,
`publish`, `topics create` and `lag` (CONTRACT.md §5, §6)."""

from __future__ import annotations

import argparse
import dataclasses
import signal
from functools import partial

from commands import render
from commands.bootstrap import open_engine
from commands.cli_support import (
    EXIT_OK,
    TERMINATED,
    AddParser,
    Handler,
    Parser,
    UsageError,
    add_json_option,
    add_kafka_options,
    print_json,
)
from commands.malloc_tuning import map_large_blocks_apart
from commands.settings import Settings


def add_commands(add_parser: AddParser) -> dict[str, Handler]:
    serve = add_parser("serve", help="consume billing.events and publish the views (Kafka), until stopped")
    add_kafka_options(serve, group=True)

    project = add_parser("project", help="run the projections as their own process, following the log")
    project.add_argument(
        "--once", action="store_true", help="stop once the views have caught up (default: keep following)"
    )

    publish = add_parser("publish", help="send JSON Lines files to billing.events as they are")
    publish.add_argument(
        "files", nargs="+", metavar="FILE", help="JSON Lines files, gzip-compressed or not; '-' reads stdin"
    )
    add_kafka_options(publish)

    topics_ = add_parser("topics", help="Kafka topic administration")
    topic_commands = topics_.add_subparsers(
        dest="topics_command", metavar="{create}", required=True, parser_class=Parser
    )
    create = topic_commands.add_parser(
        "create",
        help="create the engine's topics (existing ones are kept)",
        description="Create the engine's topics (existing ones are kept).",
    )
    create.add_argument(
        "--partitions", type=int, default=6, metavar="N", help="partitions of each topic (default: %(default)s)"
    )
    create.add_argument(
        "--replication-factor",
        type=int,
        default=1,
        metavar="N",
        help="replicas of each partition (default: %(default)s)",
    )
    add_kafka_options(create)

    lag = add_parser("lag", help="the consumer group's lag per partition of billing.events")
    add_kafka_options(lag, group=True)
    add_json_option(lag)
    return {"serve": _serve, "project": _project, "publish": _publish, "topics": _topics, "lag": _lag}


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    # A stop asked for while the service loads (FastStream and aiokafka take a moment to
    # import) is remembered, and the service stops cleanly as soon as it starts.
    stop_requested = TERMINATED  # set already if a SIGTERM came while the command line loaded
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop_requested.set())
    from commands.serve import run_serve

    map_large_blocks_apart()  # for its long life and the frames of its decider: commands/malloc_tuning.py
    return run_serve(settings, partial(open_engine, settings, create=True), stop_requested)


def _project(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from commands.project import run_projection

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return run_projection(settings, once=args.once)


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    from commands.json_lines import check_readable, open_inputs
    from commands.kafka_tools import publish_files
    from commands.progress import byte_progress

    check_readable(args.files)
    with byte_progress(args.files, "publish", force=settings.progress) as progress:
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
        print(
            render.table(
                ["topic", "partition", "committed", "end", "lag"],
                [(p.topic, p.partition, p.committed, p.end, p.lag) for p in partitions],
            )
        )
        print(f"total lag: {total}")
    return EXIT_OK
