"""Charts as server-rendered SVG: no script, no CDN, readable on a phone and offline.

An SVG scales to the width it is given: drawn 560 units wide and shown on a 390-pixel
phone, a 12-unit label would come out at 8 pixels. The charts are therefore drawn narrow
(:data:`WIDTH`) with labels of :data:`FONT` units, so the labels come out at about 14
pixels on a phone and stay in proportion on a desktop; crowded axis labels are thinned out
rather than overlapped.
"""

from __future__ import annotations

import math
from html import escape

PALETTE = ["#1f4e79", "#2e86ab", "#f18f01", "#c73e1d", "#6a994e", "#8d6a9f"]
#: the drawing width of every chart, and the label size (both in SVG units)
WIDTH = 400
FONT = 15
#: about how wide one character of a label is, as a share of the font size (CJK: 1)
CHAR = 0.62


def _text_width(label: str, size: int = FONT) -> float:
    return sum(size if ord(c) > 0x2E80 else size * CHAR for c in label)


def bars(items: list[tuple[str, float]], *, width: int = WIDTH, bar: int = 30,
         unit: str = "") -> str:
    """Horizontal bars, one per (label, value), longest first as given."""
    if not items:
        return ""
    top = max((v for _, v in items), default=0) or 1
    label_w = min(width * 0.45, max(_text_width(label) for label, _ in items) + 8)
    value_w = _text_width(f"{top:.2f}{unit}") + 8
    h = bar * len(items) + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {h}" '
           f'width="100%" role="img" class="chart">']
    for i, (label, value) in enumerate(items):
        y = 4 + i * bar
        w = max(1.0, (width - label_w - value_w) * value / top)
        out.append(f'<text x="{label_w - 6:.1f}" y="{y + bar * 0.68:.1f}" font-size="{FONT}" '
                   f'text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{label_w:.1f}" y="{y + 4}" width="{w:.1f}" height="{bar - 8}" '
                   f'fill="{PALETTE[0]}"><title>{escape(label)}: {value:.2f}{unit}</title></rect>')
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar * 0.68:.1f}" '
                   f'font-size="{FONT}">{value:.2f}{unit}</text>')
    out.append("</svg>")
    return "".join(out)


def _every(n: int, slot: float, label_w: float) -> int:
    """Show every k-th axis label so that neighbours do not overlap."""
    return max(1, math.ceil((label_w + 6) / slot)) if n > 1 else 1


def line(points: list[tuple[str, float]], *, width: int = WIDTH, height: int = 220) -> str:
    """A trend line over periods (label, value), oldest first. Periods are written short
    (``2026-11`` as ``26-11``); values are written at the points when there is room, else
    at the first, the last, the lowest and the highest."""
    if not points:
        return ""
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    pad = 34
    n = len(points)
    short = [label[2:] if len(label) == 7 and label[4] == "-" else label for label, _ in points]

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        y = height - pad - 4 - (height - 2 * pad - 14) * (v - lo) / (hi - lo)
        return x, y

    coords = [xy(i, v) for i, (_, v) in enumerate(points)]
    slot = (width - 2 * pad) / max(n - 1, 1)
    step = _every(n, slot, max(_text_width(s) for s in short))
    marked = set(range(n)) if _every(n, slot, _text_width("100.00")) == 1 else {
        0, n - 1, min(range(n), key=lambda i: points[i][1]),
        max(range(n), key=lambda i: points[i][1])}
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img" class="chart">',
           f'<path d="{path}" fill="none" stroke="{PALETTE[1]}" stroke-width="3"/>']
    for i, ((label, v), (x, y)) in enumerate(zip(points, coords, strict=True)):
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{PALETTE[1]}">'
                   f"<title>{escape(label)}: {v:.2f}</title></circle>")
        if (n - 1 - i) % step == 0:  # the newest period is always labelled
            out.append(f'<text x="{x:.1f}" y="{height - 8}" font-size="{FONT}" '
                       f'text-anchor="middle">{escape(short[i])}</text>')
        if i in marked:
            out.append(f'<text x="{x:.1f}" y="{y - 10:.1f}" font-size="{FONT}" '
                       f'font-weight="bold" text-anchor="middle">{v:.2f}</text>')
    out.append("</svg>")
    return "".join(out)


def distribution(counts: list[tuple[str, int]], *, width: int = WIDTH,
                 height: int = 200) -> str:
    """Vertical bars: how many in each grade."""
    if not counts:
        return ""
    top = max(c for _, c in counts) or 1
    n = len(counts)
    slot = (width - 20) / n
    size = FONT if max(_text_width(label) for label, _ in counts) <= slot - 4 else FONT - 3
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img" class="chart">']
    for i, (label, c) in enumerate(counts):
        h = (height - 50) * c / top
        bar = min(slot * 0.7, 90.0)  # one or two grades: bars, not blocks
        mid = 10 + i * slot + slot / 2
        out.append(f'<rect x="{mid - bar / 2:.1f}" y="{height - 26 - h:.1f}" width="{bar:.1f}" '
                   f'height="{h:.1f}" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{mid:.1f}" y="{height - 7}" font-size="{size}" '
                   f'text-anchor="middle">{escape(label)}</text>')
        out.append(f'<text x="{mid:.1f}" y="{height - 32 - h:.1f}" '
                   f'font-size="{FONT}" font-weight="bold" text-anchor="middle">{c}</text>')
    out.append("</svg>")
    return "".join(out)
