"""`billing calendar`, `billing subsidy`, `billing subsidies` and `billing incentives`
(CONTRACT.md §9): options in, handlers called, JSON or a readable table out.

Writes (`calendar load`, `subsidy plan|deliver`, `incentives load`) create the store,
as every writing command does; reads need an existing one. A malformed file or
argument is a usage error (exit 2); a refusal prints `code: message` (exit 1).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from commands import render_incentives as show
from commands.bootstrap import build_rules, open_engine
from commands.cli_support import (
    EXIT_OK,
    AddParser,
    Handler,
    Parser,
    UsageError,
    period,
    print_json,
    with_global_options,
)
from commands.settings import Settings
from engine.incentives.policies import PolicyFileError, read_policy
from engine.incentives.working_days import CalendarFileError, read_calendar_file


def _day(text: str) -> date:
    """An option's YYYY-MM-DD date."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _identifier(text: str) -> str:
    """An option's id: 1 to 64 characters."""
    if not 1 <= len(text) <= 64:
        raise argparse.ArgumentTypeError("must be 1 to 64 characters")
    return text


def _read_file(name: str) -> bytes:
    """A file's bytes ('-': standard input); unreadable is a usage error (exit 2)."""
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {name}: {error.strerror or error}") from None


def _judged_before_opening(name: str, read) -> None:
    """Reads a file before the store is opened, so a malformed one (a usage error)
    creates no store and changes nothing (CONTRACT.md §5)."""
    try:
        read()
    except (PolicyFileError, CalendarFileError) as error:
        raise UsageError(f"{name}: {error}") from None


def add_commands(add_parser: AddParser) -> dict[str, Handler]:
    calendar = add_parser("calendar", help="the working-day calendar's years, or load a year's official schedule")
    calendar.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    calendar_commands = calendar.add_subparsers(dest="calendar_command", parser_class=Parser)
    calendar_commands.add_parser = with_global_options(calendar_commands.add_parser, calendar)
    load = calendar_commands.add_parser(
        "load", help="record a year's official schedule (JSON: year, holidays, working_days, source)"
    )
    load.add_argument("file", metavar="FILE", help="the schedule file ('-' for stdin)")
    load.add_argument("--json", action="store_true", help="print JSON (default: a table)")

    subsidy = add_parser("subsidy", help="register a deal's milestone or record its delivery")
    steps = subsidy.add_subparsers(dest="subsidy_command", required=True, parser_class=Parser)
    steps.add_parser = with_global_options(steps.add_parser, subsidy)
    plan = steps.add_parser("plan", help="register a milestone with its planned date and subsidy amount")
    plan.add_argument("--partner", required=True, type=_identifier, metavar="ID", help="the deal's partner (required)")
    plan.add_argument("--deal", required=True, type=_identifier, metavar="ID", help="the registered deal (required)")
    plan.add_argument("--milestone", required=True, type=_identifier, metavar="ID", help="the milestone (required)")
    plan.add_argument("--planned", required=True, type=_day, metavar="YYYY-MM-DD", help="the planned date (required)")
    plan.add_argument(
        "--amount", required=True, metavar="A", help="the subsidy, at most the currency's minor digits (required)"
    )
    plan.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    deliver = steps.add_parser("deliver", help="record a milestone's delivery and decide its subsidy (once)")
    deliver.add_argument("--deal", required=True, type=_identifier, metavar="ID", help="the deal (required)")
    deliver.add_argument("--milestone", required=True, type=_identifier, metavar="ID", help="the milestone (required)")
    deliver.add_argument(
        "--delivered", required=True, type=_day, metavar="YYYY-MM-DD", help="the delivery date (required)"
    )
    deliver.add_argument("--json", action="store_true", help="print JSON (default: a table)")

    listing = add_parser("subsidies", help="milestones and their subsidies, by deal then milestone")
    listing.add_argument("--partner", metavar="ID", help="only this partner's (default: all)")
    listing.add_argument("--deal", metavar="ID", help="only this deal's (default: all)")
    listing.add_argument("--json", action="store_true", help="print JSON (default: a table)")

    incentives = add_parser(
        "incentives",
        help="a partner's incentive for a period (the incentive dashboard), load a policy, or settle a period",
    )
    incentives.add_argument("--partner", metavar="ID", help="the partner (required without a subcommand)")
    incentives.add_argument(
        "--period", type=period, metavar="YYYY-MM", help="the period (required without a subcommand)"
    )
    scope = incentives.add_mutually_exclusive_group()
    scope.add_argument(
        "--account-manager", metavar="ID", help="only what carries this account manager (default: the whole partner)"
    )
    scope.add_argument(
        "--supervisor",
        metavar="ID",
        help="only what carries this supervisor's account managers (default: the whole partner)",
    )
    incentives.add_argument("--json", action="store_true", help="print JSON (default: the dashboard)")
    policy_commands = incentives.add_subparsers(dest="incentives_command", parser_class=Parser)
    policy_commands.add_parser = with_global_options(policy_commands.add_parser, incentives)
    policy = policy_commands.add_parser("load", help="record an incentive policy (JSON file)")
    policy.add_argument("file", metavar="FILE", help="the policy file ('-' for stdin)")
    policy.add_argument("--json", action="store_true", help="print JSON (default: text)")
    settle = policy_commands.add_parser(
        "settle",
        help="credit each partner's final incentive of a closed period whose statements are all confirmed (once)",
    )
    settle.add_argument("--period", required=True, type=period, metavar="YYYY-MM", help="the closed period (required)")
    settle.add_argument("--json", action="store_true", help="print JSON (default: a table)")
    return {"calendar": _calendar, "subsidy": _subsidy, "subsidies": _subsidies, "incentives": _incentives}


def _calendar(args: argparse.Namespace, settings: Settings) -> int:
    from commands.subsidies import calendar_years, load_calendar

    if args.calendar_command == "load":
        content = _read_file(args.file)
        _judged_before_opening(args.file, lambda: read_calendar_file(content))
        with open_engine(settings, create=True) as engine:
            try:
                outcome = load_calendar(engine, content)
            except CalendarFileError as error:
                raise UsageError(f"{args.file}: {error}") from None
        print_json(outcome.value) if args.json else print(show.calendar_loaded(outcome))
        return EXIT_OK
    with open_engine(settings, create=False) as engine:
        years = calendar_years(engine)
    print_json(years) if args.json else print(show.calendar(years))
    return EXIT_OK


def _subsidy(args: argparse.Namespace, settings: Settings) -> int:
    from commands.subsidies import InvalidArgument, deliver_milestone, money_units, plan_milestone

    if args.subsidy_command == "plan":  # a usage error creates no store
        try:
            money_units(args.amount, build_rules(settings).minor_digits)
        except InvalidArgument as error:
            raise UsageError(f"--{error}") from None
    with open_engine(settings, create=True) as engine:
        if args.subsidy_command == "plan":
            try:
                outcome = plan_milestone(engine, args.partner, args.deal, args.milestone, args.planned, args.amount)
            except InvalidArgument as error:
                raise UsageError(f"--{error}") from None
            result, note = outcome.value, None if outcome.recorded else "already planned so: nothing changed"
        else:
            result, note = deliver_milestone(engine, args.deal, args.milestone, args.delivered), None
    if args.json:
        print_json(result)
    else:
        print(show.subsidies([result]) + (f"\n{note}" if note else ""))
    return EXIT_OK


def _subsidies(args: argparse.Namespace, settings: Settings) -> int:
    from commands.subsidies import subsidies

    with open_engine(settings, create=False) as engine:
        listing = subsidies(engine, args.partner, args.deal)
    print_json(listing) if args.json else print(show.subsidies(listing.subsidies))
    return EXIT_OK


def _incentives(args: argparse.Namespace, settings: Settings) -> int:
    from commands.incentives import IncentiveScope, dashboard, incentive_report, load_policy

    if args.incentives_command == "settle":
        return _settle(args, settings)
    if args.incentives_command == "load":
        content = _read_file(args.file)
        _judged_before_opening(args.file, lambda: read_policy(content))
        with open_engine(settings, create=True) as engine:
            try:
                outcome = load_policy(engine, content)
            except PolicyFileError as error:
                raise UsageError(f"{args.file}: {error}") from None
        print_json(outcome.value) if args.json else print(show.policy_loaded(outcome))
        return EXIT_OK
    if args.partner is None or args.period is None:
        raise UsageError("incentives: --partner and --period are required")
    scope = IncentiveScope(account_manager_id=args.account_manager, supervisor_id=args.supervisor)
    with open_engine(settings, create=False) as engine:
        if args.json:
            print_json(incentive_report(engine, args.partner, args.period, scope))
        else:
            print(show.dashboard(dashboard(engine, args.partner, args.period, scope)))
    return EXIT_OK


def _settle(args: argparse.Namespace, settings: Settings) -> int:
    from commands.cli_statements import open_existing
    from commands.incentive_settle import settle_incentives

    with open_existing(settings, write=True) as engine:  # a store with closed periods, or nothing to settle
        outcome = settle_incentives(engine, args.period)
    print_json(outcome.value) if args.json else print(show.settlement(outcome.value))
    if not outcome.recorded and outcome.value.transfers:
        print(f"billing: incentives of {args.period} were already settled so: nothing changed", file=sys.stderr)
    return EXIT_OK
