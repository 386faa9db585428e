"""`billing resources`, `authorization …`, `authorizations`, `catalog load` and
`service-types` (CONTRACT.md §12)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from commands import render_resources as render
from commands.bootstrap import open_engine
from commands.cli_support import EXIT_OK, UsageError, period, print_json, with_engine
from commands.settings import Settings
from engine.authorization.decide import STATUSES
from engine.errors import FieldError

_JSON_HELP = "print JSON instead of a table (default: a table)"


def _text(low: int, high: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not low <= len(value) <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high} characters")
        return value

    check.__name__ = f"{low}..{high} characters"
    return check


identifier, reason_text = _text(1, 64), _text(1, 512)


def _global_options() -> argparse.ArgumentParser:
    """The global options, accepted after a second-level command too
    (`billing authorization approve --id A --store …`), as the first level accepts them."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store", default=argparse.SUPPRESS, help="store URL (default: $BILLING_STORE or sqlite:///billing.db)"
    )
    common.add_argument(
        "--kafka",
        default=argparse.SUPPRESS,
        metavar="HOST:PORT[,…]",
        help="Kafka brokers (default: $BILLING_KAFKA or localhost:9092)",
    )
    common.add_argument(
        "--group", default=argparse.SUPPRESS, help="consumer group (default: $BILLING_GROUP or billing)"
    )
    return common


def add_commands(add_parser) -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    resources = add_parser("resources", help="a customer's on-demand resources, from its usage")
    resources.add_argument("--customer", required=True, type=identifier, metavar="ID", help="the customer (required)")
    resources.add_argument(
        "--period", type=period, metavar="YYYY-MM", help="only this period's usage (default: every period)"
    )
    resources.add_argument(
        "--as-partner",
        type=identifier,
        metavar="ID",
        help="read as this partner: refused unless it holds an approved authorization (default: read as the operator)",
    )
    resources.add_argument(
        "--reseller",
        type=identifier,
        metavar="ID",
        help="with --as-partner: the reseller its authorization request named (default: none)",
    )
    resources.add_argument("--json", action="store_true", help=_JSON_HELP)

    authorization = add_parser(
        "authorization", help="a partner's request for a customer's authorization, and the customer's answers"
    )
    common = [_global_options()]
    steps = authorization.add_subparsers(dest="authorization_command", required=True, parser_class=type(authorization))
    request = steps.add_parser(
        "request", parents=common, help="a partner asks a customer it is associated with now (status pending)"
    )
    request.add_argument(
        "--partner", required=True, type=identifier, metavar="ID", help="the partner asking (required)"
    )
    request.add_argument(
        "--customer", required=True, type=identifier, metavar="ID", help="the customer asked (required)"
    )
    request.add_argument(
        "--id", required=True, type=identifier, metavar="ID", help="the request's id, its idempotency key (required)"
    )
    request.add_argument(
        "--reseller",
        type=identifier,
        metavar="ID",
        help="the reseller of a reseller's sub-customer, as its association names it (default: none)",
    )
    for name, text in (
        ("approve", "pending -> approved"),
        ("reject", "pending -> rejected"),
        ("revoke", "approved -> revoked"),
    ):
        step = steps.add_parser(name, parents=common, help=f"the customer's answer, recorded on its behalf: {text}")
        step.add_argument("--id", required=True, type=identifier, metavar="ID", help="the request's id (required)")
        if name == "reject":
            step.add_argument(
                "--reason", required=True, type=reason_text, metavar="TEXT", help="why, 1..512 characters (required)"
            )
    for parser in (request, *(steps.choices[name] for name in ("approve", "reject", "revoke"))):
        parser.add_argument("--json", action="store_true", help=_JSON_HELP)

    listing = add_parser("authorizations", help="authorization requests with their histories, in request order")
    listing.add_argument("--partner", type=identifier, metavar="ID", help="only this partner's (default: all)")
    listing.add_argument("--customer", type=identifier, metavar="ID", help="only of this customer (default: all)")
    listing.add_argument(
        "--status",
        choices=STATUSES,
        metavar="STATUS",
        help=f"only in this status: {', '.join(STATUSES)} (default: all)",
    )
    listing.add_argument("--json", action="store_true", help=_JSON_HELP)

    catalog = add_parser("catalog", help="the service catalogue: names of service types")
    catalog_steps = catalog.add_subparsers(dest="catalog_command", required=True, parser_class=type(catalog))
    load = catalog_steps.add_parser(
        "load", parents=common, help="record a catalogue file; it replaces the whole catalogue"
    )
    load.add_argument(
        "file",
        metavar="FILE",
        help='JSON: {"service_types": [{"service_type", "service_type_name", "service_type_name_en"}]} (- for stdin)',
    )
    load.add_argument("--json", action="store_true", help=_JSON_HELP)

    types = add_parser("service-types", help="every service type seen in a charge or named in the catalogue")
    types.add_argument("--json", action="store_true", help=_JSON_HELP)
    return {
        "resources": _field_errors(with_engine(_resources, render.resources)),
        "authorization": _field_errors(_authorization),
        "authorizations": _field_errors(with_engine(_authorizations, render.authorizations)),
        "catalog": _field_errors(_catalog),
        "service-types": with_engine(_service_types, render.service_types),
    }


def _field_errors(handler):
    """A handler's FieldError (a bad field the options did not catch) is a usage error."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return handler(args, settings)
        except FieldError as error:
            raise UsageError(str(error)) from None

    return run


def _resources(engine, args: argparse.Namespace) -> object:
    from commands.catalog import service_type_names
    from commands.resources import customer_resources

    if args.reseller is not None and args.as_partner is None:
        raise UsageError("--reseller needs --as-partner")
    result = customer_resources(engine, args.customer, args.period, as_partner=args.as_partner, reseller=args.reseller)
    return result if args.json else (result, service_type_names(engine))


def _authorization(args: argparse.Namespace, settings: Settings) -> int:
    from commands.authorizations import answer_authorization, request_authorization

    with open_engine(settings, create=True) as engine:
        if args.authorization_command == "request":
            result = request_authorization(
                engine,
                authorization_id=args.id,
                partner_id=args.partner,
                customer_id=args.customer,
                reseller=args.reseller,
            )
        else:
            result = answer_authorization(engine, args.id, args.authorization_command, getattr(args, "reason", None))
    print_json(result.authorization) if args.json else print(render.authorization(result.authorization))
    if result.repeated:
        print(f"billing: authorization {args.id} was already requested: nothing changed", file=sys.stderr)
    return EXIT_OK


def _authorizations(engine, args: argparse.Namespace) -> object:
    from commands.authorizations import list_authorizations

    return list_authorizations(engine, partner_id=args.partner, customer_id=args.customer, status=args.status)


def _catalog(args: argparse.Namespace, settings: Settings) -> int:
    from commands.catalog import load_catalog, parse_catalog

    content = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    try:
        entries = parse_catalog(content)
    except FieldError as error:
        raise UsageError(f"{args.file}: {error}") from None
    with open_engine(settings, create=True) as engine:
        loaded = load_catalog(engine, entries)
    print_json({"service_types": loaded}) if args.json else print(render.catalog_loaded(loaded))
    return EXIT_OK


def _service_types(engine, args: argparse.Namespace) -> object:
    from commands.catalog import service_types

    return service_types(engine)
