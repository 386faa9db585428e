"""What every `billing` subcommand shares: exit statuses, usage errors, option types,
JSON output and the read-a-view pattern. Feature modules (`cli_*.py`) build on it."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable

import msgspec

from commands.bootstrap import Engine, open_engine
from commands.settings import Settings
from engine.instants import InvalidTime, parse_instant, parse_period, recorded_time

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2

# Set by a SIGTERM that arrived while the command line was loading (`cli.main`).
TERMINATED = threading.Event()

Handler = Callable[[argparse.Namespace, Settings], int]
AddParser = Callable[..., argparse.ArgumentParser]


class UsageError(Exception):
    """A command-line mistake; the message is shown as is, pointing at `prog --help`."""

    def __init__(self, message: str, prog: str = "billing"):
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits with 2 too, but prints usage
        raise UsageError(message, self.prog)


def add_json_option(
    parser: argparse.ArgumentParser, help_: str = "print JSON (the contract's shape) instead of a table"
) -> None:
    parser.add_argument("--json", action="store_true", help=help_)


def add_output_options(parser: argparse.ArgumentParser, *, csv: bool = False) -> None:
    """--json, and --csv (a file a spreadsheet opens), one or the other."""
    outputs = parser.add_mutually_exclusive_group()
    add_json_option(outputs)
    if csv:
        outputs.add_argument("--csv", action="store_true", help="print CSV (a header row, then one row a record)")


def add_period_option(
    parser: argparse.ArgumentParser,
    *,
    required: bool = True,
    help_: str = "the billing period: a calendar month in BILLING_TIMEZONE",
) -> None:
    parser.add_argument("--period", required=required, type=period, metavar="YYYY-MM", help=help_)


def add_kafka_options(parser: argparse.ArgumentParser, *, group: bool = False) -> None:
    """--kafka (and --group), for the commands that talk to the broker."""
    parser.add_argument(
        "--kafka", metavar="HOST:PORT[,…]", help="Kafka brokers (default: $BILLING_KAFKA or localhost:9092)"
    )
    if group:
        parser.add_argument("--group", help="the consumer group (default: $BILLING_GROUP or billing)")


def period(text: str) -> str:
    """An option's YYYY-MM billing period."""
    try:
        parse_period(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def moment(text: str) -> str:
    """An option's RFC 3339 time with its offset, as a recorded-time string (UTC)."""
    try:
        return recorded_time(parse_instant(text))
    except InvalidTime as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def print_json(value: object) -> None:
    """JSON as UTF-8 bytes (non-ASCII text as it is, never \\u escapes), whatever the
    locale's encoding."""
    sys.stdout.flush()
    sys.stdout.buffer.write(msgspec.json.encode(value) + b"\n")
    sys.stdout.buffer.flush()


def with_engine(show: Callable[[Engine, argparse.Namespace], object], table: Callable[[object], str]) -> Handler:
    """A read command: opens an existing store, asks `show`, prints JSON or a table."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        with open_engine(settings, create=False) as engine:
            result = show(engine, args)
        print_json(result) if args.json else print(table(result))
        return EXIT_OK

    return run


def with_global_options(add_parser: AddParser, parent: argparse.ArgumentParser) -> AddParser:
    """`add_parser` of a command's own subcommands (`billing subsidy plan … --store …`):
    the global options the command accepts after its name, accepted after theirs too."""
    common = argparse.ArgumentParser(add_help=False)
    for action in parent._actions:
        if action.dest in ("store", "kafka", "group") and action.option_strings:
            common._add_action(action)

    def add(name: str, **kwargs) -> argparse.ArgumentParser:
        return add_parser(name, parents=[common], **kwargs)

    return add
