"""The agreement page's plots as inline SVG, drawn by the collector: no chart library, no CDN, no
script, so the page reads the same with JavaScript off and prints as it shows.

Two plots: ``interval_chart`` (one row per label schema or judge: the figure as a dot, its
bootstrap 95% interval as a bar, on a -1..1 axis with Krippendorff's 0.667 and 0.8 marks) and
``confusion_chart`` (a matrix of counts, shaded by count). Every text is escaped; each SVG has a
``<title>`` and ``role="img"`` so a screen reader names it, and the numbers are also in the tables
beside the plots.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

ROW_H = 28
LABEL_W = 170
PLOT_W = 420
VALUE_W = 150
MARKS = ((0.0, "0"), (0.667, ".667"), (0.8, ".8"))  # Krippendorff: rely on >= .8, tentative >= .667
CELL = 44


def _x(value: float) -> float:
    """-1..1 onto the plot (values outside are pinned to the edge)."""
    return LABEL_W + (max(-1.0, min(1.0, value)) + 1.0) / 2.0 * PLOT_W


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def interval_chart(rows: list[dict[str, Any]], key: str, label_key: str, title: str) -> Markup:
    """``rows[i][key]`` = ``{"value", "low", "high"}`` (None where undefined), labelled by ``label_key``."""
    height = ROW_H * (len(rows) + 1) + 10
    width = LABEL_W + PLOT_W + VALUE_W
    parts = [
        f'<svg class="chart interval" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    bottom = ROW_H * len(rows) + 4
    for mark, text in MARKS:
        x = _x(mark)
        parts.append(
            f'<line class="mark" x1="{x:.1f}" y1="4" x2="{x:.1f}" y2="{bottom}"/>'
            f'<text class="axis" x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{text}</text>'
        )
    for edge, text in ((-1.0, "-1"), (1.0, "1")):
        parts.append(f'<text class="axis" x="{_x(edge):.1f}" y="{bottom + 14}" text-anchor="middle">{text}</text>')
    for i, row in enumerate(rows):
        y = ROW_H * i + ROW_H / 2 + 4
        figure = row.get(key) or {}
        value, low, high = figure.get("value"), figure.get("low"), figure.get("high")
        name = escape(str(row.get(label_key, "")))
        parts.append(
            f'<g class="row" data-name="{name}"><text class="label" x="{LABEL_W - 8}" y="{y + 4:.1f}" '
            f'text-anchor="end">{name}</text>'
        )
        if low is not None and high is not None:
            parts.append(f'<line class="interval" x1="{_x(low):.1f}" y1="{y:.1f}" x2="{_x(high):.1f}" y2="{y:.1f}"/>')
        if value is not None:
            parts.append(f'<circle class="estimate" cx="{_x(value):.1f}" cy="{y:.1f}" r="5"/>')
        interval = f" [{_fmt(low)}, {_fmt(high)}]" if value is not None and low is not None else ""
        parts.append(
            f'<text class="value" x="{LABEL_W + PLOT_W + 8}" y="{y + 4:.1f}">{_fmt(value)}{interval}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def confusion_chart(
    categories: list[str], counts: list[list[int]], title: str, rows_label: str, columns_label: str
) -> Markup:
    """A shaded matrix of ``counts[row][column]`` over ``categories``."""
    n = len(categories)
    left, top_margin = 110, 44
    width, height = left + CELL * n + 10, top_margin + CELL * n + 10
    top = max((v for row in counts for v in row), default=0) or 1
    middle_x, middle_y = left + CELL * n / 2, top_margin + CELL * n / 2
    parts = [
        f'<svg class="chart confusion" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text class="axis" x="{middle_x:.1f}" y="12" text-anchor="middle">{escape(columns_label)}</text>',
        f'<text class="axis" x="12" y="{middle_y:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {middle_y:.1f})">{escape(rows_label)}</text>',
    ]
    for j, name in enumerate(categories):
        parts.append(
            f'<text class="label" x="{left + CELL * j + CELL / 2:.1f}" y="{top_margin - 8}" '
            f'text-anchor="middle">{escape(name[:12])}</text>'
        )
        parts.append(
            f'<text class="label" x="{left - 8}" y="{top_margin + CELL * j + CELL / 2 + 4:.1f}" '
            f'text-anchor="end">{escape(name[:14])}</text>'
        )
    for i, row in enumerate(counts):
        for j, value in enumerate(row):
            x, y = left + CELL * j, top_margin + CELL * i
            kind = "agree" if i == j else "disagree"
            parts.append(
                f'<rect class="cell {kind}" x="{x}" y="{y}" width="{CELL - 2}" height="{CELL - 2}" '
                f'fill-opacity="{0.08 + 0.85 * value / top:.2f}"/>'
                f'<text class="count" x="{x + CELL / 2 - 1:.1f}" y="{y + CELL / 2 + 4:.1f}" '
                f'text-anchor="middle">{value}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
