"""The view commands' handlers (CONTRACT.md §5): `bills` (detailed, `--summary`,
`--csv`), `customers` (the dashboard, or `--list`) and `performance` (or `--csv`)."""

from __future__ import annotations

import argparse

from commands import render
from commands.bootstrap import Engine, open_engine
from commands.cli_support import EXIT_OK, UsageError, print_json, with_engine
from commands.settings import Settings
from projections.queries import Scope


def bills(args: argparse.Namespace, settings: Settings) -> int:
    from commands import render_csv
    from commands.queries import bills

    with open_engine(settings, create=False) as engine:
        bill_list = bills(engine, args.period, args.customer)
        names = {} if args.json or args.csv else _service_type_names(engine)
    if args.json:
        print_json({"period": args.period, "bills": bill_list})
    elif args.csv:
        print(render_csv.bills(bill_list, summary=args.summary))
    else:
        # Tables show the catalogue's names of service types; JSON and CSV do not.
        result = {"period": args.period, "bills": bill_list, "customer": args.customer, "service_type_names": names}
        print(render.bills_summary(result) if args.summary else render.bills(result))
    return EXIT_OK


def _service_type_names(engine) -> dict:
    from commands.catalog import service_type_names

    return service_type_names(engine)


def customers(args: argparse.Namespace, settings: Settings) -> int:
    if args.list:
        from commands.overview import customer_list

        with open_engine(settings, create=False) as engine:
            result = customer_list(engine, args.partner)
        print_json(result) if args.json else print(render.customer_list(result))
        return EXIT_OK
    missing = [option for option, value in (("--partner", args.partner), ("--period", args.period)) if value is None]
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required (or --list)", "billing customers"
        )
    return with_engine(_customer_counts, render.customer_counts)(args, settings)


def _customer_counts(engine: Engine, args: argparse.Namespace) -> object:
    from commands.queries import customer_counts

    scope = Scope(account_manager_id=args.account_manager, indirect_partner_id=args.reseller)
    return customer_counts(engine, args.partner, args.period, scope)


def performance(args: argparse.Namespace, settings: Settings) -> int:
    from commands import render_csv
    from commands.queries import performance

    with open_engine(settings, create=False) as engine:
        result = performance(engine, args.partner, args.period)
    if args.json:
        print_json(result)
    else:
        print(render_csv.performance(result) if args.csv else render.performance(result))
    return EXIT_OK
