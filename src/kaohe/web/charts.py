"""Charts as server-rendered SVG: no script, no CDN, readable on a phone and offline."""

from __future__ import annotations

from html import escape

PALETTE = ["#1f4e79", "#2e86ab", "#f18f01", "#c73e1d", "#6a994e", "#8d6a9f"]


def bars(items: list[tuple[str, float]], *, width: int = 560, bar: int = 22,
         unit: str = "") -> str:
    """Horizontal bars, one per (label, value), longest first as given."""
    if not items:
        return ""
    top = max((v for _, v in items), default=0) or 1
    label_w = 120
    h = bar * len(items) + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {h}" '
           f'width="100%" role="img">']
    for i, (label, value) in enumerate(items):
        y = 4 + i * bar
        w = max(1.0, (width - label_w - 60) * value / top)
        out.append(f'<text x="{label_w - 6}" y="{y + bar * 0.7:.1f}" font-size="12" '
                   f'text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{bar - 6}" '
                   f'fill="{PALETTE[0]}"><title>{escape(label)}: {value:.2f}{unit}</title></rect>')
        out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar * 0.7:.1f}" '
                   f'font-size="12">{value:.2f}{unit}</text>')
    out.append("</svg>")
    return "".join(out)


def line(points: list[tuple[str, float]], *, width: int = 560, height: int = 180) -> str:
    """A trend line over periods (label, value), oldest first."""
    if not points:
        return ""
    lo = min(v for _, v in points)
    hi = max(v for _, v in points)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    pad = 30
    n = len(points)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        y = height - pad - (height - 2 * pad) * (v - lo) / (hi - lo)
        return x, y

    coords = [xy(i, v) for i, (_, v) in enumerate(points)]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img">',
           f'<path d="{path}" fill="none" stroke="{PALETTE[1]}" stroke-width="2"/>']
    for (label, v), (x, y) in zip(points, coords, strict=True):
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{PALETTE[1]}">'
                   f"<title>{escape(label)}: {v:.2f}</title></circle>")
        out.append(f'<text x="{x:.1f}" y="{height - 8}" font-size="11" '
                   f'text-anchor="middle">{escape(label)}</text>')
        out.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" font-size="11" '
                   f'text-anchor="middle">{v:.2f}</text>')
    out.append("</svg>")
    return "".join(out)


def distribution(counts: list[tuple[str, int]], *, width: int = 560, height: int = 160) -> str:
    """Vertical bars: how many in each grade."""
    if not counts:
        return ""
    top = max(c for _, c in counts) or 1
    n = len(counts)
    slot = (width - 20) / n
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="100%" role="img">']
    for i, (label, c) in enumerate(counts):
        h = (height - 40) * c / top
        x = 10 + i * slot + slot * 0.15
        out.append(f'<rect x="{x:.1f}" y="{height - 22 - h:.1f}" width="{slot * 0.7:.1f}" '
                   f'height="{h:.1f}" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - 6}" font-size="12" '
                   f'text-anchor="middle">{escape(label)}</text>')
        out.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - 26 - h:.1f}" font-size="12" '
                   f'text-anchor="middle">{c}</text>')
    out.append("</svg>")
    return "".join(out)
