"""Plots as inline SVG, drawn in Python: no JavaScript, no network, no charting dependency.

Every function takes figures (plain numbers and labels, never a report object) and returns one
``<svg>`` element as a string. Sizes are in a ``viewBox`` so the plot scales with the page, but
never below :data:`MIN_SCALE` of its drawn size (the smallest text, 11 px, stays at 9 px or more on
a phone; the page puts each plot in a box that scrolls sideways instead). Every width is computed
from the length of the text it holds (:func:`text_width`), so no label is clipped. Every
plot carries ``role="img"``, an ``aria-label``, a ``<title>`` and ``data-plot="<kind>"`` (the
browser test finds the plots by it). Text is escaped. Undefined values (``None``/``nan``) are not
drawn; the caller's table says "undefined" beside them.

>>> svg = heatmap([[3, 1], [0, 4]], ["pass", "fail"], ["pass", "fail"], title="confusion")
>>> svg.startswith("<svg") and 'data-plot="confusion"' in svg and ">3<" in svg
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

__all__ = ["COLORS", "Mark", "Row", "forest", "heatmap", "reliability"]

COLORS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "warn": "#b26a00",
    "neutral": "#37474f",
    "muted": "#90a4ae",
    "human": "#6a1b9a",
    "line": "#546e7a",
    "grid": "#eceff1",
}
"""The palette; statuses map onto it (``pass``, ``fail``, ``warn`` for inconclusive)."""

_FONT = 'font-family="system-ui, sans-serif"'
MIN_SCALE = 0.82
"""The smallest scale a plot is drawn at: 11 px text stays at 9 px or more."""
_EM = 0.62
"""A generous average advance of one character, in font sizes (system sans-serif faces are
0.5–0.6; digits 0.55): the widths computed from it leave room rather than clip."""


def text_width(s: str, size: float = 12) -> float:
    """About how wide ``s`` is at ``size`` px (over-estimated rather than under)."""
    return len(s) * size * _EM


def _ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _num(x: float) -> str:
    return f"{x:.1f}"


def _svg(width: float, height: float, kind: str, title: str, body: list[str]) -> str:
    t = escape(title)
    w, h = math.ceil(width), math.ceil(height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" '
        f'style="max-width:{w}px;min-width:{math.ceil(w * MIN_SCALE)}px" role="img" aria-label="{t}" '
        f'data-plot="{escape(kind)}" {_FONT}><title>{t}</title>{"".join(body)}</svg>'
    )


def _levels(spans: list[tuple[float, float]], gap: float = 6) -> list[int]:
    """For labels spanning ``(x_from, x_to)``: a row for each (0, 1, ...) so that no two on the
    same row overlap (greedy, left to right)."""
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    ends: list[float] = []
    out = [0] * len(spans)
    for i in order:
        a, b = spans[i]
        row = next((k for k, end in enumerate(ends) if a >= end + gap), len(ends))
        if row == len(ends):
            ends.append(b)
        else:
            ends[row] = b
        out[i] = row
    return out


def _text(
    x: float, y: float, s: str, *, anchor: str = "start", size: int = 12, color: str = "#263238"
) -> str:
    return (
        f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{color}">{escape(s)}</text>'
    )


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick positions covering [lo, hi]."""
    span = hi - lo
    raw = span / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    x = first
    while x <= hi + 1e-9:
        out.append(round(x, 10))
        x += step
    return out


@dataclass
class Mark:
    """A reference value: a threshold, a margin, an overall figure."""

    x: float
    label: str
    color: str = COLORS["line"]
    dashed: bool = True


@dataclass
class Row:
    """One row of a forest (dot-and-whisker) or bar plot."""

    label: str
    value: float | None
    lo: float | None = None
    hi: float | None = None
    color: str = COLORS["neutral"]
    note: str = ""
    """Shown right of the plot area (n, status)."""
    marks: list[Mark] = field(default_factory=list)
    """Reference values of this row only (drawn across its band)."""


def forest(
    rows: list[Row],
    *,
    title: str,
    kind: str = "forest",
    marks: list[Mark] | None = None,
    axis: tuple[float, float] | None = None,
    bars: bool = False,
    percent: bool = False,
    label_width: float | None = None,
    note_width: float | None = None,
) -> str:
    """Horizontal intervals (or bars from 0 with ``bars``) on one shared axis, one row each.

    ``marks`` are drawn across every row (an overall line, a margin); a row's own ``marks`` only
    across its band (a probe's threshold). The axis covers every value, interval end and mark,
    unless ``axis`` fixes it.
    """
    marks = marks or []
    values: list[float] = [float(v) for r in rows for v in (r.value, r.lo, r.hi) if v is not None and _ok(v)]
    values += [m.x for m in marks] + [m.x for r in rows for m in r.marks]
    if bars:
        values.append(0.0)
    if axis is None:
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        pad = (hi - lo) * 0.05 or 0.05
        lo, hi = lo - pad, hi + pad
    else:
        lo, hi = axis
    plot_w, band = 360, 26
    if label_width is None:
        label_width = max([text_width(r.label) for r in rows] + [40]) + 12
    if note_width is None:
        note_width = max([text_width(r.note, 11) for r in rows] + [0]) + 16
    x0 = label_width

    def px(v: float) -> float:
        return x0 + (min(max(v, lo), hi) - lo) / (hi - lo) * plot_w

    # the marks' labels: stacked in rows above the plot where they would overlap
    spans = []
    for m in marks:
        half = text_width(m.label, 11) / 2
        spans.append((px(m.x) - half, px(m.x) + half))
    levels = _levels(spans)
    n_levels = max(levels) + 1 if levels else 0
    top = 34 + 14 * n_levels
    height = top + band * len(rows) + 30
    left_over = max([0.0] + [-a for a, _ in spans])  # a label centred near the left edge
    width = max(label_width + plot_w + note_width, text_width(title, 14), *[b + 2 for _, b in spans])
    shift = left_over + 2 if left_over > 0 else 0.0

    body = [_text(0, 16, title, size=14, color=COLORS["neutral"])]
    fmt = (lambda v: f"{v:.0%}") if percent else (lambda v: f"{v:g}")
    for t in _ticks(lo, hi):
        x = px(t)
        body.append(
            f'<line x1="{_num(x)}" y1="{top - 6}" x2="{_num(x)}" y2="{top + band * len(rows)}" '
            f'stroke="{COLORS["grid"]}"/>'
        )
        body.append(_text(x, top + band * len(rows) + 16, fmt(t), anchor="middle", size=11))
    for m, level in zip(marks, levels, strict=True):
        x = px(m.x)
        dash = ' stroke-dasharray="5 3"' if m.dashed else ""
        body.append(
            f'<line x1="{_num(x)}" y1="{top - 8 - 14 * level}" x2="{_num(x)}" '
            f'y2="{top + band * len(rows)}" stroke="{m.color}" stroke-width="1.5"{dash}/>'
        )
        body.append(_text(x, top - 12 - 14 * level, m.label, anchor="middle", size=11, color=m.color))
    for i, r in enumerate(rows):
        y = top + band * i + band / 2
        body.append(_text(label_width - 8, y + 4, r.label, anchor="end"))
        body.append(_text(x0 + plot_w + 10, y + 4, r.note, size=11, color=COLORS["line"]))
        for m in r.marks:
            x = px(m.x)
            body.append(
                f'<line x1="{_num(x)}" y1="{_num(y - band / 2 + 2)}" x2="{_num(x)}" '
                f'y2="{_num(y + band / 2 - 2)}" stroke="{m.color}" stroke-width="2" stroke-dasharray="3 2">'
                f"<title>{escape(m.label)}</title></line>"
            )
        if not _ok(r.value):
            body.append(_text(x0 + 4, y + 4, "undefined", size=11, color=COLORS["muted"]))
            continue
        value = float(r.value)  # type: ignore[arg-type]
        if bars:
            x_a, x_b = sorted((px(0.0), px(value)))
            body.append(
                f'<rect x="{_num(x_a)}" y="{_num(y - 8)}" width="{_num(max(x_b - x_a, 1))}" height="16" '
                f'fill="{r.color}" fill-opacity="0.35" stroke="{r.color}"/>'
            )
        if _ok(r.lo) and _ok(r.hi):
            a, b = px(float(r.lo)), px(float(r.hi))  # type: ignore[arg-type]
            body.append(
                f'<line x1="{_num(a)}" y1="{_num(y)}" x2="{_num(b)}" y2="{_num(y)}" stroke="{r.color}" '
                'stroke-width="2"/>'
            )
            for e in (a, b):
                body.append(
                    f'<line x1="{_num(e)}" y1="{_num(y - 5)}" x2="{_num(e)}" y2="{_num(y + 5)}" '
                    f'stroke="{r.color}" stroke-width="2"/>'
                )
        ci = f" [{fmt(r.lo)}, {fmt(r.hi)}]" if _ok(r.lo) and _ok(r.hi) else ""  # type: ignore[arg-type]
        body.append(
            f'<circle cx="{_num(px(value))}" cy="{_num(y)}" r="5" fill="{r.color}">'
            f"<title>{escape(r.label)}: {escape(fmt(value) + ci)}</title></circle>"
        )
    if shift:
        body = [body[0], f'<g transform="translate({_num(shift)} 0)">', *body[1:], "</g>"]
        width += shift
    return _svg(width, height, kind, title, body)


def heatmap(
    matrix: list[list[int]],
    row_labels: list[str],
    col_labels: list[str],
    *,
    title: str,
    kind: str = "confusion",
    row_title: str = "humans",
    col_title: str = "judge",
) -> str:
    """A count matrix as a heatmap: colour by the share of its row, the count written in each cell
    (diagonal cells green, the others red)."""
    k_r, k_c = len(row_labels), len(col_labels)
    cell = max([64.0] + [text_width(c) + 10 for c in col_labels])
    left = max([text_width(f"{row_title} ↓", 11) + 8] + [text_width(r) + 16 for r in row_labels])
    top = 64
    width = max(left + cell * k_c + 20, text_width(title, 14) + 4)
    height = top + cell * k_r + 20
    body = [_text(0, 16, title, size=14, color=COLORS["neutral"])]
    body.append(_text(left + cell * k_c / 2, 36, f"{col_title} →", anchor="middle", size=11))
    body.append(_text(4, top - 8, f"{row_title} ↓", size=11))
    for j, lab in enumerate(col_labels):
        body.append(_text(left + cell * j + cell / 2, top - 8, lab, anchor="middle"))
    for i, lab in enumerate(row_labels):
        total = sum(matrix[i]) if i < len(matrix) else 0
        body.append(_text(left - 8, top + cell * i + cell / 2 + 4, lab, anchor="end"))
        for j in range(k_c):
            count = matrix[i][j] if i < len(matrix) and j < len(matrix[i]) else 0
            share = count / total if total else 0.0
            same = i < k_c and row_labels[i] == col_labels[j]
            color = COLORS["pass"] if same else COLORS["fail"]
            x, y = left + cell * j, top + cell * i
            body.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(cell - 2)}" height="{_num(cell - 2)}" '
                f'fill="{color}" '
                f'fill-opacity="{0.06 + 0.8 * share:.3f}" stroke="#cfd8dc">'
                f"<title>humans {escape(lab)}, judge {escape(col_labels[j])}: {count}"
                f"{f' ({share:.0%} of the row)' if total else ''}</title></rect>"
            )
            ink = "#ffffff" if share > 0.55 else "#263238"
            body.append(
                _text(x + cell / 2 - 1, y + cell / 2 + 5, str(count), anchor="middle", size=15, color=ink)
            )
    return _svg(width, height, kind, title, body)


def reliability(
    series: dict[str, list[tuple[float, float, float | None, float | None, int]]], *, title: str
) -> str:
    """A reliability diagram: for each series (``raw``, ``calibrated``) its bins as points
    (mean predicted probability, observed human pass rate) with the observed rate's interval, on
    the unit square with the diagonal of perfect calibration. A bin: (predicted, observed, lo, hi, n)."""
    size, left, top = 320, 50, 30
    legend = max([text_width(name) for name in series] + [60]) + 40
    width = max(left + size + legend, text_width(title, 14) + 4)
    height = top + size + 44
    body = [_text(0, 16, title, size=14, color=COLORS["neutral"])]

    def px(v: float) -> float:
        return left + v * size

    def py(v: float) -> float:
        return top + (1 - v) * size

    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        grid = COLORS["grid"]
        body.append(
            f'<line x1="{_num(px(t))}" y1="{top}" x2="{_num(px(t))}" y2="{top + size}" stroke="{grid}"/>'
        )
        body.append(
            f'<line x1="{left}" y1="{_num(py(t))}" x2="{left + size}" y2="{_num(py(t))}" stroke="{grid}"/>'
        )
        body.append(_text(px(t), top + size + 16, f"{t:g}", anchor="middle", size=11))
        body.append(_text(left - 6, py(t) + 4, f"{t:g}", anchor="end", size=11))
    body.append(
        f'<line x1="{_num(px(0))}" y1="{_num(py(0))}" x2="{_num(px(1))}" y2="{_num(py(1))}" '
        f'stroke="{COLORS["muted"]}" stroke-dasharray="5 3"/>'
    )
    body.append(_text(left + size / 2, top + size + 36, "predicted P(human pass)", anchor="middle", size=11))
    body.append(
        f'<text x="14" y="{top + size / 2}" font-size="11" text-anchor="middle" fill="#263238" '
        f'transform="rotate(-90 14 {top + size / 2})">observed human pass rate</text>'
    )
    palette = [COLORS["muted"], COLORS["pass"], COLORS["human"]]
    for s, (name, bins) in enumerate(series.items()):
        color = palette[s % len(palette)]
        pts = [(px(p), py(o)) for p, o, *_ in bins if _ok(p) and _ok(o)]
        if len(pts) > 1:
            path = " ".join(f"{_num(x)},{_num(y)}" for x, y in pts)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        for p, o, lo, hi, n in bins:
            if not (_ok(p) and _ok(o)):
                continue
            if _ok(lo) and _ok(hi):
                body.append(
                    f'<line x1="{_num(px(p))}" y1="{_num(py(float(lo)))}" x2="{_num(px(p))}" '  # type: ignore[arg-type]
                    f'y2="{_num(py(float(hi)))}" stroke="{color}" stroke-width="1.5"/>'  # type: ignore[arg-type]
                )
            body.append(
                f'<circle cx="{_num(px(p))}" cy="{_num(py(o))}" r="4.5" fill="{color}">'
                f"<title>{escape(name)}: predicted {p:.2f}, observed {o:.2f} (n {n})</title></circle>"
            )
        ly = top + 14 + 20 * s
        body.append(f'<circle cx="{left + size + 20}" cy="{ly - 4}" r="5" fill="{color}"/>')
        body.append(_text(left + size + 30, ly, name, size=12))
    return _svg(width, height, "reliability", title, body)
