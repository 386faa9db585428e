"""CSV for spreadsheets and resellers' reconciliation: a header row, then one row a
record; amounts exactly as in --json (strings with their decimals)."""

from __future__ import annotations

import csv
import io

from schemas.views import Bill, Performance

_AMOUNTS = ["list_amount", "discount_amount", "payable_amount", "settled_amount", "rounding_off_amount", "charges"]


def _write(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().rstrip("\n")


def bills(bill_list: list[Bill], *, summary: bool) -> str:
    """One row a bill line (`summary`: one row a bill)."""
    if summary:
        return _write(
            ["customer_id", "period", "currency", *_AMOUNTS],
            [[b.customer_id, b.period, b.currency, *(getattr(b, f) for f in _AMOUNTS)] for b in bill_list],
        )
    return _write(
        ["customer_id", "period", "currency", "service_type", "item_id", *_AMOUNTS],
        [
            [
                b.customer_id,
                b.period,
                b.currency,
                line.service_type,
                line.item_id,
                *(getattr(line, f) for f in _AMOUNTS),
            ]
            for b in bill_list
            for line in b.lines
        ],
    )


def performance(result: Performance) -> str:
    """One row a customer of the partner's performance."""
    return _write(
        ["partner_id", "period", "currency", "customer_id", "payable_amount", "settled_amount"],
        [
            [result.partner_id, result.period, result.currency, d.customer_id, d.payable_amount, d.settled_amount]
            for d in result.details
        ],
    )
