"""Tension-field charts as inline SVG: where units stand between two poles.

One horizontal track per tension field (0 = left pole, 100 = right pole), the field's name
above it and its poles at either end. Every unit is a marker on every track; with many
units the markers get smaller and more transparent so clusters show as darker areas. A
highlighted unit (the one a page is about) is a larger diamond in another colour and is
labelled with its name and position, so it does not rely on colour alone.

Each marker carries a ``<title>`` (a tooltip on hover); the ``<desc>`` lists every unit's
position on every field for screen readers. Self-contained like the other charts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from scalemark.charts._svg import (
    INK,
    MUTED,
    Bounds,
    clean,
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

__all__ = ["TensionAxis", "TensionPoint", "tension_chart"]

_UNIT = "#1f4fa3"
_HIGHLIGHT = "#a34f00"  # 5.7:1 on white, also used for the highlighted unit's label
_TRACK = "#dfe4ea"
_TICK = "#8a94a0"
_TITLE_SIZE = 13
_LABEL_SIZE = 12
_TICK_SIZE = 10
_LINE = 15
_ROW = 16  # height of one row of highlighted-unit labels


@dataclass(frozen=True)
class TensionAxis:
    """A tension field: its name and the names of its left (0) and right (100) poles."""

    label: str
    left: str
    right: str


@dataclass(frozen=True)
class TensionPoint:
    """A unit's position on each axis (0–100, ``None`` = no data); ``highlight`` labels it."""

    label: str
    positions: Sequence[float | None]
    highlight: bool = False


def _position(point: TensionPoint, index: int) -> float | None:
    value = point.positions[index] if index < len(point.positions) else None
    if value is None or not math.isfinite(value):
        return None
    return min(max(float(value), 0.0), 100.0)


def _figure(value: float) -> str:
    return str(round(value))


def tension_chart(
    axes: Sequence[TensionAxis],
    points: Sequence[TensionPoint],
    *,
    title: str,
    description: str | None = None,
    chart_id: str = "tension-chart",
    width: int = 640,
) -> Markup:
    """An SVG chart with one track per tension field and a marker per unit on each track.

    ``positions`` run from 0 (left pole) to 100 (right pole); values outside are clamped.
    ``description`` is read before the figures. ``chart_id`` must be unique on the page.
    """
    ident = str(esc(chart_id))
    desc = _describe(axes, points, description)
    if not axes:
        return Markup(  # noqa: S704 - empty_chart escapes every text
            empty_chart(ident, "tension", title=title, desc=desc, message=_("No data"), width=width)
        )
    pole_width = min(150.0, width * 0.2)
    left = pole_width + 14
    right = max(left + 100, width - pole_width - 14)
    span = right - left
    others = [p for p in points if not p.highlight]
    highlighted = [p for p in points if p.highlight]
    # Fewer, larger, more opaque markers for a handful of units; many units: small, faint.
    radius, opacity = (
        (6.0, 0.8)
        if len(others) <= 8
        else (5.0, 0.5)
        if len(others) <= 30
        else (
            4.0,
            0.3,
        )
    )
    pair = _("%(label)s: %(value)s")
    # Highlighted units are drawn last, so they stay on top of the others.
    styled = (
        (others, "circle", radius, f'class="chart__unit" fill="{_UNIT}" fill-opacity="{opacity}"'),
        (
            highlighted,
            "diamond",
            7.0,
            f'class="chart__unit chart__unit--highlight" fill="{_HIGHLIGHT}"'
            ' stroke="#ffffff" stroke-width="1.5"',
        ),
    )

    bounds = Bounds()
    bounds.add(0, 0, width, 0)
    parts: list[str] = []
    y = 0.0
    for index, axis in enumerate(axes):
        parts.append('<g class="chart__field" aria-hidden="true">')
        name = clean(axis.label)
        shown = truncate(name, span + 2 * pole_width, _TITLE_SIZE)
        baseline = y + _TITLE_SIZE
        tip = f"<title>{esc(name)}</title>" if shown != name else ""
        parts.append(
            f"<g>{tip}"
            f'<text x="{num(left + span / 2)}" y="{num(baseline)}" text-anchor="middle"'
            f' font-size="{_TITLE_SIZE}" font-weight="600" fill="{INK}">{esc(shown)}</text></g>'
        )
        bounds.add_text(left + span / 2, baseline, shown, _TITLE_SIZE, "middle")

        labels = [
            (left + span * value / 100, pair % {"label": clean(p.label), "value": _figure(value)})
            for p in highlighted
            if (value := _position(p, index)) is not None
        ]
        rows = _label_rows(labels, width)
        row_count = max((row for row, _x, _text in rows), default=-1) + 1
        track = baseline + 14 + row_count * _ROW + 8
        for row, x, text in rows:
            label_y = track - 14 - row * _ROW
            parts.append(
                f'<text x="{num(x)}" y="{num(label_y)}" text-anchor="middle" font-weight="600"'
                f' fill="{_HIGHLIGHT}">{esc(text)}</text>'
            )
            bounds.add_text(x, label_y, text, _LABEL_SIZE, "middle")

        parts.append(
            f'<line class="chart__track" x1="{num(left)}" y1="{num(track)}" x2="{num(right)}"'
            f' y2="{num(track)}" stroke="{_TRACK}" stroke-width="6" stroke-linecap="round"/>'
        )
        for tick in (0, 50, 100):
            x = left + span * tick / 100
            parts.append(
                f'<line x1="{num(x)}" y1="{num(track - 7)}" x2="{num(x)}" y2="{num(track + 7)}"'
                f' stroke="{_TICK}" stroke-width="1"/>'
                f'<text x="{num(x)}" y="{num(track + 20)}" text-anchor="middle"'
                f' font-size="{_TICK_SIZE}" fill="{MUTED}">{tick}</text>'
            )
        parts.append(_pole(axis.left, left - 12, track, pole_width, "end", bounds))
        parts.append(_pole(axis.right, right + 12, track, pole_width, "start", bounds))

        for group, shape, size, paint in styled:
            for point in group:
                value = _position(point, index)
                if value is None:
                    continue
                tooltip = pair % {"label": point.label, "value": _figure(value)}
                x = left + span * value / 100
                parts.append(marker(shape, x, track, size, paint, tooltip))
        parts.append("</g>")
        bounds.add(left - 10, track - 10, right + 10, track + 24)
        y = track + 24 + 22

    parts.append(_legend(highlighted, bool(others), radius, opacity, bounds))
    opening = svg_open(ident, "tension", bounds.padded(6), title=title, desc=desc)
    return Markup(opening + "".join(parts) + "</svg>")  # noqa: S704 - texts escaped via esc()


def _label_rows(labels: list[tuple[float, str]], width: float) -> list[tuple[int, float, str]]:
    """Place highlighted units' labels in rows above the track so none overlap.

    Each label is centred on its marker but kept inside the chart; a label that would
    touch one already placed goes one row higher.
    """
    placed: list[tuple[int, float, str]] = []
    row_ends: list[float] = []
    for x, text in sorted(labels):
        text_w = text_width(text, _LABEL_SIZE)
        centre = min(max(x, text_w / 2), width - text_w / 2)
        start = centre - text_w / 2
        for row, end in enumerate(row_ends):
            if start >= end + 8:
                row_ends[row] = start + text_w
                break
        else:
            row = len(row_ends)
            row_ends.append(start + text_w)
        placed.append((row, centre, text))
    return placed


def _pole(text: str, x: float, track: float, width: float, anchor: str, bounds: Bounds) -> str:
    """A pole's name beside one end of the track, up to two lines, centred on the track."""
    name = clean(text)
    lines = wrap(name, width, _LABEL_SIZE)
    first = track - len(lines) * _LINE / 2 + _LABEL_SIZE - 1
    tip = f"<title>{esc(name)}</title>" if " ".join(lines) != name else ""
    parts = [f'<g fill="{INK}">{tip}']
    for number, line in enumerate(lines):
        baseline = first + number * _LINE
        parts.append(
            f'<text x="{num(x)}" y="{num(baseline)}" text-anchor="{anchor}">{esc(line)}</text>'
        )
        bounds.add_text(x, baseline, line, _LABEL_SIZE, anchor)
    parts.append("</g>")
    return "".join(parts)


def _legend(
    highlighted: list[TensionPoint], has_others: bool, radius: float, opacity: float, bounds: Bounds
) -> str:
    """What the markers mean; only needed once a unit is highlighted."""
    if not highlighted:
        return ""
    entries = [
        (
            marker("diamond", 0, 0, 6, f'fill="{_HIGHLIGHT}"'),
            ", ".join(clean(p.label) for p in highlighted),
        )
    ]
    if has_others:
        entries.append(
            (
                marker("circle", 0, 0, radius, f'fill="{_UNIT}" fill-opacity="{opacity}"'),
                clean(_("Other units")),
            )
        )
    x, y = bounds.left + 6, bounds.bottom + 20
    parts = [f'<g class="chart__legend" aria-hidden="true" fill="{INK}">']
    for shape, full_name in entries:
        name = truncate(full_name, 320, _LABEL_SIZE)
        parts.append(
            f'<g transform="translate({num(x)} {num(y - 4)})">{shape}</g>'
            f'<text x="{num(x + 12)}" y="{num(y)}">{esc(name)}</text>'
        )
        end = x + 12 + text_width(name, _LABEL_SIZE)
        bounds.add(x - 8, y - 12, end, y + 4)
        x = end + 24
    parts.append("</g>")
    return "".join(parts)


def _describe(
    axes: Sequence[TensionAxis], points: Sequence[TensionPoint], description: str | None
) -> str:
    pair = _("%(label)s: %(value)s")
    missing = _("no data")
    parts = [description] if description else []
    for index, axis in enumerate(axes):
        head = _("%(field)s (0 = %(left)s, 100 = %(right)s)") % {
            "field": axis.label,
            "left": axis.left,
            "right": axis.right,
        }
        figures = []
        for point in points:
            value = _position(point, index)
            figures.append(
                pair % {"label": point.label, "value": missing if value is None else _figure(value)}
            )
        parts.append(pair % {"label": head, "value": "; ".join(figures)})
    return ". ".join(parts)
