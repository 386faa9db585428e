"""Readable tables for people; `--json` prints the view Structs instead."""

from __future__ import annotations

from collections.abc import Sequence

from engine.money import format_units, units_from_fixed8
from schemas.views import CustomerCounts, IngestCounts, Performance, RejectionList


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int = 1) -> str:
    """Columns padded to their widest cell; numbers (columns from `numeric_from`) right-aligned."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append(
            "  ".join(
                cell.rjust(width) if i >= numeric_from else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def counts(result: IngestCounts) -> str:
    return f"accepted: {result.accepted}\nduplicates: {result.duplicates}\nrejected: {result.rejected}"


def rejections(listing: RejectionList) -> str:
    if not listing.rejected:
        return "no rejections kept"
    return table(
        ["arrived", "reason", "source", "id", "message", "accepted"],
        [(r.arrived, r.reason, r.source, r.id, r.message, r.accepted or "") for r in listing.rejected],
        numeric_from=99,
    )


_AMOUNT_HEADERS = ["list", "discount", "payable", "settled", "rounding-off", "charges"]


def bills(result: dict) -> str:
    period, bill_list = result["period"], result["bills"]
    if not bill_list:
        return f"no bills for {period}"
    blocks = []
    for bill in bill_list:
        rows = [
            (f"{line.service_type} {line.item_id}", *_figures(line), line.charges) for line in bill.lines
        ]
        rows.append(("total", *_figures(bill), bill.charges))
        blocks.append(f"Bill {bill.customer_id} {period} ({bill.currency})\n" + table(["line", *_AMOUNT_HEADERS], rows))
    return "\n\n".join(blocks)


def _figures(item: object) -> tuple[str, ...]:
    return (
        item.list_amount,
        item.discount_amount,
        item.payable_amount,
        item.settled_amount,
        item.rounding_off_amount,
    )


def customer_counts(result: CustomerCounts) -> str:
    return f"Customers of partner {result.partner_id}, {result.period}\n" + table(
        ["measure", "value"],
        [
            ("total customers", result.total_customers),
            ("association count", result.association_count),
            ("consuming customers", result.consuming_customers),
            ("new enterprise customers this quarter", result.new_enterprise_customers_quarter),
        ],
    )


def performance(result: Performance) -> str:
    head = (
        f"Performance of partner {result.partner_id}, {result.period} ({result.currency}): "
        f"payable {result.payable_amount}, settled {result.settled_amount}, customers {result.customers}"
    )
    parts = [head]
    if result.details:
        parts.append(table(["customer", "payable", "settled"], [(d.customer_id, d.payable_amount, d.settled_amount) for d in result.details]))
        parts.append(
            table(
                ["account manager", "payable", "settled", "customers"],
                [(t.account_manager_id or "(none)", t.payable_amount, t.settled_amount, t.customers) for t in result.by_account_manager],
            )
        )
        parts.append(
            table(
                ["reseller", "payable", "settled", "customers"],
                [(t.indirect_partner_id or "(none)", t.payable_amount, t.settled_amount, t.customers) for t in result.by_reseller],
            )
        )
    return "\n\n".join(parts)


def replay(result) -> str:
    payable = sum(units_from_fixed8(b.payable_amount) for b in result.bills)
    return (
        f"Replay of {result.period} as known at {result.as_of}\n"
        + table(
            ["view", "records"],
            [("bills", len(result.bills)), ("partners (customer counts)", len(result.customers)),
             ("partners (performance)", len(result.performance))],
        )
        + f"\npayable on bills: {format_units(payable)}\ndigest: {result.digest}"
    )
