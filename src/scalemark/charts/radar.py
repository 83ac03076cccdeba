"""Radar (spider) charts as inline SVG: scores per dimension, against a target or a parent.

One spoke per axis, clockwise from the top; rings mark the scale (1 to 5 by default). A
series is drawn in the style of its kind — ``current`` a filled polygon with round
markers, ``target`` a dashed outline with hollow squares, ``parent`` a dotted outline with
triangles — so series differ by line and marker shape, not by colour alone. A missing value
(``None``) leaves a gap: the outline is broken there and no marker is drawn.

With fewer than three axes a polygon says nothing, so the same series are drawn as
horizontal bars in the same styles. Like the bar chart the SVG is self-contained, sized
by its ``viewBox`` (grown to hold every label) and described for screen readers: the
``<desc>`` lists every series' value on every axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from scalemark.charts._svg import (
    GRID,
    INK,
    MUTED,
    Bounds,
    aligned_values,
    clean,
    default_format,
    describe_table,
    empty_chart,
    esc,
    marker,
    num,
    svg_open,
    text_width,
    truncate,
    wrap,
)
from scalemark.i18n import gettext as _

__all__ = ["SERIES_KINDS", "RadarSeries", "radar_chart"]

SERIES_KINDS = ("current", "target", "parent")

_LABEL_SIZE = 12
_LINE = 15  # line height of wrapped axis labels
_TICK_SIZE = 10


@dataclass(frozen=True)
class RadarSeries:
    """One line on a radar chart: a value per axis (``None`` = no data) and its kind."""

    label: str
    values: Sequence[float | None]
    kind: str = "current"


@dataclass(frozen=True)
class _Style:
    colour: str
    dash: str  # stroke-dasharray, "" for a solid line
    fill_opacity: float  # 0: outline only
    shape: str
    hollow: bool


# Text-safe colours (≥ 4.5:1 on white) so they also work as legend or label ink.
_STYLES = {
    "current": _Style("#1f4fa3", "", 0.18, "circle", hollow=False),
    "target": _Style("#a34f00", "7 4", 0.0, "square", hollow=True),
    "parent": _Style("#4b5563", "0.5 4.5", 0.0, "triangle", hollow=False),
}
# A second series of the same kind (e.g. two cycles) keeps the kind's line but gets its
# own colour and marker shape.
_EXTRA_COLOURS = ("#b0306b", "#0b6e4f", "#7e22ce", "#0e7490")
_EXTRA_SHAPES = ("diamond", "triangle-down", "circle", "square")


def radar_chart(
    axes: Sequence[str],
    series: Sequence[RadarSeries],
    *,
    title: str,
    description: str | None = None,
    chart_id: str = "radar-chart",
    max_value: float = 5,
    rings: int = 5,
    size: int = 420,
    value_format: Callable[[float], str] = default_format,
) -> Markup:
    """An SVG radar chart of ``series`` over ``axes`` (3–12 axes read well).

    Values run from 0 at the centre to ``max_value`` on the outer ring and are clamped to
    that range in the drawing (the description keeps the real figures). ``rings`` evenly
    spaced rings are labelled with ``value_format``. ``size`` is the width of the plot
    with its labels; very long labels widen the ``viewBox`` rather than being clipped.
    ``description`` is read before the figures. ``chart_id`` must be unique on the page.
    Raises ``ValueError`` for a series kind other than those in ``SERIES_KINDS``.
    """
    ident = str(esc(chart_id))
    styles = _styles(series)
    top = float(max_value) if max_value and max_value > 0 else 1.0
    ring_count = max(1, int(rings))
    table = [aligned_values(s.values, len(axes)) for s in series]
    desc = describe_table([s.label for s in series], axes, table, description, value_format)
    if not axes:
        return Markup(  # noqa: S704 - empty_chart escapes every text
            empty_chart(ident, "radar", title=title, desc=desc, message=_("No data"), width=size)
        )
    bounds = Bounds()
    if len(axes) >= 3:
        body = _spider(axes, series, table, styles, bounds, top, ring_count, size, value_format)
    else:
        body = _bars(axes, series, table, styles, bounds, top, ring_count, size, value_format)
    body.append(_legend(series, styles, bounds))
    opening = svg_open(ident, "radar", bounds.padded(8), title=title, desc=desc)
    return Markup(opening + "".join(body) + "</svg>")  # noqa: S704 - texts escaped via esc()


def _styles(series: Sequence[RadarSeries]) -> list[_Style]:
    seen: dict[str, int] = {}
    styles = []
    for item in series:
        if item.kind not in _STYLES:
            raise ValueError(f"unknown radar series kind {item.kind!r}; use {SERIES_KINDS}")
        base = _STYLES[item.kind]
        repeat = seen.get(item.kind, 0)
        seen[item.kind] = repeat + 1
        if repeat:
            base = _Style(
                _EXTRA_COLOURS[(repeat - 1) % len(_EXTRA_COLOURS)],
                base.dash,
                base.fill_opacity * 0.6,
                _EXTRA_SHAPES[(repeat - 1) % len(_EXTRA_SHAPES)],
                base.hollow,
            )
        styles.append(base)
    return styles


def _stroke(style: _Style) -> str:
    dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
    return (
        f'stroke="{style.colour}" stroke-width="2.25" stroke-linejoin="round"'
        f' stroke-linecap="round"{dash}'
    )


def _marker_paint(style: _Style) -> str:
    fill = "#ffffff" if style.hollow else style.colour
    return f'fill="{fill}" stroke="{style.colour}" stroke-width="1.5"'


def _spider(
    axes: Sequence[str],
    series: Sequence[RadarSeries],
    table: list[list[float | None]],
    styles: list[_Style],
    bounds: Bounds,
    top: float,
    ring_count: int,
    size: int,
    value_format: Callable[[float], str],
) -> list[str]:
    count = len(axes)
    room = max(70.0, size * 0.2)  # between the outer ring and the edge, for axis labels
    radius = size / 2 - room
    centre = size / 2
    angles = [-math.pi / 2 + 2 * math.pi * i / count for i in range(count)]
    units = [(math.cos(a), math.sin(a)) for a in angles]

    def point(index: int, value: float) -> tuple[float, float]:
        share = min(max(value, 0.0), top) / top
        cos, sin = units[index]
        return centre + radius * share * cos, centre + radius * share * sin

    def points(index_values: Sequence[tuple[int, float]]) -> str:
        return " ".join(f"{num(x)},{num(y)}" for x, y in (point(i, v) for i, v in index_values))

    parts = ['<g class="chart__grid" aria-hidden="true" fill="none">']
    for ring in range(1, ring_count + 1):
        value = top * ring / ring_count
        outer = ring == ring_count
        parts.append(
            f'<polygon class="chart__ring" points="{points([(i, value) for i in range(count)])}"'
            f' stroke="{"#8a94a0" if outer else GRID}" stroke-width="1"/>'
        )
    for index in range(count):
        x, y = point(index, top)
        parts.append(
            f'<line class="chart__spoke" x1="{num(centre)}" y1="{num(centre)}"'
            f' x2="{num(x)}" y2="{num(y)}" stroke="{GRID}" stroke-width="1"/>'
        )
    parts.append("</g>")
    bounds.add(centre - radius, centre - radius, centre + radius, centre + radius)

    parts.append('<g class="chart__series" aria-hidden="true">')
    for values, style in zip(table, styles, strict=True):
        if not style.fill_opacity:
            continue
        present = [(i, v) for i, v in enumerate(values) if v is not None]
        if len(present) == count:
            parts.append(
                f'<polygon class="chart__area" points="{points(present)}"'
                f' fill="{style.colour}" fill-opacity="{style.fill_opacity}" stroke="none"/>'
            )
            continue
        # With gaps, fill only the wedges between neighbouring axes that both have data.
        wedges = []
        for i, here in enumerate(values):
            after = values[(i + 1) % count]
            if here is None or after is None:
                continue
            (x1, y1), (x2, y2) = point(i, here), point((i + 1) % count, after)
            wedges.append(
                f"M{num(centre)},{num(centre)} L{num(x1)},{num(y1)} L{num(x2)},{num(y2)} Z"
            )
        if wedges:
            parts.append(
                f'<path class="chart__area" d="{" ".join(wedges)}" fill="{style.colour}"'
                f' fill-opacity="{style.fill_opacity}" stroke="none"/>'
            )
    for values, style in zip(table, styles, strict=True):
        parts.extend(_outline(values, style, point, points, count))
    for item, values, style in zip(series, table, styles, strict=True):
        paint = _marker_paint(style)
        for i, shown in enumerate(values):
            if shown is None:
                continue
            x, y = point(i, shown)
            tip = _("%(series)s, %(axis)s: %(value)s") % {
                "series": item.label,
                "axis": axes[i],
                "value": value_format(shown),
            }
            parts.append(marker(style.shape, x, y, 3.5, paint, tip))
    parts.append("</g>")

    parts.append(
        f'<g class="chart__scale" aria-hidden="true" font-size="{_TICK_SIZE}" text-anchor="middle">'
    )
    for ring in range(1, ring_count + 1):
        # On each ring halfway between the first two spokes, where no marker sits; a white
        # halo (the same text stroked underneath) keeps it legible over grid and lines.
        value = top * ring / ring_count
        (x0, y0), (x1, y1) = point(0, value), point(1, value)
        x, baseline = (x0 + x1) / 2, (y0 + y1) / 2 + _TICK_SIZE * 0.35
        figure = esc(value_format(value))
        parts.append(
            f'<text x="{num(x)}" y="{num(baseline)}" fill="#ffffff" stroke="#ffffff"'
            f' stroke-width="3" stroke-linejoin="round">{figure}</text>'
            f'<text x="{num(x)}" y="{num(baseline)}" fill="{MUTED}">{figure}</text>'
        )
    parts.append("</g>")

    parts.append(f'<g class="chart__axes" aria-hidden="true" fill="{INK}">')
    label_width = room + 40
    for index, axis in enumerate(axes):
        cos, sin = units[index]
        x = centre + (radius + 10) * cos
        y = centre + (radius + 10) * sin
        anchor = "start" if cos > 0.25 else "end" if cos < -0.25 else "middle"
        lines = wrap(clean(axis), label_width, _LABEL_SIZE)
        height = len(lines) * _LINE
        # Above the point at the top, below it at the bottom, centred beside it at the sides.
        block_top = y - height * (1 - (sin + 1) / 2)
        parts.append(f"<g><title>{esc(axis)}</title>")
        for number, line in enumerate(lines):
            baseline = block_top + number * _LINE + _LABEL_SIZE - 0.5
            bounds.add_text(x, baseline, line, _LABEL_SIZE, anchor)
            parts.append(
                f'<text x="{num(x)}" y="{num(baseline)}" text-anchor="{anchor}">{esc(line)}</text>'
            )
        parts.append("</g>")
    parts.append("</g>")
    return parts


def _outline(
    values: list[float | None],
    style: _Style,
    point: Callable[[int, float], tuple[float, float]],
    points: Callable[[Sequence[tuple[int, float]]], str],
    count: int,
) -> list[str]:
    """The series' line: a closed polygon, or one open line per run of present values."""
    stroke = _stroke(style)
    if all(v is not None for v in values):
        present = [(i, v) for i, v in enumerate(values) if v is not None]
        return [f'<polygon class="chart__line" points="{points(present)}" fill="none" {stroke}/>']
    runs: list[list[tuple[int, float]]] = []
    for start in range(count):
        if values[start] is None or values[start - 1] is not None:
            continue  # not the first point of a run
        run: list[tuple[int, float]] = []
        index = start
        while (value := values[index % count]) is not None:
            run.append((index % count, value))
            index += 1
        runs.append(run)
    lines = []
    for run in runs:
        if len(run) < 2:
            continue  # a lone point: its marker says it all
        coordinates = [point(i, v) for i, v in run]
        path = "M" + " L".join(f"{num(x)},{num(y)}" for x, y in coordinates)
        lines.append(f'<path class="chart__line" d="{path}" fill="none" {stroke}/>')
    return lines


def _bars(
    axes: Sequence[str],
    series: Sequence[RadarSeries],
    table: list[list[float | None]],
    styles: list[_Style],
    bounds: Bounds,
    top: float,
    ring_count: int,
    size: int,
    value_format: Callable[[float], str],
) -> list[str]:
    """One or two axes: a group of horizontal bars per axis, one bar per series."""
    label_width = 130.0
    left = label_width + 12
    right = max(left + 120, size - 16.0)
    plot = right - left
    bar, gap, group_gap = 14, 4, 18
    group = max(1, len(series)) * (bar + gap) - gap
    missing = _("no data")

    def x_of(value: float) -> float:
        return left + plot * min(max(value, 0.0), top) / top

    bottom = len(axes) * (group + group_gap) - group_gap
    parts = ['<g class="chart__grid" aria-hidden="true">']
    for ring in range(ring_count + 1):
        value = top * ring / ring_count
        x = x_of(value)
        parts.append(
            f'<line x1="{num(x)}" y1="-4" x2="{num(x)}" y2="{num(bottom + 4)}"'
            f' stroke="{GRID if ring else "#8a94a0"}" stroke-width="1"/>'
            f'<text x="{num(x)}" y="{num(bottom + 18)}" text-anchor="middle"'
            f' font-size="{_TICK_SIZE}" fill="{MUTED}">{esc(value_format(value))}</text>'
        )
    parts.append("</g>")
    bounds.add(0, -4, right, bottom + 22)

    parts.append('<g class="chart__series" aria-hidden="true">')
    for row, axis in enumerate(axes):
        top_y = row * (group + group_gap)
        lines = wrap(clean(axis), label_width, _LABEL_SIZE)
        first = top_y + group / 2 - len(lines) * _LINE / 2 + _LABEL_SIZE - 0.5
        parts.append(f'<g fill="{INK}"><title>{esc(axis)}</title>')
        for number, line in enumerate(lines):
            baseline = first + number * _LINE
            bounds.add_text(label_width, baseline, line, _LABEL_SIZE, "end")
            parts.append(
                f'<text x="{num(label_width)}" y="{num(baseline)}" text-anchor="end">'
                f"{esc(line)}</text>"
            )
        parts.append("</g>")
        for index, (item, values, style) in enumerate(zip(series, table, styles, strict=True)):
            y = top_y + index * (bar + gap)
            figure = values[row]
            if figure is None:
                parts.append(
                    f'<text x="{num(left + 4)}" y="{num(y + bar - 3)}" font-size="{_TICK_SIZE}"'
                    f' fill="{MUTED}">{esc(missing)}</text>'
                )
                continue
            end = x_of(figure)
            fill = (
                f'fill="{style.colour}" fill-opacity="{max(style.fill_opacity, 0.3)}"'
                if style.fill_opacity
                else 'fill="none"'
            )
            parts.append(
                f'<rect class="chart__bar" x="{num(left)}" y="{num(y)}"'
                f' width="{num(end - left)}" height="{bar}" {fill} {_stroke(style)}/>'
            )
            tip = _("%(series)s, %(axis)s: %(value)s") % {
                "series": item.label,
                "axis": axis,
                "value": value_format(figure),
            }
            parts.append(marker(style.shape, end, y + bar / 2, 3.5, _marker_paint(style), tip))
    parts.append("</g>")
    return parts


def _legend(series: Sequence[RadarSeries], styles: list[_Style], bounds: Bounds) -> str:
    """Series names with a sample of their line and marker, flowing in rows below the plot."""
    if not series:
        return ""
    left, width = bounds.left, max(bounds.right - bounds.left, 200.0)
    y = bounds.bottom + 20
    x = left
    parts = [f'<g class="chart__legend" aria-hidden="true" fill="{INK}">']
    for item, style in zip(series, styles, strict=True):
        label = truncate(clean(item.label), 240, _LABEL_SIZE)
        item_width = 30 + text_width(label, _LABEL_SIZE)
        if x > left and x + item_width > left + width:
            x, y = left, y + 20
        middle = y - 4
        sample = (
            f'<rect x="{num(x)}" y="{num(middle - 6)}" width="24" height="12"'
            f' fill="{style.colour}" fill-opacity="{style.fill_opacity}" stroke="none"/>'
            if style.fill_opacity
            else ""
        )
        parts.append(
            f"{sample}"
            f'<line x1="{num(x)}" y1="{num(middle)}" x2="{num(x + 24)}" y2="{num(middle)}"'
            f" {_stroke(style)}/>"
            + marker(style.shape, x + 12, middle, 3.5, _marker_paint(style))
            + f'<text x="{num(x + 30)}" y="{num(y)}">{esc(label)}</text>'
        )
        bounds.add(x, middle - 6, x + item_width, y + 4)
        x += item_width + 18
    parts.append("</g>")
    return "".join(parts)
