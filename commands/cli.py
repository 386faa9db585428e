"""The `billing` command line (CONTRACT.md §5).

Exit status: 0 success; 1 the command ran but found a problem (inputs rejected);
2 usage error, unreadable input or unusable store, with one line on stderr and no
traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from commands import cli_failures, cli_services, cli_views, render
from commands.bootstrap import open_engine
from commands.cli_support import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    TERMINATED,
    Parser,
    UsageError,
    add_json_option,
    add_output_options,
    add_period_option,
    moment,
    period,
    print_json,
)
from commands.gc_tuning import GC_THRESHOLDS
from commands.ingest import BATCH_SIZE
from commands.settings import Settings
from engine.errors import REASON_CODES, Refused

_STORE_HELP = (
    "store URL: sqlite:///PATH, postgresql://USER:PASS@HOST:PORT/DB[?schema=NAME], memory:// "
    "(default: $BILLING_STORE or sqlite:///billing.db)"
)

# Each feature's subcommands: a module with `add_commands(add_parser) -> {name: handler}`.
FEATURE_CLIS: tuple[str, ...] = (
    "commands.cli_overview",
    "commands.cli_statements",
    "commands.cli_accounts",
    "commands.cli_incentives",
    "commands.cli_resources",
    "commands.cli_tokens",
    "commands.cli_web",
    "commands.cli_chain",
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="billing",
        description="Event-sourced billing for cloud partner programmes: record upstream events, "
        "read bills, customer counts and partner performance, replay any period.",
        epilog="Run `billing COMMAND --help` for a command's options. Settings: BILLING_STORE, "
        "BILLING_CURRENCY (CNY), BILLING_TIMEZONE (Asia/Shanghai), BILLING_KAFKA, BILLING_GROUP.",
    )
    # The store is global, accepted after the command too (`billing bills --store …`);
    # the broker and the group only where they act (add_kafka_options).
    common = Parser(add_help=False)
    parser.add_argument("--store", default=None, metavar="URL", help=_STORE_HELP)
    common.add_argument("--store", default=argparse.SUPPRESS, metavar="URL", help=_STORE_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=Parser)
    commands.add_parser = _with_parents(commands.add_parser, [common])

    ingest = commands.add_parser(
        "ingest",
        help="record the events of JSON Lines files ('-' for stdin)",
        epilog="Files of 64 MiB or more on a SQLite store are decided by a second process while this one "
        "writes (BILLING_DECIDE_AHEAD=auto; on: always; off: never).",
    )
    ingest.add_argument(
        "files", nargs="+", metavar="FILE", help="JSON Lines files, gzip-compressed or not; '-' reads stdin"
    )
    add_json_option(ingest, "print the counts as JSON")
    ingest.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_SIZE,
        metavar="N",
        help="lines per store transaction (default: %(default)s)",
    )

    rejected = commands.add_parser("rejected", help="list kept rejections, or judge them again")
    rejected.add_argument(
        "--reason",
        choices=REASON_CODES,
        metavar="CODE",
        help=f"only rejections with this reason code, one of: {', '.join(REASON_CODES)} (default: all)",
    )
    rejected.add_argument(
        "--retry",
        action="store_true",
        help="judge every rejection not yet accepted again, in arrival order, and print the counts",
    )
    add_json_option(rejected)

    bills = commands.add_parser("bills", help="customers' bills for a period")
    add_period_option(bills)
    bills.add_argument("--customer", metavar="ID", help="only this customer's bill (default: every customer's)")
    bills.add_argument("--summary", action="store_true", help="one row a bill, without its lines (table and --csv)")
    add_output_options(bills, csv=True)

    customers = commands.add_parser(
        "customers", help="a partner's customer dashboard for a period, or the customers known"
    )
    customers.add_argument("--partner", metavar="ID", help="the partner (required unless --list)")
    add_period_option(customers, required=False, help_="the billing period (required unless --list)")
    customers.add_argument(
        "--account-manager", metavar="ID", help="count only this account manager's customers (default: all)"
    )
    customers.add_argument("--reseller", metavar="ID", help="count only this reseller's customers (default: all)")
    customers.add_argument(
        "--list",
        action="store_true",
        help="list every customer with its latest association instead (--partner: only its customers)",
    )
    add_json_option(customers)

    performance = commands.add_parser("performance", help="a partner's performance for a period")
    performance.add_argument("--partner", required=True, metavar="ID", help="the partner")
    add_period_option(performance)
    add_output_options(performance, csv=True)

    replay = commands.add_parser("replay", help="rebuild a period's views from the log, as known at a moment")
    add_period_option(replay)
    replay.add_argument(
        "--as-of",
        type=moment,
        metavar="RFC3339",
        help="use only events recorded at or before this time, with its offset (default: now)",
    )
    replay.add_argument("--check", action="store_true", help="compare with the live views; exit 1 on a difference")
    add_json_option(replay)

    _COMMANDS.update(cli_services.add_commands(commands.add_parser))  # serve, project, publish, topics, lag

    demo = commands.add_parser("demo", help="write a month of sample events, ingest them, show dashboards")
    demo.add_argument(
        "--out", default="billing-demo.jsonl", metavar="FILE", help="where to write the events (default: %(default)s)"
    )
    demo.add_argument(
        "--customers", type=int, default=300, metavar="N", help="customers in the sample (default: %(default)s)"
    )
    demo.add_argument(
        "--seed", type=int, default=7, help="the random seed: the same seed, the same month (default: %(default)s)"
    )
    demo.add_argument(
        "--period",
        type=period,
        default="2026-10",
        metavar="YYYY-MM",
        help="the month of the sample (default: %(default)s)",
    )
    for module_name in FEATURE_CLIS:
        module = importlib.import_module(module_name)
        _COMMANDS.update(module.add_commands(commands.add_parser))
    return parser


def _with_parents(add_parser, parents):
    def add(name: str, **kwargs):
        kwargs.setdefault("description", _sentence(kwargs.get("help")))
        return add_parser(name, parents=parents, **kwargs)

    return add


def _sentence(text: str | None) -> str | None:
    return None if not text else text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


# A SIGTERM that arrives while the command line is still loading (imports and the
# parser take a few tenths of a second) is remembered (`cli_support.TERMINATED`):
# `serve` then stops cleanly as soon as it has started; any other command ends as the
# signal would have ended it.
def _remember_termination(*_: object) -> None:
    TERMINATED.set()


def _in_main_thread() -> bool:  # signal handlers can only be set there (tests call main too)
    return threading.current_thread() is threading.main_thread()


def _act_on_early_termination(command: str | None) -> None:
    if command == "serve" or not _in_main_thread():
        return  # `_serve` takes over the signal and the event
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if TERMINATED.is_set():
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    if _in_main_thread():
        signal.signal(signal.SIGTERM, _remember_termination)
    gc.set_threshold(*GC_THRESHOLDS)
    if hasattr(sys.stdout, "reconfigure"):  # a terminal that can't show 客户 gets \\u5ba2, not a traceback
        sys.stdout.reconfigure(errors="backslashreplace")
    settings = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        _act_on_early_termination(args.command)
        if args.command is None:  # `billing` alone: what it can do
            parser.print_help()
            return EXIT_OK
        settings = Settings.from_environment(
            store_url=args.store, kafka=getattr(args, "kafka", None), group=getattr(args, "group", None)
        )
        return _COMMANDS[args.command](args, settings)
    except UsageError as error:
        return _fail(f"usage: {error} (see `{error.prog} --help`)")
    except Refused as refused:  # a request the rules refuse: nothing was recorded
        print(f"{refused.code}: {refused.message}", file=sys.stderr)
        return EXIT_PROBLEM
    except BrokenPipeError:  # the reader of our output went away (`| head -1`)
        return cli_failures.quiet_after_broken_pipe()
    except KeyboardInterrupt as interrupt:
        _fail(cli_failures.interrupted_line(interrupt))
        return cli_failures.EXIT_INTERRUPTED
    except Exception as error:  # the store, the broker or an input failed: one line, no traceback
        line = cli_failures.failure_line(error, settings)
        if line is None:
            raise  # a bug: its traceback is what a report needs
        return _fail(line)


def _fail(message: str) -> int:
    print(f"billing: {message}", file=sys.stderr)
    return EXIT_USAGE


_LARGE_INPUT_BYTES = 2 << 20  # an input whose batches are worth hashing on another core


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from commands.ingest import expect_large_input, ingest_streams
    from commands.ingest_ahead import decides_ahead, ingest_ahead
    from commands.json_lines import check_readable, open_inputs
    from commands.progress import byte_progress

    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    check_readable(args.files)
    with open_engine(settings, create=True) as engine, byte_progress(args.files, force=settings.progress) as progress:
        size = sum(os.path.getsize(path) for path in args.files if path != "-")
        if settings.chain_worker and size >= _LARGE_INPUT_BYTES:
            expect_large_input(engine)  # the chain's worker hashes large batches on another core
        if decides_ahead(settings, size):
            counts = ingest_ahead(engine, args.files, args.batch_size, progress)
        else:
            counts = ingest_streams(engine, open_inputs(args.files), args.batch_size, progress)
    print_json(counts) if args.json else print(render.counts(counts))
    return EXIT_PROBLEM if counts.rejected else EXIT_OK


def _rejected(args: argparse.Namespace, settings: Settings) -> int:
    from commands.ingest import retry_rejections
    from commands.queries import rejected_listing

    with open_engine(settings, create=False) as engine:
        if args.retry:
            counts = retry_rejections(engine, args.reason)
            print_json(counts) if args.json else print(render.counts(counts))
            return EXIT_PROBLEM if counts.rejected else EXIT_OK
        listing = rejected_listing(engine, args.reason)
    print_json(listing) if args.json else print(render.rejections(listing))
    return EXIT_OK


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from commands.progress import count_progress
    from commands.queries import events_recorded, period_views, view_settings
    from projections.replay import first_difference, replay_period, report

    with open_engine(settings, create=False) as engine:
        as_of = args.as_of or engine.ledger.now()
        with count_progress(events_recorded(engine), "replay", force=settings.progress) as progress:
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


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from commands.demo import run_demo

    return run_demo(settings, args.out, args.customers, args.seed, args.period)


_COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "ingest": _ingest,
    "rejected": _rejected,
    "bills": cli_views.bills,
    "customers": cli_views.customers,
    "performance": cli_views.performance,
    "replay": _replay,
    "demo": _demo,
}

if __name__ == "__main__":
    sys.exit(main())
