"""`billing log` and `billing verify` (CONTRACT.md §11)."""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
from eventsourcing.persistence import PersistenceError

from commands.bootstrap import open_engine
from commands.cli_support import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, AddParser, Handler, UsageError, print_json
from commands.settings import Settings

_HEAD = re.compile(r"([0-9]{1,19}):([0-9a-f]{64})")


def _position(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a position (an integer from 1)")
    return int(text)


def _head(text: str) -> tuple[int, str]:
    match = _HEAD.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not POSITION:HASH (a position, a colon, 64 lowercase hex digits)"
        )
    return int(match[1]), match[2]


def add_commands(add_parser: AddParser) -> dict[str, Handler]:
    log = add_parser("log", help="the log's entries as JSON Lines, each with its place in the hash chain")
    log.add_argument("--from", dest="first", type=_position, metavar="N", help="first position, inclusive (default: 1)")
    log.add_argument(
        "--to", dest="last", type=_position, metavar="N", help="last position, inclusive (default: the head)"
    )
    log.add_argument(
        "--head", action="store_true", help="print only {position, hash} of the last entry (not with --from/--to)"
    )
    log.add_argument("--json", action="store_true", help="accepted for symmetry: the output is always JSON")

    verify = add_parser("verify", help="recompute the hash chain and check the store itself")
    verify.add_argument(
        "--head",
        type=_head,
        metavar="POSITION:HASH",
        help="also check that this head (e.g. a statement's log_head) is in the chain (default: none)",
    )
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    return {"log": _log, "verify": _verify}


@contextmanager
def _readable_store(settings: Settings) -> Iterator:
    """Opens an existing store; a store that fails under the reads is exit 2, one line."""
    with open_engine(settings, create=False) as engine:
        try:
            yield engine
        except (PersistenceError, sqlite3.Error) as error:
            raise _Damaged(" ".join(str(error).split()) or type(error).__name__) from None


class _Damaged(Exception):
    pass


def _log(args: argparse.Namespace, settings: Settings) -> int:
    from commands.log_chain import ChainBroken, log_entries, log_head

    if args.head and (args.first is not None or args.last is not None):
        raise UsageError("--head cannot be combined with --from or --to")
    if args.first is not None and args.last is not None and args.first > args.last:
        raise UsageError(f"--from {args.first} is after --to {args.last}")
    try:
        with _readable_store(settings) as engine:
            out, encode = sys.stdout.buffer, msgspec.json.Encoder().encode
            try:
                if args.head:
                    print_json(log_head(engine))
                    return EXIT_OK
                for entry in log_entries(engine, args.first or 1, args.last):
                    out.write(encode(entry) + b"\n")
            except ChainBroken as broken:
                out.flush()
                print(f"billing: the log can't be rendered at {broken}; run `billing verify`", file=sys.stderr)
                return EXIT_PROBLEM
    except _Damaged as damaged:
        print(f"billing: the store is damaged: {damaged}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from commands.progress import count_progress
    from commands.queries import events_recorded
    from commands.verify import StoreDamaged, verify

    try:
        with _readable_store(settings) as engine:
            total = events_recorded(engine)
            with count_progress(total, "verify") as progress:
                report = verify(engine, args.head, progress)
    except (StoreDamaged, _Damaged) as damaged:
        print(
            f"billing: {damaged}" if isinstance(damaged, StoreDamaged) else f"billing: the store is damaged: {damaged}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.json:
        print_json(report)
    if not report.verified:
        print(f"billing: {report.problem}", file=sys.stderr)
        return EXIT_PROBLEM
    if not args.json:
        head = report.head
        print(f"verified: {head.position} entries, head {head.position}:{head.hash}")
        print(
            f"store: integrity check passed; event ids taken; live views equal a replay of "
            f"{len(report.periods)} period(s)"
        )
    return EXIT_OK
