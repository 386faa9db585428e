"""`billing status` and `billing partners`: what a store holds, at a glance."""

from __future__ import annotations

import argparse

from commands import render
from commands.bootstrap import Engine
from commands.cli_support import AddParser, Handler, add_json_option, with_engine


def add_commands(add_parser: AddParser) -> dict[str, Handler]:
    status = add_parser("status", help="what the store holds: events, customers, partners, periods, last write, size")
    add_json_option(status)
    partners = add_parser("partners", help="every partner: its customers now, its associations, its periods")
    add_json_option(partners)
    return {"status": with_engine(_status, _status_table), "partners": with_engine(_partners, _partners_table)}


def _status(engine: Engine, args: argparse.Namespace) -> object:
    from commands.overview import store_status

    return store_status(engine)


def _partners(engine: Engine, args: argparse.Namespace) -> object:
    from commands.overview import partner_list

    return partner_list(engine)


def _status_table(result: dict) -> str:
    size = result["size_bytes"]
    lines = [
        f"store: {result['store']} ({result['currency']}, {result['timezone']})"
        + (f", {size / 1_048_576:,.1f} MiB" if size is not None else ""),
        f"events recorded: {result['events']:,}",
        f"rejections kept: {result['rejections']:,} ({result['rejections_pending']:,} not accepted since)",
        f"customers: {result['customers']:,}   partners: {result['partners']:,}",
        f"last write: {result['last_recorded_at'] or 'never'}",
    ]
    if result["views_behind"]:
        lines.append(f"views: {result['views_behind']:,} events not yet written to the view tables (reads fold them)")
    if result["periods"]:
        lines.append("")
        lines.append(
            render.table(
                ["period", "bills", "charges", "status"],
                [(p["period"], f"{p['bills']:,}", f"{p['charges']:,}", p["status"] or "-") for p in result["periods"]],
                numeric_from=1,
            )
        )
    return "\n".join(lines)


def _partners_table(result: dict) -> str:
    if not result["partners"]:
        return "no partners yet (no association or attributed charge recorded)"
    return render.table(
        ["partner", "customers now", "associations", "periods with charges"],
        [
            (p["partner_id"], f"{p['customers']:,}", f"{p['associations']:,}", _periods(p["periods"]))
            for p in result["partners"]
        ],
        numeric_from=1,
    )


def _periods(periods: list[str]) -> str:
    if len(periods) <= 3:
        return ", ".join(periods) or "-"
    return f"{periods[0]} … {periods[-1]} ({len(periods)})"
