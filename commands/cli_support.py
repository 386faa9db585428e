"""What every `billing` subcommand shares: exit statuses, usage errors, option types,
JSON output and the read-a-view pattern. Feature modules (`cli_*.py`) build on it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import msgspec

from commands.bootstrap import Engine, open_engine
from commands.settings import Settings
from engine.instants import InvalidTime, parse_instant, parse_period, recorded_time

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace, Settings], int]
AddParser = Callable[..., argparse.ArgumentParser]


class UsageError(Exception):
    """A command-line mistake; the message is shown as is."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits with 2 too, but prints usage
        raise UsageError(message)


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
    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")


def with_engine(show: Callable[[Engine, argparse.Namespace], object], table: Callable[[object], str]) -> Handler:
    """A read command: opens an existing store, asks `show`, prints JSON or a table."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        with open_engine(settings, create=False) as engine:
            result = show(engine, args)
        print_json(result) if args.json else print(table(result))
        return EXIT_OK

    return run
