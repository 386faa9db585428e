"""Readable tables for people; `--json` prints the view Structs instead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import wcwidth

from engine.money import format_units, parse_amount, units_from_fixed8
from schemas.resources import ServiceTypeNames
from schemas.views import CustomerCounts, IngestCounts, Performance, RejectionList


def width(text: str) -> int:
    """Columns the text takes in a terminal: 2 for a CJK character (客户), 0 for a
    combining mark; a control character (never printed here) counts as 1."""
    columns = wcwidth.width(text)
    return columns if columns >= 0 else len(text)


def _cell(value: object) -> str:
    if value is None:
        return ""
    return " ".join(str(value).split()) if isinstance(value, str) else str(value)  # no line breaks or tabs


def clip(text: str, columns: int) -> str:
    """The text cut to `columns` display columns, with … where it was cut."""
    if width(text) <= columns:
        return text
    kept, used = [], 0
    for char in text:
        char_width = max(width(char), 0)
        if used + char_width > columns - 1:
            break
        kept.append(char)
        used += char_width
    return "".join(kept) + "…"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    numeric_from: int = 1,
    max_widths: dict[int, int] | None = None,
) -> str:
    """Columns padded to their widest cell in display columns (CJK text is two wide);
    numbers (columns from `numeric_from`) right-aligned; a column with a maximum in
    `max_widths` is clipped to it."""
    max_widths = max_widths or {}
    cells = [[str(h) for h in headers]] + [
        [clip(_cell(c), max_widths[i]) if i in max_widths else _cell(c) for i, c in enumerate(row)] for row in rows
    ]
    widths = [max(width(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append(
            "  ".join(
                _pad(cell, column_width, right=i >= numeric_from)
                for i, (cell, column_width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if index == 0:
            lines.append("  ".join("-" * column_width for column_width in widths))
    return "\n".join(lines)


def _pad(cell: str, columns: int, *, right: bool) -> str:
    fill = " " * max(columns - width(cell), 0)
    return fill + cell if right else cell + fill


def service_type_label(service_type: str, names: Mapping[str, ServiceTypeNames]) -> str:
    """A service type with its catalogue name, if it has one (`ECS 弹性云服务器`)."""
    entry = names.get(service_type)
    name = entry and (entry.service_type_name or entry.service_type_name_en)
    return f"{service_type} {name}" if name else service_type


def counts(result: IngestCounts) -> str:
    return f"accepted: {result.accepted:,}\nduplicates: {result.duplicates:,}\nrejected: {result.rejected:,}"


TABLE_COLUMNS = 120  # what a wide terminal shows; full text is in --json


def rejections(listing: RejectionList) -> str:
    rows = listing.rejected
    if not rows:
        return "no rejections kept"
    headers = ["arrived", "reason", "source", "id", "message", "accepted"]
    shown = [(_seconds(r.arrived), r.reason, r.source, r.id, r.message, "yes" if r.accepted else "") for r in rows]
    limits = {2: 16, 3: 14}
    natural = [
        max([width(headers[i])] + [min(width(_cell(row[i])), limits.get(i, 999)) for row in shown])
        for i in range(len(headers))
    ]
    limits[4] = max(20, TABLE_COLUMNS - sum(natural) + natural[4] - 2 * (len(headers) - 1))
    return table(headers, shown, numeric_from=99, max_widths=limits) + "\n(full messages: billing rejected --json)"


def _seconds(recorded_at: str) -> str:
    """A recorded time to the second, as a person reads it (UTC)."""
    return recorded_at[:19].replace("T", " ") if recorded_at else ""


_AMOUNT_HEADERS = ["list", "discount", "payable", "settled", "rounding-off", "charges"]


def bills(result: dict) -> str:
    period, bill_list = result["period"], result["bills"]
    if not bill_list:
        return _no_bills(result)
    names = result.get("service_type_names", {})  # the catalogue's, for people only (not in JSON)
    blocks = []
    for bill in bill_list:
        rows = [
            (f"{service_type_label(line.service_type, names)} {line.item_id}", *_figures(line), line.charges)
            for line in bill.lines
        ]
        rows.append(("total", *_figures(bill), bill.charges))
        blocks.append(f"Bill {bill.customer_id} {period} ({bill.currency})\n" + table(["line", *_AMOUNT_HEADERS], rows))
    return "\n\n".join(blocks)


def bills_summary(result: dict) -> str:
    """One row a bill, and their total."""
    period, bill_list = result["period"], result["bills"]
    if not bill_list:
        return _no_bills(result)
    rows: list[tuple] = [(bill.customer_id, bill.currency, *_figures(bill), bill.charges) for bill in bill_list]
    minor_digits = len(bill_list[0].settled_amount.partition(".")[2])
    totals = [
        format_units(sum(parse_amount("total", figure) for figure in column), minor_digits if index == 3 else 8)
        for index, column in enumerate(zip(*(_figures(bill) for bill in bill_list), strict=True))
    ]
    label = f"total ({len(bill_list):,} bill{'s' if len(bill_list) != 1 else ''})"
    rows.append((label, "", *totals, sum(bill.charges for bill in bill_list)))
    return f"Bills {period}\n" + table(["customer", "currency", *_AMOUNT_HEADERS], rows, numeric_from=2)


def _no_bills(result: dict) -> str:
    customer = result.get("customer")
    if customer is not None:
        return f"no bill for customer {customer} in {result['period']} (no charge of it was recorded for that period)"
    return f"no bills for {result['period']}"


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
        details = [(d.customer_id, d.payable_amount, d.settled_amount) for d in result.details]
        parts.append(table(["customer", "payable", "settled"], details))
        parts.append(
            table(
                ["account manager", "payable", "settled", "customers"],
                [
                    (t.account_manager_id or "(none)", t.payable_amount, t.settled_amount, t.customers)
                    for t in result.by_account_manager
                ],
            )
        )
        parts.append(
            table(
                ["reseller", "payable", "settled", "customers"],
                [
                    (t.indirect_partner_id or "(none)", t.payable_amount, t.settled_amount, t.customers)
                    for t in result.by_reseller
                ],
            )
        )
    return "\n\n".join(parts)


def replay(result) -> str:
    payable = sum(units_from_fixed8(b.payable_amount) for b in result.bills)
    return (
        f"Replay of {result.period} as known at {result.as_of}\n"
        + table(
            ["view", "records"],
            [
                ("bills", len(result.bills)),
                ("partners (customer counts)", len(result.customers)),
                ("partners (performance)", len(result.performance)),
            ],
        )
        + f"\npayable on bills: {format_units(payable)}\ndigest: {result.digest}"
    )


def customer_list(result: dict) -> str:
    if not result["customers"]:
        return "no customers yet"
    return table(
        ["customer", "partner", "type", "associated", "until", "account manager", "reseller"],
        [
            (
                c["customer_id"],
                c["partner_id"] or "-",
                c["customer_type"] or "-",
                _seconds(c["associated_at"] or ""),
                _seconds(c["disassociated_at"] or ""),
                c["account_manager_id"] or "",
                c["indirect_partner_id"] or "",
            )
            for c in result["customers"]
        ],
        numeric_from=99,
    )
