"""Inline SVG charts for the console: no script, no build step, readable without colour."""

from __future__ import annotations

from decimal import Decimal
from html import escape

WIDTH, HEIGHT = 960, 240
MARGIN_LEFT, MARGIN_BOTTOM, MARGIN_TOP = 72, 36, 16


def bar_chart(points: list[tuple[str, str]], title: str, highlight: str | None = None) -> str:
    """A bar per (label, amount) pair (amounts as decimal strings), the highlighted
    label's bar darker; each bar carries its exact amount as a tooltip and a data attribute."""
    if not points:
        return ""
    values = [Decimal(amount) for _, amount in points]
    top = max(max(values), Decimal(0))
    bottom = min(min(values), Decimal(0))
    span = (top - bottom) or Decimal(1)
    plot_height = HEIGHT - MARGIN_BOTTOM - MARGIN_TOP
    slot = (WIDTH - MARGIN_LEFT - 8) / len(points)
    bar_width = max(min(slot * 0.7, 48), 2)

    def y(value: Decimal) -> float:
        return MARGIN_TOP + float((top - value) / span) * plot_height

    zero = y(Decimal(0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="chart" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line x1="{MARGIN_LEFT}" y1="{zero:.1f}" x2="{WIDTH - 4}" y2="{zero:.1f}" class="axis"/>',
        f'<text x="{MARGIN_LEFT - 6}" y="{y(top) + 4:.1f}" text-anchor="end" class="tick">{escape(_short(top))}</text>',
        f'<text x="{MARGIN_LEFT - 6}" y="{zero + 4:.1f}" text-anchor="end" class="tick">0</text>',
    ]
    label_every = max(1, len(points) // 12)
    for index, ((label, amount), value) in enumerate(zip(points, values, strict=True)):
        x = MARGIN_LEFT + index * slot + (slot - bar_width) / 2
        y_top, y_bottom = sorted((y(value), zero))
        css = "bar current" if label == highlight else "bar"
        parts.append(
            f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar_width:.1f}" height="{max(y_bottom - y_top, 0.5):.1f}" '
            f'class="{css}" data-period="{escape(label)}" data-amount="{escape(amount)}">'
            f"<title>{escape(label)}: {escape(amount)}</title></rect>"
        )
        if index % label_every == 0 or label == highlight:
            parts.append(
                f'<text x="{x + bar_width / 2:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" text-anchor="middle" '
                f'class="tick">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _short(value: Decimal) -> str:
    """An axis label: thousands as k, millions as M."""
    for size, suffix in ((Decimal(1_000_000), "M"), (Decimal(1_000), "k")):
        if abs(value) >= size:
            return f"{(value / size).quantize(Decimal('0.1'))}{suffix}"
    return f"{value.quantize(Decimal('1'))}"
