"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, readable by screen readers.

Every chart is an <svg role="img"> with a <title> and a <desc> that lists all of its numbers, and the numbers are
also written on the chart itself; the pages show the same figures in a table next to it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from dashboard.formatting import percent

_ids = itertools.count(1)
FONT = 13


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _open(width: int, height: int, title: str, desc: str, css: str) -> tuple[list[str], str]:
    uid = f"chart{next(_ids)}"
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{uid}-t {uid}-d" font-size="{FONT}">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
    ]
    return head, uid


def _empty(width: int, height: int, title: str, message: str) -> Markup:
    parts, _ = _open(width, height, title, message, "chart-empty")
    parts.append(f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="6" class="frame"/>')
    parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="muted">{escape(message)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(title: str, points: Sequence[tuple[str, float | None]], targets: Sequence[float | None] = (),
               value_format: Callable[[float], str] | None = None, width: int = 640, height: int = 240,
               empty_message: str = "Chưa có số liệu") -> Markup:
    """Percentages over time (None = no data that period) with an optional target per period (drawn as steps)."""
    fmt = value_format or percent
    values = [v for _, v in points if v is not None]
    target_values = [t for t in targets if t is not None]
    if not values:
        return _empty(width, height, title, empty_message)
    desc_items = [f"{label}: {fmt(v) if v is not None else 'chưa có đánh giá'}" for label, v in points]
    if target_values:
        desc_items.append("mục tiêu " + ", ".join(sorted({percent(t, 0) for t in target_values})))
    parts, _ = _open(width, height, title, "; ".join(desc_items), "chart-line")
    left, right, top, bottom = 44, 62, 22, 34
    low = max(0.0, math.floor((min(values + target_values) - 5) / 10) * 10)
    high = 100.0
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(1, len(points))

    def x(i: int) -> float:
        return left + step * (i + 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    for tick in range(int(low), 101, 10 if high - low <= 50 else 20):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{_num(y(tick))}" y2="{_num(y(tick))}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{_num(y(tick) + 4)}" text-anchor="end" class="axis">{tick}%</text>')
    if len(targets) == len(points):
        for i, t in enumerate(targets):
            if t is None:
                continue
            parts.append(f'<line x1="{_num(left + step * i)}" x2="{_num(left + step * (i + 1))}" y1="{_num(y(t))}" '
                         f'y2="{_num(y(t))}" class="target"/>')
        last = next((t for t in reversed(targets) if t is not None), None)
        if last is not None:  # in the right margin, clear of the data labels
            parts.append(f'<text x="{width - right + 6}" y="{_num(y(last) - 3)}" class="target-label">Mục tiêu'
                         f'<tspan x="{width - right + 6}" dy="14">{escape(percent(last, 0))}</tspan></text>')
    segment: list[str] = []
    segments = []
    for i, (_, v) in enumerate(points):
        if v is None:
            if segment:
                segments.append(segment)
            segment = []
        else:
            segment.append(f"{_num(x(i))},{_num(y(v))}")
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(f'<polyline points="{" ".join(seg)}" class="series"/>')
    label_every = 1 if len(points) <= 13 else math.ceil(len(points) / 12)
    for i, (label, v) in enumerate(points):
        if i % label_every == 0 or i == len(points) - 1:
            parts.append(f'<text x="{_num(x(i))}" y="{height - 12}" text-anchor="middle" class="axis">'
                         f'{escape(label)}</text>')
        if v is not None:
            parts.append(f'<circle cx="{_num(x(i))}" cy="{_num(y(v))}" r="4" class="point">'
                         f'<title>{escape(label)}: {escape(fmt(v))}</title></circle>')
            if len(points) <= 13:
                parts.append(f'<text x="{_num(x(i))}" y="{_num(y(v) - 9)}" text-anchor="middle" class="value">'
                             f'{escape(fmt(v))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its length (same unit as the chart's maximum), the text written after it."""

    label: str
    value: float
    text: str
    good: bool | None = None  # True/False colours the bar as meeting the target or not; None = neutral


def bar_chart(title: str, bars: Sequence[Bar], maximum: float | None = None, target: float | None = None,
              width: int = 640, label_width: int = 210, empty_message: str = "Chưa có số liệu") -> Markup:
    """Horizontal bars with their labels and values written out, and an optional target line."""
    if not bars:
        return _empty(width, 80, title, empty_message)
    row, top = 28, 8 if target is None else 24
    height = top + row * len(bars) + 8
    desc = "; ".join(f"{b.label}: {b.text}" for b in bars)
    if target is not None:
        desc += f"; mục tiêu {percent(target, 0)}"
    parts, _ = _open(width, height, title, desc, "chart-bar")
    text_w = 150
    plot_x, plot_w = label_width, width - label_width - text_w
    top_value = maximum or max(b.value for b in bars) or 1.0
    for i, b in enumerate(bars):
        y = top + i * row
        fits = max(6, int((label_width - 12) / (FONT * 0.55)))
        short = b.label if len(b.label) <= fits else b.label[:fits - 1].rstrip() + "…"
        klass = "bar" if b.good is None else ("bar good" if b.good else "bar below")
        length = max(0.0, min(1.0, b.value / top_value)) * plot_w
        parts.append(f'<text x="{label_width - 8}" y="{y + 18}" text-anchor="end" class="label">'
                     f'<title>{escape(b.label)}</title>{escape(short)}</text>')
        parts.append(f'<rect x="{plot_x}" y="{y + 5}" width="{_num(max(length, 1.5))}" height="{row - 10}" rx="3" '
                     f'class="{klass}"/>')
        parts.append(f'<text x="{_num(plot_x + length + 6)}" y="{y + 18}" class="value">{escape(b.text)}</text>')
    if target is not None:
        tx = plot_x + min(1.0, target / top_value) * plot_w
        parts.append(f'<line x1="{_num(tx)}" x2="{_num(tx)}" y1="{top - 4}" y2="{height - 4}" class="target"/>')
        parts.append(f'<text x="{_num(tx)}" y="{top - 8}" text-anchor="middle" class="target-label">'
                     f'Mục tiêu {escape(percent(target, 0))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
